// The product's verbs. Each returns the process exit code (cli/output.h).
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace hab::cli {

struct GlobalFlags {
  std::string config_path;  // empty: the default for this user
  bool debug = false;
  bool quiet = false;
  std::string auth_file;  // --auth-file: HostAtlas login (empty: the default)
};

// SIGINT/SIGTERM set the flag CancelFlag() points to (nothing else).
void InstallSignalHandlers();
const std::atomic<bool>* CancelFlag();
std::string Hostname();
// `--name VALUE` or `--name=VALUE` at args[i] (advances i past a value).
bool FlagValue(const std::vector<std::string>& args, size_t& i, const std::string& name, std::string& out);

std::string DefaultConfigPath();
int CmdList(const GlobalFlags& g, const std::vector<std::string>& args);
int CmdVerify(const GlobalFlags& g, const std::vector<std::string>& args);
int CmdSchedule(const GlobalFlags& g, const std::vector<std::string>& args);
int CmdRun(const GlobalFlags& g, const std::vector<std::string>& args);
int CmdStatus(const GlobalFlags& g, const std::vector<std::string>& args);
int CmdRestore(const GlobalFlags& g, const std::vector<std::string>& args);
int CmdVersion(const std::vector<std::string>& args);
int CmdKeygen(const std::vector<std::string>& args);
int CmdExampleConfig(const std::vector<std::string>& args);
// HostAtlas (cli/hostatlas_commands.cc).
int CmdLogin(const GlobalFlags& g, const std::vector<std::string>& args);
int CmdLogout(const GlobalFlags& g, const std::vector<std::string>& args);
int CmdHeartbeat(const GlobalFlags& g, const std::vector<std::string>& args);
// status's HostAtlas part: login, the heartbeat's state and last ping (from
// the API within 5 s, else "unknown (offline)"), the push spool.
void DescribeHostAtlas(const GlobalFlags& g, const std::string& slug, const std::string& spool_dir,
                       std::string& text, std::string& json);

}  // namespace hab::cli
