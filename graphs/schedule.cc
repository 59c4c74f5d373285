// Design: a cron expression is parsed into one set of matching values per
// field (bits; day-of-week folded to 0..6 with Sunday 0) plus cron's two
// "field begins with *" flags, and OnCalendar= values are printed from those
// sets, not from the text. Printing from sets keeps every translation exact
// by construction (lists, unions such as `0-10,*/15`, Sunday as 0 or 7, wrap
// of Sunday to the end of systemd's Mon..Sun week); the printer only picks
// a short systemd form for each set, among the forms systemd gets right.
#include "graphs/schedule.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/file_util.h"
#include "engine/status_macros.h"

namespace hab {
namespace {

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDowNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr const char* kSystemdDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

enum FieldIndex { kMinute = 0, kHour, kDom, kMonth, kDow, kFieldCount };

struct FieldSpec {
  const char* name;
  int lo;
  int hi;  // day-of-week: 7 (Sunday again), as cron accepts
  const char* const* names;
  int name_count;
  int first_named;  // value of names[0]
  const char* names_hint;
};

constexpr FieldSpec kFields[kFieldCount] = {
    {"minute", 0, 59, nullptr, 0, 0, nullptr},
    {"hour", 0, 23, nullptr, 0, 0, nullptr},
    {"day-of-month", 1, 31, nullptr, 0, 0, nullptr},
    {"month", 1, 12, kMonthNames, 12, 1, "a month name (jan..dec)"},
    {"day-of-week", 0, 7, kDowNames, 7, 0, "a day name (sun..sat)"},
};

// The largest value a step may reach and the largest step. For day-of-week
// it is Saturday: 7 is only another spelling of Sunday, so `1/2` means
// Mon,Wed,Fri (`1-6/2`), not Mon,Wed,Fri,Sun.
int StepHigh(const FieldSpec& f) { return &f == &kFields[kDow] ? 6 : f.hi; }

struct ParsedField {
  uint64_t bits = 0;  // bit v: value v matches
  bool star = false;  // the field's text begins with '*' (cron's DOM_STAR/DOW_STAR)
  std::string cron_text;
};

struct CronSpec {
  ParsedField fields[kFieldCount];
  std::string shortcut;  // "@daily" when given as a shortcut
};

absl::Status FieldError(const FieldSpec& f, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(f.name, ": ", detail));
}

absl::StatusOr<int> ParseValue(const FieldSpec& f, absl::string_view text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), absl::ascii_isdigit)) {
    int value = 0;
    // More than 9 digits cannot be in range; SimpleAtoi would also overflow.
    if (text.size() > 9 || !absl::SimpleAtoi(text, &value) || value < f.lo || value > f.hi) {
      return FieldError(f, absl::StrFormat("%s is out of range %d-%d", text, f.lo, f.hi));
    }
    return value;
  }
  if (f.names != nullptr) {
    for (int i = 0; i < f.name_count; ++i) {
      if (absl::EqualsIgnoreCase(text, f.names[i])) return f.first_named + i;
    }
    return FieldError(f, absl::StrFormat("\"%s\" is not a number or %s", text, f.names_hint));
  }
  return FieldError(f, absl::StrFormat("\"%s\" is not a number", text));
}

