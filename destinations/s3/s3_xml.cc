#include "destinations/s3/s3_xml.h"

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace hab {
namespace {

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// "&#65;" / "&#x41;" at the start of `s`: the code point and the length of
// the reference, or 0 if it is not a valid one (kept as text then).
size_t NumericReference(absl::string_view s, uint32_t& cp) {
  if (s.size() < 4 || s[0] != '&' || s[1] != '#') return 0;
  size_t i = 2;
  int base = 10;
  if (s[i] == 'x' || s[i] == 'X') {
    base = 16;
    ++i;
  }
  uint32_t v = 0;
  size_t digits = 0;
  for (; i < s.size() && s[i] != ';'; ++i, ++digits) {
    char c = s[i];
    int d = c >= '0' && c <= '9'                ? c - '0'
            : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
            : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
    if (d < 0 || digits >= 8) return 0;
    v = v * static_cast<uint32_t>(base) + static_cast<uint32_t>(d);
  }
  if (i >= s.size() || digits == 0) return 0;
  // No NUL, no surrogates, nothing past Unicode.
  if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  cp = v;
  return i + 1;
}

int64_t ParseIsoTime(const std::string& s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*SZ", s, &t, &err)) return 0;
  return absl::ToUnixSeconds(t);
}

}  // namespace

std::string XmlUnescape(absl::string_view s) {
  static const std::pair<absl::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    absl::string_view rest = s.substr(i);
    bool done = false;
    for (auto [e, c] : kEntities) {
      if (rest.substr(0, e.size()) == e) {
        out.push_back(c);
        i += e.size();
        done = true;
        break;
      }
    }
    if (done) continue;
    uint32_t cp = 0;
    if (size_t n = NumericReference(rest, cp); n > 0) {
      AppendUtf8(cp, out);
      i += n;
      continue;
    }
    out.push_back('&');
    ++i;
  }
  return out;
}

std::string XmlEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string> XmlAll(absl::string_view xml, absl::string_view tag) {
  std::vector<std::string> out;
  std::string open = absl::StrCat("<", tag, ">"), close = absl::StrCat("</", tag, ">");
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != absl::string_view::npos) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == absl::string_view::npos) break;
    out.push_back(std::string(xml.substr(start, end - start)));
    pos = end + close.size();
  }
  return out;
}

std::string XmlFirst(absl::string_view xml, absl::string_view tag) {
  std::string open = absl::StrCat("<", tag, ">"), close = absl::StrCat("</", tag, ">");
  size_t pos = xml.find(open);
  if (pos == absl::string_view::npos) return "";
  size_t start = pos + open.size();
  size_t end = xml.find(close, start);
  if (end == absl::string_view::npos) return "";
  return XmlUnescape(xml.substr(start, end - start));
}

S3ListPage ParseListObjectsV2(absl::string_view xml) {
  S3ListPage page;
  for (const std::string& c : XmlAll(xml, "Contents")) {
    S3ListedObject o;
    o.key = XmlFirst(c, "Key");
    if (!absl::SimpleAtoi(XmlFirst(c, "Size"), &o.size)) o.size = 0;
    o.mtime_unix = ParseIsoTime(XmlFirst(c, "LastModified"));
    page.objects.push_back(std::move(o));
  }
  for (const std::string& p : XmlAll(xml, "CommonPrefixes")) {
    page.common_prefixes.push_back(XmlFirst(p, "Prefix"));
  }
  if (XmlFirst(xml, "IsTruncated") == "true") page.next_token = XmlFirst(xml, "NextContinuationToken");
  return page;
}

S3UploadsPage ParseListMultipartUploads(absl::string_view xml) {
  S3UploadsPage out;
  for (const std::string& u : XmlAll(xml, "Upload")) {
    S3ListedUpload up;
    up.key = XmlFirst(u, "Key");
    up.upload_id = XmlFirst(u, "UploadId");
    up.initiated_unix = ParseIsoTime(XmlFirst(u, "Initiated"));
    out.uploads.push_back(std::move(up));
  }
  if (XmlFirst(xml, "IsTruncated") == "true") {
    out.next_key_marker = XmlFirst(xml, "NextKeyMarker");
    out.next_upload_id_marker = XmlFirst(xml, "NextUploadIdMarker");
  }
  return out;
}

}  // namespace hab
