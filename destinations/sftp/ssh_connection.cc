#include "destinations/sftp/ssh_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "engine/file_util.h"
#include "engine/status_macros.h"

namespace hab {
namespace {

// Modern algorithms only (libssh2 offers 3des, arcfour and group1-sha1 by
// default). Strict key exchange (kex-strict-c) is added by libssh2 itself.
constexpr char kKex[] =
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
    "ecdh-sha2-nistp521,diffie-hellman-group16-sha512,diffie-hellman-group14-sha256";
constexpr char kCiphers[] =
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr,aes192-ctr,"
    "aes128-ctr";
constexpr char kMacs[] =
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512";

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { libssh2_init(0); });
}

// OpenSSH's pattern matching: '*' and '?' wildcards.
bool Glob(absl::string_view p, absl::string_view s) {
  if (p.empty()) return s.empty();
  if (p[0] == '*') {
    for (size_t i = 0; i <= s.size(); ++i) {
      if (Glob(p.substr(1), s.substr(i))) return true;
    }
    return false;
  }
  if (s.empty()) return false;
  if (p[0] == '?' || absl::ascii_tolower(p[0]) == absl::ascii_tolower(s[0])) return Glob(p.substr(1), s.substr(1));
  return false;
}

// A known_hosts host field against `name` ("host" for port 22, else
// "[host]:port"): a hashed entry, or patterns (a negated match excludes).
bool HostFieldMatches(absl::string_view field, const std::string& name) {
  if (absl::StartsWith(field, "|1|")) {
    std::vector<std::string> parts = absl::StrSplit(field.substr(3), '|');
    std::string salt, hash;
    if (parts.size() != 2 || !absl::Base64Unescape(parts[0], &salt) || !absl::Base64Unescape(parts[1], &hash)) {
      return false;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()), reinterpret_cast<const unsigned char*>(name.data()),
         name.size(), mac, &len);
    return len == hash.size() && std::memcmp(mac, hash.data(), len) == 0;
  }
  bool matched = false;
  for (absl::string_view pat : absl::StrSplit(field, ',')) {
    bool negated = absl::ConsumePrefix(&pat, "!");
    if (Glob(pat, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

std::string HostkeyMethods(const std::string& type) {
  if (type == "ssh-rsa") return "rsa-sha2-512,rsa-sha2-256";  // the same key, SHA-2 signatures
  return type;
}

const char* KeyscanType(int hostkey_type) {
  switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return "rsa";
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ed25519";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ecdsa";
    default: return "ed25519";
  }
}

// Reads one SSH wire string (uint32 length, bytes) from `in`.
bool WireString(absl::string_view& in, absl::string_view& out) {
  if (in.size() < 4) return false;
  uint32_t n = (uint32_t{static_cast<unsigned char>(in[0])} << 24) | (uint32_t{static_cast<unsigned char>(in[1])} << 16) |
               (uint32_t{static_cast<unsigned char>(in[2])} << 8) | uint32_t{static_cast<unsigned char>(in[3])};
  if (in.size() - 4 < n) return false;
  out = in.substr(4, n);
  in.remove_prefix(4 + n);
  return true;
}

// Why a known_hosts key blob is not a whole key of `type` ("" when it is):
// a line whose key was cut short is still base64, and libssh2 would read it
// as a key that never matches, which looks like a changed host key.
std::string BadKeyBlob(absl::string_view type, absl::string_view blob) {
  absl::string_view t, a, b;
  if (!WireString(blob, t)) return "the key is cut short";
  if (t != type) return absl::StrCat("the key inside is ", t.size() < 40 ? std::string(t) : "?", ", not ", type);
  if (type == "ssh-ed25519") {
    if (!WireString(blob, a) || a.size() != 32 || !blob.empty()) return "not a whole ed25519 key";
    return "";
  }
  if (absl::StartsWith(type, "ecdsa-sha2-nistp")) {
    absl::string_view curve = type.substr(11);
    size_t point = curve == "nistp256" ? 65 : curve == "nistp384" ? 97 : curve == "nistp521" ? 133 : 0;
    if (!WireString(blob, a) || a != curve || !WireString(blob, b) || b.size() != point || b[0] != 0x04 ||
        !blob.empty()) {
      return "not a whole ECDSA key";
    }
    return "";
  }
  if (type == "ssh-rsa") {
    if (!WireString(blob, a) || a.empty() || !WireString(blob, b) || b.size() < 128 || !blob.empty()) {
      return "not a whole RSA key";
    }
    return "";
  }
  return absl::StrCat("key type ", type, " is not supported (ed25519, ECDSA and RSA are)");
}

// A secret read for authentication; wiped when it goes.
struct Secret {
  std::string value;
  ~Secret() { sodium_memzero(value.data(), value.size()); }
};

}  // namespace

std::string SshTarget::Describe() const { return absl::StrCat(user, "@", host, ":", port); }

std::string SshTarget::Location(const std::string& root) const {
  bool v6 = host.find(':') != std::string::npos;
  return absl::StrCat("sftp://", user, "@", v6 ? "[" : "", host, v6 ? "]" : "", ":", port,
                      !root.empty() && root[0] == '/' ? "" : "/~/", root);
}

absl::StatusOr<KnownHostKeys> ReadKnownHosts(const std::string& path, const std::string& host, int port) {
  auto text = ReadFile(path, 4 << 20);
  if (!text.ok()) return absl::FailedPreconditionError(absl::StrCat("known_hosts_file: ", text.status().message()));
  std::string name = port == 22 ? host : absl::StrCat("[", host, "]:", port);
  KnownHostKeys out;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++n;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (!f.empty() && f[0] == "@revoked") {
      // "@revoked hosts type key": that key is refused for those hosts,
      // whatever else the file says.
      std::string blob;
      if (f.size() >= 4 && HostFieldMatches(f[1], name) && absl::Base64Unescape(f[3], &blob)) {
        out.revoked.push_back(std::move(blob));
      }
      continue;
    }
    if (!f.empty() && f[0][0] == '@') continue;  // @cert-authority: host certificates are not used
    if (f.size() < 3) {
      out.warnings.push_back(absl::StrCat(path, ":", n, ": skipped: not \"hosts keytype key\""));
      continue;
    }
    std::string probe;
    if (!absl::Base64Unescape(f[2], &probe)) {
      out.warnings.push_back(absl::StrCat(path, ":", n, ": skipped: the key is not base64"));
      continue;
    }
    if (!HostFieldMatches(f[0], name)) continue;
    if (std::string why = BadKeyBlob(f[1], probe); !why.empty()) {
      // Only lines for this host: a type we do not support elsewhere in
      // the file is none of our business.
      out.warnings.push_back(absl::StrCat(path, ":", n, ": skipped: ", why));
      continue;
    }
    out.types.emplace_back(f[1]);
    out.keys.push_back(std::move(probe));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<SshConnection>> SshConnection::Open(const SshTarget& target,
                                                                   std::vector<std::string>* warnings) {
  InitOnce();
  HAB_ASSIGN_OR_RETURN(KnownHostKeys known, ReadKnownHosts(target.known_hosts_file, target.host, target.port));
  if (warnings != nullptr) warnings->insert(warnings->end(), known.warnings.begin(), known.warnings.end());
  auto c = std::unique_ptr<SshConnection>(new SshConnection(target));
  HAB_RETURN_IF_ERROR(c->Connect());
  HAB_RETURN_IF_ERROR(c->Handshake(known));
  HAB_RETURN_IF_ERROR(c->VerifyHostKey(known));
  HAB_RETURN_IF_ERROR(c->Authenticate());
  auto sftp = c->CallPtr<LIBSSH2_SFTP>("sftp", [&] { return libssh2_sftp_init(c->session_); });
  if (!sftp.ok()) return sftp.status();
  c->sftp_ = *sftp;
  return c;
}

SshConnection::~SshConnection() {
  // Non-blocking throughout: a dead peer must not hold us here. Each step
  // gets a few quick tries, then we go.
  auto tries = [](auto op) {
    for (int i = 0; i < 20 && op() == LIBSSH2_ERROR_EAGAIN; ++i) ::usleep(5000);
  };
  if (sftp_ != nullptr) tries([&] { return libssh2_sftp_shutdown(sftp_); });
  if (session_ != nullptr) {
    tries([&] { return libssh2_session_disconnect(session_, "done"); });
    tries([&] { return libssh2_session_free(session_); });
  }
}

absl::Status SshConnection::Wait(const char* what, absl::Time deadline, bool cancellable) {
  int dirs = session_ != nullptr ? libssh2_session_block_directions(session_) : 0;
  short events = 0;
  if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND) events |= POLLIN;
  if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) events |= POLLOUT;
  if (events == 0) events = POLLIN | POLLOUT;
  while (true) {
    if (cancellable && target_.cancel != nullptr && target_.cancel->load()) {
      return absl::CancelledError(absl::StrCat(what, " at ", target_.Describe(), ": cancelled"));
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, " at ", target_.Describe(), ": no answer for ", target_.timeout_seconds, " s (",
                       target_.preflight ? "the pre-flight bound" : "timeout_seconds", ")"));
    }
    struct pollfd p = {fd_.get(), events, 0};
    int ms = static_cast<int>(std::min<int64_t>(100, absl::ToInt64Milliseconds(left) + 1));
    int r = ::poll(&p, 1, ms);
    if (r > 0) return absl::OkStatus();
    if (r < 0 && errno != EINTR) return ErrnoStatus(errno, what, target_.Describe());
  }
}

