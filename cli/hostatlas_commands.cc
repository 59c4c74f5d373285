// login, logout, heartbeat list / new: the HostAtlas verbs. The wire work
// is in integrations/hostatlas/; this file parses flags, prints, and maps
// outcomes to exit codes (2: usage, not logged in, a bad URL or auth.yml;
// 1: the API or the login failed).
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "engine/file_util.h"
#include "engine/json.h"
#include "integrations/hostatlas/api.h"
#include "integrations/hostatlas/auth_file.h"
#include "integrations/hostatlas/login.h"
#include "integrations/hostatlas/spool.h"
#include "net/retry.h"

extern char** environ;

namespace hab::cli {
namespace {

using hostatlas::AuthFile;
using hostatlas::Client;
using hostatlas::ClientOptions;

// An API call failed: whatever the server or the network did is exit 1
// (exit 2 is for local settings, checked before any call).
int ApiFailure(absl::string_view verb, const absl::Status& st) {
  Error(absl::StrCat(verb, ": ", st.message()));
  if (st.code() == absl::StatusCode::kPermissionDenied) {
    Hint("the API key was refused (revoked?): run `hostatlas-backup login` again");
  }
  return kExitFailure;
}

// Server-supplied text for a terminal: control characters (escape
// sequences) become '?'.
std::string Printable(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  return out;
}

// The login of this host, or exit 2 with "run login first".
struct LoggedIn {
  std::string path;
  AuthFile auth;
  std::unique_ptr<Client> client;
};

int RequireLogin(const GlobalFlags& g, absl::string_view verb, LoggedIn& out) {
  auto path = hostatlas::AuthFilePath(g.auth_file);
  if (!path.ok()) {
    Error(absl::StrCat(verb, ": ", path.status().message()));
    return kExitPreflight;
  }
  out.path = *path;
  auto auth = hostatlas::LoadAuthFile(*path);
  if (!auth.ok()) {
    if (auth.status().code() == absl::StatusCode::kNotFound) {
      Error(absl::StrCat(verb, ": not logged in (no ", *path, "): run `hostatlas-backup login` first"));
    } else {
      Error(absl::StrCat(verb, ": ", auth.status().message()));
    }
    return kExitPreflight;
  }
  out.auth = std::move(*auth);
  auto api = hostatlas::ApiBaseUrl("", out.auth.api_url);
  if (!api.ok()) {
    Error(absl::StrCat(verb, ": ", api.status().message()));
    return kExitPreflight;
  }
  ClientOptions co;
  co.api_url = *api;
  co.cancel = CancelFlag();
  out.client = std::make_unique<Client>(co);
  out.client->SetKey(SecretString(out.auth.api_key.reveal()));
  return kExitOk;
}

// Opens `url` in a browser when a person is there to see it: stdout is a
// terminal and $BROWSER is set or a display is (xdg-open). A launch that
// fails is a note, never an error. Not waited for.
void MaybeOpenBrowser(const std::string& url) {
  if (!::isatty(STDOUT_FILENO)) return;
  std::string program;
  if (const char* b = std::getenv("BROWSER"); b != nullptr && *b) {
    program = std::string(b).substr(0, std::string(b).find(':'));  // $BROWSER may be a list
  } else if (std::getenv("DISPLAY") != nullptr || std::getenv("WAYLAND_DISPLAY") != nullptr) {
    program = "xdg-open";
  } else {
    return;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int fd : {0, 1, 2}) posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  std::string arg0 = program;
  std::string arg1 = url;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, program.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) Note(absl::StrCat("could not start ", program, " to open a browser; open the URL yourself"));
}

std::string NowRfc3339() { return Rfc3339Utc(std::time(nullptr)); }

}  // namespace

