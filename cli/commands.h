// The product's verbs. Each returns the process exit code (cli/output.h).
#pragma once

#include <string>
#include <vector>

namespace hab::cli {

struct GlobalFlags {
  std::string config_path;  // empty: the default for this user
  bool debug = false;
  bool quiet = false;
};

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

}  // namespace hab::cli
