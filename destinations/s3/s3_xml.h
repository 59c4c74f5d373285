// The few XML fields we read from S3 answers, parsed defensively: any byte
// sequence from a server (or a man in the middle of a loopback test) gives
// some result and never a crash, an exception or an unbounded loop. The
// fuzz target tests/fuzz/s3_xml_fuzz.cc runs every function here.
//
// Not a general XML parser: S3 answers are flat lists of known tags, and a
// tag never nests inside itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace hab {

// &amp; &lt; &gt; &quot; &apos; and numeric references (&#65; &#x41;),
// which become UTF-8; a malformed or out-of-range reference is kept as text.
std::string XmlUnescape(absl::string_view s);
std::string XmlEscape(absl::string_view s);
// Every <tag>...</tag> body, in order (raw, not unescaped).
std::vector<std::string> XmlAll(absl::string_view xml, absl::string_view tag);
// The first body, unescaped; "" if none.
std::string XmlFirst(absl::string_view xml, absl::string_view tag);

struct S3ListedObject {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_unix = 0;
};
struct S3ListPage {
  std::vector<S3ListedObject> objects;
  std::vector<std::string> common_prefixes;
  std::string next_token;  // "" unless IsTruncated
};
// A ListObjectsV2 answer.
S3ListPage ParseListObjectsV2(absl::string_view xml);

struct S3ListedUpload {
  std::string key;
  std::string upload_id;
  int64_t initiated_unix = 0;  // 0 when unparsable
};
struct S3UploadsPage {
  std::vector<S3ListedUpload> uploads;
  std::string next_key_marker, next_upload_id_marker;  // "" unless IsTruncated
};
// A ListMultipartUploads answer.
S3UploadsPage ParseListMultipartUploads(absl::string_view xml);

}  // namespace hab