int CmdLogin(const GlobalFlags& g, const std::vector<std::string>& args) {
  InstallSignalHandlers();
  bool no_browser = false;
  std::string api_flag, auth_flag;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--no-browser") {
      no_browser = true;
    } else if (!FlagValue(args, i, "--api-url", api_flag) && !FlagValue(args, i, "--auth-url", auth_flag)) {
      Error("login: unknown argument \"" + args[i] + "\"");
      return kExitPreflight;
    }
  }
  auto auth_url = hostatlas::AuthBaseUrl(auth_flag);
  auto api_url = hostatlas::ApiBaseUrl(api_flag, "");
  for (const auto* u : {&auth_url, &api_url}) {
    if (!u->ok()) {
      Error(absl::StrCat("login: ", u->status().message()));
      return kExitPreflight;
    }
  }
  auto path = hostatlas::AuthFilePath(g.auth_file);
  if (!path.ok()) {
    Error(absl::StrCat("login: ", path.status().message()));
    return kExitPreflight;
  }
  // Before anyone approves anything: can auth.yml be written safely?
  if (absl::Status st = hostatlas::PrepareAuthDirectory(*path); !st.ok()) {
    Error(absl::StrCat("login: ", st.message()));
    return kExitPreflight;
  }
  if (auto old = hostatlas::LoadAuthFile(*path); old.ok()) {
    Note(absl::StrCat("already logged in as \"", old->account, "\" (key ", old->key_id,
                      "); a new login replaces ", *path, "; the old key stays valid until revoked in the dashboard"));
  }
  ClientOptions co;
  co.auth_url = *auth_url;
  co.api_url = *api_url;
  co.cancel = CancelFlag();
  Client client(co);
  // Minting and revoking are not cancellable (bounded by 30 s instead): a
  // key the server made must not be lost between it and us.
  co.cancel = nullptr;
  Client bounded(co);
  hostatlas::LoginCallbacks cb;
  cb.show = [&](const hostatlas::DeviceCode& dc) {
    Out(absl::StrCat("To log this host in to HostAtlas, open\n\n    ", dc.verification_uri,
                     "\n\nand confirm the code  ", dc.user_code, "\n\n"));
    Note(absl::StrCat("waiting for approval (the code expires in ",
                      dc.expires_in >= 120 ? absl::StrCat(dc.expires_in / 60, " min") : absl::StrCat(dc.expires_in, " s"),
                      "; Ctrl-C cancels, nothing is written)"));
    if (!no_browser) MaybeOpenBrowser(dc.verification_uri);
  };
  cb.sleep = [](absl::Duration d) { return SleepUnlessCancelled(d, CancelFlag()); };
  auto key = hostatlas::DeviceLogin(client, bounded, Hostname(), cb, CancelFlag());
  auto take_back = [&](const hostatlas::MintedKey& k) {
    bounded.SetKey(SecretString(k.key.reveal()));
    absl::Status st = bounded.RevokeKey(k.id);
    if (!st.ok()) {
      Warn(absl::StrCat("the new key ", k.id, " could not be revoked: ", st.message()));
      Hint(absl::StrCat("revoke ", k.id, " in the HostAtlas dashboard (Settings, API Keys)"));
    }
  };
  if (!key.ok()) {
    if (key.status().code() == absl::StatusCode::kCancelled) {
      Error("login cancelled (SIGINT/SIGTERM); nothing was written");
      return kExitFailure;
    }
    Error(absl::StrCat("login: ", key.status().message()));
    return kExitFailure;
  }
  if (CancelFlag()->load()) {
    // The key exists on the server but nowhere here: take it back.
    take_back(*key);
    Error("login cancelled (SIGINT/SIGTERM); nothing was written, the new key was revoked");
    return kExitFailure;
  }
  AuthFile a;
  a.api_url = *api_url;
  a.api_key = SecretString(key->key.reveal());
  a.key_id = key->id;
  a.account = key->account;
  a.created_at = NowRfc3339();
  if (absl::Status st = hostatlas::WriteAuthFile(*path, a); !st.ok()) {
    take_back(*key);
    Error(absl::StrCat("login: auth.yml not written (the new key was revoked): ", st.message()));
    return kExitFailure;
  }
  if (CancelFlag()->load()) {
    // Ctrl-C while the file was written: honour it, leave nothing.
    (void)hostatlas::RemoveAuthFile(*path);
    take_back(*key);
    Error("login cancelled (SIGINT/SIGTERM); auth.yml removed again, the new key revoked");
    return kExitFailure;
  }
  Info(absl::StrCat("logged in to HostAtlas as \"", key->account, "\" (key ", key->id, "); wrote ", *path));
  return kExitOk;
}

