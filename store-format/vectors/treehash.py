#!/usr/bin/env python3
"""An independent implementation of the aibox tree hash (store-format/SPEC.md §3).

Reads the vectors in tree-v1.json (entries with file contents), computes every tree hash from
the specification alone and checks it against the recorded one; `--write` records them.
Needs the `blake3` package from PyPI.
"""
import json
import struct
import sys
from pathlib import Path

import blake3

DOMAIN = b"aibox-tree-v1\n"


def build(entries):
    root = {}
    for e in entries:
        *parents, name = e["path"].split("/")
        node = root
        for p in parents:
            node = node[p][1]
        if e["kind"] == "dir":
            node[name] = ("d", {})
        elif e["kind"] == "symlink":
            node[name] = ("l", e["target"])
        else:
            tag = "x" if e.get("executable") else "f"
            node[name] = (tag, e["content"].encode())
    return root


def dir_hash(node):
    h = blake3.blake3(DOMAIN)
    h.update(struct.pack("<Q", len(node)))
    for name in sorted(node, key=lambda n: n.encode()):
        tag, value = node[name]
        raw = name.encode()
        h.update(tag.encode() + struct.pack("<I", len(raw)) + raw)
        if tag in ("f", "x"):
            h.update(blake3.blake3(value).digest() + struct.pack("<Q", len(value)))
        elif tag == "l":
            t = value.encode()
            h.update(struct.pack("<I", len(t)) + t)
        else:
            h.update(dir_hash(value))
    return h.digest()


def main():
    path = Path(__file__).with_name("tree-v1.json")
    doc = json.loads(path.read_text())
    bad = 0
    for v in doc["vectors"]:
        got = "blake3:" + dir_hash(build(v["entries"])).hex()
        if "--write" in sys.argv:
            v["tree"] = got
        elif v["tree"] != got:
            print(f"MISMATCH {v['name']}: recorded {v['tree']}, computed {got}")
            bad += 1
    if "--write" in sys.argv:
        path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"{len(doc['vectors']) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
