// LowerThisThreadPriority (Graph::LowerWorkerPriority is in graph_test.cc).
#include "engine/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "gtest/gtest.h"

namespace hab {
namespace {

int NiceOf(pid_t tid) { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid)); }

TEST(ThreadPriority, RelativeToTheProcessAndIdempotent) {
  const int base = NiceOf(::getpid());
  int seen = -100;
  std::thread t([&] {
    LowerThisThreadPriority(5);
    LowerThisThreadPriority(5);  // a TBB worker re-joining: must not sink further
    seen = NiceOf(::gettid());
  });
  t.join();
  EXPECT_EQ(seen, std::min(19, base + 5));
  EXPECT_EQ(NiceOf(::gettid()), base) << "the calling thread is untouched";
}

}  // namespace
}  // namespace hab
