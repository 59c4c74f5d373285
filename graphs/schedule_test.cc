#include "graphs/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace hab {
namespace {

// ---------------------------------------------------------------------------
// A small cron matcher, written from cron(5) and cronie's entry.c/cron.c and
// independent of schedule.cc on purpose: the OnCalendar= values are checked
// against it, not against the code that produced them.

struct CronMatcher {
  std::vector<bool> minute = std::vector<bool>(60);
  std::vector<bool> hour = std::vector<bool>(24);
  std::vector<bool> dom = std::vector<bool>(32);
  std::vector<bool> month = std::vector<bool>(13);
  std::vector<bool> dow = std::vector<bool>(7);  // 0 = Sunday
  bool dom_star = false;
  bool dow_star = false;

  bool DayMatches(const struct tm& t) const {
    if (!month[t.tm_mon + 1]) return false;
    // cron.c: a '*'-led day field makes the day test an AND, else an OR.
    if (dom_star || dow_star) return dom[t.tm_mday] && dow[t.tm_wday];
    return dom[t.tm_mday] || dow[t.tm_wday];
  }
  bool Matches(const struct tm& t) const {
    return minute[t.tm_min] && hour[t.tm_hour] && DayMatches(t);
  }
  bool operator==(const CronMatcher&) const = default;
};

std::optional<int> Number(const std::string& s, const std::vector<std::string>& names, int first) {
  if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit) && s.size() < 4) return std::stoi(s);
  for (size_t i = 0; i < names.size(); ++i) {
    if (strcasecmp(s.c_str(), names[i].c_str()) == 0) return first + static_cast<int>(i);
  }
  return std::nullopt;
}

// `classic`: only what Debian's Vixie cron accepts (no `5/15`, no range that
// ends below its start), to check the lines RenderCronLine writes.
bool ParseCronField(const std::string& text, int lo, int hi, const std::vector<std::string>& names,
                    int first_name, bool is_dow, bool classic, std::vector<bool>& out) {
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    std::vector<std::string> slash = absl::StrSplit(item, '/');
    int step = 1;
    if (slash.size() == 2) {
      auto s = Number(slash[1], {}, 0);
      if (!s || *s == 0) return false;
      step = *s;
    }
    int a = lo, b = hi;
    if (slash[0] != "*") {
      std::vector<std::string> dash = absl::StrSplit(slash[0], '-');
      auto x = Number(dash[0], names, first_name);
      if (!x) return false;
      a = *x;
      b = a;
      if (dash.size() == 2) {
        auto y = Number(dash[1], names, first_name);
        if (!y) return false;
        b = *y;
        if (is_dow && b == 0 && a > 0 && !classic) b = 7;
      } else if (slash.size() == 2) {
        if (classic) return false;
        b = is_dow ? std::max(a, 6) : hi;  // 7/N: Sunday (cronie's 7-7/N)
      }
    }
    if (a < lo || b > hi || a > b) return false;
    for (int v = a; v <= b; v += step) out[is_dow && v == 7 ? 0 : v] = true;
  }
  return true;
}

