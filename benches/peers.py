#!/usr/bin/env python3
"""Peer clients for the cold-sync comparison in scripts/bench.

Subcommands:
  curl-config LOCK OUTDIR
      Read an aibox.lock, fetch each locked platform manifest from its (loopback) registry and
      print a curl config that downloads every manifest, config and layer blob of those
      artifacts into OUTDIR: the raw transfer aibox's cold sync is compared with.
  extract-list LOCK OUTDIR DESTDIR
      For the same artifacts, print one line per layer: the file
      curl-config downloads it to, the tar option for its compression (`--zstd`, `--gzip` or
      `--no-auto-compress`) and DESTDIR/<pack name>, the directory it is extracted into
      (scripts/bench's "download + extract" baseline runs `tar -x` on each line).
  oras-pull HOST BASE OUTDIR --version V --jobs J NAME...
      Pull HOST/BASE/<name>:<V> for every NAME with oras-py (one client per worker thread,
      J workers) into OUTDIR/<name>/.
  skopeo-list HOST BASE OUTDIR --version V NAME...
      Print one `docker://… oci:…` argument pair per line for `skopeo copy`.
  oras-push HOST REPO COUNTER FILE...
      Push FILEs (one layer each) with oras-py to HOST/REPO-<n>:1.0.0, n read from and bumped
      in the file COUNTER, so every run pushes to a repository that has none of the blobs.
"""

import argparse
import json
import os
import sys
import tomllib
import urllib.request
from concurrent.futures import ThreadPoolExecutor

MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"


def locked_artifacts(lock_path):
    with open(lock_path, "rb") as f:
        lock = tomllib.load(f)
    for pkg in lock.get("package", []):
        src = pkg["source"]
        if not src.startswith("oci://"):
            continue
        host, _, base = src[len("oci://") :].partition("/")
        repo = f"{base}/{pkg['name']}" if base else pkg["name"]
        for plat in pkg["platforms"].values():
            yield host, repo, plat["manifest"]


def artifacts(lock, outdir):
    """(url, output file, layer media type or None, pack name) of every manifest, config and
    layer of the locked artifacts."""
    for host, repo, digest in locked_artifacts(lock):
        base = f"http://{host}/v2/{repo}"
        req = urllib.request.Request(f"{base}/manifests/{digest}", headers={"Accept": MANIFEST_TYPES})
        manifest = json.load(urllib.request.urlopen(req))
        name = repo.rsplit("/", 1)[-1]
        blobs = [(f"{base}/manifests/{digest}", None), (f"{base}/blobs/{manifest['config']['digest']}", None)]
        blobs += [(f"{base}/blobs/{l['digest']}", l["mediaType"]) for l in manifest.get("layers", [])]
        for url, media in blobs:
            out = os.path.join(outdir, url.split("/v2/", 1)[1].replace("/", "_").replace(":", "_"))
            yield url, out, media, name


def cmd_curl_config(a):
    lines = [f'header = "Accept: {MANIFEST_TYPES}"', "silent", "show-error", "fail"]
    for url, out, _, _ in artifacts(a.lock, a.outdir):
        lines.append(f'url = "{url}"')
        lines.append(f'output = "{out}"')
    print("\n".join(lines))


def cmd_extract_list(a):
    for _, out, media, name in artifacts(a.lock, a.outdir):
        if media is None:
            continue
        if media.endswith("+zstd"):
            how = "--zstd"
        elif media.endswith("+gzip"):
            how = "--gzip"
        else:
            how = "--no-auto-compress"
        print(out, how, os.path.join(a.destdir, name))


def cmd_oras_pull(a):
    import oras.client

    def pull(name):
        client = oras.client.OrasClient(insecure=True)
        return client.pull(
            target=f"{a.host}/{a.base}/{name}:{a.version}",
            outdir=os.path.join(a.outdir, name),
        )

    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        for files in pool.map(pull, a.names):
            if not files:
                sys.exit("oras pull returned no files")


def bump(counter):
    n = int(open(counter).read()) if os.path.exists(counter) else 0
    with open(counter, "w") as f:
        f.write(str(n + 1))
    return n


def cmd_oras_push(a):
    import oras.client

    n = bump(a.counter)
    client = oras.client.OrasClient(insecure=True)
    os.chdir(os.path.dirname(os.path.abspath(a.files[0])))
    client.push(target=f"{a.host}/{a.repo}-{n}:1.0.0", files=[os.path.basename(f) for f in a.files])


def cmd_skopeo_list(a):
    for name in a.names:
        print(f"docker://{a.host}/{a.base}/{name}:{a.version}")
        print(f"oci:{os.path.join(a.outdir, name)}:{name}:{a.version}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("curl-config")
    s.add_argument("lock")
    s.add_argument("outdir")
    s = sub.add_parser("extract-list")
    s.add_argument("lock")
    s.add_argument("outdir")
    s.add_argument("destdir")
    for cmd in ["oras-pull", "skopeo-list"]:
        s = sub.add_parser(cmd)
        s.add_argument("host")
        s.add_argument("base")
        s.add_argument("outdir")
        s.add_argument("--version", default="1.0.0")
        s.add_argument("--jobs", type=int, default=8)
        s.add_argument("names", nargs="+")
    s = sub.add_parser("oras-push")
    s.add_argument("host")
    s.add_argument("repo")
    s.add_argument("counter")
    s.add_argument("files", nargs="+")
    a = p.parse_args()
    {
        "curl-config": cmd_curl_config,
        "extract-list": cmd_extract_list,
        "oras-pull": cmd_oras_pull,
        "skopeo-list": cmd_skopeo_list,
        "oras-push": cmd_oras_push,
    }[a.cmd](a)


if __name__ == "__main__":
    main()
