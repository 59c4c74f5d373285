#include "sources/db_common.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "engine/file_util.h"
#include "engine/status_macros.h"

namespace hab {

void ParseDbSettings(ConfigNode& n, int default_port, DbSettings& s) {
  n.AllowKeys({"type", "name", "host", "port", "user", "password_env", "password_file", "database",
               "command_timeout_seconds", "extra_args"});
  n.Str("host", s.host);
  if (s.host.empty()) s.host = "127.0.0.1";
  int64_t port = default_port;
  n.Int("port", 1, 65535, port);
  s.port = static_cast<int>(port);
  n.Str("user", s.user, true);
  n.Str("database", s.database, true);
  bool has_env = n.Str("password_env", s.password_env);
  bool has_file = n.Str("password_file", s.password_file);
  if (has_env && has_file) n.Problem("password_file", "set either password_env or password_file, not both");
  n.Int("command_timeout_seconds", 1, 7 * 86400, s.command_timeout_seconds);
  n.StrList("extra_args", s.extra_args);
}

std::vector<std::pair<std::string, std::string>> DbPlanParams(const DbSettings& s) {
  return {{"host", s.host},
          {"port", absl::StrCat(s.port)},
          {"user", s.user},
          {"database", s.database},
          {"password", !s.password_env.empty()    ? "env:" + s.password_env
                       : !s.password_file.empty() ? "file:" + s.password_file
                                                  : "none"},
          {"extra_args", absl::StrJoin(s.extra_args, " ")},
          {"timeout_s", absl::StrCat(s.command_timeout_seconds)}};
}

absl::StatusOr<std::string> ResolvePassword(const std::string& password_env,
                                            const std::string& password_file) {
  if (!password_env.empty()) {
    const char* v = std::getenv(password_env.c_str());
    if (v == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("password_env: environment variable ", password_env, " is not set"));
    }
    return std::string(v);
  }
  if (password_file.empty()) return std::string();
  HAB_ASSIGN_OR_RETURN(std::string text, ReadPrivateFile(password_file, "password_file"));
  std::string pw(absl::StripSuffix(absl::StripSuffix(text, "\n"), "\r"));
  sodium_memzero(text.data(), text.size());
  return pw;
}

void AddProblemLines(PreflightReport& report, const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    size_t colon = line.find(": ");
    if (colon == std::string::npos) {
      report.Fail("source", "", line);
    } else {
      report.Fail(line.substr(0, colon), "", line.substr(colon + 2));
    }
  }
}

bool RequireTools(const std::string& source, std::initializer_list<const char*> tools,
                  const char* hint, std::vector<std::string>& problems) {
  bool all = true;
  for (const char* tool : tools) {
    if (!FindInPath(tool)) {
      problems.push_back(absl::StrCat("source tools: ", source, ": ", tool, " not found in $PATH\nhint: ", hint));
      all = false;
    }
  }
  return all;
}

absl::StatusOr<ProbeResult> RunProbe(std::vector<std::string> argv, std::vector<std::string> env,
                                     int timeout_seconds, const std::atomic<bool>* cancel,
                                     const std::string& stdin_data) {
  SpawnOptions opt;
  opt.argv = std::move(argv);
  opt.extra_env = std::move(env);
  opt.merge_output = true;
  opt.stdin_pipe = !stdin_data.empty();
  HAB_ASSIGN_OR_RETURN(auto child, ChildProcess::Spawn(std::move(opt)));
  if (!stdin_data.empty()) {
    HAB_RETURN_IF_ERROR(child->WriteStdin(
        {reinterpret_cast<const uint8_t*>(stdin_data.data()), stdin_data.size()}));
    child->CloseStdin();
  }
  ProbeResult r;
  r.exit = child->Wait(absl::Now() + absl::Seconds(timeout_seconds), cancel);
  r.output = std::string(absl::StripTrailingAsciiWhitespace(child->Tail()));
  return r;
}

}  // namespace hab
