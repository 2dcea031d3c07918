#!/usr/bin/env python3
"""Turn scripts/bench results into a Markdown report and an SVG plot (standard library only).

  report.py RESULTS_DIR CRITERION_DIR --out DIR [--docs DOCS_DIR]

Reads hyperfine JSON exports and machine.json from RESULTS_DIR and criterion estimates from
CRITERION_DIR; writes DIR/report.md and DIR/benchmarks.svg. With --docs, also replaces the part
of DOCS_DIR/benchmarks.md between `<!-- results:begin -->` and `<!-- results:end -->` with the
report and copies the plot to DOCS_DIR/benchmarks.svg.
"""

import argparse
import json
import math
import os
import re
import shutil


def load(results, name):
    path = os.path.join(results, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return {r["command"]: r for r in json.load(f)["results"]}


def crit(criterion_dir, group, bench):
    path = os.path.join(criterion_dir, group, bench, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        e = json.load(f)
    return e["mean"]["point_estimate"] / 1e9, e["std_dev"]["point_estimate"] / 1e9


def fmt(seconds):
    if seconds is None:
        return "–"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def cell(r):
    return f"{fmt(r['median'])} ({fmt(r['mean'])} ± {fmt(r['stddev'] or 0)})" if r else "–"


def verdict(ok):
    return "met" if ok else "**missed**"


class Report:
    def __init__(self, results, criterion_dir):
        self.results = results
        self.criterion = criterion_dir
        self.lines = []
        self.series = {}

    def out(self, *lines):
        self.lines.extend(lines)

    def table(self, rows, reference=None):
        self.out(
            "| command | median (mean ± σ) | min | ratio of medians |", "|---|---:|---:|---:|"
        )
        for name, r in rows:
            ratio = ""
            if reference and r:
                ratio = f"{r['median'] / reference['median']:.2f}×"
            self.out(f"| {name} | {cell(r)} | {fmt(r['min']) if r else '–'} | {ratio} |")
        self.out("")

    def machine(self):
        path = os.path.join(self.results, "machine.json")
        if not os.path.exists(path):
            return
        m = json.load(open(path))
        self.out(
            "### Machine",
            "",
            f"- {m['cpus']} CPUs ({m['cpu']}), {m['memory_mib']} MiB RAM, Linux {m['kernel']}",
            f"- work directory filesystem: `{m['filesystem']}`",
            "- versions: " + "; ".join(f"{k}: {v}" for k, v in m["versions"].items() if v),
            "",
        )

    def noop(self):
        res = load(self.results, "noop")
        if not res:
            return
        a, af = res.get("aibox sync"), res.get("aibox sync --frozen")
        u, uf = res.get("uv sync --offline"), res.get("uv sync --offline --frozen")
        self.out("### No-op sync (200 locked packs; uv: 200 locked packages)", "")
        self.table(
            [
                ("aibox sync", a),
                ("aibox sync --frozen", af),
                ("uv sync --offline", u),
                ("uv sync --offline --frozen", uf),
            ],
            reference=a,
        )
        if a and u:
            self.out(
                f"uv takes **{u['median'] / a['median']:.1f}×** as long as aibox "
                f"(frozen: {uf['median'] / af['median']:.1f}×). Target ≤ 10 ms: "
                f"{verdict(a['median'] <= 0.010)} ({fmt(a['median'])}).",
                "",
            )
        pts = []
        for n in (10, 50, 200):
            r = load(self.results, f"noop-{n}") if n != 200 else res
            key = f"aibox sync ({n} packs)" if n != 200 else "aibox sync"
            if r and key in r:
                pts.append((n, r[key]["median"]))
        self.series[("sync", "aibox sync, no-op")] = pts

    def notice(self):
        res = load(self.results, "notice")
        if not res:
            return
        on = res.get("aibox sync, update check on (cached)")
        off = res.get("aibox sync, update check off")
        self.out("### Update notice (no-op sync of 10 packs on a terminal)", "")
        self.table(
            [("aibox sync, update check on (cached)", on), ("aibox sync, update check off", off)],
            reference=off,
        )
        if on and off:
            diff = on["median"] - off["median"]
            noise = max(on["stddev"] or 0, off["stddev"] or 0)
            self.out(
                f"A cached check adds {fmt(max(diff, 0))} to the median (σ {fmt(noise)}). "
                f"Target: not measurable (within one σ): {verdict(diff <= noise)}.",
                "",
            )

    def publish(self):
        res = load(self.results, "publish")
        if not res:
            return
        a = res.get("aibox pack publish (ruff + uv, 61 MB)")
        o = res.get("oras push (oras-py, same files)")
        self.out("### Publishing real tools (ruff and uv from PyPI, 61 MB)", "")
        self.table(
            [("aibox pack publish (ruff + uv, 61 MB)", a), ("oras push (oras-py, same files)", o)],
            reference=o,
        )
        if a and o:
            ratio = a["median"] / o["median"]
            self.out(
                f"aibox takes {ratio:.2f}× as long as oras-py (aibox also hashes every file "
                f"into its store, builds a reproducible tar and compresses it). Target ≤ 1.5×: "
                f"{verdict(ratio <= 1.5)}.",
                "",
            )

    def memory(self):
        path = os.path.join(self.results, "memory.tsv")
        if not os.path.exists(path):
            return
        rows = [line.rstrip("\n").split("\t") for line in open(path) if "\t" in line]
        rss = {label: int(kib) / 1024 for label, kib in rows}
        peer = rss.get("oras push (oras-py, same file)")
        self.out("### Memory: one pack holding a 1 GiB incompressible file", "")
        self.out("| command | peak RSS | ratio to oras-py |", "|---|---:|---:|")
        for label, mib in rss.items():
            ratio = f"{mib / peer:.2f}×" if peer else ""
            self.out(f"| {label} | {mib:.1f} MiB | {ratio} |")
        self.out("")
        ours = {k: v for k, v in rss.items() if k.startswith("aibox")}
        if ours:
            worst = max(ours, key=ours.get)
            self.out(
                f"Highest: {worst}, {ours[worst]:.1f} MiB for a 1 GiB pack. "
                f"Target ≤ 100 MiB: {verdict(ours[worst] <= 100)}.",
                "",
            )

    def stress(self):
        path = os.path.join(self.results, "stress.tsv")
        if not os.path.exists(path):
            return
        rows = [l.rstrip("\n").split("\t") for l in open(path)][1:]
        self.out(
            "### Stress: kill -9 during a cold sync (10 packs), then `store verify`",
            "",
            "| durability | runs | killed mid-sync | completed first | refused by `store verify` "
            "| `--repair` removed something | sync afterwards |",
            "|---|---:|---:|---:|---:|---:|---|",
        )
        for mode, runs, killed, completed, failed, repaired, final in rows:
            rep = repaired if mode == "ephemeral" else "(not run)"
            self.out(f"| {mode} | {runs} | {killed} | {completed} | {failed} | {rep} | {final} |")
        ok = all(r[4] == "0" and r[6] == "ok" for r in rows)
        self.out("", f"Every store accepted: {verdict(ok)}.", "")

    def warm(self):
        pts = []
        rows = []
        for n in (10, 50, 200):
            r = load(self.results, f"warm-{n}")
            if r:
                (v,) = r.values()
                rows.append((v["command"], v))
                pts.append((n, v["median"]))
        if not rows:
            return
        self.out("### Warm sync (every pack in the store, a new generation each run)", "")
        self.table(rows)
        last = rows[-1][1]
        if "200" in rows[-1][0]:
            self.out(
                f"200 packs / 20,000 files: {fmt(last['median'])}. Target ≤ 300 ms: "
                f"{verdict(last['median'] <= 0.300)}.",
                "",
            )
        self.series[("sync", "aibox sync, warm")] = pts

    def rollback(self):
        a_pts, n_pts, rows, ratios = [], [], [], []
        for files in (10, 1000, 10000):
            r = load(self.results, f"rollback-{files}")
            if not r:
                continue
            a = r.get(f"aibox rollback ({files} files)")
            n = r.get(f"nix-env --switch-generation ({files} files)")
            rows += [(f"aibox rollback ({files} files)", a)]
            if n:
                rows += [(f"nix-env --switch-generation ({files} files)", n)]
                n_pts.append((files, n["median"]))
                ratios.append((files, n["median"] / a["median"]))
            a_pts.append((files, a["median"]))
        if not rows:
            return
        self.out("### Rollback vs `nix-env --switch-generation`", "")
        self.table(rows)
        if ratios:
            self.out(
                "nix-env takes "
                + ", ".join(f"**{x:.1f}×** ({f} files)" for f, x in ratios)
                + f" as long as aibox. Target ≥ 10×: {verdict(all(x >= 10 for _, x in ratios))}.",
                "",
            )
        else:
            self.out("nix-env could not run here; see the method section.", "")
        if len(a_pts) >= 2:
            growth = a_pts[-1][1] / a_pts[0][1]
            self.out(
                f"aibox: {fmt(a_pts[-1][1])} at {a_pts[-1][0]} files vs {fmt(a_pts[0][1])} at "
                f"{a_pts[0][0]} files ({growth:.2f}×): the cost does not depend on the size.",
                "",
            )
        self.series[("rollback", "aibox rollback")] = a_pts
        if n_pts:
            self.series[("rollback", "nix-env --switch-generation")] = n_pts

    def cold(self):
        pts = []
        for name, label, title in [
            ("cold", "50 packs", "Cold sync of 50 packs from a loopback registry"),
            ("cold-rt", "ruff + uv", "Cold sync of real tools (ruff and uv from PyPI, 61 MB)"),
        ]:
            res = load(self.results, name)
            if not res:
                continue
            rows = [
                f"aibox sync (cold, {label})",
                f"aibox sync (cold, {label}, ephemeral)",
                f"aibox sync (cold, {label}, baseline)",
                f"oras pull (oras-py, {label})",
                f"skopeo copy ({label})",
                f"curl (raw blobs, {label})",
                f"download + extract ({label})",
            ]
            a, e, _, o, s, c, d = (res.get(r) for r in rows)
            self.out(f"### {title}", "")
            self.table([(r, res.get(r)) for r in rows if res.get(r)], reference=d)
            if a and o and s and d:
                line = (
                    f"oras-py takes {o['median'] / a['median']:.2f}× and skopeo "
                    f"{s['median'] / a['median']:.2f}× as long as aibox (target: aibox faster than "
                    f"both: {verdict(a['median'] < o['median'] and a['median'] < s['median'])}); "
                    f"aibox takes {a['median'] / d['median']:.2f}× download + extract (target ≤ "
                    f"1.25×: {verdict(a['median'] <= 1.25 * d['median'])})"
                )
                if e:
                    line += (
                        f"; with `AIBOX_DURABILITY=ephemeral` {e['median'] / d['median']:.2f}×"
                    )
                if c:
                    line += f"; aibox takes {a['median'] / c['median']:.2f}× the raw transfer (curl)"
                self.out(line + ".", "")
            if name == "cold" and a:
                pts.append((50, a["median"]))
        r10 = load(self.results, "cold-10")
        if r10:
            (v,) = r10.values()
            pts.insert(0, (10, v["median"]))
            self.out(f"Cold sync of 10 packs: {cell(v)}.", "")
        if pts:
            self.series[("sync", "aibox sync, cold (loopback registry)")] = pts

    def micro(self):
        rows = [
            ("store", "tree_hash_memory_20k", "tree hash, in-memory tree of 20k entries", None),
            ("store", "tree_of_dir_hash_only_20k", "`tree_of_dir`, hash only, 20k files", None),
            ("store", "ingest_dir_20k_fresh_store", "`Store::ingest_dir`, 20k files, fresh store", None),
            ("store", "build_pack_1k_files", "`build_pack`, 1,000 files from objects", None),
            ("store", "commit_generation_200_packs", "`commit_generation`, 200 packs", None),
            ("store", "rollback_200_packs", "`Store::rollback`, 200 packs", None),
            ("resolver", "synthetic_10k_x_20", "resolve: 10k packs × 20 versions", 1.0),
            ("resolver", "synthetic_10k_x_20_hard", "resolve: 10k × 20, conflict-heavy requests", 1.0),
            ("resolver", "adversarial_chain_30x50_solvable", "resolve: adversarial chain, solvable", 5.0),
            ("resolver", "adversarial_chain_30x50_unsolvable", "resolve: adversarial chain, unsolvable (explained)", 5.0),
        ]
        found = [(g, b, label, t, crit(self.criterion, g, b)) for g, b, label, t in rows]
        if not any(v for *_, v in found):
            return
        self.out("### Criterion micro-benchmarks", "", "| benchmark | mean ± σ | target |", "|---|---:|---|")
        for g, b, label, target, v in found:
            if not v:
                continue
            t = f"< {fmt(target)}: {verdict(v[0] < target)}" if target else ""
            self.out(f"| {label} (`{g}/{b}`) | {fmt(v[0])} ± {fmt(v[1])} | {t} |")
        self.out("")


def svg_plot(series, path):
    """Two log-log panels: sync cost vs packs, rollback cost vs files."""
    panels = [
        ("sync", "sync: wall time vs packs", "packs"),
        ("rollback", "rollback: wall time vs files in the generation", "files"),
    ]
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    W, H, PW, PH, ML, MT = 960, 420, 360, 280, 80, 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
    ]
    for i, (key, title, xlabel) in enumerate(panels):
        data = [(name, pts) for (k, name), pts in series.items() if k == key and pts]
        x0 = ML + i * (PW + 120)
        parts.append(f'<text x="{x0 + PW / 2}" y="25" text-anchor="middle" font-size="14">{title}</text>')
        if not data:
            parts.append(f'<text x="{x0 + PW / 2}" y="{MT + PH / 2}" text-anchor="middle">no data</text>')
            continue
        xs = [x for _, pts in data for x, _ in pts]
        ys = [y for _, pts in data for _, y in pts]
        lx0, lx1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
        ly0, ly1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
        lx1 = max(lx1, lx0 + 1)
        ly1 = max(ly1, ly0 + 1)

        def px(x):
            return x0 + (math.log10(x) - lx0) / (lx1 - lx0) * PW

        def py(y):
            return MT + PH - (math.log10(y) - ly0) / (ly1 - ly0) * PH

        parts.append(f'<rect x="{x0}" y="{MT}" width="{PW}" height="{PH}" fill="none" stroke="#888"/>')
        for e in range(lx0, lx1 + 1):
            x = px(10**e)
            parts.append(f'<line x1="{x}" y1="{MT}" x2="{x}" y2="{MT + PH}" stroke="#eee"/>')
            parts.append(f'<text x="{x}" y="{MT + PH + 16}" text-anchor="middle">{10**e:,}</text>')
        for e in range(ly0, ly1 + 1):
            y = py(10**e)
            parts.append(f'<line x1="{x0}" y1="{y}" x2="{x0 + PW}" y2="{y}" stroke="#eee"/>')
            parts.append(f'<text x="{x0 - 6}" y="{y + 4}" text-anchor="end">{fmt(10**e)}</text>')
        parts.append(
            f'<text x="{x0 + PW / 2}" y="{MT + PH + 34}" text-anchor="middle">{xlabel} (log scale)</text>'
        )
        for j, (name, pts) in enumerate(data):
            c = colors[j % len(colors)]
            pts = sorted(pts)
            d = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            parts.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2"/>')
            for x, y in pts:
                parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{c}"/>')
                parts.append(
                    f'<text x="{px(x) + 5:.1f}" y="{py(y) - 6:.1f}" font-size="10" fill="{c}">{fmt(y)}</text>'
                )
            ly = MT + PH + 52 + 16 * j
            parts.append(f'<line x1="{x0}" y1="{ly - 4}" x2="{x0 + 20}" y2="{ly - 4}" stroke="{c}" stroke-width="2"/>')
            parts.append(f'<text x="{x0 + 26}" y="{ly}">{name}</text>')
    parts.append("</svg>")
    height = H + 16 * max(0, max(len([1 for (k, _) in series if k == p[0]]) for p in panels) - 3)
    svg = "\n".join(parts).replace(f'height="{H}"', f'height="{height}"', 2)
    with open(path, "w") as f:
        f.write(svg + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("criterion")
    p.add_argument("--out", required=True)
    p.add_argument("--docs")
    a = p.parse_args()
    r = Report(a.results, a.criterion)
    r.machine()
    r.noop()
    r.notice()
    r.warm()
    r.rollback()
    r.cold()
    r.publish()
    r.memory()
    r.stress()
    r.micro()
    r.out("![sync and rollback cost against size](benchmarks.svg)", "")
    text = "\n".join(r.lines)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write(text + "\n")
    svg_plot(r.series, os.path.join(a.out, "benchmarks.svg"))
    print(text)
    if a.docs:
        doc = os.path.join(a.docs, "benchmarks.md")
        body = open(doc).read()
        new, n = re.subn(
            r"(<!-- results:begin -->\n).*?(<!-- results:end -->)",
            lambda m: m.group(1) + text + "\n" + m.group(2),
            body,
            flags=re.S,
        )
        if n != 1:
            raise SystemExit(f"{doc}: no `<!-- results:begin -->`…`<!-- results:end -->` section")
        with open(doc, "w") as f:
            f.write(new)
        shutil.copy(os.path.join(a.out, "benchmarks.svg"), os.path.join(a.docs, "benchmarks.svg"))


if __name__ == "__main__":
    main()