// One list item: `*`, `v`, `a-b`, each optionally `/step`. Sets its values in
// `bits` and returns the item as classic cron (Debian's Vixie cron, cronie)
// reads it the same way: `5/15` -> `5-59/15` (neither accepts a step on a
// single value) and `fri-sun` -> `fri-7` (older crons refuse a range that
// ends below its start).
absl::StatusOr<std::string> ParseItem(const FieldSpec& f, absl::string_view item, uint64_t& bits) {
  std::vector<absl::string_view> slash = absl::StrSplit(item, '/');
  if (slash.size() > 2) {
    return FieldError(f, absl::StrFormat("\"%s\" has more than one step", item));
  }
  absl::string_view base = slash[0];
  std::string cron_text(item);
  int step = 1;
  if (slash.size() == 2) {
    absl::string_view step_text = slash[1];
    if (step_text.empty()) return FieldError(f, absl::StrFormat("\"%s\" has an empty step", item));
    if (!std::all_of(step_text.begin(), step_text.end(), absl::ascii_isdigit)) {
      return FieldError(f, absl::StrFormat("step \"%s\" is not a number", step_text));
    }
    // cron accepts `*/90` and runs at minute 0 only; that is never what was
    // meant (steps restart every hour, day, ...), so it is refused.
    int max_step = StepHigh(f) - f.lo;
    if (step_text.size() > 9 || !absl::SimpleAtoi(step_text, &step) || step < 1 ||
        step > max_step) {
      return FieldError(f, absl::StrFormat("step %s is out of range 1-%d", step_text, max_step));
    }
  }
  int first = f.lo;
  int last = f.hi;
  if (base != "*") {
    std::vector<absl::string_view> dash = absl::StrSplit(base, '-');
    if (dash.size() > 2 || dash[0].empty() || (dash.size() == 2 && dash[1].empty())) {
      return FieldError(f, absl::StrFormat("\"%s\" is not a valid range", base));
    }
    HAB_ASSIGN_OR_RETURN(first, ParseValue(f, dash[0]));
    if (dash.size() == 2) {
      HAB_ASSIGN_OR_RETURN(last, ParseValue(f, dash[1]));
      if (&f == &kFields[kDow] && last == 0 && first > 0) {
        // Sunday written as 0 (or sun) at the end of a range: cronie reads it
        // as 7; older crons refuse it, so the cron line gets 7.
        last = 7;
        cron_text = absl::StrCat(dash[0], "-7", slash.size() == 2 ? "/" : "",
                                 slash.size() == 2 ? slash[1] : "");
      }
      if (first > last) {
        return FieldError(f, absl::StrFormat("range %s is reversed; cron ranges do not wrap around "
                                             "(write %d-%d,%d-%d)",
                                             base, first, f.hi, f.lo, last));
      }
    } else if (slash.size() == 2) {
      last = StepHigh(f);  // `5/15`: from 5 to the end of the field
      if (first > last) {
        // Day-of-week `7/N`: Sunday alone, as cronie reads it (7-7/N); the
        // cron line says 0, which every cron reads the same way.
        last = first;
        cron_text = "0";
      } else {
        cron_text = absl::StrCat(dash[0], "-", last, "/", slash[1]);
      }
    } else {
      last = first;
    }
  }
  uint64_t before = bits;
  for (int v = first; v <= last; v += step) {
    bits |= uint64_t{1} << (v == 7 && &f == &kFields[kDow] ? 0 : v);  // 7 is Sunday
  }
  // Never an empty set: no restriction would read as "every value".
  if (first > last && bits == before) return FieldError(f, absl::StrFormat("\"%s\" selects no value", item));
  return cron_text;
}

absl::StatusOr<ParsedField> ParseField(const FieldSpec& f, absl::string_view text) {
  ParsedField out;
  out.star = absl::StartsWith(text, "*");
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    if (item.empty()) return FieldError(f, absl::StrFormat("empty list item in \"%s\"", text));
    HAB_ASSIGN_OR_RETURN(std::string cron_item, ParseItem(f, item, out.bits));
    items.push_back(std::move(cron_item));
  }
  out.cron_text = absl::StrJoin(items, ",");
  return out;
}

struct Shortcut {
  const char* name;
  const char* expr;
};