absl::Status SshConnection::Connect() {
  // DNS, cancellable and bounded: getaddrinfo on a thread of its own whose
  // result we wait for in short slices. On a signal or the timeout we leave
  // it (a resolver stuck on a dead nameserver can take minutes; glibc's
  // gai_cancel cannot stop a lookup that has started) and the thread frees
  // what it found when it ends.
  struct Lookup {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    int rc ABSL_GUARDED_BY(mu) = 0;
    struct addrinfo* result ABSL_GUARDED_BY(mu) = nullptr;
    bool abandoned ABSL_GUARDED_BY(mu) = false;
  };
  auto lookup = std::make_shared<Lookup>();
  std::string host = target_.host, port = std::to_string(target_.port);
  try {
    std::thread([lookup, host, port] {
      struct addrinfo hints = {};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      struct addrinfo* res = nullptr;
      int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
      absl::MutexLock lock(&lookup->mu);
      if (lookup->abandoned) {
        if (res != nullptr) ::freeaddrinfo(res);
        return;
      }
      lookup->done = true;
      lookup->rc = rc;
      lookup->result = res;
    }).detach();
  } catch (const std::system_error&) {
    return absl::ResourceExhaustedError(absl::StrCat("DNS: cannot start a lookup of ", target_.host));
  }
  absl::Time deadline = absl::Now() + absl::Seconds(target_.timeout_seconds);
  struct addrinfo* found = nullptr;
  int rc = 0;
  {
    absl::MutexLock lock(&lookup->mu);
    while (!lookup->done) {
      bool cancelled = target_.cancel != nullptr && target_.cancel->load();
      if (cancelled || absl::Now() > deadline) {
        lookup->abandoned = true;
        return cancelled ? absl::CancelledError(absl::StrCat("DNS lookup of ", target_.host, ": cancelled"))
                         : absl::DeadlineExceededError(absl::StrCat("DNS: no answer for ", target_.host, " within ",
                                                                    target_.timeout_seconds, " s"));
      }
      lookup->mu.AwaitWithTimeout(absl::Condition(&lookup->done), absl::Milliseconds(50));
    }
    rc = lookup->rc;
    found = lookup->result;
    lookup->result = nullptr;
  }
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("DNS: cannot resolve ", target_.host, ": ", ::gai_strerror(rc)));
  }
  std::unique_ptr<struct addrinfo, decltype(&::freeaddrinfo)> addrs(found, &::freeaddrinfo);
  int left = 0;
  for (struct addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) ++left;
  std::string last = "no address";
  for (struct addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next, --left) {
    // Each address gets its share of the time left (at least 3 s), so a
    // blackholed first address (IPv6 without a route) leaves time for the
    // next one.
    absl::Duration share = std::max((deadline - absl::Now()) / std::max(left, 1), absl::Seconds(3));
    absl::Time attempt_deadline = std::min(deadline, absl::Now() + share);
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd) continue;
    int on = 1, idle = 15, intvl = 5, cnt = 3;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      continue;
    }
    fd_ = std::move(fd);
    absl::Status st = Wait("connect", attempt_deadline, true);
    if (!st.ok()) {
      if (st.code() == absl::StatusCode::kCancelled) return st;
      last = std::string(st.message());
      fd_.reset();
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) return absl::OkStatus();
    last = std::strerror(err);
    fd_.reset();
  }
  return absl::UnavailableError(absl::StrCat("connect to ", target_.host, ":", target_.port, ": ", last));
}

