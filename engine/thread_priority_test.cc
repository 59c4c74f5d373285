// LowerThisThreadPriority, and Graph::LowerWorkerPriority on real TBB workers.
#include "engine/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "engine/graph.h"
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

// Emits one empty-ish chunk per call of `n` and records the nice value of
// every thread that ran the transform.
class RecordNice : public Transform {
 public:
  explicit RecordNice(std::map<pid_t, int>* seen, absl::Mutex* mu) : seen_(seen), mu_(mu) {}
  std::string Name() const override { return "record"; }
  int Concurrency() const override { return 4; }
  absl::Status Process(RunContext&, const ChunkRef& in, Emitter& out) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    {
      absl::MutexLock lock(mu_);
      (*seen_)[::gettid()] = NiceOf(::gettid());
    }
    out.Forward(in);
    return absl::OkStatus();
  }

 private:
  std::map<pid_t, int>* seen_;
  absl::Mutex* mu_;
};

class Chunks : public Source {
 public:
  std::string Name() const override { return "chunks"; }
  absl::Status Produce(RunContext& ctx, const EmitFn& emit) override {
    for (int i = 0; i < 64; ++i) {
      auto c = ctx.NewSourceChunk(16);
      if (!c.ok()) return c.status();
      c->data.resize(16);
      c->last = i == 63;
      absl::Status st = emit(std::move(*c));
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  }
};

class Discard : public Sink {
 public:
  std::string Name() const override { return "discard"; }
  absl::Status Write(RunContext&, const Chunk&) override { return absl::OkStatus(); }
  absl::StatusOr<SinkReport> Commit(RunContext&) override { return SinkReport{"k", 0}; }
  void Abort() noexcept override {}
};

TEST(ThreadPriority, GraphLowersItsTbbWorkersOnly) {
  const int base = NiceOf(::getpid());
  std::map<pid_t, int> seen;
  absl::Mutex mu;
  MemoryBudget budget(64 << 20);
  Graph g(&budget, 2);
  g.LowerWorkerPriority();
  BranchSpec b;
  b.name = "b";
  b.source = std::make_unique<Chunks>();
  b.transforms.push_back(std::make_unique<RecordNice>(&seen, &mu));
  b.sink = std::make_unique<Discard>();
  g.AddBranch(std::move(b));
  std::atomic<bool> cancel{false};
  auto r = g.Run(cancel);
  ASSERT_TRUE(r[0].status.ok()) << r[0].status;
  ASSERT_FALSE(seen.empty());
  bool worker_seen = false;
  for (const auto& [tid, nice] : seen) {
    if (tid == ::gettid()) {
      EXPECT_EQ(nice, base) << "the thread that runs the graph keeps its priority";
    } else {
      worker_seen = true;
      EXPECT_EQ(nice, std::min(19, base + 5)) << "TBB worker " << tid;
    }
  }
  EXPECT_TRUE(worker_seen) << "no TBB worker ran a task in 64 x 3 ms";
  EXPECT_EQ(NiceOf(::gettid()), base);
}

}  // namespace
}  // namespace hab