// As cronie's load_entry() defines them; @weekly is Sunday, unlike systemd's
// own "weekly" (Monday), which is why shortcuts go through the parser too.
constexpr Shortcut kShortcuts[] = {
    {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

absl::StatusOr<CronSpec> ParseCron(absl::string_view expr) {
  expr = absl::StripAsciiWhitespace(expr);
  if (expr.empty()) return absl::InvalidArgumentError("schedule is empty");
  std::string shortcut;
  if (absl::StartsWith(expr, "@")) {
    if (absl::EqualsIgnoreCase(expr, "@reboot")) {
      return absl::InvalidArgumentError(
          "@reboot runs at boot, not at a time of day: a timer cannot express it");
    }
    for (const Shortcut& s : kShortcuts) {
      if (absl::EqualsIgnoreCase(expr, s.name)) {
        shortcut = s.name;
        expr = s.expr;
        break;
      }
    }
    if (shortcut.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "unknown shortcut \"%s\" (expected @hourly, @daily, @midnight, @weekly, @monthly, "
          "@yearly or @annually)",
          expr));
    }
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(expr, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (parts.size() != kFieldCount) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "expected 5 fields (minute hour day-of-month month day-of-week), got %d: \"%s\"",
        parts.size(), expr));
  }
  CronSpec spec;
  spec.shortcut = shortcut;
  for (int i = 0; i < kFieldCount; ++i) {
    HAB_ASSIGN_OR_RETURN(spec.fields[i], ParseField(kFields[i], parts[i]));
  }
  return spec;
}

uint64_t FullMask(const FieldSpec& f) {
  int hi = &f == &kFields[kDow] ? 6 : f.hi;
  return ((uint64_t{1} << (hi + 1)) - 1) & ~((uint64_t{1} << f.lo) - 1);
}

bool IsFull(const CronSpec& spec, FieldIndex i) {
  return spec.fields[i].bits == FullMask(kFields[i]);
}

// Whether some month of `months` has some day of `doms`; February counts 29
// days because cron and systemd both fire on Feb 29 of leap years.
bool AnyDateExists(uint64_t doms, uint64_t months) {
  static constexpr int kDaysInMonth[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int m = 1; m <= 12; ++m) {
    if (!(months >> m & 1)) continue;
    for (int d = 1; d <= kDaysInMonth[m]; ++d) {
      if (doms >> d & 1) return true;
    }
  }
  return false;
}

// A short systemd form of a value set: `*`; `a..b/step` for an arithmetic
// run of 3 or more; else a list of single values and `a..b` runs.
//
// Never the open-ended `a/step`: systemd (seen in 252) computes the next
// repetition past the field's end, lets mktime() carry it into the next
// day/month and continues from there, so it skips the first values of that
// unit. `*-*-* 00/5:00:00` misses 00:00 on the 1st of every month and
// `*-*-01/7` misses Jan 1. With an end (`00..20/5`) a value past it is no
// candidate, and systemd moves to the next unit properly.
std::string CalendarComponent(uint64_t bits, int lo, int hi) {
  std::vector<int> values;
  for (int v = lo; v <= hi; ++v) {
    if (bits >> v & 1) values.push_back(v);
  }
  if (static_cast<int>(values.size()) == hi - lo + 1) return "*";
  if (values.size() >= 3) {
    int step = values[1] - values[0];
    bool arithmetic = step >= 2;
    for (size_t i = 2; arithmetic && i < values.size(); ++i) {
      arithmetic = values[i] - values[i - 1] == step;
    }
    if (arithmetic) return absl::StrFormat("%02d..%02d/%d", values.front(), values.back(), step);
  }
  std::vector<std::string> parts;
  for (size_t i = 0; i < values.size();) {
    size_t j = i;
    while (j + 1 < values.size() && values[j + 1] == values[j] + 1) ++j;
    if (j - i >= 2) {
      parts.push_back(absl::StrFormat("%02d..%02d", values[i], values[j]));
    } else {
      for (size_t k = i; k <= j; ++k) parts.push_back(absl::StrFormat("%02d", values[k]));
    }
    i = j + 1;
  }
  return absl::StrJoin(parts, ",");
}