int CmdLogout(const GlobalFlags& g, const std::vector<std::string>& args) {
  InstallSignalHandlers();
  if (!args.empty()) {
    Error("logout: unknown argument \"" + args[0] + "\"");
    return kExitPreflight;
  }
  auto path = hostatlas::AuthFilePath(g.auth_file);
  if (!path.ok()) {
    Error(absl::StrCat("logout: ", path.status().message()));
    return kExitPreflight;
  }
  // A file others could read is read anyway here: its key may have
  // leaked, which is the best reason to revoke it.
  auto auth = hostatlas::LoadAuthFile(*path, hostatlas::AuthFileUse::kRevoke);
  if (!auth.ok() && auth.status().code() == absl::StatusCode::kNotFound) {
    Info(absl::StrCat("not logged in (no ", *path, "); nothing to do"));
    return kExitOk;
  }
  if (!auth.ok()) {
    // Not ours, not a regular file, unreadable: nothing to revoke with;
    // removing it would lose the only record of which key it was.
    Error(absl::StrCat("logout: ", auth.status().message()));
    Hint(absl::StrCat("nothing was revoked or removed; look at ", *path,
                      " and revoke its key in the HostAtlas dashboard (Settings, API Keys)"));
    return kExitFailure;
  }
  bool revoked = false;
  auto api = hostatlas::ApiBaseUrl("", auth->api_url);
  absl::Status st = api.status();
  if (st.ok()) {
    ClientOptions co;
    co.api_url = *api;
    co.cancel = CancelFlag();
    Client client(co);
    client.SetKey(SecretString(auth->api_key.reveal()));
    st = client.RevokeKey(auth->key_id);
  }
  if (st.ok()) {
    revoked = true;
    Info(absl::StrCat("revoked key ", auth->key_id, " of \"", auth->account, "\""));
  } else {
    Warn(absl::StrCat("key ", auth->key_id, " was not revoked: ", st.message()));
    Hint(absl::StrCat("revoke ", auth->key_id, " in the HostAtlas dashboard (Settings, API Keys)"));
  }
  absl::Status rm = hostatlas::RemoveAuthFile(*path);
  if (!rm.ok() && rm.code() != absl::StatusCode::kNotFound) {
    Error(absl::StrCat("logout: ", rm.message()));
    return kExitFailure;
  }
  Info(absl::StrCat("removed ", *path, revoked ? "" : absl::StrCat(" (key ", auth->key_id, " itself is still valid)")));
  return kExitOk;
}

int CmdHeartbeat(const GlobalFlags& g, const std::vector<std::string>& args) {
  InstallSignalHandlers();
  std::string sub = args.empty() ? "" : args[0];
  if (sub == "list") {
    bool json = false;
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] != "--json") {
        Error("heartbeat list: unknown argument \"" + args[i] + "\"");
        return kExitPreflight;
      }
      json = true;
    }
    LoggedIn li;
    if (int rc = RequireLogin(g, "heartbeat list", li); rc != kExitOk) return rc;
    auto hbs = li.client->ListHeartbeats();
    if (!hbs.ok()) return ApiFailure("heartbeat list", hbs.status());
    if (json) {
      std::vector<std::string> js;
      for (const auto& h : *hbs) {
        js.push_back(absl::StrCat("{\"slug\":", JsonString(h.slug), ",\"name\":", JsonString(h.name),
                                  ",\"status\":", JsonString(h.status), ",\"last_ping_at\":",
                                  h.last_ping_at.empty() ? "null" : JsonString(h.last_ping_at),
                                  ",\"ping_url\":", JsonString(h.ping_url), "}"));
      }
      Out(absl::StrCat("{\"heartbeats\":[", absl::StrJoin(js, ","), "]}\n"));
      return kExitOk;
    }
    if (hbs->empty()) {
      Out("no heartbeats on this account (hostatlas-backup heartbeat new NAME makes one)\n");
      return kExitOk;
    }
    size_t ws = 4, wn = 4, wt = 6, wl = 9;
    std::vector<hostatlas::Heartbeat> shown = *hbs;
    for (auto& h : shown) {
      for (std::string* f : {&h.slug, &h.name, &h.status, &h.last_ping_at, &h.ping_url}) *f = Printable(*f);
    }
    for (const auto& h : shown) {
      ws = std::max(ws, h.slug.size());
      wn = std::max(wn, h.name.size());
      wt = std::max(wt, h.status.size());
      wl = std::max(wl, h.last_ping_at.empty() ? size_t{5} : h.last_ping_at.size());
    }
    auto row = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d,
                   const std::string& e) {
      return absl::StrCat(a, std::string(ws - a.size() + 2, ' '), b, std::string(wn - b.size() + 2, ' '), c,
                          std::string(wt - c.size() + 2, ' '), d, std::string(wl - d.size() + 2, ' '), e, "\n");
    };
    std::string out = row("SLUG", "NAME", "STATUS", "LAST PING", "PING URL");
    for (const auto& h : shown) {
      out += row(h.slug, h.name, h.status, h.last_ping_at.empty() ? "never" : h.last_ping_at, h.ping_url);
    }
    Out(out);
    return kExitOk;
  }
  if (sub == "new") {
    if (args.size() != 2 || args[1].empty() || args[1][0] == '-') {
      Error("heartbeat new: give the heartbeat's name: hostatlas-backup heartbeat new NAME");
      return kExitPreflight;
    }
    if (args[1].size() > 200) {
      Error("heartbeat new: the name is longer than 200 characters");
      return kExitPreflight;
    }
    LoggedIn li;
    if (int rc = RequireLogin(g, "heartbeat new", li); rc != kExitOk) return rc;
    auto hb = li.client->CreateHeartbeat(args[1]);
    if (!hb.ok()) return ApiFailure("heartbeat new", hb.status());
    Out(absl::StrCat("slug: ", Printable(hb->slug), "\nping URL: ", Printable(hb->ping_url), "\n"));
    Note(absl::StrCat("add to the config:  heartbeat: ", Printable(hb->slug)));
    return kExitOk;
  }
  Error(sub.empty() ? "heartbeat: use heartbeat list [--json] or heartbeat new NAME"
                    : "heartbeat: unknown subcommand \"" + sub + "\" (list, new)");
  return kExitPreflight;
}

}  // namespace hab::cli

