// Thread priority: lowering the calling thread's scheduling priority (nice)
// relative to the process. Used for threads that run ahead of the stage that
// bounds a run, so that on few cores they take only the time it leaves.
#pragma once

namespace hab {

// Sets the calling thread's nice value to the process's (its main thread's)
// plus `steps`, capped at 19: idempotent, and never above the process's
// priority, so a run started under `nice` keeps its place. Failing to is
// harmless and silent.
void LowerThisThreadPriority(int steps);

}  // namespace hab