// systemd's week runs Mon..Sun and its ranges do not wrap, so Sunday (cron's
// 0) is put last: cron `0-2` becomes `Mon,Tue,Sun`. Empty for every day.
std::string CalendarWeekdays(uint64_t bits) {
  static constexpr int kOrder[7] = {1, 2, 3, 4, 5, 6, 0};
  if ((bits & 0x7f) == 0x7f) return "";
  std::vector<std::string> parts;
  for (int i = 0; i < 7;) {
    if (!(bits >> kOrder[i] & 1)) {
      ++i;
      continue;
    }
    int j = i;
    while (j + 1 < 7 && (bits >> kOrder[j + 1] & 1)) ++j;
    if (j - i >= 2) {
      parts.push_back(absl::StrCat(kSystemdDays[kOrder[i]], "..", kSystemdDays[kOrder[j]]));
    } else {
      for (int k = i; k <= j; ++k) parts.push_back(kSystemdDays[kOrder[k]]);
    }
    i = j + 1;
  }
  return absl::StrJoin(parts, ",");
}

std::string CalendarLine(const CronSpec& spec, uint64_t dow_bits, uint64_t dom_bits) {
  std::string weekdays = CalendarWeekdays(dow_bits);
  return absl::StrCat(weekdays, weekdays.empty() ? "" : " ", "*-",
                      CalendarComponent(spec.fields[kMonth].bits, 1, 12), "-",
                      CalendarComponent(dom_bits, 1, 31), " ",
                      CalendarComponent(spec.fields[kHour].bits, 0, 23), ":",
                      CalendarComponent(spec.fields[kMinute].bits, 0, 59), ":00");
}

absl::Status CheckPath(absl::string_view what, absl::string_view path) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s \"%s\" is not an absolute path", what, path));
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s \"%s\" contains a control character", what, absl::CEscape(path)));
    }
  }
  return absl::OkStatus();
}

// `%` starts a specifier in almost every unit setting (Description=, paths,
// ExecStart=), so it is doubled everywhere.
std::string EscapeSpecifiers(absl::string_view s) { return absl::StrReplaceAll(s, {{"%", "%%"}}); }

bool NeedsQuotes(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isalnum(c) &&
        absl::string_view("/._+:@=,-").find(c) == absl::string_view::npos) {
      return true;
    }
  }
  return s.empty();
}

// ExecStart='s executable: systemd refuses quotes, backslashes and control
// characters in it ("Executable name contains special characters") and does
// not expand $ there (a `$$` would stay doubled), so only % is escaped.
absl::StatusOr<std::string> ExecutableWord(absl::string_view path) {
  HAB_RETURN_IF_ERROR(CheckPath("binary", path));
  if (path.find_first_of("\"'\\") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "binary \"%s\": systemd refuses quotes and backslashes in an executable path", path));
  }
  std::string word = EscapeSpecifiers(path);
  return NeedsQuotes(path) ? absl::StrCat("\"", word, "\"") : word;
}

// An ExecStart= argument: C-style escapes inside double quotes, `$$` for a
// literal $ (arguments get ${VAR} substitution), `%%` for %.
std::string ArgumentWord(absl::string_view arg) {
  if (!NeedsQuotes(arg)) return std::string(arg);
  return absl::StrCat(
      "\"", absl::StrReplaceAll(arg, {{"\\", "\\\\"}, {"\"", "\\\""}, {"%", "%%"}, {"$", "$$"}}),
      "\"");
}

