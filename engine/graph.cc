#include "engine/graph.h"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_scheduler_observer.h>

#include <chrono>
#include <exception>
#include <new>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/blocking_queue.h"
#include "engine/thread_priority.h"

namespace hab {

void RunContext::Fail(absl::string_view where, const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (first_error_.ok()) {
    first_error_ = absl::Status(status.code(), absl::StrCat(where, ": ", status.message()));
  }
  failed_.store(true);
}

absl::Status RunContext::status() const {
  absl::MutexLock lock(&mu_);
  if (!first_error_.ok()) return first_error_;
  if (global_cancel_->load()) return absl::CancelledError("run interrupted");
  return absl::OkStatus();
}

absl::StatusOr<Chunk> RunContext::NewSourceChunk(size_t capacity) {
  uint64_t admit = capacity * admission_x100_ / 100 + (64 << 10);
  LeaseRef in_window;
  if (window_ != nullptr) {
    auto w = window_->Acquire(1, [this] { return cancelled(); });
    if (!w.ok()) return w.status();
    in_window = std::move(*w);
  }
  auto lease = budget_->Acquire(admit, [this] { return cancelled(); });
  if (!lease.ok()) return lease.status();
  Chunk c;
  c.data = Buffer(capacity);
  if (in_window == nullptr) {
    c.lease = std::move(*lease);
  } else {
    // One LeaseRef for both. Members go in reverse order: the global bytes
    // first, so the next chunk the window admits never finds this one's
    // bytes still charged; the window budget last, since a chunk (a
    // source's unfinished one) may outlive the branch's RunContext.
    struct Both {
      std::shared_ptr<MemoryBudget> window;
      LeaseRef slot;
      LeaseRef bytes;
    };
    auto both = std::make_shared<Both>(Both{window_, std::move(in_window), std::move(*lease)});
    c.lease = LeaseRef(both, both->bytes.get());
  }
  return c;
}

void RunContext::Warn(std::string message) {
  absl::MutexLock lock(&mu_);
  warnings_.push_back(std::move(message));
}

std::vector<std::string> RunContext::warnings() const {
  absl::MutexLock lock(&mu_);
  return warnings_;
}

namespace {

using Msg = ChunkRef;
using MultiNode = tbb::flow::multifunction_node<Msg, std::tuple<Msg>>;
using SeqNode = tbb::flow::sequencer_node<Msg>;
using SinkNode = tbb::flow::function_node<Msg, tbb::flow::continue_msg>;

ChunkRef Placeholder(uint64_t seq) {
  auto c = std::make_shared<Chunk>();
  c->seq = seq;
  c->dropped = true;
  return c;
}

class PortEmitter : public Emitter {
 public:
  // `counter` numbers the outputs of a serial node; null for parallel nodes,
  // whose single output keeps the input's seq.
  PortEmitter(MultiNode::output_ports_type& ports, uint64_t* counter, uint64_t in_seq)
      : ports_(ports), counter_(counter), in_seq_(in_seq) {}
  void Emit(Chunk chunk) override {
    chunk.seq = counter_ ? (*counter_)++ : in_seq_;
    std::get<0>(ports_).try_put(std::make_shared<const Chunk>(std::move(chunk)));
    ++emitted_;
  }
  void Forward(const ChunkRef& in) override {
    if (counter_ && in->seq != *counter_) {
      // A serial node that forwards must forward everything (1:1), so the
      // numbering it would have made matches the input's.
      auto copy = std::make_shared<Chunk>();
      copy->seq = (*counter_)++;
      copy->offset = in->offset;
      copy->last = in->last;
      copy->data = Buffer(in->bytes().size());
      copy->data.append(in->bytes());
      copy->lease = in->lease;
      std::get<0>(ports_).try_put(copy);
    } else {
      if (counter_) ++(*counter_);
      std::get<0>(ports_).try_put(in);
    }
    ++emitted_;
  }
  void EmitPlaceholder() {
    std::get<0>(ports_).try_put(Placeholder(counter_ ? (*counter_)++ : in_seq_));
    ++emitted_;
  }
  int emitted() const { return emitted_; }

