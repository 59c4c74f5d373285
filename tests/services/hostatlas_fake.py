#!/usr/bin/env python3
"""Strict local fake of the HostAtlas API (the wire format of
spec/hostatlas-api.md) for the end-to-end tests. One process serves both the
auth and the api base URL, in memory, on loopback.

usage: hostatlas_fake.py --port PORT [--host 127.0.0.1] [--verbose] [switches]

It rejects what the spec does not allow: a User-Agent that is not
"hostatlas-backup/<version> (<os>; <arch>)" (400), a wrong Content-Type (415),
a missing or dead Bearer token (401), a bad form or JSON body, unknown form
fields or query parameters (400), a ping without ?rid=<UUID> (400) or with a
body over 10,000 bytes (413), a run push without an Idempotency-Key = UUID
(400) or whose body is not a JSON object with that "run_id" (422).
Errors are {"error": "<code>", "message": "<text>"}; ping_url and the
verification URIs are built on http://<the request's Host>.

Switches (flag --name-with-dashes or --name_with_underscores; JSON key name):
  approve_after_polls N (2)  the Nth token poll of a device code succeeds
  slow_down_polls N (0)      the first N polls answer slow_down whatever the timing
  deny / expire              polls answer access_denied / expired_token
  interval S (5), expires_in S (900)   of the device-code answer
  omit_interval              no "interval" in the answer (then 5 s is enforced)
  omit_complete              no "verification_uri_complete"
  empty_codes                empty device_code and user_code
  poll_tolerance S (0.2)     a poll this much early is still not "too fast"
  token_expires_in S (600)   lifetime of the access token
  fail_status S (0 = off)    answer S with an error body ...
  fail_paths P,... ([] = all)  ... on paths with these prefixes ...
  fail_times N (0 = always)  ... for the next N such requests, then fail_status=0
  fail_error, fail_message   the error body's code and text (defaults by status)
  fail_body TEXT             send TEXT (text/html) instead of a JSON error body
  hang                       accept the request and never answer, until the
                             client goes away or the switch is turned off
  hang_paths P,... ([] = all), hang_times N (0 = always; then hang=false)
A fault applies after the request passed the strictness checks, before it
changes any state. Polling faster than the code's interval (it grows by 5 s
with every slow_down) answers slow_down.

Control API (never checked, logged, failed or hung):
  GET  /_fake/config         the switches
  POST /_fake/config         JSON object merged into the switches
  POST /_fake/reset[?all=1]  switches back to the command line's, request log
                             cleared, hung requests released; all=1 also drops
                             keys, heartbeats, runs, device codes, tokens
  GET  /_fake/requests       [{"method","path","query","headers","body",
                             "body_base64","time","status"}...] in arrival order
                             (status null: no answer was sent)
  GET  /_fake/state          {"account", "keys": [{"id","name","hostname","revoked",
                             "created_at"}], "heartbeats": [{...,"pings": [{"kind",
                             "rid","body","body_base64","time"}]}], "runs": [{"id",
                             "url","idempotency_key","body","body_base64","pushes"}]}
                             (a run's body: the first push's bytes)
  POST /_fake/keys           {"id"?,"key"?,"name"?,"hostname"?} -> 201 {"id","key"}
  POST /_fake/heartbeats     {"slug"?,"name","status"?,"last_ping_at"?} -> upsert
"""
import argparse
import base64
import copy
import json
import re
import secrets
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

DEFAULTS = {
    "approve_after_polls": 2, "slow_down_polls": 0, "deny": False, "expire": False,
    "interval": 5, "expires_in": 900, "omit_interval": False, "omit_complete": False,
    "empty_codes": False, "poll_tolerance": 0.2, "token_expires_in": 600,
    "fail_status": 0, "fail_paths": [], "fail_times": 0, "fail_error": "",
    "fail_message": "", "fail_body": "", "hang": False, "hang_paths": [], "hang_times": 0,
}
CLIENT_ID = "hostatlas-backup"
SCOPE = "backup:write heartbeats:read heartbeats:write"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
UA = re.compile(r"hostatlas-backup/\S+ \([^;]+; [^)]+\)")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
SLUG = re.compile(r"hb_[0-9a-f]{10}")
STATUSES = ("new", "up", "late", "down", "paused")
ERROR_CODES = {400: "invalid_request", 401: "invalid_token", 403: "forbidden", 404: "not_found",
               409: "conflict", 422: "unprocessable_entity", 429: "rate_limited",
               500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}