// Documentation= takes URIs; a file: URI to the config tells whoever runs
// `systemctl status` where the schedule comes from.
std::string FileUri(absl::string_view path) {
  std::string out = "file:";
  for (unsigned char c : path) {
    if (absl::ascii_isalnum(c) || absl::string_view("/-._~").find(c) != absl::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

absl::Status CheckCommon(const UnitOptions& o) {
  HAB_RETURN_IF_ERROR(CheckPath("binary", o.binary));
  HAB_RETURN_IF_ERROR(CheckPath("config path", o.config_path));
  if (o.nice < -20 || o.nice > 19) {
    return absl::InvalidArgumentError(absl::StrFormat("nice %d is out of range -20..19", o.nice));
  }
  return absl::OkStatus();
}

// The stem names the units and the cron.d file. systemd would also take `:`,
// `\` and `@`, but those escape characters or make a template unit.
absl::Status CheckStem(absl::string_view stem, absl::string_view what) {
  bool ok = !stem.empty() && stem[0] != '.' && std::all_of(stem.begin(), stem.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.';
  });
  // systemd limits a unit name to 255 bytes, with "hostatlas-backup-" and ".service".
  if (ok && stem.size() <= 200) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s cannot name a systemd unit: the part before .yml must be 1-200 "
                      "characters of A-Z a-z 0-9 _ . - (not starting with a dot); rename the "
                      "config file",
                      what));
}

absl::StatusOr<std::string> StemOf(const UnitOptions& o) {
  if (o.stem.empty()) return ConfigStem(o.config_path);
  HAB_RETURN_IF_ERROR(CheckStem(o.stem, absl::StrFormat("stem \"%s\"", o.stem)));
  return o.stem;
}

// /bin/sh quoting for the cron line; cron itself then turns every unescaped %
// into a newline (the rest becomes stdin), and `\%` into %. It has no escape
// for a backslash, so `\%` in a path cannot be written at all.
absl::StatusOr<std::string> ShellWord(absl::string_view what, absl::string_view s) {
  if (absl::StrContains(s, "\\%")) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s \"%s\" contains \"\\%%\", which a cron line cannot express; use the systemd timer",
        what, s));
  }
  std::string word = NeedsQuotes(s)
                         ? absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'")
                         : std::string(s);
  return absl::StrReplaceAll(word, {{"%", "\\%"}});
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CronToOnCalendar(absl::string_view expr) {
  HAB_ASSIGN_OR_RETURN(CronSpec spec, ParseCron(expr));
  const ParsedField& dom = spec.fields[kDom];
  const ParsedField& dow = spec.fields[kDow];
  const uint64_t all_doms = FullMask(kFields[kDom]);
  const uint64_t all_dows = FullMask(kFields[kDow]);
  bool dates_exist = AnyDateExists(dom.bits, spec.fields[kMonth].bits);
  // cron: if either day field begins with '*' the day must match both (the
  // starred one usually matches everything); if neither does, either one.
  if (dom.star || dow.star) {
    if (!dates_exist) {
      return absl::InvalidArgumentError(
          absl::StrFormat("day-of-month: %s never occurs in month %s; the schedule would never run",
                          dom.cron_text, spec.fields[kMonth].cron_text));
    }
    return std::vector<std::string>{CalendarLine(spec, dow.bits, dom.bits)};
  }
  if (IsFull(spec, kDom) || IsFull(spec, kDow)) {
    return std::vector<std::string>{CalendarLine(spec, all_dows, all_doms)};
  }
  std::vector<std::string> lines = {CalendarLine(spec, dow.bits, all_doms)};
  // A day-of-month that never occurs in these months (31 in feb,apr) adds
  // nothing to the OR; leaving it out keeps `Next elapse: never` out of the timer.
  if (dates_exist) lines.push_back(CalendarLine(spec, all_dows, dom.bits));
  return lines;
}

