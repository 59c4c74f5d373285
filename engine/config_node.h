// ConfigNode: one mapping of the config file, as a kind reads it.
//
// The config layer (graphs/config, the only YAML user) hands each source or
// destination kind its own block through this interface, so a kind parses
// its keys without knowing the file format. Every reader records its own
// problems with the position (file:line:col) and the key path
// ("destination.port: must be between 1 and 65535, got 0"); a kind only
// adds rules of its own through Problem / Warning. All problems of a file
// are collected in one pass.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace hab {

class ConfigNode {
 public:
  virtual ~ConfigNode() = default;
  // The key path of this mapping, for messages ("sources[2]").
  virtual const std::string& path() const = 0;
  // Reports keys outside `allowed` (and keys given twice) as problems.
  virtual void AllowKeys(std::initializer_list<absl::string_view> allowed) = 0;
  virtual bool Has(absl::string_view key) const = 0;
  // Each reader returns true when the key is present and valid (and sets
  // `out`); false when absent or null (then `out` keeps its default, and a
  // `required` key is reported) or invalid (reported).
  virtual bool Str(absl::string_view key, std::string& out, bool required = false) = 0;
  virtual bool Int(absl::string_view key, int64_t lo, int64_t hi, int64_t& out) = 0;
  virtual bool Bool(absl::string_view key, bool& out) = 0;
  virtual bool StrList(absl::string_view key, std::vector<std::string>& out) = 0;
  // "64MiB", "1GiB", a plain number of bytes.
  virtual bool Size(absl::string_view key, uint64_t& out) = 0;
  // A problem (fails the config) or a warning (printed at pre-flight) at
  // `key` ("" = this mapping), or at element `index` of the list at `key`.
  virtual void Problem(absl::string_view key, std::string message) = 0;
  virtual void ProblemAt(absl::string_view key, size_t index, std::string message) = 0;
  virtual void Warning(absl::string_view key, std::string message) = 0;
};

}  // namespace hab
