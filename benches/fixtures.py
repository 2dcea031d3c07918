#!/usr/bin/env python3
"""Deterministic benchmark fixtures for scripts/bench (standard library only).

Subcommands:
  packs DIR --count N --files F [--big BYTES] [--prefix P] [--version V] [--seed S]
      N pack source directories DIR/<P><i>-<V>/ (pack.toml, one command in bin/, F files in
      total spread over a few subdirectories, optionally one incompressible "binary" of BIG
      bytes). Same arguments, same bytes.
  project DIR --registry URL --names N1,N2,... | --prefix P --count N [--req REQ]
      An aibox.toml requesting those packs from one registry.
  wheels DIR --count N
      N tiny pure-Python wheels (benchpkg_<i>-1.0.0-py3-none-any.whl) for an offline uv project.
  uvproject DIR --wheels WHEELDIR --count N
      A pyproject.toml depending on those N wheels, resolved from WHEELDIR only (no index).
  realtools DIR WHEEL...
      A pack directory DIR (pack.toml, bin/) holding the executables of the given wheels'
      `*.data/scripts/` (real Rust tools published on PyPI, e.g. ruff and uv).
  freeport
      Print a free TCP port on 127.0.0.1.
"""

import argparse
import base64
import hashlib
import os
import random
import socket
import sys
import zipfile

SUBDIRS = ["lib", "share/doc", "share/data", "etc"]


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def write_random(path, rng, size, mode=0o644):
    """SIZE incompressible bytes from RNG, drawn 1 MiB at a time (any size fits in memory)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n
    os.chmod(path, mode)


def text_blob(rng, n):
    """Compressible, text-like content of about n bytes."""
    words = ["alpha", "beta", "gamma", "delta", "tool", "pack", "store", "tree", "hash", "link"]
    out = []
    size = 0
    while size < n:
        line = " ".join(rng.choice(words) for _ in range(8)) + f" {rng.randrange(1 << 30)}\n"
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]


def cmd_packs(a):
    for i in range(a.count):
        name = f"{a.prefix}{i:04d}"
        root = os.path.join(a.dir, f"{name}-{a.version}")
        if os.path.exists(os.path.join(root, "pack.toml")):
            continue  # already generated (same arguments give the same bytes)
        rng = random.Random(f"{a.seed}/{name}/{a.version}")
        write(
            os.path.join(root, "pack.toml"),
            (
                f'[pack]\nname = "{name}"\nversion = "{a.version}"\n'
                f'description = "benchmark pack {name}"\n\n'
                f'[bin]\n{name} = "bin/{name}"\n\n[env]\n{name.upper().replace("-", "_")}_HOME = "${{pack}}"\n'
            ).encode(),
        )
        write(
            os.path.join(root, "bin", name),
            f"#!/bin/sh\necho {name} {a.version}\n".encode(),
            0o755,
        )
        files = max(a.files - 2, 0)
        if a.big:
            write_random(os.path.join(root, "bin", f"{name}-core"), rng, a.big, 0o755)
            files = max(files - 1, 0)
        for j in range(files):
            sub = SUBDIRS[j % len(SUBDIRS)]
            size = 200 + rng.randrange(3800)
            write(os.path.join(root, sub, f"f{j:05d}.txt"), text_blob(rng, size))


def cmd_project(a):
    names = a.names.split(",") if a.names else [f"{a.prefix}{i:04d}" for i in range(a.count)]
    lines = ["[registries]", f'bench = "{a.registry}"', "", "[packs]"]
    lines += [f'{n} = "{a.req}"' for n in names]
    os.makedirs(a.dir, exist_ok=True)
    with open(os.path.join(a.dir, "aibox.toml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def cmd_wheels(a):
    os.makedirs(a.dir, exist_ok=True)
    for i in range(a.count):
        pkg = f"benchpkg_{i:04d}"
        path = os.path.join(a.dir, f"{pkg}-1.0.0-py3-none-any.whl")
        if os.path.exists(path):
            continue
        info = f"{pkg}-1.0.0.dist-info"
        files = {
            f"{pkg}/__init__.py": f'"""Benchmark package {i}."""\nVALUE = {i}\n'.encode(),
            f"{info}/METADATA": (
                f"Metadata-Version: 2.1\nName: benchpkg-{i:04d}\nVersion: 1.0.0\n"
                f"Summary: benchmark package {i}\n"
            ).encode(),
            f"{info}/WHEEL": (
                b"Wheel-Version: 1.0\nGenerator: aibox-bench\nRoot-Is-Purelib: true\n"
                b"Tag: py3-none-any\n"
            ),
        }
        record = [record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
        files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
        tmp = path + ".tmp"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for n, d in files.items():
                zi = zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0))
                zi.external_attr = 0o644 << 16
                z.writestr(zi, d)
        os.replace(tmp, path)


def cmd_uvproject(a):
    os.makedirs(a.dir, exist_ok=True)
    deps = ",\n".join(f'    "benchpkg-{i:04d}==1.0.0"' for i in range(a.count))
    wheels = os.path.abspath(a.wheels)
    with open(os.path.join(a.dir, "pyproject.toml"), "w") as f:
        f.write(
            '[project]\nname = "bench-project"\nversion = "0.1.0"\n'
            f'requires-python = ">=3.8"\ndependencies = [\n{deps}\n]\n\n'
            f'[tool.uv]\npackage = false\nno-index = true\nfind-links = ["{wheels}"]\n'
        )


def cmd_realtools(a):
    bins = {}
    for wheel in a.wheels:
        with zipfile.ZipFile(wheel) as z:
            for info in z.infolist():
                if ".data/scripts/" in info.filename and not info.is_dir():
                    name = info.filename.rsplit("/", 1)[1]
                    write(os.path.join(a.dir, "bin", name), z.read(info), 0o755)
                    bins[name] = f"bin/{name}"
    if not bins:
        sys.exit("no executables in the wheels")
    lines = ['[pack]', 'name = "realtools"', 'version = "1.0.0"', "", "[bin]"]
    lines += [f'{k} = "{v}"' for k, v in sorted(bins.items())]
    write(os.path.join(a.dir, "pack.toml"), ("\n".join(lines) + "\n").encode())


def cmd_freeport(_a):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("packs")
    s.add_argument("dir")
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--files", type=int, required=True)
    s.add_argument("--big", type=int, default=0)
    s.add_argument("--prefix", default="p")
    s.add_argument("--version", default="1.0.0")
    s.add_argument("--seed", default="aibox-bench")
    s = sub.add_parser("project")
    s.add_argument("dir")
    s.add_argument("--registry", required=True)
    s.add_argument("--names")
    s.add_argument("--prefix", default="p")
    s.add_argument("--count", type=int, default=0)
    s.add_argument("--req", default="*")
    s = sub.add_parser("wheels")
    s.add_argument("dir")
    s.add_argument("--count", type=int, required=True)
    s = sub.add_parser("uvproject")
    s.add_argument("dir")
    s.add_argument("--wheels", required=True)
    s.add_argument("--count", type=int, required=True)
    s = sub.add_parser("realtools")
    s.add_argument("dir")
    s.add_argument("wheels", nargs="+")
    sub.add_parser("freeport")
    a = p.parse_args()
    {
        "packs": cmd_packs,
        "project": cmd_project,
        "wheels": cmd_wheels,
        "uvproject": cmd_uvproject,
        "realtools": cmd_realtools,
        "freeport": cmd_freeport,
    }[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
