#include "destinations/s3/s3_destination.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "engine/blocking_queue.h"
#include "engine/status_macros.h"
#include "destinations/s3/s3_xml.h"

namespace hab {
namespace {

constexpr int kMaxParts = 10000;  // S3's limit on parts per upload

absl::StatusOr<HttpResponse> Call(S3Transport& t, const S3Request& r) {
  HAB_ASSIGN_OR_RETURN(HttpResponse resp, t.Do(r));
  HAB_RETURN_IF_ERROR(S3Status(r, resp));
  return resp;
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class S3Writer : public ObjectWriter {
 public:
  S3Writer(std::shared_ptr<S3Transport> t, std::string key, uint64_t part_size, int concurrency)
      : t_(std::move(t)), key_(std::move(key)), part_size_(part_size), concurrency_(concurrency) {
    current_.reserve(part_size_);
  }
  ~S3Writer() override { Abort(); }

  absl::Status Write(std::span<const uint8_t> bytes) override { return Append(bytes, nullptr); }
  absl::Status WriteHashed(std::span<const uint8_t> bytes, Sha256& digest) override {
    return Append(bytes, &digest);
  }

  absl::StatusOr<uint64_t> Commit() override {
    // S3 replaces an object silently; our contract never does. (Archive
    // names carry the run's start, so this only trips on a real clash.)
    S3Request head{"HeadObject", "HEAD", key_, {}, {}, {}};
    auto existing = t_->Do(head);
    if (existing.ok() && existing->code == 200) {
      Abort();
      return absl::AlreadyExistsError(absl::StrCat(key_, " already exists; not replaced"));
    }
    if (upload_id_.empty()) {
      // Small object: one PutObject is atomic by itself.
      S3Request r{"PutObject", "PUT", key_, {}, {{"content-type", "application/octet-stream"}},
                    current_, part_sha_.FinalHex()};
      HAB_RETURN_IF_ERROR(Call(*t_, r).status());
      committed_ = true;
      return size_;
    }
    HAB_RETURN_IF_ERROR(Ship());
    JoinWorkers();
    HAB_RETURN_IF_ERROR(FirstError());
    std::string xml = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < etags_.size(); ++i) {
      absl::StrAppend(&xml, "<Part><PartNumber>", i + 1, "</PartNumber><ETag>", XmlEscape(etags_[i]),
                      "</ETag></Part>");
    }
    xml += "</CompleteMultipartUpload>";
    S3Request r{"CompleteMultipartUpload", "POST", key_, {{"uploadId", upload_id_}},
                  {{"content-type", "application/xml"}}, Bytes(xml)};
    HAB_RETURN_IF_ERROR(Call(*t_, r).status());
    committed_ = true;
    return size_;
  }

  void Abort() noexcept override {
    if (committed_ || aborted_) return;
    aborted_ = true;
    stop_.store(true);  // queued parts are not worth uploading any more
    JoinWorkers();
    if (!upload_id_.empty()) {
      S3Request r{"AbortMultipartUpload", "DELETE", key_, {{"uploadId", upload_id_}}, {}, {}};
      (void)t_->Do(r);  // best effort: some servers (s3rver) do not implement it
    }
  }

 private:
  // Copies into the part being filled and hashes the bytes for its signed
  // payload hash (with `digest`, the archive's, in the same pass).
  absl::Status Append(std::span<const uint8_t> bytes, Sha256* digest) {
    while (!bytes.empty()) {
      HAB_RETURN_IF_ERROR(FirstError());
      size_t n = std::min<size_t>(bytes.size(), part_size_ - current_.size());
      std::span<const uint8_t> piece = bytes.first(n);
      current_.insert(current_.end(), piece.begin(), piece.end());
      if (digest != nullptr) {
        Sha256::UpdateBoth(*digest, part_sha_, piece);
      } else {
        part_sha_.Update(piece);
      }
      bytes = bytes.subspan(n);
      size_ += n;
      // A full part goes out only once more data proves it is not the last
      // one, so the last part is never empty.
      if (current_.size() == part_size_ && !bytes.empty()) HAB_RETURN_IF_ERROR(Ship());
    }
    return absl::OkStatus();
  }

  absl::Status FirstError() {
    absl::MutexLock lock(&mu_);
    return error_;
  }

  absl::Status Ship() {
    if (upload_id_.empty()) {
      S3Request r{"CreateMultipartUpload", "POST", key_, {{"uploads", ""}},
                    {{"content-type", "application/octet-stream"}}, {}};
      HAB_ASSIGN_OR_RETURN(HttpResponse resp, Call(*t_, r));
      upload_id_ = XmlFirst(resp.body, "UploadId");
      if (upload_id_.empty()) return absl::InternalError("CreateMultipartUpload: no UploadId in the answer");
      for (int i = 0; i < concurrency_; ++i) workers_.emplace_back([this] { WorkLoop(); });
    }
    int number = ++parts_;
    if (number > kMaxParts) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "archive exceeds ", kMaxParts, " parts of ", part_size_,
          " bytes; raise destination.part_size (S3 allows at most 10,000 parts)"));
    }
    {
      absl::MutexLock lock(&mu_);
      etags_.resize(static_cast<size_t>(number));
    }
    // Blocks while `concurrency` parts are already in flight: this is the
    // writer thread, and the part buffers are what the budget reserved.
    queue_.Push({number, std::move(current_), part_sha_.FinalHex()});
    current_ = TakeBuffer();
    part_sha_ = Sha256();
    return absl::OkStatus();
  }

  // Part buffers are reused: at most concurrency + 2 exist (one filling, one
  // queued, one per worker), which is what the budget reserved for them, and
  // a fresh 16 MiB buffer per part costs a page fault per 4 KiB on first touch.
  std::vector<uint8_t> TakeBuffer() {
    std::vector<uint8_t> b;
    {
      absl::MutexLock lock(&mu_);
      if (!free_.empty()) {
        b = std::move(free_.back());
        free_.pop_back();
      }
    }
    b.clear();
    b.reserve(part_size_);
    return b;
  }

  void WorkLoop() {
    while (auto job = queue_.Pop()) {
      if (stop_.load() || !FirstError().ok()) continue;
      S3Request r{"UploadPart", "PUT", key_,
                    {{"partNumber", std::to_string(job->number)}, {"uploadId", upload_id_}}, {},
                    job->bytes, job->sha256_hex};
      auto resp = Call(*t_, r);
      absl::MutexLock lock(&mu_);
      free_.push_back(std::move(job->bytes));
      if (!resp.ok()) {
        if (error_.ok()) error_ = resp.status();
        continue;
      }
      auto it = resp->headers.find("etag");
      etags_[static_cast<size_t>(job->number - 1)] = it == resp->headers.end() ? "" : it->second;
    }
  }

  void JoinWorkers() {
    queue_.Close();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::shared_ptr<S3Transport> t_;
  std::string key_;
  uint64_t part_size_;
  int concurrency_;
  std::vector<uint8_t> current_;
  uint64_t size_ = 0;
  std::string upload_id_;
  int parts_ = 0;
  Sha256 part_sha_;  // of current_
  struct Part {
    int number;
    std::vector<uint8_t> bytes;
    std::string sha256_hex;
  };
  BlockingQueue<Part> queue_{1};
  std::vector<std::thread> workers_;
  absl::Mutex mu_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> etags_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<uint8_t>> free_ ABSL_GUARDED_BY(mu_);
  bool committed_ = false, aborted_ = false;
  std::atomic<bool> stop_{false};
};