absl::Status SshConnection::Handshake(const KnownHostKeys& known) {
  session_ = libssh2_session_init();
  if (session_ == nullptr) return absl::ResourceExhaustedError("libssh2_session_init failed");
  libssh2_session_set_blocking(session_, 0);
  libssh2_session_method_pref(session_, LIBSSH2_METHOD_KEX, kKex);
  libssh2_session_method_pref(session_, LIBSSH2_METHOD_CRYPT_CS, kCiphers);
  libssh2_session_method_pref(session_, LIBSSH2_METHOD_CRYPT_SC, kCiphers);
  libssh2_session_method_pref(session_, LIBSSH2_METHOD_MAC_CS, kMacs);
  libssh2_session_method_pref(session_, LIBSSH2_METHOD_MAC_SC, kMacs);
  if (!known.types.empty()) {
    // Only the host-key types known for this host: the check then compares
    // like with like (a server that also has an ECDSA key must not be
    // judged by it when known_hosts holds its ed25519 key).
    std::vector<std::string> methods;
    for (const auto& t : known.types) methods.push_back(HostkeyMethods(t));
    libssh2_session_method_pref(session_, LIBSSH2_METHOD_HOSTKEY, absl::StrJoin(methods, ",").c_str());
  }
  auto rc = Call("handshake", [&] { return libssh2_session_handshake(session_, fd_.get()); });
  if (!rc.ok()) return rc.status();
  if (*rc != 0) return Error("handshake", *rc);
  return absl::OkStatus();
}