absl::StatusOr<std::string> ConfigStem(absl::string_view config_path) {
  absl::string_view name = config_path;
  if (size_t slash = name.rfind('/'); slash != absl::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  absl::string_view stem = name;
  for (absl::string_view ext : {".yml", ".yaml"}) {
    if (stem.size() > ext.size() && absl::EndsWithIgnoreCase(stem, ext)) {
      stem.remove_suffix(ext.size());
      break;
    }
  }
  HAB_RETURN_IF_ERROR(CheckStem(stem, absl::StrFormat("config file name \"%s\"", name)));
  return std::string(stem);
}

std::string CronFileName(absl::string_view stem) {
  return absl::StrCat("hostatlas-backup-", absl::StrReplaceAll(stem, {{".", "_"}}));
}

absl::StatusOr<SystemdUnits> RenderSystemdUnits(const UnitOptions& o) {
  HAB_RETURN_IF_ERROR(CheckCommon(o));
  if (o.randomized_delay_seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("randomized delay %d seconds is negative", o.randomized_delay_seconds));
  }
  HAB_ASSIGN_OR_RETURN(std::string stem, StemOf(o));
  HAB_ASSIGN_OR_RETURN(std::vector<std::string> on_calendar, CronToOnCalendar(o.schedule));
  HAB_ASSIGN_OR_RETURN(std::string exec, ExecutableWord(o.binary));
  std::string config = EscapeSpecifiers(o.config_path);
  std::string schedule(absl::StripAsciiWhitespace(o.schedule));

  SystemdUnits units;
  units.service_name = absl::StrCat("hostatlas-backup-", stem, ".service");
  units.timer_name = absl::StrCat("hostatlas-backup-", stem, ".timer");
  std::string header = absl::StrCat(
      "# Generated by `hostatlas-backup schedule` for ", o.config_path,
      ".\n# Change the config's schedule: and run `hostatlas-backup schedule --install` again\n"
      "# instead of editing this file.\n");

  std::string& s = units.service_text;
  // No line ends in a path: a unit-file line ending in a backslash continues
  // on the next one.
  absl::StrAppend(&s, header, "[Unit]\n", "Description=hostatlas-backup run (", config, ")\n",
                  "Documentation=", EscapeSpecifiers(FileUri(o.config_path)), "\n",
                  // S3/SFTP destinations and heartbeats need the network; a
                  // Persistent= catch-up run right after boot must wait for it.
                  "Wants=network-online.target\n", "After=network-online.target\n\n");
  absl::StrAppend(&s, "[Service]\n", "Type=oneshot\n",
                  // No TimeoutStartSec=: for Type=oneshot it is off by default,
                  // and a large backup may run for hours.
                  "ExecStart=", exec, " --config ", ArgumentWord(o.config_path), " run\n",
                  "Nice=", o.nice, "\n", "IOSchedulingClass=idle\n");
  // Hardening, chosen so that nothing a backup reads disappears and no
  // destination or hook breaks; the service runs as root, as cron would:
  // - ProtectSystem=full: /usr, /boot, /efi and /etc read-only. A backup reads
  //   them and writes logs to /var/log, its lock to /run; a local destination
  //   under them gets ReadWritePaths= from writable_paths. Not `strict`: a
  //   destination may be any path (/srv, /mnt, /backup, ...).
  // - No ProtectHome=: `yes`/`tmpfs` would show an empty /home and /root, and a
  //   files source there would "succeed" with nothing in it; `read-only` would
  //   break a local destination under /home and hooks writing dumps there.
  // - PrivateTmp=true: no /tmp symlink races for a root process; the hooks
  //   and the run share the one private /tmp. Off via private_tmp when a
  //   source lives in /tmp or /var/tmp.
  // - NoNewPrivileges=true: root gains nothing from setuid binaries; `su`,
  //   `runuser` and `sudo -u postgres` from root still work (they only drop
  //   privileges), and `systemctl stop my-app` asks PID 1 over D-Bus.
  // - Not set: ProtectKernelModules= (a hook mounting NFS/CIFS needs module
  //   autoload), PrivateDevices= (LVM/ZFS snapshot hooks), CapabilityBoundingSet=,
  //   SystemCallFilter=, RestrictAddressFamilies=, MemoryDenyWriteExecute=
  //   (hooks are arbitrary programs), UMask= (files keep the modes a manual run
  //   gives them).
  absl::StrAppend(&s,
                  "# Hardening that hides nothing a backup reads: no ProtectHome= (sources and\n"
                  "# local destinations under /home); ProtectSystem=full makes /usr, /boot and\n"
                  "# /etc read-only, not the rest.\n",
                  "ProtectSystem=full\n");
  for (const std::string& path : o.writable_paths) {
    HAB_RETURN_IF_ERROR(CheckPath("writable path", path));
    // `-`: a destination not created yet must not stop the unit from starting.
    absl::StrAppend(&s, "ReadWritePaths=\"-",
                    absl::StrReplaceAll(path, {{"\\", "\\\\"}, {"\"", "\\\""}, {"%", "%%"}}),
                    "\"\n");
  }
  if (o.private_tmp) absl::StrAppend(&s, "PrivateTmp=true\n");
  absl::StrAppend(&s, "NoNewPrivileges=true\n");

  std::string& t = units.timer_text;
  absl::StrAppend(&t, header, "# cron schedule: ", schedule, "\n[Unit]\n",
                  "Description=hostatlas-backup schedule for ", config, " (", schedule, ")\n",
                  "Documentation=", EscapeSpecifiers(FileUri(o.config_path)), "\n\n[Timer]\n");
  for (const std::string& value : on_calendar) absl::StrAppend(&t, "OnCalendar=", value, "\n");
  // Persistent=: a run missed while the host was down happens at the next boot.
  absl::StrAppend(&t, "Persistent=true\n");
  if (o.randomized_delay_seconds > 0) {
    absl::StrAppend(&t, "RandomizedDelaySec=", o.randomized_delay_seconds, "\n");
  }
  absl::StrAppend(&t, "\n[Install]\nWantedBy=timers.target\n");
  return units;
}