class S3Reader : public ObjectReader {
 public:
  S3Reader(std::shared_ptr<S3Transport> t, std::string key, uint64_t size, uint64_t range, int concurrency)
      : t_(std::move(t)), key_(std::move(key)), size_(size), range_(range), concurrency_(concurrency) {}
  ~S3Reader() override {
    for (auto& f : inflight_) f.thread.join();
  }
  uint64_t size() const override { return size_; }

  absl::StatusOr<size_t> Read(std::span<uint8_t> out) override {
    // Keep `concurrency` ranged GETs running ahead of the reader.
    while (static_cast<int>(inflight_.size()) < concurrency_ && next_offset_ < size_) Launch();
    while (current_pos_ >= current_.size()) {
      if (inflight_.empty()) return 0;
      Fetch& f = inflight_.front();
      f.thread.join();
      if (!f.result->ok()) return f.result->status();
      current_ = std::move(**f.result);
      current_pos_ = 0;
      uint64_t want = std::min(range_, size_ - f.offset);
      if (current_.size() != want) {
        return absl::DataLossError(absl::StrCat("GetObject ", key_, ": range at ", f.offset, " returned ",
                                                current_.size(), " bytes, expected ", want));
      }
      inflight_.pop_front();
      while (static_cast<int>(inflight_.size()) < concurrency_ && next_offset_ < size_) Launch();
    }
    size_t n = std::min(out.size(), current_.size() - current_pos_);
    std::memcpy(out.data(), current_.data() + current_pos_, n);
    current_pos_ += n;
    return n;
  }

