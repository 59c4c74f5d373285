// net/: URL policy (issue 15.3), bounded and cancellable waits (15.13),
// the retry loop, and the defensive S3 XML parser (15.14).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "net/http.h"
#include "net/retry.h"
#include "net/url.h"
#include "destinations/s3/s3_xml.h"

namespace hab {
namespace {

TEST(Url, HostilePrefixesAreRefused) {
  for (const char* bad : {"http://localhost@evil.com/", "http://127.0.0.1.evil.com",
                          "http://user:pw@127.0.0.1:9000", "http://example.com", "ftp://127.0.0.1",
                          "127.0.0.1:9000", "http://127.0.0.1/?x=1", "http://[::1]#frag"}) {
    auto u = ParseBaseUrl(bad, "endpoint");
    absl::Status st = u.ok() ? CheckTransportPolicy(*u, "endpoint") : u.status();
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.message().find("pw"), std::string::npos) << st;
  }
}

TEST(Url, LoopbackHttpAndAnyHttpsAreAccepted) {
  struct Case {
    const char* url;
    const char* host_port;
    const char* path;
  } cases[] = {{"http://127.0.0.1:9000", "127.0.0.1:9000", ""},
               {"http://localhost:8080/base/", "localhost:8080", "/base"},
               {"http://[::1]:9000", "[::1]:9000", ""},
               {"http://127.1.2.3", "127.1.2.3", ""},
               {"https://abc.r2.cloudflarestorage.com", "abc.r2.cloudflarestorage.com", ""},
               {"https://s3.example.com:443/", "s3.example.com", ""},
               {"https://s3.example.com:8443", "s3.example.com:8443", ""}};
  for (const auto& c : cases) {
    auto u = ParseBaseUrl(c.url, "endpoint");
    ASSERT_TRUE(u.ok()) << c.url << ": " << u.status();
    EXPECT_TRUE(CheckTransportPolicy(*u, "endpoint").ok()) << c.url;
    EXPECT_EQ(u->host_port, c.host_port);
    EXPECT_EQ(u->path, c.path);
  }
  EXPECT_TRUE(IsLoopbackAddress("::ffff:127.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress("128.0.0.1"));
}

// A TCP listener that accepts connections and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
};

TEST(HttpClient, ServerThatNeverAnswersFailsAfterTheStallTimeout) {
  SilentServer server;
  HttpOptions o;
  o.connect_timeout_seconds = 2;
  o.stall_timeout_seconds = 1;
  auto client = MakeCurlClient(o);
  HttpRequest r{"Probe", "GET", "http://127.0.0.1:" + std::to_string(server.port()) + "/", {}, {}};
  auto start = std::chrono::steady_clock::now();
  auto resp = client->Do(r);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(resp.ok());
  EXPECT_TRUE(IsTransient(resp.status())) << resp.status();
  EXPECT_LT(s, 10.0) << "a bounded wait";
}

TEST(HttpClient, CancellationAbortsAWaitingRequest) {
  SilentServer server;
  std::atomic<bool> cancel{false};
  HttpOptions o;
  o.stall_timeout_seconds = 60;
  o.cancel = &cancel;
  auto client = MakeCurlClient(o);
  HttpRequest r{"Probe", "GET", "http://127.0.0.1:" + std::to_string(server.port()) + "/", {}, {}};
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.store(true);
  });
  auto start = std::chrono::steady_clock::now();
  auto resp = client->Do(r);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  t.join();
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kCancelled) << resp.status();
  EXPECT_LT(s, 5.0);
}

TEST(HttpClient, StatusClasses) {
  EXPECT_TRUE(HttpCodeStatus(204, "x").ok());
  EXPECT_EQ(HttpCodeStatus(404, "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(HttpCodeStatus(401, "x").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(HttpCodeStatus(422, "x").code(), absl::StatusCode::kInvalidArgument);
  for (long c : {408, 429, 500, 502, 503}) EXPECT_TRUE(IsTransient(HttpCodeStatus(c, "x"))) << c;
  for (long c : {400, 401, 403, 404, 409, 422, 501, 505}) EXPECT_FALSE(IsTransient(HttpCodeStatus(c, "x"))) << c;
  EXPECT_EQ(DefaultUserAgent().rfind("hostatlas-backup/", 0), 0u);
}

TEST(Retry, FixedDelaysTransientOnlyAndCancellation) {
  RetryPolicy p;
  p.max_attempts = 3;
  p.fixed_delays = {absl::Milliseconds(10), absl::Milliseconds(20)};
  int calls = 0;
  absl::Status st = RetryLoop(p, nullptr, [&] {
    ++calls;
    return absl::UnavailableError("down");
  });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  calls = 0;
  st = RetryLoop(p, nullptr, [&] {
    ++calls;
    return absl::PermissionDeniedError("no");
  });
  EXPECT_EQ(calls, 1);
  std::atomic<bool> cancel{true};
  p.fixed_delays = {absl::Seconds(30)};
  auto start = std::chrono::steady_clock::now();
  st = RetryLoop(p, &cancel, [&] { return absl::UnavailableError("down"); });
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
}

TEST(S3Xml, MalformedReferencesNeverCrash) {
  EXPECT_EQ(XmlUnescape("a&#;b"), "a&#;b");
  EXPECT_EQ(XmlUnescape("&#x;&#"), "&#x;&#");
  EXPECT_EQ(XmlUnescape("&#99999999999999999999;"), "&#99999999999999999999;");
  EXPECT_EQ(XmlUnescape("&#xD800;"), "&#xD800;");
  EXPECT_EQ(XmlUnescape("&#0;"), "&#0;");
  EXPECT_EQ(XmlUnescape("&#65;&#x42;&amp;&lt;&#x2603;"), "AB&<\xE2\x98\x83");
  EXPECT_EQ(XmlFirst("<Key>a&#;b</Key>", "Key"), "a&#;b");
  S3ListPage page = ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t&amp;1"
      "</NextContinuationToken><Contents><Key>x&#;y</Key><Size>-5</Size><LastModified>bad"
      "</LastModified></Contents><Contents><Key>k</Key><Size>7</Size>"
      "<LastModified>2026-11-29T03:00:00.000Z</LastModified></Contents></ListBucketResult>");
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[0].key, "x&#;y");
  EXPECT_EQ(page.objects[0].size, 0u);
  EXPECT_EQ(page.objects[1].size, 7u);
  EXPECT_EQ(page.objects[1].mtime_unix, 1795921200);
  EXPECT_EQ(page.next_token, "t&1");
  EXPECT_TRUE(ParseListMultipartUploads("<Upload><Key>").uploads.empty());
}

}  // namespace
}  // namespace hab
