// S3 writer/reader logic against an in-memory transport (the real servers
// are exercised in tests/e2e/s3.sh): part sizes, single PUT for small
// objects, completion, abort, ranged reads, part-size growth.
#include "destinations/s3/s3_destination.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "engine/sha256.h"
#include "destinations/s3/s3_sigv4.h"
#include "nodes/test_util.h"

namespace hab {
namespace {

class FakeS3 : public S3Transport {
 public:
  absl::StatusOr<HttpResponse> Do(const S3Request& r) override {
    absl::MutexLock lock(&mu_);
    log.push_back(r.op);
    HttpResponse resp;
    resp.code = 200;
    auto q = [&](const std::string& k) {
      for (const auto& [a, b] : r.query) if (a == k) return b;
      return std::string();
    };
    if (r.op == "PutObject" || r.op == "UploadPart") {
      // As AWS does: a signed payload hash must be the body's. (An empty
      // one is computed by the real transport from the body.)
      std::string actual = Sha256Hex(absl::string_view(reinterpret_cast<const char*>(r.body.data()), r.body.size()));
      if (!r.payload_sha256.empty() && r.payload_sha256 != actual) {
        resp.code = 400;
        resp.body = "<Error><Code>XAmzContentSHA256Mismatch</Code><Message>hash</Message></Error>";
        return resp;
      }
      if (!r.payload_sha256.empty()) ++prehashed;
    }
    if (r.op == "PutObject") {
      objects[r.key] = std::string(r.body.begin(), r.body.end());
    } else if (r.op == "CreateMultipartUpload") {
      resp.body = "<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>";
    } else if (r.op == "UploadPart") {
      if (fail_part_ > 0 && q("partNumber") == std::to_string(fail_part_)) {
        resp.code = 403;
        resp.body = "<Error><Code>AccessDenied</Code><Message>no</Message></Error>";
        return resp;
      }
      parts[std::stoi(q("partNumber"))] = std::string(r.body.begin(), r.body.end());
      resp.headers["etag"] = absl::StrCat("\"etag-", q("partNumber"), "\"");
    } else if (r.op == "CompleteMultipartUpload") {
      complete_xml = std::string(r.body.begin(), r.body.end());
      std::string all;
      for (auto& [n, p] : parts) all += p;
      objects[r.key] = all;
    } else if (r.op == "AbortMultipartUpload") {
      aborted = true;
    } else if (r.op == "HeadObject") {
      auto it = objects.find(r.key);
      if (it == objects.end()) {
        resp.code = 404;
        return resp;
      }
      resp.headers["content-length"] = std::to_string(it->second.size());
    } else if (r.op == "GetObject") {
      std::string range;
      for (const auto& [k, v] : r.headers) if (k == "range") range = v;
      uint64_t a = 0, b = 0;
      size_t dash = range.find('-');
      (void)absl::SimpleAtoi(range.substr(6, dash - 6), &a);
      (void)absl::SimpleAtoi(range.substr(dash + 1), &b);
      resp.code = 206;
      resp.body = objects[r.key].substr(a, b - a + 1);
    }
    return resp;
  }
  void FailPart(int n) { fail_part_ = n; }

  absl::Mutex mu_;
  std::vector<std::string> log;
  std::map<std::string, std::string> objects;
  std::map<int, std::string> parts;
  std::string complete_xml;
  bool aborted = false;
  int prehashed = 0;  // PutObject/UploadPart requests that came with their hash
  int fail_part_ = 0;
};

// Three parts (and three ranged reads) in flight, as the plan would ask.
const WriteOptions kThreeParts{0, 3, 0};
const ReadOptions kThreeReads{3, 0};

struct Rig {
  FakeS3* fake;
  std::unique_ptr<S3Destination> dest;
  explicit Rig(uint64_t part = 5 << 20) {
    auto f = std::make_unique<FakeS3>();
    fake = f.get();
    S3Options o;
    o.part_size = part;
    dest = std::make_unique<S3Destination>(o, std::move(f));
  }
};

// Answers every request with one status code and counts the requests.
class FixedStatus : public S3Transport {
 public:
  explicit FixedStatus(int code) : code_(code) {}
  absl::StatusOr<HttpResponse> Do(const S3Request&) override {
    ++calls;
    HttpResponse resp;
    resp.code = code_;
    return resp;
  }
  int calls = 0;

