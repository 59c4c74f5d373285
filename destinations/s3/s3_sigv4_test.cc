// SigV4 against the AWS test suites in tests/data/sigv4 (see its
// FORMAT.md for which vectors apply to S3) and the S3 worked examples.
#include "destinations/s3/s3_sigv4.h"

#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace hab {
namespace {

namespace fs = std::filesystem;
const fs::path kRoot = "tests/data/sigv4";

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(f.good()) << p;
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && isxdigit(s[i + 1]) && isxdigit(s[i + 2])) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct Parsed {
  SigV4Request req;
  std::string body;
  std::string amz_date;
};

// Raw request text: "METHOD TARGET HTTP/1.1", "Name:value" lines, blank, body.
Parsed ParseRequest(const std::string& text) {
  Parsed p;
  size_t head_end = text.find("\n\n");
  std::string head = text.substr(0, head_end);
  if (head_end != std::string::npos) p.body = text.substr(head_end + 2);
  std::vector<std::string> lines = absl::StrSplit(head, '\n');
  std::string first = lines[0];
  size_t sp = first.find(' ');
  size_t http = first.rfind(" HTTP/");
  p.req.method = first.substr(0, sp);
  std::string target = first.substr(sp + 1, http - sp - 1);
  size_t q = target.find('?');
  p.req.path = target.substr(0, q);
  if (q != std::string::npos) {
    for (absl::string_view kv : absl::StrSplit(target.substr(q + 1), '&', absl::SkipEmpty())) {
      size_t eq = kv.find('=');
      if (eq == absl::string_view::npos) {
        p.req.query.emplace_back(PercentDecode(kv), "");
      } else {
        p.req.query.emplace_back(PercentDecode(kv.substr(0, eq)), PercentDecode(kv.substr(eq + 1)));
      }
    }
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    std::string name = lines[i].substr(0, colon), value = lines[i].substr(colon + 1);
    p.req.headers.emplace_back(name, value);
    if (absl::EqualsIgnoreCase(name, "x-amz-date")) p.amz_date = std::string(absl::StripAsciiWhitespace(value));
  }
  p.req.payload_hash = Sha256Hex(p.body);
  return p;
}

SigV4Key SuiteKey() {
  return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};
}

TEST(SigV4, ClassicSuiteApplicableCases) {
  const std::vector<std::string> cases = {
      "get-vanilla", "post-vanilla", "post-header-key-case", "get-vanilla-query",
      "get-vanilla-empty-query-key", "post-vanilla-query", "post-vanilla-empty-query-value",
      "get-vanilla-query-order-key", "get-vanilla-query-order-key-case",
      "get-vanilla-query-order-value", "get-vanilla-query-unreserved", "get-vanilla-utf8-query",
      "get-unreserved", "get-utf8", "normalize-path/get-space", "get-header-value-trim",
      "post-header-key-sort", "post-header-value-case", "get-header-key-duplicate",
      "get-header-value-order", "post-sts-token/post-sts-header-before"};
  for (const auto& c : cases) {
    SCOPED_TRACE(c);
    fs::path dir = kRoot / "aws-sig-v4-test-suite" / c;
    std::string base = fs::path(c).filename().string();
    Parsed p = ParseRequest(Slurp(dir / (base + ".req")));
    std::string signed_headers;
    std::string creq = CanonicalRequest(p.req, &signed_headers);
    EXPECT_EQ(creq, Slurp(dir / (base + ".creq")));
    std::string sts = StringToSign(creq, p.amz_date, SuiteKey());
    EXPECT_EQ(sts, Slurp(dir / (base + ".sts")));
    EXPECT_EQ(AuthorizationHeader(p.req, p.amz_date, SuiteKey()), Slurp(dir / (base + ".authz")));
  }
}

TEST(SigV4, S3NeverNormalizesPaths) {
  // These classic cases expect dot segments removed and slashes merged; an
  // S3 signer must not do that, so it must not reproduce them.
  for (const char* c : {"get-relative", "get-relative-relative", "get-slash", "get-slash-dot-slash",
                        "get-slash-pointless-dot", "get-slashes"}) {
    SCOPED_TRACE(c);
    fs::path dir = kRoot / "aws-sig-v4-test-suite" / "normalize-path" / c;
    Parsed p = ParseRequest(Slurp(dir / (std::string(c) + ".req")));
    std::string sh;
    EXPECT_NE(CanonicalRequest(p.req, &sh), Slurp(dir / (std::string(c) + ".creq")));
  }
}