namespace hab::cli {

void DescribeHostAtlas(const GlobalFlags& g, const std::string& slug, const std::string& spool_dir,
                       std::string& text, std::string& json) {
  auto path = hostatlas::AuthFilePath(g.auth_file);
  absl::StatusOr<AuthFile> auth = path.ok() ? hostatlas::LoadAuthFile(*path) : absl::StatusOr<AuthFile>(path.status());
  // This login's waiting run logs (every login's when not logged in).
  size_t waiting = spool_dir.empty() ? 0 : hostatlas::Spool(spool_dir, auth.ok() ? auth->key_id : "").Count();
  std::string login_text, login_json;
  if (auth.ok()) {
    login_text = absl::StrCat("logged in as \"", auth->account, "\" (key ", auth->key_id, ")");
    login_json = absl::StrCat("\"logged_in\":true,\"account\":", JsonString(auth->account),
                              ",\"key_id\":", JsonString(auth->key_id));
  } else {
    login_text = auth.status().code() == absl::StatusCode::kNotFound
                     ? "not logged in (standalone: runs are not pushed)"
                     : absl::StrCat("login not usable: ", auth.status().message());
    login_json = "\"logged_in\":false";
  }
  text = absl::StrCat("hostatlas: ", login_text, "\n");
  std::string hb_json = "null";
  if (!slug.empty()) {
    std::string state = "unknown (offline)", last;
    auto api = hostatlas::ApiBaseUrl("", auth.ok() ? auth->api_url : "");
    if (auth.ok() && api.ok()) {
      ClientOptions co;
      co.api_url = *api;
      co.api_timeout_seconds = 5;
      co.cancel = CancelFlag();
      Client client(co);
      client.SetKey(SecretString(auth->api_key.reveal()));
      auto hb = client.GetHeartbeat(slug);
      if (hb.ok()) {
        state = Printable(hb->status);
        last = Printable(hb->last_ping_at);
      } else if (hb.status().code() == absl::StatusCode::kNotFound) {
        state = "unknown slug (not on this account)";
      }
    }
    absl::StrAppend(&text, "heartbeat ", slug, ": ", state,
                    last.empty() ? (state == "unknown (offline)" ? "" : ", never pinged") : ", last ping " + last, "\n");
    hb_json = absl::StrCat("{\"slug\":", JsonString(slug), ",\"status\":", JsonString(state),
                           ",\"last_ping_at\":", last.empty() ? "null" : JsonString(last), "}");
  }
  if (waiting > 0) {
    absl::StrAppend(&text, "push spool: ", waiting, " run log(s) waiting to be sent (", spool_dir, ")\n");
  }
  json = absl::StrCat("{", login_json, ",\"heartbeat\":", hb_json, ",\"spool_waiting\":", waiting, "}");
}

}  // namespace hab::cli