 private:
  int code_;
};

TEST(RetryingTransport, RetriesTransientStatusesOnlyAndGivesUp) {
  RetryPolicy fast{4, absl::Milliseconds(1), absl::Milliseconds(2)};
  S3Request r{"ListMultipartUploads", "GET", "", {}, {}, {}};
  for (auto [code, expect_calls] : std::vector<std::pair<int, int>>{
           {503, 4}, {500, 4}, {429, 4}, {501, 1}, {505, 1}, {403, 1}, {404, 1}, {200, 1}}) {
    auto inner = std::make_unique<FixedStatus>(code);
    FixedStatus* raw = inner.get();
    auto t = MakeRetryingTransport(std::move(inner), fast);
    auto resp = t->Do(r);
    ASSERT_TRUE(resp.ok());
    EXPECT_EQ(resp->code, code);
    EXPECT_EQ(raw->calls, expect_calls) << "HTTP " << code;
  }
  HttpResponse not_impl;
  not_impl.code = 501;
  EXPECT_EQ(S3Status(r, not_impl).code(), absl::StatusCode::kUnimplemented);
}

TEST(S3Writer, SmallObjectIsOnePutAtCommit) {
  Rig rig;
  auto w = rig.dest->Create("k", kThreeParts);
  ASSERT_TRUE(w.ok());
  std::vector<uint8_t> data = testing::RandomBytes(1000, 1);
  ASSERT_TRUE((*w)->Write(data).ok());
  EXPECT_TRUE(rig.fake->objects.empty()) << "nothing visible before Commit";
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(rig.fake->objects["k"], std::string(data.begin(), data.end()));
  EXPECT_EQ(rig.fake->log, (std::vector<std::string>{"HeadObject", "PutObject"}));
}

TEST(S3Writer, MultipartPartsAreEqualExceptTheLast) {
  const uint64_t part = 5 << 20;
  for (uint64_t total : {part, part + 1, 3 * part, 3 * part + 12345}) {
    Rig rig(part);
    auto w = rig.dest->Create("big", kThreeParts);
    std::vector<uint8_t> data = testing::RandomBytes(total, static_cast<unsigned>(total));
    // Odd write sizes, like the age blocks.
    for (size_t pos = 0; pos < data.size(); pos += 1000003) {
      size_t n = std::min<size_t>(1000003, data.size() - pos);
      ASSERT_TRUE((*w)->Write(std::span<const uint8_t>(data).subspan(pos, n)).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
    EXPECT_EQ(rig.fake->objects["big"], std::string(data.begin(), data.end())) << total;
    if (total == part) {
      EXPECT_TRUE(rig.fake->parts.empty()) << "exactly one part: a single PutObject";
      continue;
    }
    for (auto& [n, p] : rig.fake->parts) {
      if (n < static_cast<int>(rig.fake->parts.size())) {
        EXPECT_EQ(p.size(), part);
      }
      EXPECT_FALSE(p.empty());
    }
    EXPECT_NE(rig.fake->complete_xml.find("<PartNumber>1</PartNumber><ETag>&quot;etag-1&quot;</ETag>"),
              std::string::npos)
        << rig.fake->complete_xml;
  }
}

// The sink hands the writer its archive digest: each part's signed payload
// hash and the digest come out of one pass, and both must be right.
TEST(S3Writer, PartHashesAndArchiveDigestInOnePass) {
  const uint64_t part = 5 << 20;
  for (uint64_t total : {uint64_t{1000}, 3 * part + 12345}) {
    Rig rig(part);
    auto w = rig.dest->Create("h", kThreeParts);
    std::vector<uint8_t> data = testing::RandomBytes(total, 9);
    Sha256 digest;
    digest.Update(std::span<const uint8_t>(data).first(7));  // digest and parts at different offsets
    ASSERT_TRUE((*w)->Write(std::span<const uint8_t>(data).first(7)).ok());
    for (size_t pos = 7; pos < data.size(); pos += 65555) {
      size_t n = std::min<size_t>(65555, data.size() - pos);
      ASSERT_TRUE((*w)->WriteHashed(std::span<const uint8_t>(data).subspan(pos, n), digest).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok()) << total;
    EXPECT_EQ(rig.fake->objects["h"], std::string(data.begin(), data.end())) << total;
    EXPECT_EQ(digest.FinalHex(), Sha256Hex(absl::string_view(reinterpret_cast<const char*>(data.data()), data.size())));
    EXPECT_EQ(rig.fake->prehashed, total < part ? 1 : 4) << total;
  }
}

TEST(S3Writer, FailedPartAbortsAndNothingIsVisible) {
  Rig rig;
  rig.fake->FailPart(2);
  auto w = rig.dest->Create("x", kThreeParts);
  std::vector<uint8_t> data = testing::RandomBytes(4 * (5 << 20), 3);
  absl::Status st;
  for (size_t pos = 0; pos < data.size() && st.ok(); pos += 1 << 20) {
    st = (*w)->Write(std::span<const uint8_t>(data).subspan(pos, 1 << 20));
  }
  if (st.ok()) st = (*w)->Commit().status();
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied) << st;
  EXPECT_NE(st.message().find("AccessDenied"), absl::string_view::npos);
  (*w)->Abort();
  EXPECT_TRUE(rig.fake->aborted);
  EXPECT_EQ(rig.fake->objects.count("x"), 0u);
}

TEST(S3Writer, DestructorAbortsNeverCommits) {
  Rig rig;
  {
    auto w = rig.dest->Create("y", kThreeParts);
    std::vector<uint8_t> data = testing::RandomBytes(11 << 20, 4);
    ASSERT_TRUE((*w)->Write(data).ok());
  }
  EXPECT_TRUE(rig.fake->aborted);
  EXPECT_EQ(rig.fake->objects.count("y"), 0u);
}

TEST(S3Reader, RangedReadsInOrder) {
  Rig rig(5 << 20);
  std::vector<uint8_t> data = testing::RandomBytes(17 << 20, 5);
  rig.fake->objects["r"] = std::string(data.begin(), data.end());
  auto reader = rig.dest->Open("r", kThreeReads);
  ASSERT_TRUE(reader.ok());
  std::vector<uint8_t> back;
  std::vector<uint8_t> buf(777777);
  while (true) {
    auto n = (*reader)->Read(buf);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    back.insert(back.end(), buf.begin(), buf.begin() + static_cast<long>(*n));
  }
  EXPECT_EQ(back, data);
}

TEST(S3Destination, PartSizeGrowsForHugeSources) {
  EXPECT_EQ(S3PartSize(16 << 20, 0), 16u << 20);
  EXPECT_EQ(S3PartSize(16 << 20, 100ull << 30), 16u << 20);
  uint64_t tib = 1ull << 40;
  uint64_t p = S3PartSize(16 << 20, tib);
  EXPECT_GE(p * 10000, tib / 10 * 12);
  EXPECT_EQ(p % (1 << 20), 0u);
}

}  // namespace
}  // namespace hab
