#include "engine/fault.h"

#include <cstdlib>
#include <chrono>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hab {
namespace {

absl::Status Injected(const std::string& node, int n) {
  return absl::InternalError(absl::StrCat("injected fault in ", node, " at call ", n));
}

class FaultySource : public Source {
 public:
  FaultySource(std::unique_ptr<Source> inner, int nth, int delay_ms)
      : inner_(std::move(inner)), nth_(nth), delay_ms_(delay_ms) {}
  std::string Name() const override { return inner_->Name(); }
  void Stop() noexcept override { inner_->Stop(); }
  absl::Status Produce(RunContext& ctx, const EmitFn& emit) override {
    int calls = 0;
    EmitFn wrapped = [&](Chunk c) -> absl::Status {
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
      if (++calls == nth_) return Injected(Name(), calls);
      return emit(std::move(c));
    };
    return inner_->Produce(ctx, wrapped);
  }

 private:
  std::unique_ptr<Source> inner_;
  int nth_;
  int delay_ms_;
};

class FaultyTransform : public Transform {
 public:
  FaultyTransform(std::unique_ptr<Transform> inner, int nth) : inner_(std::move(inner)), nth_(nth) {}
  std::string Name() const override { return inner_->Name(); }
  int Concurrency() const override { return inner_->Concurrency(); }
  absl::Status Process(RunContext& ctx, const ChunkRef& in, Emitter& out) override {
    int n = ++calls_;
    if (n == nth_) return Injected(Name(), n);
    return inner_->Process(ctx, in, out);
  }

 private:
  std::unique_ptr<Transform> inner_;
  int nth_;
  std::atomic<int> calls_{0};
};

class FaultySink : public Sink {
 public:
  FaultySink(std::unique_ptr<Sink> inner, int nth) : inner_(std::move(inner)), nth_(nth) {}
  std::string Name() const override { return inner_->Name(); }
  absl::Status Write(RunContext& ctx, const Chunk& c) override {
    if (++calls_ == nth_) return Injected(Name(), calls_);
    return inner_->Write(ctx, c);
  }
  absl::StatusOr<SinkReport> Commit(RunContext& ctx) override {
    // nth == 0 means: fail the commit itself.
    if (nth_ == 0) return Injected(Name() + " commit", 0);
    return inner_->Commit(ctx);
  }
  void Abort() noexcept override { inner_->Abort(); }

 private:
  std::unique_ptr<Sink> inner_;
  int nth_;
  int calls_ = 0;
};

}  // namespace

std::optional<FaultSpec> FaultFromEnv() {
  const char* v = std::getenv("HOSTATLAS_BACKUP_FAULT");
  if (v == nullptr) return std::nullopt;
  std::string s = v;
  size_t colon = s.find(':');
  FaultSpec f;
  if (colon == std::string::npos) return std::nullopt;
  std::string arg = s.substr(colon + 1);
  if (arg.rfind("delay=", 0) == 0) {
    if (!absl::SimpleAtoi(arg.substr(6), &f.delay_ms) || f.delay_ms <= 0) return std::nullopt;
    f.nth = -1;
  } else if (!absl::SimpleAtoi(arg, &f.nth)) {
    return std::nullopt;
  }
  f.node = s.substr(0, colon);
  return f;
}

std::unique_ptr<Source> MaybeFaulty(std::unique_ptr<Source> s, const std::optional<FaultSpec>& f) {
  if (!f || f->node != s->Name()) return s;
  return std::make_unique<FaultySource>(std::move(s), f->nth, f->delay_ms);
}

std::unique_ptr<Transform> MaybeFaulty(std::unique_ptr<Transform> t, const std::optional<FaultSpec>& f) {
  if (!f || f->node != t->Name()) return t;
  return std::make_unique<FaultyTransform>(std::move(t), f->nth);
}

std::unique_ptr<Sink> MaybeFaulty(std::unique_ptr<Sink> s, const std::optional<FaultSpec>& f) {
  if (!f || f->node != s->Name()) return s;
  return std::make_unique<FaultySink>(std::move(s), f->nth);
}

}  // namespace hab
