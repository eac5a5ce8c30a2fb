#!/usr/bin/env python3
"""Ratios of the incremental-learning half of bench/ml/run.sh: one training step of the
full-size thigh network, Keras's train_on_batch (bench_incremental.py, one or two runs) and
ours (examples/train_step_time.rs), with the load averages around each and the peak memory
/usr/bin/time -v measured for each process. Prints Markdown.

    python3 bench/ml/compare_incremental.py bench/out/ml
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
    kruns = [(n, load(os.path.join(out, f"incremental_{n}.json"))) for n in ("keras1", "keras2")]
    kruns = [(n, r) for n, r in kruns if r and "timings" in r]
    ours = {b: load(os.path.join(out, f"incremental_rust_b{b}.json")) for b in (5, 8)}
    ours = {b: r for b, r in ours.items() if r}
    if not kruns or not ours:
        sys.exit("missing incremental_keras*.json or incremental_rust_b*.json in " + out)
    head = " | ".join(f"Keras {n} s (load before)" for n, _ in kruns)
    print(f"| one training step, thigh 250² | {head} | ours s (load before → after) | ours CPU s "
          f"| ours GFLOP/s | Keras ÷ ours |")
    print("|---" * (6 + len(kruns)) + "|")
    for b, run in sorted(ours.items()):
        key = f"keras_train_step_b{b}"
        ks = [r["timings"].get(key) for _, r in kruns]
        if not any(ks):
            continue
        e = run["timings"][f"rust_train_step_b{b}"]
        mine = e["median_ms"] / 1e3
        kmed = statistics.median([k["median_ms"] / 1e3 for k in ks if k])
        cells = " | ".join(f"{k['median_ms'] / 1e3:.1f} ({k['loadavg_before'][0]:.1f})" if k else "–" for k in ks)
        print(f"| batch {b} | {cells} | {mine:.1f} ({run['load_before'][0]:.1f} → {run['load_after'][0]:.1f}) "
              f"| {e['cpu_s_per_step']:.1f} | {e['GFLOPs_achieved']:.1f} | {kmed / mine:.2f} |")
    print()
    for n, r in kruns:
        print(f"- Keras {n}: {r.get('versions', {}).get('tensorflow')}, loss {r.get('loss')}, peak RSS "
              f"{max_rss_mib(os.path.join(out, f'incremental_{n}.time')) or 0:.0f} MiB (both batches, one process)")
    for b, run in sorted(ours.items()):
        print(f"- ours b{b}: {run['threads']} threads, steps {run['step_s']} s (first = warm-up), peak RSS "
              f"{run['peak_rss_mib']} MiB (VmHWM; /usr/bin/time: "
              f"{max_rss_mib(os.path.join(out, f'incremental_rust_b{b}.time')) or 0:.0f} MiB); one step in phases "
              f"{run['phases_s']}; inside {run['ops_s']}")


if __name__ == "__main__":
    main()
