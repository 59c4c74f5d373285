#!/usr/bin/env python3
"""Checks a release tree (DIST/backup) as scripts/install.sh reads it.

    check_tree.py DIST/backup                  # check; exit 1 on any problem
    check_tree.py --rebase URL DIST/backup     # rewrite version.json's urls to URL/backup/...
                                               # (a test copy served locally)

Checks: every X.Y.Z/files.json is a list of {filename, size, sha256} naming
exactly the hostatlas-backup-* files next to it, with their real size and
sha256; latest/ is a byte-for-byte copy of the newest X.Y.Z folder;
version.json is {version, binaries} with version = the newest X.Y.Z and
binaries = that folder's files.json entries plus url = BASE/backup/X.Y.Z/FILE
(one BASE for all).
Used by tests/release/check_release.sh --dist.
"""
import hashlib
import json
import os
import re
import sys


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def version_key(v):
    return tuple(int(x) for x in v.split("."))


def check(b):
    errs = []

    def files_json(d):
        try:
            with open(os.path.join(d, "files.json")) as fh:
                fj = json.load(fh)
        except (OSError, ValueError) as e:
            errs.append(f"{d}/files.json: {e}")
            return []
        if not isinstance(fj, list):
            errs.append(f"{d}/files.json is not a list")
            return []
        names = []
        for e in fj:
            if not isinstance(e, dict) or set(e) != {"filename", "size", "sha256"}:
                errs.append(f"{d}/files.json: entry {e!r} is not {{filename, size, sha256}}")
                continue
            p = os.path.join(d, e["filename"])
            names.append(e["filename"])
            if "/" in e["filename"] or not os.path.isfile(p):
                errs.append(f"{d}/files.json lists {e['filename']}, which is not there")
                continue
            if os.path.getsize(p) != e["size"]:
                errs.append(f"{p}: size {os.path.getsize(p)}, files.json says {e['size']}")
            if sha256(p) != e["sha256"]:
                errs.append(f"{p}: sha256 differs from files.json")
        if len(set(names)) != len(names):
            errs.append(f"{d}/files.json lists a file twice")
        present = sorted(f for f in os.listdir(d) if f.startswith("hostatlas-backup-"))
        if sorted(names) != present:
            errs.append(f"{d}: files.json lists {sorted(names)}, the folder has {present}")
        return fj

    vers = sorted((v for v in os.listdir(b)
                   if re.fullmatch(r"\d+\.\d+\.\d+", v) and os.path.isdir(os.path.join(b, v))),
                  key=version_key)
    if not vers:
        return [f"no X.Y.Z folders in {b}"], None, None
    per = {v: files_json(os.path.join(b, v)) for v in vers}
    latest = vers[-1]
    lat = os.path.join(b, "latest")
    if not os.path.isdir(lat):
        errs.append(f"no {lat}")
    else:
        a, c = sorted(os.listdir(lat)), sorted(os.listdir(os.path.join(b, latest)))
        if a != c:
            errs.append(f"latest/ has {a}, {latest}/ has {c}")
        else:
            for f in a:
                if sha256(os.path.join(lat, f)) != sha256(os.path.join(b, latest, f)):
                    errs.append(f"latest/{f} differs from {latest}/{f}")
    bases = set()
    try:
        with open(os.path.join(b, "version.json")) as fh:
            vj = json.load(fh)
    except (OSError, ValueError) as e:
        errs.append(f"version.json: {e}")
        return errs, vers, bases
    if not isinstance(vj, dict) or set(vj) != {"version", "binaries"}:
        errs.append("version.json is not {version, binaries}")
        return errs, vers, bases
    if vj["version"] != latest:
        errs.append(f"version.json says {vj['version']}, the newest folder is {latest}")
    want = {e["filename"]: e for e in per[latest] if isinstance(e, dict) and "filename" in e}
    got = {}
    for e in vj["binaries"]:
        if not isinstance(e, dict) or set(e) != {"filename", "size", "sha256", "url"}:
            errs.append(f"version.json: binary {e!r} is not {{filename, size, sha256, url}}")
            continue
        got[e["filename"]] = e
        tail = f"/backup/{latest}/{e['filename']}"
        if not re.match(r"https?://", e["url"]) or not e["url"].endswith(tail):
            errs.append(f"version.json: url {e['url']} is not BASE{tail}")
        else:
            bases.add(e["url"][: -len(tail)])
        w = want.get(e["filename"])
        if not w or (w.get("size"), w.get("sha256")) != (e["size"], e["sha256"]):
            errs.append(f"version.json: {e['filename']} does not match {latest}/files.json")
    if set(got) != set(want):
        errs.append(f"version.json lists {sorted(got)}, {latest}/files.json {sorted(want)}")
    if len(bases) > 1:
        errs.append(f"version.json: urls under several bases {sorted(bases)}")
    return errs, vers, bases


def rebase(b, base):
    p = os.path.join(b, "version.json")
    with open(p) as fh:
        vj = json.load(fh)
    for e in vj["binaries"]:
        e["url"] = re.sub(r"^.*(/backup/[^/]+/[^/]+)$", lambda m: base.rstrip("/") + m.group(1), e["url"])
    with open(p, "w") as fh:
        json.dump(vj, fh, indent=2)


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "--rebase":
        rebase(args[2], args[1])
        return 0
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    errs, vers, bases = check(args[0])
    for e in errs:
        print("FAIL:", e)
    if errs:
        return 1
    print(f"ok: tree: versions {', '.join(vers)}; latest = {vers[-1]}; files.json, latest/ and "
          f"version.json consistent; url base {', '.join(sorted(bases)) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