absl::Status SshConnection::VerifyHostKey(const KnownHostKeys& known) {
  size_t len = 0;
  int type = 0;
  const char* key = libssh2_session_hostkey(session_, &len, &type);
  if (key == nullptr) return Error("host key", -1);
  const char* hash = libssh2_hostkey_hash(session_, LIBSSH2_HOSTKEY_HASH_SHA256);
  std::string fp = hash == nullptr ? "?" : absl::Base64Escape(absl::string_view(hash, 32));
  fp = absl::StrCat("SHA256:", absl::StripSuffix(absl::StripSuffix(fp, "="), "="));
  std::string scan = absl::StrCat("ssh-keyscan -p ", target_.port, " -t ", KeyscanType(type), " ", target_.host);
  // Compared here, blob against blob, with the lines ReadKnownHosts chose
  // for this host (patterns, negation, hashes, [host]:port): libssh2's own
  // check matches names differently (no wildcards), and would turn a
  // changed key of a host known by a pattern into "unknown, add it".
  absl::string_view offered(key, len);
  for (const auto& r : known.revoked) {
    if (r == offered) {
      return absl::FailedPreconditionError(absl::StrCat(
          "host key: ", target_.host, ":", target_.port, " offers ", fp, ", a key marked @revoked in ",
          target_.known_hosts_file, "; refusing to connect"));
    }
  }
  for (const auto& k : known.keys) {
    if (k == offered) return absl::OkStatus();
  }
  if (!known.keys.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "host key: the key of ", target_.host, ":", target_.port, " has CHANGED (it offers ", fp,
        "); someone may be intercepting, or the server was reinstalled\nhint: check it against the server (",
        scan, "), then replace its line in ", target_.known_hosts_file));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "host key: ", target_.host, ":", target_.port, " is not in ", target_.known_hosts_file, " (it offers ", fp,
      ")\nhint: check the fingerprint with the server's administrator, then add it: ", scan, " >> ",
      target_.known_hosts_file));
}

