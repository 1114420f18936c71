"""Writes tools/bench/results/width-latency.md from run.sh's raw measurements.

Usage: report.py RAW.tsv OUT.md --command CMD [--runs N] [--load TEXT] [--seconds S]

Latency of a variant = median over the interleaved repeats of its per-repeat p50. Speedups of the
ResNet-56 variants are medians of per-repeat ratios (the original's p50 / the variant's p50 in the
same repeat), which cancels slow drifts of the machine's load. A block of OUT.md between
<!-- conclusion --> and <!-- /conclusion --> is kept as it is.
"""
import argparse
import csv
import datetime
import os
import re
import statistics
from collections import defaultdict

TOL = 0.05  # differences within 5% count as noise
MULTIPLES = (16, 8, 4)


def widths_of(key):
    return [int(x) for x in key[1].split("/")]


def mult_of(widths):
    widths = list(widths)
    for m in (16, 8, 4, 2):
        if all(w % m == 0 for w in widths):
            return str(m)
    return "-"


def path_of(kernels: str) -> str:
    """ORT's kernel choice from the profiler's op types: NCHWc (MLAS blocked layout, shown as
    Conv + Reorder*) or plain NCHW (FusedConv / Conv without reorders)."""
    ops = dict(k.split(":") for k in kernels.split(",") if k)
    if "FusedConv" in ops:
        return "NCHW"
    return "NCHWc" if ("ReorderOutput" in ops or "ReorderInput" in ops) else "NCHW"


