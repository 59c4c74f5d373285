#include "destinations/path_template.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/file_util.h"

namespace hab {
namespace {

struct Token {
  bool is_name = false;
  std::string text;  // literal text, or the name ("hostname", "date", or anything for errors)
};

// Splits into literal text and {{ name }} tokens; `error` for an unclosed "{{".
std::vector<Token> Tokenize(absl::string_view s, std::string* error) {
  std::vector<Token> out;
  while (!s.empty()) {
    size_t open = s.find("{{");
    if (open == absl::string_view::npos) {
      out.push_back({false, std::string(s)});
      break;
    }
    if (open > 0) out.push_back({false, std::string(s.substr(0, open))});
    size_t close = s.find("}}", open + 2);
    if (close == absl::string_view::npos) {
      if (error) *error = absl::StrCat("\"{{\" without \"}}\" in \"", s.substr(open), "\"");
      out.push_back({false, std::string(s.substr(open))});
      break;
    }
    out.push_back({true, std::string(absl::StripAsciiWhitespace(s.substr(open + 2, close - open - 2)))});
    s = s.substr(close + 2);
  }
  return out;
}

// A real date in {{ date }}'s form: "2026-13-45" is not one of ours.
bool IsDate(absl::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return ValidDateUtc(s);
}

// One folder component against one template component.
bool ComponentMatches(const std::vector<Token>& tokens, size_t i, absl::string_view s,
                      absl::string_view hostname) {
  if (i == tokens.size()) return s.empty();
  const Token& t = tokens[i];
  if (!t.is_name) {
    return absl::StartsWith(s, t.text) && ComponentMatches(tokens, i + 1, s.substr(t.text.size()), hostname);
  }
  if (t.text == "date") {
    return s.size() >= 10 && IsDate(s.substr(0, 10)) &&
           ComponentMatches(tokens, i + 1, s.substr(10), hostname);
  }
  return absl::StartsWith(s, hostname) &&
         ComponentMatches(tokens, i + 1, s.substr(hostname.size()), hostname);
}

}  // namespace

std::vector<std::string> TemplateProblems(absl::string_view text) {
  std::vector<std::string> problems;
  std::string error;
  for (const Token& t : Tokenize(text, &error)) {
    if (t.is_name && t.text != "hostname" && t.text != "date") {
      problems.push_back(absl::StrCat("unknown template \"{{ ", t.text,
                                      " }}\" (allowed: {{ hostname }}, {{ date }})"));
    }
  }
  if (!error.empty()) problems.push_back(error);
  // A ".." written, or produced by a template (neither can produce one,
  // but a component like "{{ date }}.." would look like one later).
  for (absl::string_view comp : absl::StrSplit(text, '/')) {
    if (comp == ".." || comp == ".") {
      problems.push_back(absl::StrCat("\"", comp, "\" path components are not allowed"));
      break;
    }
  }
  return problems;
}

std::string ExpandTemplate(absl::string_view text, absl::string_view hostname, int64_t now) {
  std::string out;
  for (const Token& t : Tokenize(text, nullptr)) {
    if (!t.is_name) {
      out += t.text;
    } else if (t.text == "hostname") {
      absl::StrAppend(&out, hostname);
    } else if (t.text == "date") {
      out += DateUtc(now);
    } else {
      absl::StrAppend(&out, "{{ ", t.text, " }}");  // refused by TemplateProblems
    }
  }
  return out;
}

bool HasTemplate(absl::string_view text, absl::string_view name) {
  for (const Token& t : Tokenize(text, nullptr)) {
    if (t.is_name && t.text == name) return true;
  }
  return false;
}

SplitTemplate SplitAtDate(absl::string_view text, absl::string_view hostname, int64_t now) {
  std::vector<absl::string_view> comps = absl::StrSplit(text, '/');
  size_t first_dated = comps.size();
  for (size_t i = 0; i < comps.size(); ++i) {
    if (HasTemplate(comps[i], "date")) {
      first_dated = i;
      break;
    }
  }
  SplitTemplate out;
  if (first_dated == comps.size()) {
    out.root = ExpandTemplate(text, hostname, now);
    return out;
  }
  std::vector<absl::string_view> head(comps.begin(), comps.begin() + first_dated);
  std::vector<absl::string_view> tail(comps.begin() + first_dated, comps.end());
  out.root = ExpandTemplate(absl::StrJoin(head, "/"), hostname, now);
  // Keep the root's meaning: "/x/{{ date }}" -> "/x"; "{{ date }}/" -> "";
  // an S3 prefix root keeps its trailing '/'.
  if (first_dated > 0) out.root += "/";
  if (out.root.size() > 1 && text[0] == '/') out.root = std::string(absl::StripSuffix(out.root, "/"));
  out.dated = std::string(absl::StripSuffix(absl::StrJoin(tail, "/"), "/"));
  return out;
}

bool FolderMatches(absl::string_view dated, absl::string_view folder, absl::string_view hostname) {
  if (dated.empty()) return folder.empty();
  std::vector<absl::string_view> want = absl::StrSplit(dated, '/');
  std::vector<absl::string_view> have = absl::StrSplit(folder, '/');
  if (want.size() != have.size()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!ComponentMatches(Tokenize(want[i], nullptr), 0, have[i], hostname)) return false;
  }
  return true;
}

}  // namespace hab
