#!/usr/bin/env python3
"""A ClawHub-compatible registry on loopback (test use only; standard library only).

It answers the read routes of ClawHub's HTTP API as the public `clawhub` CLI (npm) reads them
-- the shapes come from the CLI's own schemas (`dist/schema/schemas.js`, `routes.js`):

  GET /api/v1/search?q=&limit=              {"results": [{slug, displayName, summary, version, score, ...}]}
  GET /api/v1/skills?limit=&cursor=         {"items": [...], "nextCursor": str|null}
  GET /api/v1/skills/<slug>                 {"skill", "latestVersion", "owner", "moderation"}
  GET /api/v1/skills/<slug>/versions        {"items": [{version, createdAt, changelog}], "nextCursor"}
  GET /api/v1/skills/<slug>/versions/<v>    {"version": {..., "files": [...]}, "skill": {...}}
  GET /api/v1/resolve?slug=&hash=           {"match": null, "latestVersion": {"version"}}
  GET /api/v1/download?slug=&version=       the version as a zip

Skills live in a data directory the test writes, read on every request (so a test changes
what is served by changing files):

  <data>/skills/<slug>/skill.json     {"displayName", "summary", "owner": handle|null,
                                       "moderation": {...}|null}   (all keys optional)
  <data>/skills/<slug>/<version>/     the version's files
  <data>/skills/<slug>/<version>.zip  if present, served as the version's zip as it is

A version folder is served as ClawHub builds its zips: every file at the archive root under
its relative path, sorted, dated 1980-01-01, deflated, plus a generated `_meta.json`
({ownerId, slug, version, publishedAt}). Every request is appended to <data>/requests.jsonl.

  python3 clawhub_server.py <data-dir>     prints "PORT <n>" once listening on 127.0.0.1
"""

import hashlib
import io
import json
import os
import re
import sys
import threading
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
VERSION = re.compile(r"^[0-9A-Za-z.+-]{1,64}$")
EPOCH_MS = 1767225600000
LOG_LOCK = threading.Lock()


def semver_key(v):
    core, _, pre = v.partition("-")
    nums = []
    for part in core.split("+")[0].split("."):
        nums.append(int(part) if part.isdigit() else 0)
    # A pre-release sorts before its release.
    return (nums, pre == "", pre)


class Data:
    def __init__(self, root):
        self.root = root

    def skill_dir(self, slug):
        if not SLUG.match(slug or ""):
            return None
        d = os.path.join(self.root, "skills", slug)
        return d if os.path.isdir(d) else None

    def meta(self, slug):
        path = os.path.join(self.skill_dir(slug), "skill.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        return {}

    def versions(self, slug):
        d = self.skill_dir(slug)
        found = set()
        for name in os.listdir(d):
            full = os.path.join(d, name)
            if os.path.isdir(full) and VERSION.match(name):
                found.add(name)
            elif name.endswith(".zip") and VERSION.match(name[:-4]):
                found.add(name[:-4])
        return sorted(found, key=semver_key, reverse=True)

    def slugs(self):
        base = os.path.join(self.root, "skills")
        if not os.path.isdir(base):
            return []
        return sorted(s for s in os.listdir(base) if self.skill_dir(s))

    def files(self, slug, version):
        """(relative path, bytes) of a version folder, sorted by path."""
        top = os.path.join(self.skill_dir(slug), version)
        out = []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in filenames:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, top).replace(os.sep, "/")
                with open(full, "rb") as f:
                    out.append((rel, f.read()))
        out.sort()
        return out

    def zip(self, slug, version):
        d = self.skill_dir(slug)
        raw = os.path.join(d, version + ".zip")
        if os.path.exists(raw):
            with open(raw, "rb") as f:
                return f.read()
        if not os.path.isdir(os.path.join(d, version)):
            return None
        meta = self.meta(slug)
        files = self.files(slug, version)
        files.append(
            (
                "_meta.json",
                json.dumps(
                    {
                        "ownerId": meta.get("ownerId", "user_1"),
                        "slug": slug,
                        "version": version,
                        "publishedAt": EPOCH_MS,
                    },
                    indent=2,
                ).encode(),
            )
        )
        files.sort()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for rel, data in files:
                info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
        return buf.getvalue()