absl::Status SshConnection::Authenticate() {
  const std::string& u = target_.user;
  unsigned ulen = static_cast<unsigned>(u.size());
  std::string allowed;
  if (auto list = CallPtr<char>("authentication", [&] { return libssh2_userauth_list(session_, u.c_str(), ulen); });
      list.ok()) {
    allowed = *list;
  } else if (libssh2_userauth_authenticated(session_)) {
    return absl::OkStatus();  // "none" was enough
  } else if (broken_) {
    return list.status();  // timed out or cancelled: not a second wait on a dead session
  }
  auto refused = [&](const std::string& method) {
    return absl::PermissionDeniedError(absl::StrCat("authentication as ", target_.Describe(), ": ", method,
                                                    " refused (the server accepts: ",
                                                    allowed.empty() ? "?" : allowed, ")"));
  };
  if (!target_.identity_file.empty()) {
    struct stat st;
    if (::stat(target_.identity_file.c_str(), &st) != 0) {
      return ErrnoStatus(errno, "identity_file", target_.identity_file);
    }
    if ((st.st_mode & 077) != 0) {
      return absl::PermissionDeniedError(absl::StrFormat(
          "identity_file %s is accessible by group or others (mode %04o)\nhint: chmod 600 %s",
          target_.identity_file, st.st_mode & 07777, target_.identity_file));
    }
    Secret pass;
    if (!target_.identity_passphrase_file.empty()) {
      HAB_ASSIGN_OR_RETURN(pass.value, ReadPrivateFile(target_.identity_passphrase_file, "identity_passphrase_file"));
      while (!pass.value.empty() && (pass.value.back() == '\n' || pass.value.back() == '\r')) pass.value.pop_back();
    }
    auto rc = Call("authentication", [&] {
      return libssh2_userauth_publickey_fromfile_ex(session_, u.c_str(), ulen, nullptr, target_.identity_file.c_str(),
                                                    pass.value.empty() ? nullptr : pass.value.c_str());
    });
    if (!rc.ok()) return rc.status();
    if (*rc == LIBSSH2_ERROR_FILE) {
      char* msg = nullptr;
      libssh2_session_last_error(session_, &msg, nullptr, 0);
      return absl::InvalidArgumentError(absl::StrCat("identity_file ", target_.identity_file, ": cannot use the key (",
                                                     msg ? msg : "?", "); a passphrase needs identity_passphrase_file"));
    }
    if (*rc != 0) return refused("publickey (identity_file " + target_.identity_file + ")");
    return absl::OkStatus();
  }
  Secret password;
  if (!target_.password_file.empty()) {
    HAB_ASSIGN_OR_RETURN(password.value, ReadPrivateFile(target_.password_file, "password_file"));
    while (!password.value.empty() && (password.value.back() == '\n' || password.value.back() == '\r')) {
      password.value.pop_back();
    }
  } else if (!target_.password_env.empty()) {
    const char* v = std::getenv(target_.password_env.c_str());
    if (v == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("password_env: environment variable ", target_.password_env, " is not set"));
    }
    password.value = v;
  }
  auto rc = Call("authentication", [&] {
    return libssh2_userauth_password_ex(session_, u.c_str(), ulen, password.value.c_str(),
                                        static_cast<unsigned>(password.value.size()), nullptr);
  });
  if (!rc.ok()) return rc.status();
  if (*rc != 0) return refused("password");
  return absl::OkStatus();
}

absl::Status SshConnection::Error(const std::string& what, long rc) const {
  std::string where = absl::StrCat(what, " at ", target_.Describe());
  if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && sftp_ != nullptr) {
    unsigned long fx = libssh2_sftp_last_error(sftp_);
    std::string text = absl::StrCat(where, ": SFTP status ", fx);
    switch (fx) {
      case LIBSSH2_FX_NO_SUCH_FILE:
      case LIBSSH2_FX_NO_SUCH_PATH: return absl::NotFoundError(absl::StrCat(where, ": no such file or directory"));
      case LIBSSH2_FX_PERMISSION_DENIED:
      case LIBSSH2_FX_WRITE_PROTECT: return absl::PermissionDeniedError(absl::StrCat(where, ": permission denied"));
      case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
      case LIBSSH2_FX_QUOTA_EXCEEDED:
        return absl::ResourceExhaustedError(absl::StrCat(where, ": no space left on the server's disk (or quota)"));
      case LIBSSH2_FX_FILE_ALREADY_EXISTS: return absl::AlreadyExistsError(absl::StrCat(where, ": already exists"));
      case LIBSSH2_FX_OP_UNSUPPORTED: return absl::UnimplementedError(absl::StrCat(where, ": not supported"));
      case LIBSSH2_FX_NO_CONNECTION:
      case LIBSSH2_FX_CONNECTION_LOST: return absl::UnavailableError(absl::StrCat(where, ": connection lost"));
      default: return absl::InternalError(absl::StrCat(text, " (failure)"));
    }
  }
  char* msg = nullptr;
  int err = session_ != nullptr ? libssh2_session_last_error(session_, &msg, nullptr, 0) : 0;
  std::string detail = msg != nullptr && *msg ? msg : absl::StrCat("libssh2 error ", rc);
  switch (err) {
    case LIBSSH2_ERROR_TIMEOUT:
      return absl::DeadlineExceededError(absl::StrCat(where, ": ", detail));
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
      return absl::UnavailableError(absl::StrCat(where, ": connection lost: ", detail));
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
      return absl::FailedPreconditionError(absl::StrCat(where, ": no common algorithm: ", detail));
    default:
      return absl::UnavailableError(absl::StrCat(where, ": ", detail));
  }
}

}  // namespace hab
