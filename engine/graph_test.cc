// Engine tests with small in-memory nodes: order, the commit rule, failure
// in every position, cancellation, and the memory budget under pressure.
#include "engine/graph.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "engine/fault.h"
#include "gtest/gtest.h"

namespace hab {
namespace {

// Emits `total` bytes (byte i = i % 251) in chunks of `chunk`.
class CountingSource : public Source {
 public:
  CountingSource(uint64_t total, size_t chunk) : total_(total), chunk_(chunk) {}
  std::string Name() const override { return "counting"; }
  absl::Status Produce(RunContext& ctx, const EmitFn& emit) override {
    uint64_t pos = 0;
    while (true) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_, total_ - pos));
      auto c = ctx.NewSourceChunk(chunk_);
      if (!c.ok()) return c.status();
      for (size_t i = 0; i < n; ++i) c->data.writable()[i] = static_cast<uint8_t>((pos + i) % 251);
      c->data.resize(n);
      pos += n;
      c->last = pos == total_;
      bool last = c->last;
      absl::Status st = emit(std::move(*c));
      if (!st.ok()) return st;
      if (last) return absl::OkStatus();
    }
  }

 private:
  uint64_t total_;
  size_t chunk_;
};

// Parallel 1:1 transform that adds 1 to every byte, with a jittered delay so
// outputs finish out of order.
class AddOne : public Transform {
 public:
  std::string Name() const override { return "addone"; }
  int Concurrency() const override { return 4; }
  absl::Status Process(RunContext&, const ChunkRef& in, Emitter& out) override {
    if (in->seq % 3 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    Chunk c;
    c.last = in->last;
    c.lease = in->lease;
    c.data = Buffer(in->data.size());
    c.data.resize(in->data.size());
    for (size_t i = 0; i < in->data.size(); ++i) c.data.writable()[i] = in->data.data()[i] + 1;
    out.Emit(std::move(c));
    return absl::OkStatus();
  }
};

class MemorySink : public Sink {
 public:
  struct State {
    std::vector<uint8_t> bytes;
    bool committed = false;
    bool aborted = false;
  };
  explicit MemorySink(std::shared_ptr<State> st) : st_(std::move(st)) {}
  std::string Name() const override { return "memory"; }
  absl::Status Write(RunContext&, const Chunk& c) override {
    st_->bytes.insert(st_->bytes.end(), c.bytes().begin(), c.bytes().end());
    return absl::OkStatus();
  }
  absl::StatusOr<SinkReport> Commit(RunContext&) override {
    st_->committed = true;
    return SinkReport{"k", st_->bytes.size()};
  }
  void Abort() noexcept override { st_->aborted = true; }

