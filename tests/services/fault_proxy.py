#!/usr/bin/env python3
"""HTTP fault proxy for the S3 tests: forwards to an upstream S3 server, but
answers the first --fail-parts UploadPart requests with 503 SlowDown, drops
the connection of the next --drop-parts ones, stalls the next --stall-parts
(no answer for --stall-ms, then the connection closes, nothing forwarded) and
delays the next --delay-parts by --delay-ms before forwarding them, so
per-part retries and slow answers are exercised against a real server.
Like AWS (and unlike s3rver and moto), it answers 400
XAmzContentSHA256Mismatch when a request's signed payload hash is not the
SHA-256 of its body.
usage: fault_proxy.py PORT UPSTREAM_PORT [options]"""
import argparse
import hashlib
import http.client
import http.server
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("upstream", type=int)
ap.add_argument("--fail-parts", type=int, default=2)
ap.add_argument("--drop-parts", type=int, default=1)
ap.add_argument("--stall-parts", type=int, default=0)
ap.add_argument("--stall-ms", type=int, default=0)
ap.add_argument("--delay-parts", type=int, default=0)
ap.add_argument("--delay-ms", type=int, default=0)
args = ap.parse_args()
lock = threading.Lock()
state = {"parts": 0, "failed": 0, "dropped": 0}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def s3_error(self, status, code, message):
        msg = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(msg)))
        self.end_headers()
        self.wfile.write(msg)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        # As AWS does: a signed payload hash must match the body.
        claimed = self.headers.get("x-amz-content-sha256", "")
        if len(claimed) == 64 and claimed != hashlib.sha256(body).hexdigest():
            print("payload hash mismatch on", self.command, self.path, flush=True)
            self.s3_error(400, "XAmzContentSHA256Mismatch", "payload hash")
            return
        if self.command == "PUT" and "partNumber=" in self.path:
            with lock:
                state["parts"] += 1
                k = state["parts"]
            if k <= args.fail_parts:
                with lock:
                    state["failed"] += 1
                print("injected 503 on part request", k, flush=True)
                self.s3_error(503, "SlowDown", "injected")
                return
            if k <= args.fail_parts + args.drop_parts:
                with lock:
                    state["dropped"] += 1
                print("dropped connection on part request", k, flush=True)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            stall_end = args.fail_parts + args.drop_parts + args.stall_parts
            if k <= stall_end:
                print("stalled part request", k, flush=True)
                time.sleep(args.stall_ms / 1000)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if k <= stall_end + args.delay_parts:
                print("delayed part request", k, flush=True)
                time.sleep(args.delay_ms / 1000)
        conn = http.client.HTTPConnection("127.0.0.1", args.upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items()}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(k, v)
        # HEAD has no body: keep the upstream's Content-Length (the size).
        length = resp.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Proxy).serve_forever()