absl::StatusOr<std::string> RenderCronLine(const UnitOptions& o) {
  HAB_RETURN_IF_ERROR(CheckCommon(o));
  HAB_ASSIGN_OR_RETURN(CronSpec spec, ParseCron(o.schedule));
  // The validation CronToOnCalendar adds (a schedule that never fires).
  HAB_RETURN_IF_ERROR(CronToOnCalendar(o.schedule).status());
  std::string when = spec.shortcut;
  if (when.empty()) {
    std::vector<std::string> fields;
    for (const ParsedField& f : spec.fields) fields.push_back(f.cron_text);
    when = absl::StrJoin(fields, " ");
  }
  HAB_ASSIGN_OR_RETURN(std::string binary, ShellWord("binary", o.binary));
  HAB_ASSIGN_OR_RETURN(std::string config, ShellWord("config path", o.config_path));
  // cron ignores a last line without a newline, so every line ends in one.
  return absl::StrCat(
      "# Generated by `hostatlas-backup schedule --cron` for ", o.config_path,
      ".\n# Change the config's schedule: and run it again instead of editing this file.\n",
      "SHELL=/bin/sh\n", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
      // ionice -t: a kernel without I/O classes must not stop the backup.
      when, " root nice -n ", o.nice, " ionice -c 3 -t ", binary, " --config ", config, " run\n");
}

ScheduleFiles ScheduleFilesFor(absl::string_view stem) {
  return {absl::StrCat("/etc/systemd/system/hostatlas-backup-", stem, ".timer"),
          absl::StrCat("/etc/systemd/system/hostatlas-backup-", stem, ".service"),
          absl::StrCat("/etc/cron.d/", CronFileName(stem))};
}

std::optional<std::string> ScheduledConfig(const std::string& installed_file) {
  auto text = ReadFile(installed_file, 1 << 20);
  if (!text.ok()) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!absl::StartsWith(line, "# Generated by `hostatlas-backup schedule")) continue;
    size_t at = line.find("` for ");
    if (at == absl::string_view::npos || !absl::EndsWith(line, ".")) return std::nullopt;
    line = line.substr(at + 6);
    line.remove_suffix(1);
    return std::string(line);
  }
  return std::nullopt;
}

}  // namespace hab
