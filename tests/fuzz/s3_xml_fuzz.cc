// libFuzzer target: every S3 XML reader (destinations/s3/s3_xml.h) on arbitrary
// bytes, as a server could send them. Must never crash, throw or hang
// (issue 15.14: "&#;" in a listed key terminated the process).
#include <cstddef>
#include <cstdint>
#include <string>

#include "destinations/s3/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  (void)hab::XmlUnescape(in);
  (void)hab::XmlEscape(in);
  (void)hab::XmlFirst(in, "Key");
  (void)hab::XmlAll(in, "Contents");
  (void)hab::ParseListObjectsV2(in);
  (void)hab::ParseListMultipartUploads(in);
  return 0;
}
