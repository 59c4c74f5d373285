// hostatlas-backup: entry point. Process-wide setup (libsodium, signals)
// happens here once; everything else lives in cli/commands.cc.
#include <curl/curl.h>
#include <langinfo.h>
#include <malloc.h>
#include <signal.h>

#include <clocale>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "engine/secret_bytes.h"

namespace {

void Usage() {
  std::fputs(
      "usage: hostatlas-backup [--config PATH] [--auth-file PATH] [--debug] [-q|--quiet] COMMAND [ARGS]\n"
      "\n"
      "commands:\n"
      "  run [--dry-run [--format=text|dot]]   back up every source in the config\n"
      "  restore --to DIR [--from KEY] [--identity FILE]\n"
      "                                        restore the newest archives (or KEY) into DIR\n"
      "  list [--json]                         every archive at the destination, newest first\n"
      "  verify [--from KEY | --latest | --all] [--identity FILE]\n"
      "                                        read archives back and check them (deep)\n"
      "  status [--json]                       last run summary and destination snapshot\n"
      "  schedule [--install] [--cron]         systemd timer (or cron entry) for the config's schedule:\n"
      "  keygen [-o FILE]                      make an age identity (mode 0600), print its recipient\n"
      "  example-config --source DIR --dest DIR --recipient AGE1... | --full\n"
      "                                        print the embedded default (or the full reference) config\n"
      "  version                               print version and commit\n"
      "  login [--no-browser] [--api-url URL] [--auth-url URL]\n"
      "                                        log this host in to HostAtlas (writes auth.yml)\n"
      "  logout                                revoke the key and remove auth.yml\n"
      "  heartbeat list [--json] | new NAME    the account's heartbeats / make one\n"
      "\n"
      "-q/--quiet prints nothing unless something failed or warned (for cron).\n"
      "exit codes: 0 success, 1 a source or destination failed, 2 config/pre-flight/lock problem\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  hab::EnsureSodium();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  // Chunk buffers are a few MiB: keep them in the heap instead of a fresh
  // mmap per chunk (every page of which would fault on first touch). The
  // memory budget, not the allocator, bounds how much is in use.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  // Buffers are allocated on one thread and freed on another; with an arena
  // per thread each arena keeps its own peak of freed buffers, and an 8 GiB
  // restore under memory_limit 64MiB peaked at 129 MiB RSS. Two arenas: 97
  // MiB, and no measurable slowdown (docs/performance.md).
  mallopt(M_ARENA_MAX, 2);
  // Writes to a child that stopped reading must fail with EPIPE, not kill us.
  signal(SIGPIPE, SIG_IGN);
  // libarchive converts names through the locale: without a UTF-8 one
  // (cron's "C"), non-ASCII names would be stored as raw bytes with a
  // warning. Use the user's locale if it is UTF-8, else C.UTF-8.
  std::setlocale(LC_CTYPE, "");
  if (std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");
  hab::cli::GlobalFlags g;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> rest;
  std::string command;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config" && i + 1 < args.size()) {
      g.config_path = args[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      g.config_path = a.substr(9);
    } else if (a == "--auth-file" && i + 1 < args.size()) {
      g.auth_file = args[++i];
    } else if (a.rfind("--auth-file=", 0) == 0) {
      g.auth_file = a.substr(12);
    } else if (a == "--debug") {
      g.debug = true;
    } else if (a == "-q" || a == "--quiet") {
      g.quiet = true;
    } else if (a == "-h" || a == "--help" || a == "help") {
      Usage();
      return 0;
    } else if (command.empty() && a[0] != '-') {
      command = a;
    } else {
      rest.push_back(a);
    }
  }
  hab::cli::SetDebug(g.debug);
  hab::cli::SetQuiet(g.quiet);
  using hab::cli::Finish;
  if (command == "run") return Finish(hab::cli::CmdRun(g, rest));
  if (command == "restore") return Finish(hab::cli::CmdRestore(g, rest));
  if (command == "status") return Finish(hab::cli::CmdStatus(g, rest));
  if (command == "list") return Finish(hab::cli::CmdList(g, rest));
  if (command == "verify") return Finish(hab::cli::CmdVerify(g, rest));
  if (command == "schedule") return Finish(hab::cli::CmdSchedule(g, rest));
  if (command == "login") return Finish(hab::cli::CmdLogin(g, rest));
  if (command == "logout") return Finish(hab::cli::CmdLogout(g, rest));
  if (command == "heartbeat") return Finish(hab::cli::CmdHeartbeat(g, rest));
  if (command == "version") return hab::cli::CmdVersion(rest);
  if (command == "keygen") return hab::cli::CmdKeygen(rest);
  if (command == "example-config") return Finish(hab::cli::CmdExampleConfig(rest));
  if (command.empty()) {
    Usage();
    return hab::cli::kExitPreflight;
  }
  hab::cli::Error("unknown command \"" + command + "\"");
  hab::cli::Hint("run hostatlas-backup --help for the list of commands");
  return hab::cli::kExitPreflight;
}