TEST(SigV4, NewerSuiteHeaderSigning) {
  const std::set<std::string> skip = {"post-sts-header-after", "get-header-value-multiline"};
  int checked = 0;
  for (const auto& e : fs::directory_iterator(kRoot / "aws-signing-test-suite" / "v4")) {
    std::string c = e.path().filename().string();
    bool normalized = absl::EndsWith(c, "-normalized") && c != "get-space-normalized";
    if (skip.count(c)) continue;
    SCOPED_TRACE(c);
    simdjson::ondemand::parser parser;
    simdjson::padded_string json = simdjson::padded_string::load((e.path() / "context.json").string());
    simdjson::ondemand::document ctx = parser.iterate(json);
    SigV4Key key = SuiteKey();
    std::string token;
    bool sign_body = false, omit = false;
    {
      simdjson::ondemand::object creds = ctx["credentials"];
      std::string_view t;
      if (creds["token"].get_string().get(t) == simdjson::SUCCESS) token = std::string(t);
    }
    if (ctx["sign_body"].get_bool().get(sign_body) != simdjson::SUCCESS) sign_body = false;
    if (ctx["omit_session_token"].get_bool().get(omit) != simdjson::SUCCESS) omit = false;
    Parsed p = ParseRequest(std::string(absl::StripSuffix(Slurp(e.path() / "request.txt"), "\n")));
    p.amz_date = "20150830T123600Z";
    p.req.headers.emplace_back("X-Amz-Date", p.amz_date);
    if (!token.empty() && !omit) p.req.headers.emplace_back("X-Amz-Security-Token", token);
    if (sign_body) p.req.headers.emplace_back("x-amz-content-sha256", Sha256Hex(p.body));
    std::string sh;
    std::string creq = CanonicalRequest(p.req, &sh);
    std::string want_creq = Slurp(e.path() / "header-canonical-request.txt");
    if (normalized) {
      EXPECT_NE(creq, want_creq) << "S3 must sign the path as given";
      continue;
    }
    EXPECT_EQ(creq, want_creq);
    std::string sts = StringToSign(creq, p.amz_date, key);
    EXPECT_EQ(sts, Slurp(e.path() / "header-string-to-sign.txt"));
    EXPECT_EQ(SignatureHex(sts, p.amz_date, key), Slurp(e.path() / "header-signature.txt"));
    ++checked;
  }
  EXPECT_GE(checked, 25);
}

// The S3 API Reference's worked examples (s3-examples.md): every fenced
// canonical request must give the published signature with the S3 key, and
// the GET and PUT examples must be rebuilt byte for byte from the request.
TEST(SigV4, S3WorkedExamples) {
  std::string md = Slurp(kRoot / "s3-examples.md");
  SigV4Key key{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
  std::vector<std::pair<std::string, std::string>> found;  // (canonical request, signature)
  size_t pos = 0;
  while ((pos = md.find("Canonical request:", pos)) != std::string::npos) {
    size_t open = md.find("```\n", pos) + 4;
    size_t close = md.find("\n```", open);
    std::string creq = md.substr(open, close - open);
    size_t sig = md.find("Signature: `", close);
    size_t next = md.find("Canonical request:", close);
    if (sig == std::string::npos || (next != std::string::npos && sig > next)) {
      pos = close;
      continue;
    }
    found.emplace_back(creq, md.substr(sig + 12, 64));
    pos = close;
  }
  ASSERT_GE(found.size(), 4u);
  for (const auto& [creq, sig] : found) {
    std::string sts = StringToSign(creq, "20130524T000000Z", key);
    EXPECT_EQ(SignatureHex(sts, "20130524T000000Z", key), sig) << creq;
  }
  SigV4Request get{"GET", "/test.txt", {},
                   {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
                    {"x-amz-content-sha256", Sha256Hex("")}, {"x-amz-date", "20130524T000000Z"}},
                   Sha256Hex("")};
  std::string sh;
  EXPECT_EQ(CanonicalRequest(get, &sh), found[0].first);
  std::string body = "Welcome to Amazon S3.";
  SigV4Request put{"PUT", "/test$file.text", {},
                   {{"Host", "examplebucket.s3.amazonaws.com"}, {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                    {"x-amz-date", "20130524T000000Z"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                    {"x-amz-content-sha256", Sha256Hex(body)}},
                   Sha256Hex(body)};
  EXPECT_EQ(CanonicalRequest(put, &sh), found[1].first);
}

TEST(SigV4, EncodingRules) {
  EXPECT_EQ(UriEncode("dir a/x+y~z (1).txt", false), "dir%20a/x%2By~z%20%281%29.txt");
  EXPECT_EQ(UriEncode("a/b", true), "a%2Fb");
  EXPECT_EQ(CanonicalQueryString({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQueryString({{"prefix", "dir a/"}, {"list-type", "2"}, {"delimiter", "/"}}),
            "delimiter=%2F&list-type=2&prefix=dir%20a%2F");
}

}  // namespace
}  // namespace hab
