// Path templates in destination paths and prefixes: {{ hostname }} (this
// host's name) and {{ date }} (the run's start, UTC YYYY-MM-DD), spaces
// inside the braces optional.
//
// A template with {{ date }} puts every day's archives in a new folder.
// Retention, status, list and restore must still see all of them, so a
// template is split at the first '/'-separated component that holds a
// {{ date }}: the destination is opened at the static part (expanded: the
// hostname is static for this host), and the rest, the dated part, is a
// pattern the folders of listed keys are matched against, with {{ date }}
// matching any date and {{ hostname }} this host's name.
//
//   "/mnt/backups/{{ hostname }}/{{ date }}"  -> root "/mnt/backups/web1", dated "{{ date }}"
//   "hostatlas/{{ hostname }}/{{ date }}/"    -> root "hostatlas/web1/",    dated "{{ date }}"
//   "/srv/backups/{{ hostname }}"             -> root "/srv/backups/web1", dated ""
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace hab {

// Problems of a template: unknown names ("{{ foo }}", "{{ DATE }}"), an
// unclosed "{{", a ".." component (written or produced). Empty when fine.
std::vector<std::string> TemplateProblems(absl::string_view text);

std::string ExpandTemplate(absl::string_view text, absl::string_view hostname, int64_t now_unix);
bool HasTemplate(absl::string_view text, absl::string_view name);  // name: "hostname" | "date"

struct SplitTemplate {
  std::string root;   // the static part, expanded
  std::string dated;  // the rest, unexpanded, no leading or trailing '/'
};
SplitTemplate SplitAtDate(absl::string_view text, absl::string_view hostname, int64_t now_unix);

// Whether `folder` (a key's folder below the root, "" for none, no trailing
// '/') matches the dated part.
bool FolderMatches(absl::string_view dated, absl::string_view folder, absl::string_view hostname);

}  // namespace hab