MAX_BODY = 32 << 20
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
ULID = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def rand(n, alphabet=ALNUM):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def text(b):
    """(string, is_base64) for a body: UTF-8 as is, anything else base64."""
    try:
        return b.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(b).decode(), True


def no_constant(name):
    raise ValueError(f"{name} is not JSON")


def check_switches(d):
    for k, v in d.items():
        if k not in DEFAULTS:
            return f"unknown switch {k!r}"
        want = DEFAULTS[k]
        if isinstance(want, bool):
            ok = isinstance(v, bool)
        elif isinstance(want, (int, float)):
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 and \
                (isinstance(want, float) or isinstance(v, int))
        elif isinstance(want, list):
            ok = isinstance(v, list) and all(isinstance(p, str) and p.startswith("/") for p in v)
        else:
            ok = isinstance(v, str)
        if not ok or (k == "fail_status" and v and not 100 <= v <= 599):
            return f"bad value for {k}: {v!r}"
    return None


class State:
    def __init__(self, startup):
        self.startup = startup
        self.account = {"id": "acc_" + rand(26, ULID), "name": "Example Ltd"}
        self.hang_epoch = 0
        self.reset(True)

    def reset(self, everything):
        self.cfg = copy.deepcopy(self.startup)
        self.log = []
        self.hang_epoch += 1
        if everything:
            self.codes, self.tokens, self.keys, self.hbs, self.runs = {}, {}, {}, {}, {}

    def key_by_secret(self, secret):
        return next((k for k in self.keys.values() if k["key"] == secret), None)

    def add_key(self, kid=None, key=None, name="", hostname=""):
        rec = {"id": kid or "key_" + rand(26, ULID), "key": key or "ha_" + rand(40),
               "name": name, "hostname": hostname, "revoked": False, "created_at": rfc3339(time.time())}
        self.keys[rec["id"]] = rec
        return rec

    def add_hb(self, name, slug=None, status="new", last_ping_at=None):
        slug = slug or "hb_" + secrets.token_hex(5)
        hb = self.hbs.setdefault(slug, {"slug": slug, "pings": []})
        hb.update(name=name, status=status, last_ping_at=last_ping_at)
        return hb


LOCK = threading.RLock()
S = None  # the State, set in main()


