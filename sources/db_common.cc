#include "sources/db_common.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "engine/file_util.h"
#include "engine/status_macros.h"

namespace hab {

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
