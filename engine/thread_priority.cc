#include "engine/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace hab {

void LowerThisThreadPriority(int steps) {
  errno = 0;
  // getpid(), not 0: on Linux 0 is the calling thread, and a thread that
  // calls this again (a TBB worker re-joining the arena) must not sink
  // further each time.
  int process_nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::getpid()));
  if (errno != 0) return;
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), std::min(19, process_nice + steps));
}

}  // namespace hab