 private:
  struct Fetch {
    uint64_t offset;
    std::shared_ptr<absl::StatusOr<std::string>> result;
    std::thread thread;
  };

  void Launch() {
    uint64_t off = next_offset_;
    uint64_t end = std::min(size_, off + range_) - 1;
    next_offset_ = end + 1;
    auto result = std::make_shared<absl::StatusOr<std::string>>(absl::InternalError("unset"));
    std::thread th([t = t_, key = key_, off, end, result] {
      S3Request r{"GetObject", "GET", key, {}, {{"range", absl::StrCat("bytes=", off, "-", end)}}, {}};
      auto resp = Call(*t, r);
      if (resp.ok()) {
        *result = std::move(resp->body);
      } else {
        *result = resp.status();
      }
    });
    inflight_.push_back({off, result, std::move(th)});
  }

  std::shared_ptr<S3Transport> t_;
  std::string key_;
  uint64_t size_, range_;
  int concurrency_;
  uint64_t next_offset_ = 0;
  std::deque<Fetch> inflight_;
  std::string current_;
  size_t current_pos_ = 0;
};

}  // namespace

S3Destination::S3Destination(S3Options options, std::unique_ptr<S3Transport> transport)
    : options_(std::move(options)), transport_(std::move(transport)) {}

absl::StatusOr<std::unique_ptr<S3Destination>> S3Destination::Connect(S3Options options) {
  HAB_ASSIGN_OR_RETURN(std::unique_ptr<S3Transport> signed_transport,
                       MakeSignedTransport(options.endpoint));
  RetryPolicy policy;
  policy.max_attempts = options.max_attempts;
  auto t = MakeRetryingTransport(std::move(signed_transport), policy, options.endpoint.cancel);
  return std::make_unique<S3Destination>(std::move(options), std::move(t));
}

std::string S3Destination::Describe() const {
  return absl::StrCat("s3:", options_.endpoint.endpoint, "/", options_.endpoint.bucket, "/", options_.prefix);
}