 private:
  MultiNode::output_ports_type& ports_;
  uint64_t* counter_;
  uint64_t in_seq_;
  int emitted_ = 0;
};

struct BranchRuntime {
  BranchSpec* spec = nullptr;
  std::unique_ptr<RunContext> ctx;
  std::vector<std::unique_ptr<MultiNode>> nodes;
  std::vector<std::unique_ptr<SeqNode>> sequencers;
  std::vector<std::unique_ptr<uint64_t>> counters;
  std::unique_ptr<SinkNode> sink_node;
  tbb::flow::receiver<Msg>* entry = nullptr;
  BlockingQueue<ChunkRef> sink_queue;
  LeaseRef fixed_lease;
  bool committed = false;
  bool stopped = false;
  SinkReport report;
  std::chrono::steady_clock::time_point start, end;
};

absl::Status Guarded(const std::function<absl::Status()>& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("unexpected exception: ", e.what()));
  } catch (...) {
    return absl::InternalError("unexpected exception");
  }
}

void Build(tbb::flow::graph& g, BranchRuntime& rt, int parallelism) {
  tbb::flow::sender<Msg>* prev = nullptr;
  bool prev_parallel = false;
  auto sequence_into = [&](tbb::flow::receiver<Msg>& next) {
    if (prev == nullptr) return;
    if (prev_parallel) {
      auto seq = std::make_unique<SeqNode>(g, [](const Msg& m) { return m->seq; });
      tbb::flow::make_edge(*prev, *seq);
      tbb::flow::make_edge(*seq, next);
      rt.sequencers.push_back(std::move(seq));
    } else {
      tbb::flow::make_edge(*prev, next);
    }
  };
  int index = 0;
  for (auto& t : rt.spec->transforms) {
    Transform* node = t.get();
    int conc = std::max(1, std::min(node->Concurrency(), parallelism));
    uint64_t* counter = nullptr;
    if (conc == 1) {
      rt.counters.push_back(std::make_unique<uint64_t>(0));
      counter = rt.counters.back().get();
    }
    std::string where = absl::StrCat(node->Name(), "#", index++);
    BranchRuntime* r = &rt;
    auto body = [r, node, counter, where](const Msg& in, MultiNode::output_ports_type& ports) {
      PortEmitter em(ports, counter, in->seq);
      if (!in->dropped && !r->ctx->cancelled()) {
        absl::Status st = Guarded([&] { return node->Process(*r->ctx, in, em); });
        if (st.ok()) return;
        r->ctx->Fail(where, st);
      }
      // Keep the sequence dense: a parallel node owes exactly one output per
      // input, a serial node renumbers so one more placeholder is harmless.
      if (counter != nullptr || em.emitted() == 0) em.EmitPlaceholder();
    };
    auto mf = std::make_unique<MultiNode>(g, conc == 1 ? tbb::flow::serial : conc, body);
    if (prev == nullptr) {
      rt.entry = mf.get();
    } else {
      sequence_into(*mf);
    }
    prev = &tbb::flow::output_port<0>(*mf);
    prev_parallel = conc > 1;
    rt.nodes.push_back(std::move(mf));
  }
  BranchRuntime* r = &rt;
  rt.sink_node = std::make_unique<SinkNode>(g, tbb::flow::serial, [r](const Msg& m) {
    r->sink_queue.Push(m);
    return tbb::flow::continue_msg();
  });
  if (prev == nullptr) {
    rt.entry = rt.sink_node.get();
  } else {
    sequence_into(*rt.sink_node);
  }
}

void ProduceLoop(tbb::flow::graph& g, BranchRuntime& rt) {
  uint64_t seq = 0, offset = 0;
  bool saw_last = false;
  EmitFn emit = [&](Chunk c) -> absl::Status {
    if (rt.ctx->cancelled()) return absl::CancelledError("branch cancelled");
    if (saw_last) return absl::InternalError("source emitted after its last chunk");
    c.seq = seq++;
    c.offset = offset;
    offset += c.data.size();
    saw_last = c.last;
    rt.entry->try_put(std::make_shared<const Chunk>(std::move(c)));
    return absl::OkStatus();
  };
  absl::Status st = Guarded([&] { return rt.spec->source->Produce(*rt.ctx, emit); });
  if (st.ok() && !saw_last && !rt.ctx->cancelled()) {
    st = absl::InternalError("source finished without a last chunk");
  }
  if (!st.ok() && !(rt.ctx->cancelled() && st.code() == absl::StatusCode::kCancelled)) {
    rt.ctx->Fail(rt.spec->source->Name(), st);
  }
  g.release_wait();
}

