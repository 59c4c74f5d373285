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

// In-flight messages of one branch. It starts at 1 (the producer's hold)
// and counts every message put into the branch's graph until a node body
// (or the sink node) has consumed it; sequencers' buffers count too. When
// it drops to 0 the branch is drained: its sink queue is closed, so the
// writer finishes the branch without waiting for the others, and the
// scheduler can start the next branch.
class Inflight {
 public:
  explicit Inflight(std::function<void()> on_drained) : on_drained_(std::move(on_drained)) {}
  void Add() { count_.fetch_add(1); }
  void Release() {
    if (count_.fetch_sub(1) == 1) on_drained_();
  }

 private:
  std::atomic<int64_t> count_{1};
  std::function<void()> on_drained_;
};

class PortEmitter : public Emitter {
 public:
  // `counter` numbers the outputs of a serial node; null for parallel nodes,
  // whose single output keeps the input's seq.
  PortEmitter(MultiNode::output_ports_type& ports, uint64_t* counter, uint64_t in_seq, Inflight& inflight)
      : ports_(ports), counter_(counter), in_seq_(in_seq), inflight_(inflight) {}
  void Emit(Chunk chunk) override {
    chunk.seq = counter_ ? (*counter_)++ : in_seq_;
    Put(std::make_shared<const Chunk>(std::move(chunk)));
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
      Put(copy);
    } else {
      if (counter_) ++(*counter_);
      Put(in);
    }
  }
  void EmitPlaceholder() { Put(Placeholder(counter_ ? (*counter_)++ : in_seq_)); }
  int emitted() const { return emitted_; }

 private:
  void Put(ChunkRef c) {
    inflight_.Add();
    std::get<0>(ports_).try_put(std::move(c));
    ++emitted_;
  }
  MultiNode::output_ports_type& ports_;
  uint64_t* counter_;
  uint64_t in_seq_;
  Inflight& inflight_;
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
  std::unique_ptr<Inflight> inflight;
  LeaseRef fixed_lease;
  bool committed = false;
  bool stopped = false;
  absl::Status step_status;
  SinkReport report;
  Topology topology;
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

std::string IdOr(const std::vector<std::string>& ids, size_t i, const std::string& fallback) {
  return i < ids.size() ? ids[i] : fallback;
}

void Build(tbb::flow::graph& g, BranchRuntime& rt, int parallelism) {
  BranchRuntime* r = &rt;
  rt.inflight = std::make_unique<Inflight>([r] { r->sink_queue.Close(); });
  tbb::flow::sender<Msg>* prev = nullptr;
  bool prev_parallel = false;
  std::string prev_id = rt.spec->source_id.empty() ? rt.spec->source->Name() : rt.spec->source_id;
  rt.topology.nodes.push_back(prev_id);
  auto link = [&](const std::string& id) {
    rt.topology.nodes.push_back(id);
    rt.topology.edges.push_back({prev_id, id});
    prev_id = id;
  };
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
    link(IdOr(rt.spec->transform_ids, static_cast<size_t>(index), node->Name()));
    std::string where = absl::StrCat(node->Name(), "#", index++);
    auto body = [r, node, counter, where](const Msg& in, MultiNode::output_ports_type& ports) {
      PortEmitter em(ports, counter, in->seq, *r->inflight);
      bool processed = false;
      if (!in->dropped && !r->ctx->cancelled()) {
        absl::Status st = Guarded([&] { return node->Process(*r->ctx, in, em); });
        if (st.ok()) {
          processed = true;
        } else {
          r->ctx->Fail(where, st);
        }
      }
      // Keep the sequence dense: a parallel node owes exactly one output per
      // input, a serial node renumbers so one more placeholder is harmless.
      if (!processed && (counter != nullptr || em.emitted() == 0)) em.EmitPlaceholder();
      r->inflight->Release();
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
  for (size_t i = 0; i < std::max<size_t>(1, rt.spec->sink_ids.size()); ++i) {
    link(IdOr(rt.spec->sink_ids, i, rt.spec->sink->Name()));
  }
  for (size_t i = 0; i < rt.spec->steps.size(); ++i) link(IdOr(rt.spec->step_ids, i, rt.spec->steps[i]->Name()));
  rt.sink_node = std::make_unique<SinkNode>(g, tbb::flow::serial, [r](const Msg& m) {
    r->sink_queue.Push(m);
    r->inflight->Release();
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
    rt.inflight->Add();
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
  rt.inflight->Release();  // the producer's hold
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
      }
    }
  }
  if (!rt.committed) sink->Abort();
  // The queue closes only when the branch has drained: no transform runs
  // again. Its buffers are all back; what follows (verification) leases
  // its own memory.
  for (auto& t : rt.spec->transforms) t->Release();
  rt.fixed_lease.reset();
  if (rt.committed) {
    for (auto& step : rt.spec->steps) {
      absl::Status st = Guarded([&] { return step->Run(*rt.ctx, rt.report); });
      if (!st.ok()) {
        rt.step_status = absl::Status(st.code(), absl::StrCat(step->Name(), ": ", st.message()));
        break;
      }
    }
  }
  rt.end = std::chrono::steady_clock::now();
}

}  // namespace