uint64_t S3PartSize(uint64_t part_size, uint64_t size_hint) {
  uint64_t need = size_hint / 10 * 12 / kMaxParts + 1;
  need = (need + (1 << 20) - 1) / (1 << 20) * (1 << 20);
  return std::max<uint64_t>(part_size, need);
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> S3Destination::Create(const std::string& key,
                                                                    const WriteOptions& o) {
  uint64_t part = o.request_bytes > 0 ? o.request_bytes : S3PartSize(options_.part_size, o.size_hint);
  return std::unique_ptr<ObjectWriter>(
      new S3Writer(transport_, options_.prefix + key, part, std::max(1, o.concurrency)));
}

absl::StatusOr<std::unique_ptr<ObjectReader>> S3Destination::Open(const std::string& key,
                                                                  const ReadOptions& o) {
  HAB_ASSIGN_OR_RETURN(ObjectInfo info, Stat(key));
  uint64_t range = o.request_bytes > 0 ? o.request_bytes : options_.part_size;
  return std::unique_ptr<ObjectReader>(
      new S3Reader(transport_, options_.prefix + key, info.size, range, std::max(1, o.concurrency)));
}

absl::StatusOr<std::vector<ObjectInfo>> S3Destination::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string token;
  do {
    S3Request r{"ListObjectsV2", "GET", "", {{"list-type", "2"}, {"prefix", options_.prefix + prefix}}, {}, {}};
    if (!token.empty()) r.query.push_back({"continuation-token", token});
    HAB_ASSIGN_OR_RETURN(HttpResponse resp, Call(*transport_, r));
    S3ListPage page = ParseListObjectsV2(resp.body);
    for (auto& o : page.objects) {
      // Keys are relative to the prefix; anything else a server returns is not ours.
      if (!absl::StartsWith(o.key, options_.prefix)) continue;
      out.push_back({o.key.substr(options_.prefix.size()), o.size, o.mtime_unix});
    }
    token = std::move(page.next_token);
  } while (!token.empty());
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

absl::StatusOr<ObjectInfo> S3Destination::Stat(const std::string& key) {
  S3Request r{"HeadObject", "HEAD", options_.prefix + key, {}, {}, {}};
  HAB_ASSIGN_OR_RETURN(HttpResponse resp, Call(*transport_, r));
  ObjectInfo o;
  o.key = key;
  auto it = resp.headers.find("content-length");
  if (it == resp.headers.end() || !absl::SimpleAtoi(it->second, &o.size)) {
    return absl::InternalError(absl::StrCat("HeadObject ", key, ": no Content-Length"));
  }
  return o;
}

absl::Status S3Destination::Remove(const std::string& key) {
  S3Request r{"DeleteObject", "DELETE", options_.prefix + key, {}, {}, {}};
  return Call(*transport_, r).status();
}

absl::Status S3Destination::Probe(bool create) {
  S3Request head{"HeadBucket", "HEAD", "", {}, {}, {}};
  auto resp = transport_->Do(head);
  if (!resp.ok()) return resp.status();
  if (resp->code == 404) {
    return absl::NotFoundError(absl::StrCat("HeadBucket: bucket ", options_.endpoint.bucket, " does not exist (HTTP 404)"));
  }
  if (resp->code == 401 || resp->code == 403) {
    // HEAD answers carry no body: ask again with a GET to get the server's
    // own <Code> and <Message> (SignatureDoesNotMatch, AccessDenied, ...).
    S3Request list{"HeadBucket (ListObjectsV2)", "GET", "", {{"list-type", "2"}, {"max-keys", "1"}}, {}, {}};
    auto again = transport_->Do(list);
    if (again.ok() && !S3Status(list, *again).ok()) return S3Status(list, *again);
  }
  HAB_RETURN_IF_ERROR(S3Status(head, *resp));
  if (!create) {
    // A dry run writes nothing: listing under the prefix proves the
    // credentials and the bucket; the write probe waits for a real run.
    S3Request list{"ListObjectsV2 (probe)", "GET", "",
                   {{"list-type", "2"}, {"max-keys", "1"}, {"prefix", options_.prefix}}, {}, {}};
    return Call(*transport_, list).status();
  }
  std::string key = absl::StrCat(".hostatlas-backup-probe-", ::getpid());
  static constexpr uint8_t kProbe[] = {'p', 'r', 'o', 'b', 'e', '\n'};
  S3Request put{"PutObject (probe)", "PUT", options_.prefix + key, {}, {}, kProbe};
  HAB_RETURN_IF_ERROR(Call(*transport_, put).status());
  return Remove(key);
}

absl::StatusOr<std::vector<ObjectInfo>> S3Destination::ListOrphans(const OrphanFilter& filter) {
  std::vector<ObjectInfo> out;
  std::string key_marker, id_marker;
  do {
    S3Request r{"ListMultipartUploads", "GET", "", {{"prefix", options_.prefix}, {"uploads", ""}}, {}, {}};
    if (!key_marker.empty()) {
      r.query.push_back({"key-marker", key_marker});
      r.query.push_back({"upload-id-marker", id_marker});
    }
    HAB_ASSIGN_OR_RETURN(HttpResponse resp, transport_->Do(r));
    if (resp.code == 501 || resp.code == 405) return out;  // not implemented by this server
    HAB_RETURN_IF_ERROR(S3Status(r, resp));
    S3UploadsPage page = ParseListMultipartUploads(resp.body);
    for (const S3ListedUpload& u : page.uploads) {
      if (!absl::StartsWith(u.key, options_.prefix)) continue;
      std::string key = u.key.substr(options_.prefix.size());
      // Only our archives: an upload of anything else is not ours to abort.
      if (!filter.ours || !filter.ours(key)) continue;
      if (u.initiated_unix == 0 || u.initiated_unix >= filter.before_unix) continue;
      out.push_back({key, 0, u.initiated_unix, u.upload_id});
    }
    // A server that says "truncated" without moving its marker would loop.
    if (page.next_key_marker == key_marker && page.next_upload_id_marker == id_marker) break;
    key_marker = std::move(page.next_key_marker);
    id_marker = std::move(page.next_upload_id_marker);
  } while (!key_marker.empty());
  return out;
}

absl::Status S3Destination::RemoveOrphan(const ObjectInfo& orphan) {
  S3Request a{"AbortMultipartUpload", "DELETE", options_.prefix + orphan.key, {{"uploadId", orphan.orphan_id}}, {}, {}};
  return Call(*transport_, a).status();
}

}  // namespace hab