 private:
  std::shared_ptr<State> st_;
};

BranchSpec Branch(uint64_t total, size_t chunk, std::shared_ptr<MemorySink::State> st,
                  std::optional<FaultSpec> fault = std::nullopt) {
  BranchSpec b;
  b.name = "b";
  b.source = MaybeFaulty(std::make_unique<CountingSource>(total, chunk), fault);
  b.transforms.push_back(MaybeFaulty(std::make_unique<AddOne>(), fault));
  b.transforms.push_back(MaybeFaulty(std::make_unique<AddOne>(), fault));
  b.sink = MaybeFaulty(std::make_unique<MemorySink>(st), fault);
  return b;
}

void ExpectPattern(const std::vector<uint8_t>& bytes, uint64_t total) {
  ASSERT_EQ(bytes.size(), total);
  for (uint64_t i = 0; i < total; ++i) {
    ASSERT_EQ(bytes[i], static_cast<uint8_t>(i % 251 + 2)) << "at " << i;
  }
}

class GraphSizes : public ::testing::TestWithParam<uint64_t> {};

TEST_P(GraphSizes, InOrderAndCommitted) {
  MemoryBudget budget(64 << 20);
  Graph g(&budget, 4);
  auto st = std::make_shared<MemorySink::State>();
  g.AddBranch(Branch(GetParam(), 1000, st));
  std::atomic<bool> cancel{false};
  auto r = g.Run(cancel);
  ASSERT_TRUE(r[0].status.ok()) << r[0].status;
  EXPECT_TRUE(st->committed);
  EXPECT_FALSE(st->aborted);
  ExpectPattern(st->bytes, GetParam());
  EXPECT_EQ(budget.in_use(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, GraphSizes, ::testing::Values(0, 1, 999, 1000, 1001, 250000));

// A sink slower than its source: the branch's window, not the global
// budget, bounds what the source reads ahead.
class SlowSink : public MemorySink {
 public:
  using MemorySink::MemorySink;
  absl::Status Write(RunContext& ctx, const Chunk& c) override {
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    return MemorySink::Write(ctx, c);
  }
};

TEST(GraphWindow, SourceReadsAheadAtMostTheWindow) {
  for (int window : {0, 1, 3}) {
    MemoryBudget budget(64 << 20);
    Graph g(&budget, 4);
    auto st = std::make_shared<MemorySink::State>();
    BranchSpec b = Branch(200 * 1000, 1000, st);
    b.sink = std::make_unique<SlowSink>(st);
    b.window_chunks = window;
    g.AddBranch(std::move(b));
    std::atomic<bool> cancel{false};
    auto r = g.Run(cancel);
    ASSERT_TRUE(r[0].status.ok()) << r[0].status;
    ExpectPattern(st->bytes, 200 * 1000);
    const uint64_t admit = 1000 * 3 + (64 << 10);  // admission 300 %
    const uint64_t expected = window > 0 ? window : 2 + 2 * 4;
    EXPECT_LE(budget.peak(), expected * admit) << "window " << window;
    // The slow sink lets the source run ahead as far as it may.
    EXPECT_GT(budget.peak(), (expected - 1) * admit) << "window " << window;
    EXPECT_EQ(budget.in_use(), 0u);
  }
}

// A source that fails while holding an unfinished chunk (as the tar source
// does): the chunk, and its lease, outlive the run and its RunContext.
class HoldingSource : public Source {
 public:
  std::string Name() const override { return "holding"; }
  absl::Status Produce(RunContext& ctx, const EmitFn&) override {
    auto c = ctx.NewSourceChunk(1000);
    if (!c.ok()) return c.status();
    held_ = std::move(*c);
    return absl::InternalError("source failed with a chunk in hand");
  }

 private:
  std::optional<Chunk> held_;
};

TEST(GraphWindow, ChunkMayOutliveTheRun) {
  MemoryBudget budget(64 << 20);
  {
    Graph g(&budget, 2);
    auto st = std::make_shared<MemorySink::State>();
    BranchSpec b = Branch(1, 1000, st);
    b.source = std::make_unique<HoldingSource>();
    g.AddBranch(std::move(b));
    std::atomic<bool> cancel{false};
    auto r = g.Run(cancel);
    EXPECT_FALSE(r[0].status.ok());
    EXPECT_TRUE(st->aborted);
  }  // the held chunk goes here, after the run's RunContext
  EXPECT_EQ(budget.in_use(), 0u);
}

class GraphFaults : public ::testing::TestWithParam<std::string> {};

TEST_P(GraphFaults, AnyFailingNodeAbortsAndNeverCommits) {
  MemoryBudget budget(64 << 20);
  Graph g(&budget, 4);
  auto st = std::make_shared<MemorySink::State>();
  auto other = std::make_shared<MemorySink::State>();
  g.AddBranch(Branch(100000, 1000, st, FaultSpec{GetParam(), 5}));
  g.AddBranch(Branch(100000, 1000, other));  // an independent branch still commits
  std::atomic<bool> cancel{false};
  auto r = g.Run(cancel);
  EXPECT_FALSE(r[0].status.ok());
  EXPECT_NE(r[0].status.message().find("injected fault"), absl::string_view::npos) << r[0].status;
  EXPECT_FALSE(st->committed);
  EXPECT_TRUE(st->aborted);
  ASSERT_TRUE(r[1].status.ok()) << r[1].status;
  EXPECT_TRUE(other->committed);
  EXPECT_EQ(budget.in_use(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Nodes, GraphFaults, ::testing::Values("counting", "addone", "memory"));

TEST(Graph, CommitFailureAborts) {
  MemoryBudget budget(64 << 20);
  Graph g(&budget, 2);
  auto st = std::make_shared<MemorySink::State>();
  g.AddBranch(Branch(5000, 1000, st, FaultSpec{"memory", 0}));
  std::atomic<bool> cancel{false};
  auto r = g.Run(cancel);
  EXPECT_FALSE(r[0].status.ok());
  EXPECT_TRUE(st->aborted);
}

TEST(Graph, TinyBudgetManyBranchesNoDeadlock) {
  // 8 branches share a budget that admits only a few chunks at a time.
  MemoryBudget budget(2 << 20);
  Graph g(&budget, 2);
  std::vector<std::shared_ptr<MemorySink::State>> states;
  for (int i = 0; i < 8; ++i) {
    states.push_back(std::make_shared<MemorySink::State>());
    BranchSpec b = Branch(3 << 20, 64 << 10, states.back());
    g.AddBranch(std::move(b));
  }
  std::atomic<bool> cancel{false};
  auto r = g.Run(cancel);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(r[i].status.ok()) << r[i].status;
    ExpectPattern(states[i]->bytes, 3 << 20);
  }
  EXPECT_LE(budget.peak(), budget.limit());
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(Graph, CancelStopsEverythingAndCommitsNothing) {
  MemoryBudget budget(8 << 20);
  Graph g(&budget, 2);
  auto st = std::make_shared<MemorySink::State>();
  g.AddBranch(Branch(1ull << 40, 64 << 10, st));  // would run for hours
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel.store(true);
  });
  auto r = g.Run(cancel);
  t.join();
  EXPECT_EQ(r[0].status.code(), absl::StatusCode::kCancelled) << r[0].status;
  EXPECT_FALSE(st->committed);
  EXPECT_TRUE(st->aborted);
}

int NiceOf(pid_t tid) { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid)); }

// Parallel pass-through that records the nice value of every thread that
// ran it.
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

TEST(Graph, LowerWorkerPriorityLowersItsTbbWorkersOnly) {
  const int base = NiceOf(::getpid());
  std::map<pid_t, int> seen;
  absl::Mutex mu;
  MemoryBudget budget(64 << 20);
  Graph g(&budget, 2);
  g.LowerWorkerPriority();
  BranchSpec b;
  b.name = "b";
  b.source = std::make_unique<CountingSource>(64 * 16, 16);  // 64 chunks
  b.transforms.push_back(std::make_unique<RecordNice>(&seen, &mu));
  b.sink = std::make_unique<MemorySink>(std::make_shared<MemorySink::State>());
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

TEST(MemoryBudget, AcquireWaitsAndCancels) {
  MemoryBudget b(100);
  auto a = b.Acquire(80, [] { return false; });
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(b.TryAcquire(30).status().code(), absl::StatusCode::kResourceExhausted);
  std::atomic<bool> stop{false};
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.store(true);
  });
  EXPECT_EQ(b.Acquire(30, [&] { return stop.load(); }).status().code(), absl::StatusCode::kCancelled);
  t.join();
  EXPECT_EQ(b.Acquire(101, [] { return false; }).status().code(), absl::StatusCode::kInvalidArgument);
  a->reset();
  EXPECT_TRUE(b.TryAcquire(100).ok());
  EXPECT_EQ(b.peak(), 100u);
}

}  // namespace
}  // namespace hab
