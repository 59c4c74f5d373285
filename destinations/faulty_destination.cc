#include "destinations/faulty_destination.h"

#include "absl/strings/str_cat.h"

namespace hab {
namespace {

class FaultyWriter : public ObjectWriter {
 public:
  FaultyWriter(std::unique_ptr<ObjectWriter> inner, const DestinationFaults& f, std::atomic<int>& writes)
      : inner_(std::move(inner)), f_(f), writes_(writes) {}
  absl::Status Write(std::span<const uint8_t> bytes) override {
    if (f_.fail_write_at > 0 && ++writes_ == f_.fail_write_at) {
      return absl::InternalError(absl::StrCat("injected fault in destination write ", f_.fail_write_at));
    }
    return inner_->Write(bytes);
  }
  absl::StatusOr<uint64_t> Commit() override {
    if (f_.fail_commit) return absl::InternalError("injected fault in destination commit");
    return inner_->Commit();
  }
  void Abort() noexcept override { inner_->Abort(); }

 private:
  std::unique_ptr<ObjectWriter> inner_;
  const DestinationFaults& f_;
  std::atomic<int>& writes_;
};

class FaultyReader : public ObjectReader {
 public:
  FaultyReader(std::unique_ptr<ObjectReader> inner, const DestinationFaults& f)
      : inner_(std::move(inner)), f_(f) {}
  uint64_t size() const override { return inner_->size(); }
  absl::StatusOr<size_t> Read(std::span<uint8_t> out) override {
    uint64_t end = f_.truncate_reads ? inner_->size() / 2 : inner_->size();
    if (pos_ >= end) return 0;
    if (out.size() > end - pos_) out = out.first(static_cast<size_t>(end - pos_));
    auto n = inner_->Read(out);
    if (!n.ok()) return n;
    uint64_t mid = inner_->size() / 2;
    if (f_.corrupt_reads && mid >= pos_ && mid < pos_ + *n) out[static_cast<size_t>(mid - pos_)] ^= 0x01;
    pos_ += *n;
    return n;
  }

 private:
  std::unique_ptr<ObjectReader> inner_;
  const DestinationFaults& f_;
  uint64_t pos_ = 0;
};

class FaultyDestination : public Destination {
 public:
  FaultyDestination(std::unique_ptr<Destination> inner, DestinationFaults f)
      : inner_(std::move(inner)), f_(f) {}
  std::string Describe() const override { return inner_->Describe(); }
  absl::StatusOr<std::unique_ptr<ObjectWriter>> Create(const std::string& key, const WriteOptions& o) override {
    if (absl::Status st = Unavailable("create"); !st.ok()) return st;
    auto w = inner_->Create(key, o);
    if (!w.ok()) return w.status();
    return std::unique_ptr<ObjectWriter>(new FaultyWriter(std::move(*w), f_, writes_));
  }
  absl::StatusOr<std::unique_ptr<ObjectReader>> Open(const std::string& key, const ReadOptions& o) override {
    if (absl::Status st = Unavailable("open"); !st.ok()) return st;
    auto r = inner_->Open(key, o);
    if (!r.ok()) return r.status();
    return std::unique_ptr<ObjectReader>(new FaultyReader(std::move(*r), f_));
  }
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    if (absl::Status st = Unavailable("list"); !st.ok()) return st;
    return inner_->List(prefix);
  }
  absl::StatusOr<ObjectInfo> Stat(const std::string& key) override {
    if (absl::Status st = Unavailable("stat"); !st.ok()) return st;
    return inner_->Stat(key);
  }
  absl::Status Remove(const std::string& key) override {
    if (absl::Status st = Unavailable("remove"); !st.ok()) return st;
    return inner_->Remove(key);
  }
  absl::Status Probe(bool create) override { return inner_->Probe(create); }
  absl::StatusOr<uint64_t> FreeBytes() override { return inner_->FreeBytes(); }
  absl::StatusOr<std::vector<ObjectInfo>> ListOrphans(const OrphanFilter& f) override {
    return inner_->ListOrphans(f);
  }
  absl::Status RemoveOrphan(const ObjectInfo& o) override { return inner_->RemoveOrphan(o); }

 private:
  absl::Status Unavailable(const char* op) {
    if (calls_.fetch_add(1) < f_.unavailable_first) {
      return absl::UnavailableError(absl::StrCat("injected: ", op, " unavailable"));
    }
    return absl::OkStatus();
  }
  std::unique_ptr<Destination> inner_;
  DestinationFaults f_;
  std::atomic<int> writes_{0};
  std::atomic<int> calls_{0};
};

}  // namespace

std::unique_ptr<Destination> MakeFaultyDestination(std::unique_ptr<Destination> inner, DestinationFaults f) {
  return std::make_unique<FaultyDestination>(std::move(inner), f);
}

}  // namespace hab