def resnet56_macs(widths, round_to: int = 1) -> int:
    """MACs of export_variants.py's ResNet-56 (1x28x28 input, projection shortcuts where the stride or
    width changes), with every width of 16 or more rounded up to a multiple of round_to: what ONNX
    Runtime computes when its NCHWc layout pads channels up to its block size."""
    def r(c):
        return c if c < 16 else -(-c // round_to) * round_to

    def conv(ci, co, k, hw):
        return k * k * r(ci) * r(co) * hw

    w1, w2, w3 = widths
    total = 9 * 1 * r(w1) * 28 * 28
    cin = w1
    for w, hw in ((w1, 28 * 28), (w2, 14 * 14), (w3, 7 * 7)):
        for i in range(9):
            total += conv(cin, w, 3, hw) + conv(w, w, 3, hw)
            if cin != w or (i == 0 and hw != 28 * 28):
                total += conv(cin, w, 1, hw)
            cin = w
    return total + r(w3) * 10


def fit(points):
    """Least-squares line y = a + b x."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float("nan")
    return my - b * mx, b


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        name = re.search(r"model name\s*:\s*(.*)", text)
        flags = re.search(r"flags\s*:\s*(.*)", text).group(1).split()
        isa = "AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "no AVX2")
        return f"{name.group(1).strip() if name else 'unknown CPU'}, {isa}, {os.cpu_count()} logical CPUs"
    except Exception:
        return "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("out")
    ap.add_argument("--command", required=True)
    ap.add_argument("--runs", default="?")
    ap.add_argument("--load", default="?")
    ap.add_argument("--seconds", default="?")
    ap.add_argument("--ort", default="?")
    a = ap.parse_args()

    rows = list(csv.DictReader(open(a.raw), delimiter="\t"))
    p50 = defaultdict(dict)  # (kind, name) -> repeat -> p50
    kern_ms = defaultdict(dict)  # (kind, name) -> repeat -> time of all ops but reorders (ORT profiler)
    info = {}
    for r in rows:
        key = (r["kind"], r["name"])
        p50[key][int(r["repeat"])] = float(r["p50_ms"])
        kern_ms[key][int(r["repeat"])] = float(r["non_reorder_ms"])
        info[key] = (int(r["macs"]), r["kernels"])
    med = {k: statistics.median(v.values()) for k, v in p50.items()}
    kmed = {k: statistics.median(v.values()) for k, v in kern_ms.items()}

    out = []
    w = out.append
    w("# Channel widths and ONNX Runtime latency (CPU, batch 1, 2 threads)")
    w("")
    w(f"Rerun: `{a.command}` (about {a.seconds} s here; options in the script's header).")
    w("")
    stamp = re.search(r"(\d{8}T\d{6}Z)", os.path.basename(a.raw))
    when = (datetime.datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%SZ") if stamp else datetime.datetime.utcnow())
    w(f"Run of {when:%Y-%m-%d %H:%M} UTC on {cpu_model()}; ONNX Runtime {a.ort} CPU "
      f"(NuGet Microsoft.ML.OnnxRuntime); load average before -> after: {a.load}. Every measurement is "
      f"`onnxprune profile MODEL --threads 2 --batch 1 --runs {a.runs} --warmup 20 --json`; the variants are "
      f"interleaved (all of them, then all again in reverse order, ...); a latency is the median over the "
      f"repeats of each measurement's p50. Models: `tools/bench/width-latency/export_variants.py` "
      f"(torch 1.13, opset 13, eval mode so BatchNorm is folded, random seeded weights). "
      f"Raw data: `{os.path.basename(a.raw)}` in the models folder.")
    w("")

    old = open(a.out).read() if os.path.exists(a.out) else ""
    m = re.search(r"<!-- conclusion -->.*?<!-- /conclusion -->", old, re.S)
    w(m.group(0) if m else "<!-- conclusion -->\n(no conclusion written yet)\n<!-- /conclusion -->")
    w("")

    # ---------------- ResNet-56 ----------------
    res = sorted([k for k in med if k[0] == "resnet56"], key=lambda k: -info[k][0])
    if res:
        base = ("resnet56", "16/32/64")
        nrep = len(p50[res[0]])
        w(f"## ResNet-56 (CIFAR-style, 1x28x28 input, stage widths W1/W2/W3), {nrep} interleaved repeats")
        w("")
        w("'multiple': the largest of 16, 8, 4, 2 dividing all three widths. 'speedup': the original's p50 / "
          "the variant's, median of per-repeat ratios (>1 = faster than the original). 'range': min-max of the "
          "per-repeat p50s. 'MACs@16': MACs with every width of 16 or more rounded up to a multiple of 16, "
          "which is what ONNX Runtime computes when its NCHWc layout pads channels to its block of 16 on this CPU; "
          "'GMAC/s@16' is that over the p50. 'ORT path': NCHWc when every conv runs in MLAS's blocked layout, "
          "otherwise how many convs ORT left in plain NCHW (FusedConv).")
        w("")
        w("| widths | multiple | MACs (M) | MACs vs original | p50 ms | range ms | speedup | GMAC/s | MACs@16 (M) | GMAC/s@16 | ORT path |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        speed = {}
        for k in res:
            macs, kern = info[k]
            ratios = [p50[base][r] / p50[k][r] for r in p50[k] if r in p50.get(base, {})]
            speed[k] = statistics.median(ratios) if ratios else float("nan")
            ops = dict(x.split(":") for x in kern.split(",") if x)
            pth = "NCHWc" if "FusedConv" not in ops else f"{ops['FusedConv']} NCHW convs"
            vals = p50[k].values()
            w(f"| {k[1]} | {mult_of(widths_of(k))} | {macs / 1e6:.1f} | "
              f"{info[base][0] / macs:.2f}x fewer | {med[k]:.3f} | {min(vals):.3f}-{max(vals):.3f} | "
              f"{speed[k]:.2f}x | {macs / med[k] / 1e6:.0f} | {resnet56_macs(widths_of(k), 16) / 1e6:.1f} | "
              f"{resnet56_macs(widths_of(k), 16) / med[k] / 1e6:.0f} | {pth} |")
        w("")
        slower = [k for k in res if info[k][0] < info[base][0] and speed[k] < 1 - TOL]
        w("Fewer MACs than the original yet slower (by more than 5%): " +
          (", ".join(f"{k[1]} ({info[base][0] / info[k][0]:.2f}x fewer MACs, {1 / speed[k]:.2f}x slower)" for k in slower)
           or "none") + ".")
        w("")
        w("Does latency fall with MACs when every width is a multiple of M? Pairs (fewer MACs, yet slower by more "
          "than 5%) among the variants whose widths are all multiples of M:")
        w("")
        for mult in MULTIPLES:
            ks = [k for k in res if all(int(x) % mult == 0 for x in k[1].split("/"))]
            bad = [(x, y) for x in ks for y in ks if info[x][0] < info[y][0] and med[x] > med[y] * (1 + TOL)]
            w(f"- multiples of {mult} ({len(ks)} variants: {', '.join(k[1] for k in ks)}): " +
              ("monotonic" if not bad else "not monotonic: " + "; ".join(
                  f"{x[1]} ({info[x][0] / 1e6:.1f}M MACs, {med[x]:.3f} ms) slower than {y[1]} "
                  f"({info[y][0] / 1e6:.1f}M, {med[y]:.3f} ms)" for x, y in bad)))
        w("")
        k16 = [k for k in res if all(x % 16 == 0 for x in widths_of(k))]
        if len(k16) >= 2:
            a0, b0 = fit([(info[k][0] / 1e6, med[k]) for k in k16])
            worst = max(abs(med[k] - (a0 + b0 * info[k][0] / 1e6)) / med[k] for k in k16)
            w(f"Latency against MACs for the variants with every width a multiple of 16 (least squares): "
              f"p50 = {a0:.3f} ms + MACs x {b0 * 1000:.2f} ms per GMAC (a marginal {1 / b0:.0f} GMAC/s); "
              f"largest deviation {100 * worst:.0f}%. The constant is per-run and per-layer overhead that pruning "
              f"channels does not remove, so latency falls more slowly than MACs.")
            w("")

    # ---------------- convs ----------------
    conv = [k for k in med if k[0] == "conv"]
    if conv:
        by = defaultdict(dict)  # (depth, spatial) -> c -> key
        for k in conv:
            d, s, c = k[1].split("/")
            by[int(d[1:]), int(s[1:])][int(c[1:])] = k
        series = sorted(by, key=lambda ds: (ds[0], -ds[1]))
        per_layer = {k: med[k] / int(k[1].split("/")[0][1:]) for k in conv}
        nrep = len(p50[conv[0]])
        label = {ds: f"{ds[1]}x{ds[1]}" + (" single" if ds[0] == 1 else f" x{ds[0]}") for ds in series}
        w(f"## 3x3 conv, Cin = Cout = c (with bias and ReLU), {nrep} interleaved repeats")
        w("")
        w("Microseconds per conv layer at batch 1: the median over the repeats of `onnxprune profile`'s p50, "
          "divided by the number of layers. 'single': one conv; 'x4': a stack of four identical convs. "
          "ORT wraps a run of NCHWc convs in ReorderInput/ReorderOutput nodes, which a single conv pays "
          "in full and a stack (or a network) once per run, so the x4 figures are closer to the cost of a layer "
          "inside a network. A mark ▲: a wider conv in the same column was more than 5% faster, so a pruner "
          "should never stop at that width. 'path': ORT's kernel choice per column (c = NCHWc blocked layout, "
          "n = plain NCHW).")
        w("")
        w("| c | multiple | " + " | ".join(label[ds] for ds in series) + " | path |")
        w("|---|---|" + "---|" * len(series) + "---|")
        dominated = defaultdict(set)
        for ds in series:
            cs = sorted(by[ds])
            for c in cs:
                if any(per_layer[by[ds][d]] < per_layer[by[ds][c]] / (1 + TOL) for d in cs if d > c):
                    dominated[ds].add(c)
        for c in sorted(set(c for ds in series for c in by[ds])):
            cells, paths = [], []
            for ds in series:
                k = by[ds].get(c)
                if k is None:
                    cells.append(""); paths.append(" ")
                    continue
                cells.append(f"{per_layer[k] * 1000:.1f}" + (" ▲" if c in dominated[ds] else ""))
                paths.append("c" if path_of(info[k][1]) == "NCHWc" else "n")
            w(f"| {c} | {mult_of([c])} | " + " | ".join(cells) + " | " + "".join(paths) + " |")
        w("")
        w("Latency against c among multiples of M (inversions: pairs where the narrower conv is more than 5% "
          "slower than a wider one), and the widths that some wider conv beats by more than 5%:")
        w("")
        for ds in series:
            parts = []
            for mult in MULTIPLES:
                cs = sorted(c for c in by[ds] if c % mult == 0)
                bad = [(x, y) for i, x in enumerate(cs) for y in cs[i + 1:] if per_layer[by[ds][x]] > per_layer[by[ds][y]] * (1 + TOL)]
                parts.append(f"multiples of {mult}: " + ("monotonic" if not bad else f"{len(bad)} inversions (e.g. " + "; ".join(
                    f"c={x} {per_layer[by[ds][x]] * 1000:.1f} > c={y} {per_layer[by[ds][y]] * 1000:.1f}" for x, y in bad[:3]) + ")"))
            w(f"- {label[ds]}: " + "; ".join(parts) + ". Beaten widths: " +
              (", ".join(map(str, sorted(dominated[ds]))) or "none") + ".")
        w("")

    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out))
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
