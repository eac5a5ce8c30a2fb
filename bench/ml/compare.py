#!/usr/bin/env python3
"""Ratios of the network benchmark (bench/ml/run.sh): the peer's Keras JSON lines (one or more
runs), ours, and the peak memory /usr/bin/time -v measured for each process. Prints Markdown.

    python3 bench/ml/compare.py bench/out/ml
"""
import json
import os
import re
import statistics
import sys


def load(path):
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except OSError:
        return None


def max_rss_mib(path):
    try:
        with open(path) as f:
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
        return int(m.group(1)) / 1024 if m else None
    except OSError:
        return None


def main():
    out = sys.argv[1]
    kruns = [(n, load(os.path.join(out, f"{n}.json"))) for n in ("keras1", "keras2")]
    kruns = [(n, r) for n, r in kruns if r]
    rust = load(os.path.join(out, "rust.json"))
    torch = load(os.path.join(out, "torch.json"))
    if not kruns or not rust:
        sys.exit("missing keras*.json or rust.json in " + out)
    rt = rust["timings"]

    def per_crop(run, key):
        e = run["timings"].get(key)
        return e and e.get("ms_per_crop")

    rows = [
        ("thigh, 1 crop: Keras predict (Dafne's call) / ours b1", "keras_thigh_predict_b1", "rust_thigh_b1"),
        ("thigh, 1 crop: Keras tf.function / ours b1", "keras_thigh_call_b1", "rust_thigh_b1"),
        ("thigh, per crop of a slice: Keras predict b1 / ours b2", "keras_thigh_predict_b1", "rust_thigh_b2"),
        ("thigh, per crop: Keras predict b8 / ours b8", "keras_thigh_predict_b8", "rust_thigh_b8"),
        ("leg, 1 crop: Keras predict / ours b1", "keras_leg_predict_b1", "rust_leg_b1"),
        ("leg, per crop: Keras predict b8 / ours b8", "keras_leg_predict_b8", "rust_leg_b8"),
    ]
    head = " | ".join(f"Keras {n} ms/crop" for n, _ in kruns)
    print(f"| comparison | {head} | ours ms/crop | ours GFLOP/s | Keras ÷ ours |")
    print("|---" * (4 + len(kruns)) + "|")
    for label, k, r in rows:
        ks = [per_crop(run, k) for _, run in kruns]
        ours = rt.get(r, {}).get("ms_per_crop")
        if ours is None or not any(ks):
            continue
        kmed = statistics.median([v for v in ks if v])
        cells = " | ".join(f"{v:.0f}" if v else "–" for v in ks)
        print(f"| {label} | {cells} | {ours:.0f} | {rt[r]['GFLOPs_achieved']:.1f} | {kmed / ours:.2f} |")
    if torch and "timings" in torch:
        for key, r in (("torch_thigh_b1", "rust_thigh_b1"), ("torch_thigh_b8", "rust_thigh_b8")):
            e = torch["timings"].get(key)
            if e and r in rt:
                print(f"| thigh: PyTorch twin {key[-2:]} / ours | {e['ms_per_crop']:.0f} | {rt[r]['ms_per_crop']:.0f} | "
                      f"{e['ms_per_crop'] / rt[r]['ms_per_crop']:.2f} |")
    kcpu = load(os.path.join(out, "keras_cpu.json"))
    if kcpu:
        for b in (1, 2):
            k = kcpu["timings"].get(f"keras_thigh_predict_b{b}")
            r = rt.get(f"rust_thigh_b{b}")
            if k and r and r.get("cpu_s_per_forward"):
                ours = r["cpu_s_per_forward"] / b
                print(f"| thigh, CPU seconds per crop, batch {b}: Keras predict / ours | {k['cpu_s_per_crop']:.2f} s"
                      + " | –" * (len(kruns) - 1) + f" | {ours:.2f} s | | {k['cpu_s_per_crop'] / ours:.2f} |")
    print()
    for n, run in kruns:
        la = [e.get("loadavg_before") for e in run["timings"].values()]
        print(f"- Keras {n}: {run.get('versions', {}).get('tensorflow')} "
              f"threads {run.get('tf_threads')}, GFLOP/s "
              + ", ".join(f"{k} {e.get('GFLOPs_achieved')}" for k, e in run["timings"].items())
              + f"; load averages before each timing {la}; peak RSS {max_rss_mib(os.path.join(out, n + '.time')):.0f} MiB")
    la = [e.get("loadavg_before") for e in rt.values()]
    print(f"- ours: {rust.get('threads')} threads, load averages before each timing {la}; "
          f"peak RSS {max_rss_mib(os.path.join(out, 'rust.time')):.0f} MiB (all batches, thigh and leg, one process)")


if __name__ == "__main__":
    main()