std::optional<CronMatcher> ParseCronExpr(std::string expr, bool classic = false) {
  static const std::vector<std::pair<std::string, std::string>> kShortcuts = {
      {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
      {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"}};
  for (const auto& [name, value] : kShortcuts) {
    if (strcasecmp(expr.c_str(), name.c_str()) == 0) expr = value;
  }
  std::vector<std::string> f = absl::StrSplit(expr, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (f.size() != 5) return std::nullopt;
  CronMatcher m;
  const std::vector<std::string> months = {"jan", "feb", "mar", "apr", "may", "jun",
                                           "jul", "aug", "sep", "oct", "nov", "dec"};
  const std::vector<std::string> days = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::vector<bool> dow8(8);
  if (!ParseCronField(f[0], 0, 59, {}, 0, false, classic, m.minute) ||
      !ParseCronField(f[1], 0, 23, {}, 0, false, classic, m.hour) ||
      !ParseCronField(f[2], 1, 31, {}, 0, false, classic, m.dom) ||
      !ParseCronField(f[3], 1, 12, months, 1, false, classic, m.month) ||
      !ParseCronField(f[4], 0, 7, days, 0, true, classic, dow8)) {
    return std::nullopt;
  }
  for (int d = 0; d < 7; ++d) m.dow[d] = dow8[d];
  m.dom_star = f[2][0] == '*';
  m.dow_star = f[4][0] == '*';
  return m;
}

// Every minute in (after, until] that cron would run the job at, in UTC.
std::vector<int64_t> CronInstants(const CronMatcher& m, int64_t after, int64_t until) {
  std::vector<int64_t> out;
  int64_t t = after - ((after % 60) + 60) % 60 + 60;
  while (t <= until) {
    time_t tt = t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    int64_t into_day = tm.tm_hour * 3600 + tm.tm_min * 60;
    if (!m.DayMatches(tm)) {
      t += 86400 - into_day;
    } else if (!m.hour[tm.tm_hour]) {
      t += 3600 - tm.tm_min * 60;
    } else {
      if (m.Matches(tm)) out.push_back(t);
      t += 60;
    }
  }
  return out;
}

std::string Utc(int64_t t) {
  time_t tt = t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%a %Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// ---------------------------------------------------------------------------
// systemd-analyze

// Absolute path of systemd-analyze from $PATH, or "" when it is missing.
std::string SystemdAnalyze() {
  const char* path = getenv("PATH");
  for (const auto& dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/systemd-analyze");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

#define REQUIRE_SYSTEMD_ANALYZE(var)                                                         \
  const std::string var = SystemdAnalyze();                                                  \
  ASSERT_FALSE(var.empty())                                                                  \
      << "systemd-analyze is not installed or not in $PATH. These tests check every "        \
         "OnCalendar= value and unit file with it and never skip; install systemd (Debian: " \
         "apt-get install systemd)"

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandResult Run(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

constexpr int kIterations = 8;

struct Elapses {
  CommandResult run;
  bool never = false;
  std::vector<int64_t> times;
};

// `systemd-analyze calendar` from a fixed base time, in UTC so that no DST
// jump is involved. --base-time= exists since systemd 244 (this is 252).
Elapses Calendar(const std::string& tool, const std::string& value, int64_t base) {
  Elapses e;
  e.run =
      Run(absl::StrCat("TZ=UTC LC_ALL=C ", ShellQuote(tool), " calendar --iterations=", kIterations,
                       " --base-time=@", base, " ", ShellQuote(value)));
  for (absl::string_view line : absl::StrSplit(e.run.output, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::StartsWith(line, "Next elapse:") && !absl::StartsWith(line, "Iter. #")) continue;
    std::string when(line.substr(line.find(':') + 2));
    if (when == "never") {
      e.never = true;
      continue;
    }
    struct tm tm = {};
    char zone[16] = {};
    if (sscanf(when.c_str(), "%*3s %d-%d-%d %d:%d:%d %15s", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, zone) != 7 ||
        std::string(zone) != "UTC") {
      ADD_FAILURE() << "cannot read systemd-analyze's time \"" << when << "\"";
      continue;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    e.times.push_back(timegm(&tm));
  }
  return e;
}

// Base times, none on a whole minute (whether "next" includes the base is
// then moot), most a few hours before a year or month ends: carrying into
// the next day/month/year is where systemd has had bugs (see
// CalendarComponent in schedule.cc).
constexpr int64_t kBaseTimes[] = {
    1798753170,  // Thu 2026-12-31 21:39:30 UTC
    1835470545,  // Tue 2028-02-29 20:55:45 UTC
    1809119419,  // Fri 2027-04-30 21:10:19 UTC
    1813058553,  // Tue 2027-06-15 11:22:33 UTC
};

// Checks that the timer's values, ORed, fire at exactly the minutes cron
// would: every printed instant matches, and no cron minute between the base
// and the last instant that every value covers is missing.
void ExpectSameInstantsAsCron(const std::string& tool, const std::string& expr,
                              const std::vector<std::string>& values) {
  std::optional<CronMatcher> cron = ParseCronExpr(expr);
  ASSERT_TRUE(cron.has_value()) << "the test's own cron parser refuses \"" << expr << "\"";
  for (int64_t base : kBaseTimes) {
    SCOPED_TRACE(absl::StrCat("base time ", Utc(base), " UTC"));
    std::vector<int64_t> all;
    int64_t horizon = INT64_MAX;
    for (const std::string& value : values) {
      Elapses e = Calendar(tool, value, base);
      ASSERT_EQ(e.run.exit_code, 0) << "systemd-analyze calendar refused \"" << value << "\":\n"
                                    << e.run.output;
      ASSERT_FALSE(e.never) << "\"" << value << "\" never elapses:\n" << e.run.output;
      ASSERT_EQ(e.times.size(), static_cast<size_t>(kIterations)) << e.run.output;
      EXPECT_TRUE(std::is_sorted(e.times.begin(), e.times.end())) << e.run.output;
      horizon = std::min(horizon, e.times.back());
      all.insert(all.end(), e.times.begin(), e.times.end());
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    all.erase(std::upper_bound(all.begin(), all.end(), horizon), all.end());
    std::vector<int64_t> want = CronInstants(*cron, base, horizon);
    for (size_t i = 0; i < std::max(all.size(), want.size()); ++i) {
      if (i >= all.size() || i >= want.size() || all[i] != want[i]) {
        ADD_FAILURE() << "instant #" << i + 1 << ": systemd "
                      << (i < all.size() ? Utc(all[i]) : "(none)") << ", cron "
                      << (i < want.size() ? Utc(want[i]) : "(none)");
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// CronToOnCalendar

struct CalendarCase {
  std::string expr;
  std::vector<std::string> want;
};

const std::vector<CalendarCase>& CalendarCases() {
  static const auto* cases = new std::vector<CalendarCase>{
      // star, single values
      {"* * * * *", {"*-*-* *:*:00"}},
      {"0 3 * * *", {"*-*-* 03:00:00"}},
      {"59 23 31 12 *", {"*-12-31 23:59:00"}},
      {"00 03 * * *", {"*-*-* 03:00:00"}},
      {" 0\t3  *  * *  ", {"*-*-* 03:00:00"}},
      // lists and ranges
      {"0,30 * * * *", {"*-*-* *:00,30:00"}},
      {"0 1,15 * * *", {"*-*-* 01,15:00:00"}},
      {"0 9-17 * * *", {"*-*-* 09..17:00:00"}},
      {"0 8-9,12,18-20 * * *", {"*-*-* 08,09,12,18..20:00:00"}},
      {"0-10,*/15 * * * *", {"*-*-* *:00..10,15,30,45:00"}},
      // steps on *, on a range, on a single start
      {"*/15 * * * *", {"*-*-* *:00..45/15:00"}},
      {"*/1 * * * *", {"*-*-* *:*:00"}},
      {"0 */5 * * *", {"*-*-* 00..20/5:00:00"}},
      {"0 */7 * * *", {"*-*-* 00..21/7:00:00"}},
      {"10-50/10 * * * *", {"*-*-* *:10..50/10:00"}},
      {"10-45/10 * * * *", {"*-*-* *:10..40/10:00"}},
      {"1-59/2 * * * *", {"*-*-* *:01..59/2:00"}},
      {"0 0-6/2,20 * * *", {"*-*-* 00,02,04,06,20:00:00"}},
      {"5/15 * * * *", {"*-*-* *:05..50/15:00"}},
      {"0 22/1 * * *", {"*-*-* 22,23:00:00"}},
      {"0 0 */10 * *", {"*-*-01..31/10 00:00:00"}},
      {"0 0 */7 * *", {"*-*-01..29/7 00:00:00"}},
      {"0 0 1 */3 *", {"*-01..10/3-01 00:00:00"}},
      {"0 0 1 2/5 *", {"*-02..12/5-01 00:00:00"}},
      // names, name ranges, day-of-week 7
      {"0 0 * jan,jul *", {"*-01,07-* 00:00:00"}},
      {"0 0 * JAN-Mar *", {"*-01..03-* 00:00:00"}},
      {"0 8 * * mon-fri", {"Mon..Fri *-*-* 08:00:00"}},
      {"0 8 * * MON,wed,Fri", {"Mon,Wed,Fri *-*-* 08:00:00"}},
      {"0 8 * * 1-5", {"Mon..Fri *-*-* 08:00:00"}},
      {"0 0 * * 7", {"Sun *-*-* 00:00:00"}},
      {"0 0 * * 0", {"Sun *-*-* 00:00:00"}},
      // 7/N: Sunday alone (cronie's 7-7/N), never "no restriction"
      {"0 3 * * 7/2", {"Sun *-*-* 03:00:00"}},
      {"0 0 * * 5-7", {"Fri..Sun *-*-* 00:00:00"}},
      {"0 0 * * fri-sun", {"Fri..Sun *-*-* 00:00:00"}},
      {"0 0 * * sat-0", {"Sat,Sun *-*-* 00:00:00"}},
      {"0 0 * * 0-2", {"Mon,Tue,Sun *-*-* 00:00:00"}},
      {"0 0 * * */2", {"Tue,Thu,Sat,Sun *-*-* 00:00:00"}},
      {"0 0 * * 1/2", {"Mon,Wed,Fri *-*-* 00:00:00"}},
      {"0 0 * * 0-7", {"*-*-* 00:00:00"}},
      // day-of-month and day-of-week both restricted: cron ORs them
      {"0 12 1,15 * 5", {"Fri *-*-* 12:00:00", "*-*-01,15 12:00:00"}},
      {"30 2 13 * fri", {"Fri *-*-* 02:30:00", "*-*-13 02:30:00"}},
      {"0 0 1 1 0", {"Sun *-01-* 00:00:00", "*-01-01 00:00:00"}},
      {"0 6 1-7 * mon", {"Mon *-*-* 06:00:00", "*-*-01..07 06:00:00"}},
      {"0 0 1-31 * 1", {"*-*-* 00:00:00"}},
      {"0 0 31 2,4 1", {"Mon *-02,04-* 00:00:00"}},
      // a '*'-led field keeps the AND, even when stepped
      {"0 0 */2 * 1", {"Mon *-*-01..31/2 00:00:00"}},
      {"0 0 1-7 * */1", {"*-*-01..07 00:00:00"}},
      // dates that exist only sometimes
      {"0 0 29 2 *", {"*-02-29 00:00:00"}},
      {"0 0 31 * *", {"*-*-31 00:00:00"}},
      // shortcuts
      {"@hourly", {"*-*-* *:00:00"}},
      {"@daily", {"*-*-* 00:00:00"}},
      {"@midnight", {"*-*-* 00:00:00"}},
      {"@weekly", {"Sun *-*-* 00:00:00"}},
      {"@monthly", {"*-*-01 00:00:00"}},
      {"@yearly", {"*-01-01 00:00:00"}},
      {"@annually", {"*-01-01 00:00:00"}},
      {"@Daily", {"*-*-* 00:00:00"}},
  };
  return *cases;
}

TEST(CronToOnCalendar, EveryFieldForm) {
  for (const CalendarCase& c : CalendarCases()) {
    absl::StatusOr<std::vector<std::string>> got = CronToOnCalendar(c.expr);
    ASSERT_TRUE(got.ok()) << "\"" << c.expr << "\": " << got.status();
    EXPECT_EQ(*got, c.want) << "\"" << c.expr << "\"";
  }
}

TEST(CronToOnCalendar, SystemdFiresWhenCronWould) {
  REQUIRE_SYSTEMD_ANALYZE(tool);
  for (const CalendarCase& c : CalendarCases()) {
    SCOPED_TRACE(absl::StrCat("cron \"", c.expr, "\""));
    absl::StatusOr<std::vector<std::string>> got = CronToOnCalendar(c.expr);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSameInstantsAsCron(tool, c.expr, *got);
  }
}

// A seeded random cron field: `*`, a value, a name, a list, a range, a step
// on `*`, on a range or on a single start, or a list of those.
std::string RandomField(std::mt19937& rng, int lo, int hi, const std::vector<std::string>& names,
                        int first_name) {
  auto pick = [&](int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng); };
  auto value = [&]() -> std::string {
    int v = pick(lo, hi);
    int i = v - first_name;
    if (!names.empty() && i >= 0 && i < static_cast<int>(names.size()) && pick(0, 2) == 0) {
      std::string n = names[i];
      if (pick(0, 1)) n[0] = static_cast<char>(toupper(n[0]));
      return n;
    }
    return std::to_string(v);
  };
  auto item = [&]() -> std::string {
    int a = pick(lo, hi), b = pick(lo, hi);
    if (a > b) std::swap(a, b);
    int max_step = (hi == 7 ? 6 : hi) - lo;
    switch (pick(0, 6)) {
      case 0:
        return "*";
      case 1:
        return value();
      case 2:
        return absl::StrCat(a, "-", b);
      case 3:
        return absl::StrCat("*/", pick(1, max_step));
      case 4:
        return absl::StrCat(a, "-", b, "/", pick(1, max_step));
      case 5:
        return absl::StrCat(std::min(a, hi == 7 ? 6 : hi), "/", pick(1, max_step));
      default:
        return value();
    }
  };
  if (pick(0, 3) == 0) return "*";
  std::vector<std::string> items = {item()};
  while (pick(0, 2) == 0) items.push_back(item());
  return absl::StrJoin(items, ",");
}

int RandomCaseCount() {
  const char* n = getenv("HAB_SCHEDULE_RANDOM_CASES");  // more when hunting bugs
  return n != nullptr ? atoi(n) : 40;
}

TEST(CronToOnCalendar, RandomExpressionsFireWhenCronWould) {
  REQUIRE_SYSTEMD_ANALYZE(tool);
  std::mt19937 rng(20261129);
  const std::vector<std::string> months = {"jan", "feb", "mar", "apr", "may", "jun",
                                           "jul", "aug", "sep", "oct", "nov", "dec"};
  const std::vector<std::string> days = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  for (int i = 0, n = RandomCaseCount(); i < n; ++i) {
    std::string expr =
        absl::StrJoin({RandomField(rng, 0, 59, {}, 0), RandomField(rng, 0, 23, {}, 0),
                       RandomField(rng, 1, 31, {}, 0), RandomField(rng, 1, 12, months, 1),
                       RandomField(rng, 0, 7, days, 0)},
                      " ");
    SCOPED_TRACE(absl::StrCat("cron \"", expr, "\""));
    absl::StatusOr<std::vector<std::string>> got = CronToOnCalendar(expr);
    if (!got.ok() && absl::StrContains(got.status().message(), "never occurs")) continue;
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSameInstantsAsCron(tool, expr, *got);
  }
}

// The failure messages `check` records, without failing this test.
std::vector<std::string> FailuresOf(const std::function<void()>& check) {
  testing::TestPartResultArray results;
  {
    testing::ScopedFakeTestPartResultReporter reporter(
        testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    check();
  }
  std::vector<std::string> messages;
  for (int i = 0; i < results.size(); ++i)
    messages.push_back(results.GetTestPartResult(i).message());
  return messages;
}

// The comparison itself must be able to fail: a value off by a weekday, one
// that drops cron's OR, and one that fires too often are all caught.
TEST(CronToOnCalendar, ComparisonCatchesWrongValues) {
  REQUIRE_SYSTEMD_ANALYZE(tool);
  const std::vector<std::pair<std::string, std::string>> wrong = {
      {"0 0 * * 1", "Tue *-*-* 00:00:00"},
      {"0 12 1 * 5", "Fri *-*-01 12:00:00"},
      {"0 0 * * 0", "*-*-* 00:00:00"},
      {"*/15 * * * *", "*-*-* *:00/20:00"},
      // systemd's open-ended repetition skips 00:00 after a month end.
      {"0 */5 * * *", "*-*-* 00/5:00:00"},
  };
  for (const auto& [expr, value] : wrong) {
    std::vector<std::string> failures =
        FailuresOf([&] { ExpectSameInstantsAsCron(tool, expr, {value}); });
    ASSERT_FALSE(failures.empty()) << expr << " vs " << value;
    EXPECT_TRUE(absl::StrContains(failures[0], "instant #")) << failures[0];
  }
}

struct ErrorCase {
  std::string expr;
  std::string message;
};

TEST(CronToOnCalendar, RefusesWithFieldAndBadPart) {
  const std::vector<ErrorCase> cases = {
      {"", "schedule is empty"},
      {"   ", "schedule is empty"},
      {"0 3 * *",
       "expected 5 fields (minute hour day-of-month month day-of-week), got 4: \"0 3 * *\""},
      {"0 3 * * * *",
       "expected 5 fields (minute hour day-of-month month day-of-week), got 6: \"0 3 * * * *\""},
      {"60 * * * *", "minute: 60 is out of range 0-59"},
      {"0 24 * * *", "hour: 24 is out of range 0-23"},
      {"0 0 0 * *", "day-of-month: 0 is out of range 1-31"},
      {"0 0 32 * *", "day-of-month: 32 is out of range 1-31"},
      {"0 0 * 0 *", "month: 0 is out of range 1-12"},
      {"0 0 * 13 *", "month: 13 is out of range 1-12"},
      {"0 0 * * 8", "day-of-week: 8 is out of range 0-7"},
      {"0 10-24 * * *", "hour: 24 is out of range 0-23"},
      {"99999999999 * * * *", "minute: 99999999999 is out of range 0-59"},
      {"x * * * *", "minute: \"x\" is not a number"},
      {"mon * * * *", "minute: \"mon\" is not a number"},
      {"0 0 ? * *", "day-of-month: \"?\" is not a number"},
      {"0 0 L * *", "day-of-month: \"L\" is not a number"},
      {"0 0 * foo *", "month: \"foo\" is not a number or a month name (jan..dec)"},
      {"0 0 * january *", "month: \"january\" is not a number or a month name (jan..dec)"},
      {"0 0 * * monday", "day-of-week: \"monday\" is not a number or a day name (sun..sat)"},
      {"0 0 * * jan", "day-of-week: \"jan\" is not a number or a day name (sun..sat)"},
      {"0 0 * * 1#2", "day-of-week: \"1#2\" is not a number or a day name (sun..sat)"},
      {"1,,2 * * * *", "minute: empty list item in \"1,,2\""},
      {"1, * * * *", "minute: empty list item in \"1,\""},
      {"*/0 * * * *", "minute: step 0 is out of range 1-59"},
      {"*/60 * * * *", "minute: step 60 is out of range 1-59"},
      {"0 */24 * * *", "hour: step 24 is out of range 1-23"},
      {"0 0 * * */7", "day-of-week: step 7 is out of range 1-6"},
      {"*/x * * * *", "minute: step \"x\" is not a number"},
      {"*/-1 * * * *", "minute: step \"-1\" is not a number"},
      {"*/ * * * *", "minute: \"*/\" has an empty step"},
      {"1/2/3 * * * *", "minute: \"1/2/3\" has more than one step"},
      {"1-2-3 * * * *", "minute: \"1-2-3\" is not a valid range"},
      {"-5 * * * *", "minute: \"-5\" is not a valid range"},
      {"5- * * * *", "minute: \"5-\" is not a valid range"},
      {"0 17-5 * * *",
       "hour: range 17-5 is reversed; cron ranges do not wrap around (write 17-23,0-5)"},
      {"0 0 * * sat-mon",
       "day-of-week: range sat-mon is reversed; cron ranges do not wrap around (write 6-7,0-1)"},
      {"0 0 30 2 *", "day-of-month: 30 never occurs in month 2; the schedule would never run"},
      {"0 0 31 apr,jun *",
       "day-of-month: 31 never occurs in month apr,jun; the schedule would never run"},
      {"0 0 30,31 2 */2",
       "day-of-month: 30,31 never occurs in month 2; the schedule would never run"},
      {"@reboot", "@reboot runs at boot, not at a time of day: a timer cannot express it"},
      {"@fortnightly",
       "unknown shortcut \"@fortnightly\" (expected @hourly, @daily, @midnight, @weekly, "
       "@monthly, @yearly or @annually)"},
      {"@daily 0",
       "unknown shortcut \"@daily 0\" (expected @hourly, @daily, @midnight, @weekly, "
       "@monthly, @yearly or @annually)"},
      {"0 3 * * *\n0 4 * * *",
       "expected 5 fields (minute hour day-of-month month day-of-week), got 9: \"0 3 * * *\n0 4 "
       "* * *\""},
  };
  for (const ErrorCase& c : cases) {
    absl::StatusOr<std::vector<std::string>> got = CronToOnCalendar(c.expr);
    ASSERT_FALSE(got.ok()) << "\"" << c.expr << "\" gave " << got->size() << " values";
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.expr;
    EXPECT_EQ(got.status().message(), c.message) << "\"" << c.expr << "\"";
  }
}

// ---------------------------------------------------------------------------
// ConfigStem, CronFileName

TEST(ConfigStem, StripsDirectoryAndYamlExtension) {
  EXPECT_EQ(*ConfigStem("backup.yml"), "backup");
  EXPECT_EQ(*ConfigStem("/etc/hostatlas/backup/backup.yml"), "backup");
  EXPECT_EQ(*ConfigStem("/etc/hostatlas/backup/backup-prod.yaml"), "backup-prod");
  EXPECT_EQ(*ConfigStem("/etc/x/Backup_2.YML"), "Backup_2");
  EXPECT_EQ(*ConfigStem("/etc/x/db.prod.yml"), "db.prod");
  EXPECT_EQ(*ConfigStem("/etc/x/backup.conf"), "backup.conf");
  for (const char* bad : {"/etc/x/.yml", "/etc/x/", "", "/etc/x/my backup.yml", "/etc/x/a@b.yml",
                          "/etc/x/.hidden.yml", "/etc/x/bäckup.yml"}) {
    absl::StatusOr<std::string> got = ConfigStem(bad);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StrContains(got.status().message(), "rename the config file")) << bad;
  }
}

// What `schedule --install` refuses to replace and what pre-flight counts
// as installed rest on reading back the config a file was made for.
TEST(ScheduledConfig, ReadsBackTheConfigOfEachFile) {
  char tmpl[] = "/tmp/hab-sched-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  for (const std::string config : {"/etc/hostatlas/backup/backup.yml", "/srv/my configs/backup.v2.yml"}) {
    UnitOptions o;
    o.binary = "/usr/local/bin/hostatlas-backup";
    o.config_path = config;
    o.schedule = "0 3 * * *";
    absl::StatusOr<SystemdUnits> units = RenderSystemdUnits(o);
    absl::StatusOr<std::string> cron = RenderCronLine(o);
    ASSERT_TRUE(units.ok() && cron.ok()) << config;
    for (const auto& [name, text] : {std::pair{"timer", units->timer_text}, std::pair{"service", units->service_text},
                                     std::pair{"cron", *cron}}) {
      std::string path = dir + "/" + name;
      std::ofstream(path) << text;
      EXPECT_EQ(ScheduledConfig(path), std::optional<std::string>(config)) << name << " for " << config;
    }
  }
  std::ofstream(dir + "/foreign") << "0 3 * * * root /usr/bin/other\n";
  EXPECT_EQ(ScheduledConfig(dir + "/foreign"), std::nullopt);
  EXPECT_EQ(ScheduledConfig(dir + "/missing"), std::nullopt);
  std::filesystem::remove_all(dir);
  ScheduleFiles f = ScheduleFilesFor("db.prod");
  EXPECT_EQ(f.timer, "/etc/systemd/system/hostatlas-backup-db.prod.timer");
  EXPECT_EQ(f.cron, "/etc/cron.d/hostatlas-backup-db_prod");
}

TEST(CronFileName, HasNoDot) {
  EXPECT_EQ(CronFileName("backup"), "hostatlas-backup-backup");
  EXPECT_EQ(CronFileName("db.prod"), "hostatlas-backup-db_prod");
}

// ---------------------------------------------------------------------------
// RenderSystemdUnits

UnitOptions Standard() {
  UnitOptions o;
  o.binary = "/usr/local/bin/hostatlas-backup";
  o.config_path = "/etc/hostatlas/backup/backup.yml";
  o.schedule = "0 3 * * *";
  return o;
}

TEST(RenderSystemdUnits, ProductPageExample) {
  absl::StatusOr<SystemdUnits> units = RenderSystemdUnits(Standard());
  ASSERT_TRUE(units.ok()) << units.status();
  EXPECT_EQ(units->service_name, "hostatlas-backup-backup.service");
  EXPECT_EQ(units->timer_name, "hostatlas-backup-backup.timer");
  const std::string header =
      "# Generated by `hostatlas-backup schedule` for /etc/hostatlas/backup/backup.yml.\n"
      "# Change the config's schedule: and run `hostatlas-backup schedule --install` again\n"
      "# instead of editing this file.\n";
  EXPECT_EQ(units->service_text,
            header +
                "[Unit]\n"
                "Description=hostatlas-backup run (/etc/hostatlas/backup/backup.yml)\n"
                "Documentation=file:/etc/hostatlas/backup/backup.yml\n"
                "Wants=network-online.target\n"
                "After=network-online.target\n"
                "\n"
                "[Service]\n"
                "Type=oneshot\n"
                "ExecStart=/usr/local/bin/hostatlas-backup --config "
                "/etc/hostatlas/backup/backup.yml run\n"
                "Nice=10\n"
                "IOSchedulingClass=idle\n"
                "# Hardening that hides nothing a backup reads: no ProtectHome= (sources and\n"
                "# local destinations under /home); ProtectSystem=full makes /usr, /boot and\n"
                "# /etc read-only, not the rest.\n"
                "ProtectSystem=full\n"
                "PrivateTmp=true\n"
                "NoNewPrivileges=true\n");
  EXPECT_EQ(units->timer_text,
            header +
                "# cron schedule: 0 3 * * *\n"
                "[Unit]\n"
                "Description=hostatlas-backup schedule for /etc/hostatlas/backup/backup.yml "
                "(0 3 * * *)\n"
                "Documentation=file:/etc/hostatlas/backup/backup.yml\n"
                "\n"
                "[Timer]\n"
                "OnCalendar=*-*-* 03:00:00\n"
                "Persistent=true\n"
                "RandomizedDelaySec=300\n"
                "\n"
                "[Install]\n"
                "WantedBy=timers.target\n");
}

TEST(RenderSystemdUnits, OptionsAndEscaping) {
  UnitOptions o = Standard();
  o.config_path = "/etc/host atlas/100% \"x\" $HOME\\y.yml";
  o.stem = "odd";
  o.schedule = "0 12 1,15 * 5";
  o.nice = -5;
  o.randomized_delay_seconds = 0;
  o.private_tmp = false;
  o.writable_paths = {"/usr/local/backups", "/etc/dumps 50%"};
  absl::StatusOr<SystemdUnits> units = RenderSystemdUnits(o);
  ASSERT_TRUE(units.ok()) << units.status();
  EXPECT_EQ(units->service_name, "hostatlas-backup-odd.service");
  const std::string& s = units->service_text;
  EXPECT_TRUE(absl::StrContains(s,
                                "ExecStart=/usr/local/bin/hostatlas-backup --config "
                                "\"/etc/host atlas/100%% \\\"x\\\" $$HOME\\\\y.yml\" run\n"))
      << s;
  EXPECT_TRUE(absl::StrContains(
      s, "Description=hostatlas-backup run (/etc/host atlas/100%% \"x\" $HOME\\y.yml)\n"))
      << s;
  EXPECT_TRUE(absl::StrContains(
      s, "Documentation=file:/etc/host%%20atlas/100%%25%%20%%22x%%22%%20%%24HOME%%5Cy.yml\n"))
      << s;
  EXPECT_TRUE(absl::StrContains(s, "Nice=-5\n")) << s;
  EXPECT_TRUE(absl::StrContains(s,
                                "ReadWritePaths=\"-/usr/local/backups\"\n"
                                "ReadWritePaths=\"-/etc/dumps 50%%\"\n"))
      << s;
  EXPECT_FALSE(absl::StrContains(s, "PrivateTmp")) << s;
  const std::string& t = units->timer_text;
  EXPECT_TRUE(absl::StrContains(t,
                                "OnCalendar=Fri *-*-* 12:00:00\n"
                                "OnCalendar=*-*-01,15 12:00:00\n"
                                "Persistent=true\n\n"))
      << t;
  EXPECT_FALSE(absl::StrContains(t, "RandomizedDelaySec")) << t;
}

TEST(RenderSystemdUnits, RefusesBadOptions) {
  auto code_and_message = [](UnitOptions o) {
    absl::StatusOr<SystemdUnits> u = RenderSystemdUnits(o);
    EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(u.status().message());
  };
  UnitOptions o = Standard();
  o.binary = "hostatlas-backup";
  EXPECT_EQ(code_and_message(o), "binary \"hostatlas-backup\" is not an absolute path");
  o = Standard();
  o.binary = "/opt/it's/hostatlas-backup";
  EXPECT_EQ(code_and_message(o),
            "binary \"/opt/it's/hostatlas-backup\": systemd refuses quotes and backslashes in an "
            "executable path");
  o = Standard();
  o.config_path = "backup.yml";
  EXPECT_EQ(code_and_message(o), "config path \"backup.yml\" is not an absolute path");
  o = Standard();
  o.config_path = "/etc/a\nb.yml";
  EXPECT_EQ(code_and_message(o), "config path \"/etc/a\\nb.yml\" contains a control character");
  o = Standard();
  o.nice = 20;
  EXPECT_EQ(code_and_message(o), "nice 20 is out of range -20..19");
  o = Standard();
  o.randomized_delay_seconds = -1;
  EXPECT_EQ(code_and_message(o), "randomized delay -1 seconds is negative");
  o = Standard();
  o.writable_paths = {"srv/backups"};
  EXPECT_EQ(code_and_message(o), "writable path \"srv/backups\" is not an absolute path");
  o = Standard();
  o.stem = "a b";
  EXPECT_TRUE(absl::StartsWith(code_and_message(o), "stem \"a b\" cannot name a systemd unit"));
  o = Standard();
  o.schedule = "0 24 * * *";
  EXPECT_EQ(code_and_message(o), "hour: 24 is out of range 0-23");
}

// A temporary directory whose name holds a space, % and $, removed on exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path() / "hab schedule 100% $x.XXXXXX";
    path_ = mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Runs `systemd-analyze verify` on the pair; returns the lines that mention
// our files. Lines about other units (a host's own broken units) are not ours
// to judge and are only printed.
std::vector<std::string> VerifyProblems(const std::string& tool, const std::string& dir,
                                        const SystemdUnits& units, int* exit_code) {
  std::string service = dir + "/" + units.service_name;
  std::string timer = dir + "/" + units.timer_name;
  WriteFile(service, units.service_text);
  WriteFile(timer, units.timer_text);
  CommandResult r = Run(absl::StrCat("LC_ALL=C ", ShellQuote(tool), " verify --man=no ",
                                     ShellQuote(service), " ", ShellQuote(timer)));
  *exit_code = r.exit_code;
  std::string stem = units.service_name.substr(0, units.service_name.rfind('.'));
  std::vector<std::string> ours;
  for (absl::string_view line : absl::StrSplit(r.output, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, stem) || absl::StrContains(line, dir)) {
      ours.emplace_back(line);
    } else {
      std::cerr << "systemd-analyze verify (not about our units): " << line << "\n";
    }
  }
  return ours;
}

TEST(RenderSystemdUnits, SystemdAnalyzeVerifyAcceptsThem) {
  REQUIRE_SYSTEMD_ANALYZE(tool);
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // verify checks that ExecStart='s program exists and is executable, so a
  // copy of /bin/true in a directory named with a space, % and $ also proves
  // that the executable path survives systemd's unquoting.
  std::string binary = dir.path() + "/hostatlas-backup";
  std::filesystem::copy_file("/bin/true", binary);
  std::filesystem::permissions(binary, std::filesystem::perms::owner_all);
  for (const char* schedule : {"0 3 * * *", "0 12 1,15 * 5", "@weekly", "*/15 9-17 * * mon-fri"}) {
    SCOPED_TRACE(schedule);
    UnitOptions o;
    o.binary = binary;
    o.config_path = "/etc/host atlas/100% \"x\" $HOME\\y.yml";
    o.stem = absl::StrCat("schedtest-", getpid());
    o.schedule = schedule;
    o.writable_paths = {"/usr/local/backups", "/srv/my backups"};
    absl::StatusOr<SystemdUnits> units = RenderSystemdUnits(o);
    ASSERT_TRUE(units.ok()) << units.status();
    int exit_code = -1;
    std::vector<std::string> problems = VerifyProblems(tool, dir.path(), *units, &exit_code);
    EXPECT_EQ(exit_code, 0);
    EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n") << "\n"
                                  << units->service_text << units->timer_text;
  }
}

// The filter above must see real problems: a bad key, a bad OnCalendar= and a
// missing program are all reported against our files.
TEST(RenderSystemdUnits, VerifyFilterSeesOurProblems) {
  REQUIRE_SYSTEMD_ANALYZE(tool);
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  UnitOptions o = Standard();
  o.binary = dir.path() + "/missing-binary";
  o.stem = absl::StrCat("schedtest-", getpid());
  absl::StatusOr<SystemdUnits> units = RenderSystemdUnits(o);
  ASSERT_TRUE(units.ok()) << units.status();
  units->service_text += "Bogus=1\n";
  units->timer_text = absl::StrReplaceAll(units->timer_text, {{"03:00:00", "25:00:00"}});
  int exit_code = 0;
  std::string all = absl::StrJoin(VerifyProblems(tool, dir.path(), *units, &exit_code), "\n");
  EXPECT_NE(exit_code, 0);
  EXPECT_TRUE(absl::StrContains(all, "Unknown key 'Bogus'")) << all;
  EXPECT_TRUE(absl::StrContains(all, "Failed to parse calendar specification")) << all;
  EXPECT_TRUE(absl::StrContains(all, "missing-binary")) << all;
}

// ---------------------------------------------------------------------------
// RenderCronLine

std::string LastLine(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  return lines.empty() ? "" : lines.back();
}

TEST(RenderCronLine, ProductPageExample) {
  absl::StatusOr<std::string> text = RenderCronLine(Standard());
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "# Generated by `hostatlas-backup schedule --cron` for "
            "/etc/hostatlas/backup/backup.yml.\n"
            "# Change the config's schedule: and run it again instead of editing this file.\n"
            "SHELL=/bin/sh\n"
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            "0 3 * * * root nice -n 10 ionice -c 3 -t /usr/local/bin/hostatlas-backup --config "
            "/etc/hostatlas/backup/backup.yml run\n");
}

TEST(RenderCronLine, WritesWhatClassicCronReadsTheSameWay) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0 3 * * *", "0 3 * * *"},
      {" 0\t3  * *  mon-fri ", "0 3 * * mon-fri"},
      {"5/15 * * * *", "5-59/15 * * * *"},
      {"0 2/6 */10 jan-MAR 1/2", "0 2-23/6 */10 jan-MAR 1-6/2"},
      {"0 0 * * fri-sun", "0 0 * * fri-7"},
      {"0 0 * * 5-0/2,1", "0 0 * * 5-7/2,1"},
      {"0 3 * * 7/2", "0 3 * * 0"},
      {"@Daily", "@daily"},
      {"@annually", "@annually"},
  };
  for (const auto& [schedule, want] : cases) {
    UnitOptions o = Standard();
    o.schedule = schedule;
    absl::StatusOr<std::string> text = RenderCronLine(o);
    ASSERT_TRUE(text.ok()) << schedule << ": " << text.status();
    std::string line = LastLine(*text);
    ASSERT_TRUE(absl::StartsWith(line, want + " root ")) << schedule << " -> " << line;
    // What we wrote means, to a classic cron, what the config meant.
    std::optional<CronMatcher> original = ParseCronExpr(schedule);
    std::optional<CronMatcher> written = ParseCronExpr(want, /*classic=*/true);
    ASSERT_TRUE(original && written) << schedule;
    EXPECT_TRUE(*original == *written) << schedule;
  }
}

TEST(RenderCronLine, QuotesForTheShellAndEscapesPercent) {
  UnitOptions o = Standard();
  o.binary = "/opt/host atlas/hostatlas-backup";
  o.config_path = "/etc/it's 100%.yml";
  absl::StatusOr<std::string> text = RenderCronLine(o);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(LastLine(*text),
            "0 3 * * * root nice -n 10 ionice -c 3 -t '/opt/host atlas/hostatlas-backup' --config "
            "'/etc/it'\\''s 100\\%.yml' run");
  EXPECT_TRUE(absl::EndsWith(*text, " run\n"));
}

TEST(RenderCronLine, Refuses) {
  UnitOptions o = Standard();
  o.config_path = "/etc/a\\%b.yml";
  absl::StatusOr<std::string> text = RenderCronLine(o);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(text.status().message(),
            "config path \"/etc/a\\%b.yml\" contains \"\\%\", which a cron line cannot express; "
            "use the systemd timer");
  for (const char* schedule : {"@reboot", "0 0 30 2 *", "0 3 * *", "0 0 * * 8"}) {
    o = Standard();
    o.schedule = schedule;
    EXPECT_EQ(RenderCronLine(o).status().code(), absl::StatusCode::kInvalidArgument) << schedule;
  }
}

}  // namespace
}  // namespace hab