class Handler(BaseHTTPRequestHandler):
    server_version = "clawhub-test/1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
            ctype = "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        with LOG_LOCK:
            with open(os.path.join(DATA.root, "requests.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps({"method": "GET", "path": url.path, "query": query}) + "\n")
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        try:
            self.route(parts, query)
        except BrokenPipeError:
            pass

    def route(self, parts, query):
        if parts[:2] != ["api", "v1"]:
            return self.send(404, "Not found")
        rest = parts[2:]
        if rest == ["search"]:
            return self.search(query)
        if rest == ["skills"]:
            return self.explore(query)
        if rest == ["download"]:
            return self.download(query)
        if rest == ["resolve"]:
            return self.resolve(query)
        if len(rest) >= 2 and rest[0] == "skills":
            slug = rest[1]
            if not DATA.skill_dir(slug):
                return self.send(404, "Skill not found")
            if len(rest) == 2:
                return self.send(200, self.detail(slug))
            if rest[2:] == ["versions"]:
                return self.version_list(slug, query)
            if len(rest) == 4 and rest[2] == "versions":
                return self.version(slug, rest[3])
        return self.send(404, "Not found")

    def skill_object(self, slug):
        meta = DATA.meta(slug)
        versions = DATA.versions(slug)
        return {
            "slug": slug,
            "displayName": meta.get("displayName", slug),
            "summary": meta.get("summary"),
            "tags": {"latest": versions[0]} if versions else {},
            "stats": {"downloads": 0, "stars": 0},
            "createdAt": EPOCH_MS,
            "updatedAt": EPOCH_MS,
        }

    def detail(self, slug):
        meta = DATA.meta(slug)
        versions = DATA.versions(slug)
        owner = meta.get("owner", "test-owner")
        return {
            "skill": self.skill_object(slug),
            "latestVersion": (
                {"version": versions[0], "createdAt": EPOCH_MS, "changelog": "", "license": "MIT-0"}
                if versions
                else None
            ),
            "owner": {"handle": owner, "displayName": owner} if owner else None,
            "moderation": meta.get("moderation"),
        }

    def version_list(self, slug, query):
        versions = DATA.versions(slug)
        limit = max(1, min(200, int(query.get("limit", "25"))))
        start = int(query.get("cursor", "0") or "0")
        page = versions[start : start + limit]
        nxt = str(start + limit) if start + limit < len(versions) else None
        items = [{"version": v, "createdAt": EPOCH_MS, "changelog": ""} for v in page]
        return self.send(200, {"items": items, "nextCursor": nxt})

    def version(self, slug, version):
        if version not in DATA.versions(slug):
            return self.send(200, {"version": None, "skill": {"slug": slug, "displayName": slug}})
        files = []
        if os.path.isdir(os.path.join(DATA.skill_dir(slug), version)):
            files = [
                {"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                for rel, data in DATA.files(slug, version)
            ]
        return self.send(
            200,
            {
                "version": {
                    "version": version,
                    "createdAt": EPOCH_MS,
                    "changelog": "",
                    "license": "MIT-0",
                    "files": files,
                },
                "skill": {"slug": slug, "displayName": DATA.meta(slug).get("displayName", slug)},
            },
        )

    def explore(self, query):
        slugs = DATA.slugs()
        limit = max(1, min(200, int(query.get("limit", "25"))))
        start = int(query.get("cursor", "0") or "0")
        page = slugs[start : start + limit]
        nxt = str(start + limit) if start + limit < len(slugs) else None
        return self.send(200, {"items": [self.skill_object(s) for s in page], "nextCursor": nxt})

    def search(self, query):
        q = query.get("q", "").lower()
        results = []
        for slug in DATA.slugs():
            meta = DATA.meta(slug)
            text = " ".join([slug, meta.get("displayName", ""), meta.get("summary") or ""]).lower()
            versions = DATA.versions(slug)
            if q and q in text and versions:
                results.append(
                    {
                        "slug": slug,
                        "displayName": meta.get("displayName", slug),
                        "summary": meta.get("summary"),
                        "version": versions[0],
                        "score": 1.0 if q == slug else 0.5,
                        "ownerHandle": meta.get("owner", "test-owner"),
                    }
                )
        limit = int(query.get("limit", "25"))
        return self.send(200, {"results": results[:limit]})

    def resolve(self, query):
        slug = query.get("slug", "")
        if not DATA.skill_dir(slug):
            return self.send(404, "Skill not found")
        versions = DATA.versions(slug)
        return self.send(
            200, {"match": None, "latestVersion": {"version": versions[0]} if versions else None}
        )

    def download(self, query):
        slug = query.get("slug", "")
        if not slug:
            return self.send(400, "Missing slug")
        if not DATA.skill_dir(slug):
            return self.send(404, "Skill not found")
        version = query.get("version") or (DATA.versions(slug) or [""])[0]
        if not VERSION.match(version) or version not in DATA.versions(slug):
            return self.send(404, "Version not found")
        body = DATA.zip(slug, version)
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Disposition", f'attachment; filename="{slug}-{version}.zip"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    global DATA
    DATA = Data(os.path.abspath(sys.argv[1]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
