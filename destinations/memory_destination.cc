#include "destinations/memory_destination.h"

#include <cstring>
#include <ctime>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace hab {
namespace {

struct Store {
  absl::Mutex mu;
  std::map<std::string, ObjectInfo> objects ABSL_GUARDED_BY(mu);
  std::map<std::string, std::string> data ABSL_GUARDED_BY(mu);
  // Writers in progress, by an id: key and start time (the orphans).
  std::map<uint64_t, ObjectInfo> pending ABSL_GUARDED_BY(mu);
  uint64_t next_id ABSL_GUARDED_BY(mu) = 1;
};

class MemoryWriter : public ObjectWriter {
 public:
  MemoryWriter(std::shared_ptr<Store> store, std::string key, uint64_t id)
      : store_(std::move(store)), key_(std::move(key)), id_(id) {}
  ~MemoryWriter() override { Abort(); }
  absl::Status Write(std::span<const uint8_t> bytes) override {
    if (done_) return absl::FailedPreconditionError("write after commit or abort");
    bytes_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Commit() override {
    if (done_) return absl::FailedPreconditionError("commit after commit or abort");
    absl::MutexLock lock(&store_->mu);
    done_ = true;
    store_->pending.erase(id_);
    if (store_->objects.count(key_)) return absl::AlreadyExistsError(absl::StrCat(key_, " already exists"));
    store_->objects[key_] = {key_, bytes_.size(), static_cast<int64_t>(std::time(nullptr))};
    store_->data[key_] = std::move(bytes_);
    return store_->objects[key_].size;
  }
  void Abort() noexcept override {
    if (done_) return;
    done_ = true;
    absl::MutexLock lock(&store_->mu);
    store_->pending.erase(id_);
  }

 private:
  std::shared_ptr<Store> store_;
  std::string key_;
  uint64_t id_;
  std::string bytes_;
  bool done_ = false;
};

class MemoryReader : public ObjectReader {
 public:
  explicit MemoryReader(std::string data) : data_(std::move(data)) {}
  uint64_t size() const override { return data_.size(); }
  absl::StatusOr<size_t> Read(std::span<uint8_t> out) override {
    size_t n = std::min(out.size(), data_.size() - pos_);
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

class MemoryDestination : public Destination {
 public:
  std::string Describe() const override { return "memory:"; }
  absl::StatusOr<std::unique_ptr<ObjectWriter>> Create(const std::string& key, const WriteOptions&) override {
    absl::MutexLock lock(&s_->mu);
    uint64_t id = s_->next_id++;
    s_->pending[id] = {key, 0, static_cast<int64_t>(std::time(nullptr)), absl::StrCat(id)};
    return std::unique_ptr<ObjectWriter>(new MemoryWriter(s_, key, id));
  }
  absl::StatusOr<std::unique_ptr<ObjectReader>> Open(const std::string& key, const ReadOptions&) override {
    absl::MutexLock lock(&s_->mu);
    auto it = s_->data.find(key);
    if (it == s_->data.end()) return absl::NotFoundError(absl::StrCat("open ", key, ": no such object"));
    return std::unique_ptr<ObjectReader>(new MemoryReader(it->second));
  }
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    absl::MutexLock lock(&s_->mu);
    std::vector<ObjectInfo> out;
    for (const auto& [k, o] : s_->objects) {
      if (absl::StartsWith(k, prefix)) out.push_back(o);
    }
    return out;
  }
  absl::StatusOr<ObjectInfo> Stat(const std::string& key) override {
    absl::MutexLock lock(&s_->mu);
    auto it = s_->objects.find(key);
    if (it == s_->objects.end()) return absl::NotFoundError(absl::StrCat("stat ", key, ": no such object"));
    return it->second;
  }
  absl::Status Remove(const std::string& key) override {
    absl::MutexLock lock(&s_->mu);
    s_->objects.erase(key);
    s_->data.erase(key);
    return absl::OkStatus();
  }
  absl::Status Probe(bool) override { return absl::OkStatus(); }
  absl::StatusOr<uint64_t> FreeBytes() override { return absl::UnimplementedError("memory"); }
  absl::StatusOr<std::vector<ObjectInfo>> ListOrphans(const OrphanFilter& f) override {
    absl::MutexLock lock(&s_->mu);
    std::vector<ObjectInfo> out;
    for (const auto& [id, o] : s_->pending) {
      if (o.mtime_unix < f.before_unix && f.ours && f.ours(o.key)) out.push_back(o);
    }
    return out;
  }
  absl::Status RemoveOrphan(const ObjectInfo& orphan) override {
    absl::MutexLock lock(&s_->mu);
    uint64_t id = 0;
    for (char c : orphan.orphan_id) id = id * 10 + static_cast<uint64_t>(c - '0');
    s_->pending.erase(id);
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<Store> s_ = std::make_shared<Store>();
};

}  // namespace

std::unique_ptr<Destination> MakeMemoryDestination() { return std::make_unique<MemoryDestination>(); }

}  // namespace hab
