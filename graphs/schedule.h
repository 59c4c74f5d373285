// Schedule: the config's `schedule:` (a 5-field cron expression) turned into
// a systemd service + timer pair, or an /etc/cron.d file. Pure text in, text
// out: nothing here touches the file system or runs a program, so the
// `schedule` verb decides where the files go and whether to enable them.
//
//   HAB_ASSIGN_OR_RETURN(std::vector<std::string> on_calendar, CronToOnCalendar("0 3 * * 1-5"));
//   // {"Mon..Fri *-*-* 03:00:00"}
//
// Cron dialect (Vixie cron / cronie, what Debian and RHEL run), fields
// minute hour day-of-month month day-of-week, separated by blanks:
//   *  5  1,15  1-5  */15  10-50/10  5/15 (= 5-59/15)  jan..dec  sun..sat
//   (names case-insensitive, also as range ends: mon-fri), day-of-week 0 and
//   7 are Sunday (fri-sun is read as fri-7; `1/2` runs to Saturday), and
//   @hourly @daily @midnight @weekly @monthly @yearly @annually (any case).
//   Refused although some crons take them: @reboot (not a time), a step
//   wider than its field (`*/90` would mean minute 0 only), a reversed range
//   other than one ending in Sunday, and Quartz/cronie extras (? L W # ~).
// Cron runs a job when day-of-month OR day-of-week matches if both fields are
// restricted, where "restricted" means the field does not begin with `*`
// (so `*/2` counts as unrestricted, as in cron's DOM_STAR/DOW_STAR flags).
// OnCalendar= ANDs them, so that case needs two OnCalendar= lines.
//
// Errors are kInvalidArgument with the field and the bad part:
//   "hour: 24 is out of range 0-23". Nothing here returns another code.
//
// Both cron and systemd read the times in the host's local time zone. Not
// reproduced: cron's special case for jobs inside a DST jump (it runs a job
// scheduled in a skipped hour right after the jump); Persistent=true also
// catches up a run missed while the host was off, which cron does not.
// The OnCalendar= values need systemd 233 or later (`a..b/step`); they never
// use the open-ended `a/step`, which systemd evaluates wrongly (schedule.cc).
// Thread-safe: all functions are pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hab {

// Translates a cron expression into the OnCalendar= values of one timer (a
// timer fires when any of them matches). One value, or two when cron's
// day-of-month OR day-of-week rule applies. Every value names seconds (`:00`)
// and no time zone. A schedule that can never fire ("0 0 30 2 *") is refused.
absl::StatusOr<std::vector<std::string>> CronToOnCalendar(absl::string_view expr);

// "backup.yml" -> "backup", "/etc/hostatlas/backup/backup-prod.yaml" ->
// "backup-prod" (".yml"/".yaml" in any case; another extension stays part of
// the stem). The stem names the units, so it may hold only A-Z a-z 0-9 _ . -
// and must not be empty; anything else is kInvalidArgument with a hint to
// rename the file.
absl::StatusOr<std::string> ConfigStem(absl::string_view config_path);

struct UnitOptions {
  std::string binary;                  // absolute path of hostatlas-backup
  std::string config_path;             // absolute path of the config
  std::string stem;                    // empty: ConfigStem(config_path)
  std::string schedule;                // the config's `schedule:` value
  int nice = 10;                       // -20..19
  int randomized_delay_seconds = 300;  // RandomizedDelaySec=; 0 disables, cron ignores it
  // PrivateTmp=true gives the service its own empty /tmp and /var/tmp. Set it
  // false when a source reads from there (a files path, or a database `host:`
  // that is a socket directory such as /tmp).
  bool private_tmp = true;
  // Written as ReadWritePaths=-<path>: paths the run writes that
  // ProtectSystem=full makes read-only (a local destination under /usr, /etc
  // or /boot). Absolute; a missing path is ignored by systemd.
  std::vector<std::string> writable_paths;
};

struct SystemdUnits {
  std::string service_name;  // hostatlas-backup-<stem>.service
  std::string service_text;
  std::string timer_name;  // hostatlas-backup-<stem>.timer
  std::string timer_text;
};

// Renders the unit pair for one config. The service is Type=oneshot and runs
// `<binary> --config <config_path> run` as root at Nice= and idle I/O
// priority, with hardening that leaves every source readable and every
// destination outside /usr, /etc and /boot writable (see the .cc for each
// choice). The timer carries CronToOnCalendar(schedule), Persistent=true and
// RandomizedDelaySec=, and is WantedBy=timers.target.
// kInvalidArgument: a bad schedule, a relative binary/config/writable path,
// a control character in a path, a quote or backslash in the binary path
// (systemd refuses those in an executable name), nice or delay out of range.
absl::StatusOr<SystemdUnits> RenderSystemdUnits(const UnitOptions& options);

// Renders an /etc/cron.d file: a comment, SHELL= and PATH= lines, and
// `<schedule> root nice -n <nice> ionice -c 3 -t <binary> --config <config> run`.
// The schedule is validated by the same parser and written as given, except
// where classic cron would read it differently or refuse it: blanks are
// collapsed, `5/15` becomes `5-59/15`, a day-of-week range ending in Sunday
// becomes `fri-7`, and @ shortcuts are lower-cased. Paths are shell-quoted
// and `%` escaped (cron turns a bare % into a newline). Codes as above;
// randomized_delay_seconds, private_tmp and writable_paths do not apply.
absl::StatusOr<std::string> RenderCronLine(const UnitOptions& options);

// The /etc/cron.d file name for a stem: "hostatlas-backup-<stem>" with `.`
// replaced by `_`, because cron ignores cron.d files whose names hold a dot.
std::string CronFileName(absl::string_view stem);

// Where this config's schedule lives once installed, and the config an
// installed file was made for (from its "# Generated by ... for PATH."
// line; nullopt: missing, unreadable or not ours). Two configs with the
// same file name map to the same files: `schedule --install` refuses to
// replace another config's, and pre-flight does not count it as ours.
struct ScheduleFiles {
  std::string timer;  // /etc/systemd/system/hostatlas-backup-<stem>.timer
  std::string service;
  std::string cron;   // /etc/cron.d/hostatlas-backup-<stem>
};
ScheduleFiles ScheduleFilesFor(absl::string_view stem);
std::optional<std::string> ScheduledConfig(const std::string& installed_file);

}  // namespace hab