int MaxConcurrentBranches(const std::vector<uint64_t>& footprints, uint64_t limit) {
  int n = 0;
  uint64_t sum = 0;
  for (uint64_t f : footprints) {
    if (n > 0 && sum + f > limit) break;
    sum += f;
    ++n;
  }
  return std::max(1, n);
}

Topology Graph::BuiltTopology() {
  // The runtimes own the nodes, so they are declared first and destroyed
  // after the graph.
  std::vector<std::unique_ptr<BranchRuntime>> rts;
  tbb::flow::graph g;
  Topology out;
  for (auto& spec : branches_) {
    auto rt = std::make_unique<BranchRuntime>();
    rt->spec = &spec;
    Build(g, *rt, parallelism_);
    out.nodes.insert(out.nodes.end(), rt->topology.nodes.begin(), rt->topology.nodes.end());
    out.edges.insert(out.edges.end(), rt->topology.edges.begin(), rt->topology.edges.end());
    rts.push_back(std::move(rt));
  }
  g.wait_for_all();
  return out;
}

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
  // The runtimes own the nodes: declared before the graph, destroyed after it.
  std::vector<std::unique_ptr<BranchRuntime>> rts;
  tbb::flow::graph g;
  for (auto& spec : branches_) {
    auto rt = std::make_unique<BranchRuntime>();
    rt->spec = &spec;
    rt->ctx = std::make_unique<RunContext>(budget_, &cancel, spec.admission_x100);
    rt->ctx->SetWindow(spec.window_chunks > 0 ? spec.window_chunks : 2 + 2 * std::max(1, parallelism_));
    Build(g, *rt, parallelism_);
    rts.push_back(std::move(rt));
  }
  // Every branch holds a reserve_wait until its producer ends (or it is
  // skipped), so wait_for_all below returns only after all of them.
  for (size_t i = 0; i < rts.size(); ++i) g.reserve_wait();
  absl::Mutex mu;
  int running = 0;
  uint64_t running_footprint = 0;
  std::vector<std::thread> producers, writers;
  producers.reserve(rts.size());
  writers.reserve(rts.size());
  // Starts branches in order as the budget allows (see the header).
  std::thread scheduler([&] {
    for (auto& rtp : rts) {
      BranchRuntime* rt = rtp.get();
      uint64_t fp = rt->spec->footprint_bytes;
      bool go = false;
      {
        absl::MutexLock lock(&mu);
        auto fits = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
          return cancel.load() || running == 0 || running_footprint + fp <= budget_->limit();
        };
        // Cancellation is a flag, not a signal on this mutex: poll it.
        while (!fits()) mu.AwaitWithTimeout(absl::Condition(&fits), absl::Milliseconds(50));
        if (!cancel.load()) {
          ++running;
          running_footprint += fp;
          go = true;
        }
      }
      rt->start = std::chrono::steady_clock::now();
      if (go && rt->spec->fixed_bytes > 0) {
        auto lease = budget_->Acquire(rt->spec->fixed_bytes, [&cancel] { return cancel.load(); });
        if (!lease.ok()) {
          rt->ctx->Fail("memory budget", lease.status().code() == absl::StatusCode::kCancelled
                                             ? lease.status()
                                             : absl::InvalidArgumentError(absl::StrCat(
                                                   "performance.memory_limit is too small for this "
                                                   "source: ",
                                                   lease.status().message())));
        } else {
          rt->fixed_lease = *lease;
        }
      }
      if (!go) rt->ctx->Fail("scheduler", absl::CancelledError("run interrupted before this source started"));
      auto finish = [&mu, &running, &running_footprint, fp, go] {
        if (!go) return;
        absl::MutexLock lock(&mu);
        --running;
        running_footprint -= fp;
      };
      if (!go || rt->ctx->failed()) {
        // Never started: nothing flows, the writer aborts at once.
        rt->inflight->Release();
        g.release_wait();
        producers.emplace_back();
      } else {
        producers.emplace_back([&g, rt] { ProduceLoop(g, *rt); });
      }
      writers.emplace_back([&cancel, rt, finish] {
        SinkLoop(cancel, *rt);
        finish();
      });
    }
  });
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
  // one of the `parallelism` TBB threads).
  g.wait_for_all();
  scheduler.join();
  for (auto& t : producers) {
    if (t.joinable()) t.join();
  }
  for (auto& rt : rts) rt->sink_queue.Close();
  for (auto& t : writers) t.join();
  done.store(true);
  monitor.join();

  std::vector<BranchResult> results;
  for (auto& rt : rts) {
    BranchResult r;
    r.name = rt->spec->name;
    r.status = rt->committed ? rt->step_status : rt->ctx->status();
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