void SinkLoop(const std::atomic<bool>& cancel, BranchRuntime& rt) {
  Sink* sink = rt.spec->sink.get();
  while (std::optional<ChunkRef> m = rt.sink_queue.Pop()) {
    const Chunk& c = **m;
    if (c.dropped || rt.ctx->cancelled() || rt.committed) continue;
    absl::Status st = Guarded([&] { return sink->Write(*rt.ctx, c); });
    if (!st.ok()) {
      rt.ctx->Fail(sink->Name(), st);
      continue;
    }
    if (c.last && !rt.ctx->cancelled()) {
      absl::StatusOr<SinkReport> rep = absl::InternalError("unset");
      st = Guarded([&] {
        rep = sink->Commit(*rt.ctx);
        return rep.status();
      });
      if (!st.ok()) {
        rt.ctx->Fail(absl::StrCat(sink->Name(), " commit"), st);
      } else {
        rt.committed = true;
        rt.report = *rep;
        rt.end = std::chrono::steady_clock::now();
      }
    }
  }
  if (!rt.committed) {
    sink->Abort();
    rt.end = std::chrono::steady_clock::now();
  }
}

}  // namespace

std::vector<BranchResult> Graph::Run(const std::atomic<bool>& cancel) {
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism,
                         static_cast<size_t>(std::max(1, parallelism_)));
  if (lower_workers_) {
    // Workers only: the calling thread (which joins the graph's work while
    // it waits) keeps its priority. Once enabled, for the rest of the
    // process: a worker keeps the nice value it got anyway, and oneTBB's
    // observer proxy outlives observe(false) (LeakSanitizer reports it), so
    // the observer is created once and never destroyed (`used`: kept as a
    // root, so LeakSanitizer sees it is still referenced).
    class LowerWorkers : public tbb::task_scheduler_observer {
     public:
      LowerWorkers() { observe(true); }
      void on_scheduler_entry(bool is_worker) override {
        if (is_worker) LowerThisThreadPriority(5);
      }
    };
    [[gnu::used]] static LowerWorkers* const kLowerWorkers = new LowerWorkers();
  }
  tbb::flow::graph g;
  std::vector<std::unique_ptr<BranchRuntime>> rts;
  for (auto& spec : branches_) {
    auto rt = std::make_unique<BranchRuntime>();
    rt->spec = &spec;
    rt->ctx = std::make_unique<RunContext>(budget_, &cancel, spec.admission_x100);
    rt->ctx->SetWindow(spec.window_chunks > 0 ? spec.window_chunks : 2 + 2 * std::max(1, parallelism_));
    Build(g, *rt, parallelism_);
    rts.push_back(std::move(rt));
  }
  std::vector<std::thread> producers, writers;
  for (auto& rt : rts) {
    rt->start = std::chrono::steady_clock::now();
    if (rt->spec->fixed_bytes > 0) {
      auto lease = budget_->TryAcquire(rt->spec->fixed_bytes);
      if (!lease.ok()) {
        rt->ctx->Fail("memory budget", absl::InvalidArgumentError(absl::StrCat(
                                           "performance.memory_limit is too small for this plan: ",
                                           lease.status().message())));
      } else {
        rt->fixed_lease = *lease;
      }
    }
    g.reserve_wait();
    producers.emplace_back([&g, r = rt.get()] { ProduceLoop(g, *r); });
    writers.emplace_back([&cancel, r = rt.get()] { SinkLoop(cancel, *r); });
  }
  // Watch for cancellation and failures: stop the producers so a blocked read
  // or a child process does not keep a failed branch alive.
  std::atomic<bool> done{false};
  std::thread monitor([&] {
    while (!done.load()) {
      for (auto& rt : rts) {
        if (!rt->stopped && rt->ctx->cancelled()) {
          rt->stopped = true;
          rt->spec->source->Stop();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  // The calling thread takes part in the graph's work while it waits (it is
  // one of the `parallelism` TBB threads). Every producer holds a
  // reserve_wait until it finishes, so this returns only after all of them.
  g.wait_for_all();
  for (auto& t : producers) t.join();
  for (auto& rt : rts) rt->sink_queue.Close();
  for (auto& t : writers) t.join();
  done.store(true);
  monitor.join();

  std::vector<BranchResult> results;
  for (auto& rt : rts) {
    BranchResult r;
    r.name = rt->spec->name;
    r.status = rt->committed ? absl::OkStatus() : rt->ctx->status();
    if (!rt->committed && r.status.ok()) {
      r.status = absl::InternalError("branch ended without its final chunk");
    }
    r.report = rt->report;
    r.warnings = rt->ctx->warnings();
    r.seconds = std::chrono::duration<double>(rt->end - rt->start).count();
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace hab