class Err(Exception):
    def __init__(self, status, code, message, headers=(), raw=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.raw = status, code, message, list(headers), raw


class Gone(Exception):
    """The client went away while the request hung: nothing to answer."""


def unauthorized(code, message):
    extra = f', error="{code}"' if code == "invalid_token" else ""
    return Err(401, code, message, [("WWW-Authenticate", f'Bearer realm="hostatlas"{extra}')])


ROUTES = [  # method, path pattern, handler name, extra arguments
    ("POST", r"/oauth/device/code", "device_code", ()),
    ("POST", r"/oauth/token", "token", ()),
    ("POST", r"/api/v1/cli/api-keys", "mint_key", ()),
    ("DELETE", r"/api/v1/cli/api-keys/([^/]+)", "revoke_key", ()),
    ("GET", r"/api/v1/heartbeats", "list_hbs", ()),
    ("POST", r"/api/v1/heartbeats", "create_hb", ()),
    ("GET", r"/api/v1/heartbeats/([^/]+)", "get_hb", ()),
    ("POST", r"/ping/([^/]+)", "ping", ("ok",)),
    ("POST", r"/ping/([^/]+)/start", "ping", ("start",)),
    ("POST", r"/ping/([^/]+)/fail", "ping", ("fail",)),
    ("HEAD", r"/ping/([^/]+)", "ping_head", ()),
    ("POST", r"/api/v1/cli/backup-runs", "push_run", ()),
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostatlas-fake/1"
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("hostatlas_fake: " + fmt % args + "\n")

    # ---- plumbing -------------------------------------------------------
    def handle_any(self):
        u = urlsplit(self.path)
        self.entry, err = None, None
        try:
            self.body = self.read_body()
        except Err as e:
            self.body, err, self.close_connection = b"", e, True
        try:
            if u.path.startswith("/_fake/"):
                if err:
                    raise err
                return self.control(u.path, parse_qs(u.query))
            hdrs = {}
            for k, v in self.headers.items():
                hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
            body, b64 = text(self.body)
            self.entry = {"method": self.command, "path": u.path, "query": u.query, "headers": hdrs,
                          "body": body, "body_base64": b64, "time": time.time(), "status": None}
            with LOCK:
                S.log.append(self.entry)
            if err:
                raise err
            self.route(u.path, u.query)
        except Err as e:
            if e.raw is not None:
                self.reply(e.status, raw=e.raw.encode(), ctype="text/html; charset=utf-8", headers=e.headers)
            else:
                self.reply(e.status, {"error": e.code, "message": e.message}, headers=e.headers)
        except Gone:
            self.close_connection = True

    do_GET = do_POST = do_HEAD = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = handle_any

    def read_body(self):
        te, cl = self.headers.get("Transfer-Encoding"), self.headers.get("Content-Length")
        if te is not None:
            if te.lower() != "chunked" or cl is not None:
                raise Err(400, "invalid_request", "unsupported Transfer-Encoding / Content-Length combination")
            data = b""
            while True:
                try:
                    size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
                except ValueError:
                    raise Err(400, "invalid_request", "bad chunked body")
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline(8)
                if len(data) > MAX_BODY:
                    raise Err(413, "payload_too_large", "body too large")
        if cl is None:
            return b""
        if not cl.isdigit():
            raise Err(400, "invalid_request", "bad Content-Length")
        if int(cl) > MAX_BODY:
            raise Err(413, "payload_too_large", "body too large")
        return self.rfile.read(int(cl))

    def reply(self, status, obj=None, raw=None, ctype="application/json", headers=()):
        body = raw if raw is not None else b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(body)
        if self.entry is not None:
            with LOCK:
                self.entry["status"] = status

    def route(self, path, query):
        if not self.headers.get("Host"):
            raise Err(400, "invalid_request", "no Host header")
        if not UA.fullmatch(self.headers.get("User-Agent", "")):
            raise Err(400, "invalid_request", "User-Agent must be hostatlas-backup/<version> (<os>; <arch>)")
        hits = [(m, h, a, re.fullmatch(p, path)) for m, p, h, a in ROUTES if re.fullmatch(p, path)]
        if not hits:
            raise Err(404, "not_found", f"no such endpoint: {path}")
        hit = next((x for x in hits if x[0] == self.command), None)
        if hit is None:
            allow = ", ".join(sorted({x[0] for x in hits}))
            raise Err(405, "method_not_allowed", f"{self.command} not allowed here", [("Allow", allow)])
        if self.command in ("GET", "HEAD", "DELETE") and self.body:
            raise Err(400, "invalid_request", f"a {self.command} request has no body")
        if query and hit[1] != "ping":
            raise Err(400, "invalid_request", "this endpoint takes no query parameters")
        getattr(self, hit[1])(*hit[3].groups(), *hit[2])

    def base(self):
        return "http://" + self.headers["Host"]

    def need_ctype(self, mt):
        ct = self.headers.get("Content-Type", "")
        if ct.split(";")[0].strip().lower() != mt:
            raise Err(415, "unsupported_media_type", f"Content-Type must be {mt}, not {ct or 'absent'}")

    def form(self, keys):
        self.need_ctype("application/x-www-form-urlencoded")
        try:
            pairs = parse_qsl(self.body.decode("ascii"), keep_blank_values=True,
                              strict_parsing=bool(self.body), errors="strict")
        except ValueError:  # UnicodeDecodeError included
            raise Err(400, "invalid_request", "the body is not a valid form")
        f = dict(pairs)
        if len(f) != len(pairs) or set(f) != set(keys):
            raise Err(400, "invalid_request", f"the form must have exactly once each of: {', '.join(keys)}")
        if f["client_id"] != CLIENT_ID:
            raise Err(400, "invalid_client", f"unknown client_id {f['client_id']!r}")
        return f

    def json_body(self):
        self.need_ctype("application/json")
        try:
            return json.loads(self.body.decode("utf-8"), parse_constant=no_constant)
        except ValueError:
            raise Err(400, "invalid_json", "the body is not valid UTF-8 JSON")

    def json_fields(self, keys):
        b = self.json_body()
        if not isinstance(b, dict) or set(b) != set(keys) or \
                not all(isinstance(v, str) and v for v in b.values()):
            raise Err(400, "invalid_request", f"the body must be a JSON object with exactly the non-empty strings {', '.join(keys)}")
        return b

    def bearer(self):
        m = re.fullmatch(r"Bearer +([A-Za-z0-9._~+/-]+=*)", self.headers.get("Authorization", ""), re.I)
        if not m:
            raise unauthorized("unauthorized", "missing Bearer token")
        return m.group(1)

    def live_key(self):
        secret = self.bearer()
        with LOCK:
            rec = S.key_by_secret(secret)
        if rec is None or rec["revoked"]:
            raise unauthorized("invalid_token", "the API key is unknown or revoked")
        return rec

    def gate(self):
        """Applies hang and fail_status; called after the checks, before any change."""
        path = urlsplit(self.path).path
        with LOCK:
            c = S.cfg
            hang = c["hang"] and (not c["hang_paths"] or any(path.startswith(p) for p in c["hang_paths"]))
            if hang and c["hang_times"]:
                c["hang_times"] -= 1
                c["hang"] = c["hang_times"] > 0
            epoch = S.hang_epoch
        while hang and S.hang_epoch == epoch:
            if select.select([self.connection], [], [], 0.1)[0]:
                try:
                    gone = not self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    gone = True
                if gone:
                    raise Gone()
                time.sleep(0.1)
        with LOCK:
            c = S.cfg
            s = c["fail_status"]
            if not s or (c["fail_paths"] and not any(path.startswith(p) for p in c["fail_paths"])):
                return
            if c["fail_times"]:
                c["fail_times"] -= 1
                c["fail_status"] = s if c["fail_times"] else 0
            code = c["fail_error"] or ERROR_CODES.get(s, "error")
            msg, raw = c["fail_message"] or f"injected {s}", c["fail_body"] or None
        hdrs = unauthorized(code, "").headers if s == 401 else []
        raise Err(s, code, msg, hdrs, raw)

    def hb_json(self, hb):
        return {"slug": hb["slug"], "name": hb["name"], "status": hb["status"],
                "last_ping_at": hb["last_ping_at"], "ping_url": f"{self.base()}/ping/{hb['slug']}"}

    # ---- login -----------------------------------------------------------
    def device_code(self):
        f = self.form(("client_id", "scope"))
        if f["scope"] != SCOPE:
            raise Err(400, "invalid_scope", f"scope must be exactly {SCOPE!r}")
        self.gate()
        with LOCK:
            c = S.cfg
            dc, uc = ("", "") if c["empty_codes"] else (rand(43, ALNUM + "-_"),
                                                        rand(4, "BCDFGHJKLMNPQRSTVWXZ") + "-" + rand(4, "BCDFGHJKLMNPQRSTVWXZ"))
            if dc:
                S.codes[dc] = {"interval": 5 if c["omit_interval"] else c["interval"], "polls": 0,
                               "last": None, "expires": time.time() + c["expires_in"]}
            ans = {"device_code": dc, "user_code": uc, "verification_uri": self.base() + "/device",
                   "verification_uri_complete": f"{self.base()}/device?user_code={uc}",
                   "expires_in": c["expires_in"], "interval": c["interval"]}
            if c["omit_interval"]:
                del ans["interval"]
            if c["omit_complete"]:
                del ans["verification_uri_complete"]
        self.reply(200, ans, headers=[("Cache-Control", "no-store")])

    def token(self):
        f = self.form(("grant_type", "device_code", "client_id"))
        if f["grant_type"] != GRANT:
            raise Err(400, "unsupported_grant_type", f"grant_type must be {GRANT}")
        unknown = ("invalid_grant", "unknown or already used device_code")
        if f["device_code"] not in S.codes:
            raise Err(400, *unknown)
        self.gate()
        with LOCK:
            code, c, now = S.codes.get(f["device_code"]), S.cfg, time.time()
            if code:  # it may have gone while the request hung
                code["polls"] += 1
                too_fast = code["last"] is not None and now - code["last"] < code["interval"] - c["poll_tolerance"]
                code["last"] = now
            if not code:
                err = unknown
            elif c["expire"] or now > code["expires"]:
                err = ("expired_token", "the device code expired")
            elif code["polls"] <= c["slow_down_polls"] or too_fast:
                code["interval"] += 5
                err = ("slow_down", f"poll no more often than every {code['interval']} s")
            elif c["deny"]:
                err = ("access_denied", "the user denied the request")
            elif code["polls"] >= c["approve_after_polls"]:
                del S.codes[f["device_code"]]
                tok, err = "at_" + rand(40), None
                S.tokens[tok] = now + c["token_expires_in"]
                ans = {"access_token": tok, "token_type": "Bearer", "expires_in": c["token_expires_in"]}
            else:
                err = ("authorization_pending", "the user has not approved yet")
        if err:
            raise Err(400, *err, [("Cache-Control", "no-store")])
        self.reply(200, ans, headers=[("Cache-Control", "no-store")])

    def mint_key(self):
        tok = self.bearer()
        with LOCK:
            live = S.tokens.get(tok, 0) > time.time()
        if not live:
            raise unauthorized("invalid_token", "the access token is unknown or expired")
        b = self.json_fields(("name", "hostname"))
        if b["name"] != "hostatlas-backup@" + b["hostname"]:
            raise Err(400, "invalid_request", 'name must be "hostatlas-backup@<hostname>"')
        self.gate()
        with LOCK:
            rec = S.add_key(name=b["name"], hostname=b["hostname"])
        self.reply(201, {"id": rec["id"], "key": rec["key"], "name": rec["name"], "account": S.account})

    def revoke_key(self, key_id):
        rec = self.live_key()
        if rec["id"] != key_id:
            raise Err(403, "forbidden", "a key can only revoke itself")
        self.gate()
        with LOCK:
            rec["revoked"] = True
        self.reply(204)

    # ---- heartbeats ------------------------------------------------------
    def list_hbs(self):
        self.live_key()
        self.gate()
        with LOCK:
            hbs = [self.hb_json(hb) for hb in S.hbs.values()]
        self.reply(200, {"heartbeats": hbs})

    def create_hb(self):
        self.live_key()
        b = self.json_fields(("name",))
        self.gate()
        with LOCK:
            hb = self.hb_json(S.add_hb(b["name"]))
        self.reply(201, hb)

    def get_hb(self, slug):
        self.live_key()
        self.gate()
        with LOCK:
            hb = S.hbs.get(slug)
            hb = hb and self.hb_json(hb)
        if not hb:
            raise Err(404, "not_found", "no such heartbeat")
        self.reply(200, hb)

    def ping(self, slug, kind):
        q = parse_qsl(urlsplit(self.path).query, keep_blank_values=True)
        if len(q) != 1 or q[0][0] != "rid" or not UUID.fullmatch(q[0][1]):
            raise Err(400, "invalid_request", "a ping takes exactly ?rid=<run_id UUID>")
        if "Authorization" in self.headers:
            self.live_key()
        self.need_ctype("text/plain")
        if len(self.body) > 10000:
            raise Err(413, "payload_too_large", "a ping body is at most 10,000 bytes")
        self.gate()
        with LOCK:
            hb = S.hbs.get(slug)
            if hb:
                now = time.time()
                hb["last_ping_at"] = rfc3339(now)
                hb["status"] = {"ok": "up", "fail": "down"}.get(kind, hb["status"])
                body, b64 = text(self.body)
                hb["pings"].append({"kind": kind, "rid": q[0][1], "body": body, "body_base64": b64, "time": now})
        if not hb:
            raise Err(404, "not_found", "no such heartbeat")
        self.reply(200, raw=b"OK", ctype="text/plain; charset=utf-8")

    def ping_head(self, slug):
        if "Authorization" in self.headers:
            self.live_key()
        self.gate()
        with LOCK:
            known = slug in S.hbs
        self.reply(200 if known else 404, raw=b"", ctype="text/plain; charset=utf-8")

    # ---- run push --------------------------------------------------------
    def push_run(self):
        self.live_key()
        idem = self.headers.get("Idempotency-Key")
        if not idem:
            raise Err(400, "invalid_request", "Idempotency-Key header required")
        if not UUID.fullmatch(idem):
            raise Err(400, "invalid_request", "Idempotency-Key must be the run's run_id (a UUID)")
        b = self.json_body()
        if not isinstance(b, dict):
            raise Err(422, "invalid_run_log", "the run log must be a JSON object")
        if b.get("run_id") != idem:
            raise Err(422, "invalid_run_log", "the run log's run_id differs from the Idempotency-Key")
        self.gate()
        with LOCK:
            run = S.runs.get(idem)
            if run:
                run["pushes"] += 1
            else:
                rid = "run_" + rand(26, ULID)
                run = S.runs[idem] = {"id": rid, "url": "https://app.hostatlas.app/backup-runs/" + rid,
                                      "idempotency_key": idem, "body": self.body, "pushes": 1}
            status = 200 if run["pushes"] > 1 else 201
        self.reply(status, {"id": run["id"], "url": run["url"]})

    # ---- control API -----------------------------------------------------
    def control(self, path, q):
        try:
            b = json.loads(self.body or b"{}")
        except ValueError:
            raise Err(400, "invalid_json", "control bodies are JSON")
        with LOCK:
            status, obj = self.control_locked(self.command + " " + path, q, b)
            raw = json.dumps(obj).encode()
        self.reply(status, raw=raw)

    def control_locked(self, what, q, b):
        if what == "GET /_fake/config":
            return 200, S.cfg
        if what == "POST /_fake/config":
            bad = "not a JSON object" if not isinstance(b, dict) else check_switches(b)
            if bad:
                raise Err(400, "invalid_request", bad)
            if b.get("hang") is False:
                S.hang_epoch += 1  # releases hung requests
            S.cfg.update(copy.deepcopy(b))
            return 200, S.cfg
        if what == "POST /_fake/reset":
            S.reset(q.get("all") == ["1"])
            return 200, {"ok": True}
        if what == "GET /_fake/requests":
            return 200, S.log
        if what == "GET /_fake/state":
            return 200, {"account": S.account,
                         "keys": [{k: v for k, v in r.items() if k != "key"} for r in S.keys.values()],
                         "heartbeats": [dict(self.hb_json(h), pings=h["pings"]) for h in S.hbs.values()],
                         "runs": [dict(r, body=text(r["body"])[0], body_base64=text(r["body"])[1])
                                  for r in S.runs.values()]}
        if what == "POST /_fake/keys" and isinstance(b, dict):
            if not str(b.get("key", "ha_")).startswith("ha_"):
                raise Err(400, "invalid_request", "a key starts with ha_")
            rec = S.add_key(b.get("id"), b.get("key"), b.get("name", ""), b.get("hostname", ""))
            return 201, {"id": rec["id"], "key": rec["key"]}
        if what == "POST /_fake/heartbeats" and isinstance(b, dict):
            slug, st = b.get("slug"), b.get("status", "new")
            if (slug is not None and not SLUG.fullmatch(str(slug))) or st not in STATUSES \
                    or not isinstance(b.get("name"), str):
                raise Err(400, "invalid_request", "need a name, a known status and maybe a slug hb_<10 hex>")
            return 200, self.hb_json(S.add_hb(b["name"], slug, st, b.get("last_ping_at")))
        raise Err(404, "not_found", f"no control endpoint {what}")


def main():
    global S
    ap = argparse.ArgumentParser(description="Strict local fake of the HostAtlas API.")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--verbose", "-v", action="store_true", help="log each request line to stderr")
    for k, d in DEFAULTS.items():
        names = ["--" + k.replace("_", "-")] + (["--" + k] if "_" in k else [])
        if isinstance(d, bool):
            ap.add_argument(*names, dest=k, action="store_true")
        elif isinstance(d, list):
            ap.add_argument(*names, dest=k, action="extend", default=[], metavar="P,...",
                            type=lambda s: [p for p in s.split(",") if p])
        else:
            ap.add_argument(*names, dest=k, type=type(d), default=d)
    a = vars(ap.parse_args())
    startup = {k: a[k] for k in DEFAULTS}
    bad = check_switches(startup)
    if bad:
        ap.error(bad)
    S = State(startup)
    Handler.verbose = a["verbose"]
    srv = ThreadingHTTPServer((a["host"], a["port"]), Handler)
    srv.daemon_threads = True
    print(f"hostatlas_fake listening on {a['host']}:{a['port']}", file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
