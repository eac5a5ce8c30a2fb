#!/usr/bin/env python3
"""CPU seconds per forward of the peer's Keras thigh network (../shared/bench/peer/_dafne_unet.py,
random weights), next to wall time: on a machine shared with builds, wall times depend on the
share of the cores a process gets, CPU time much less. Batch 1 via model.predict (Dafne's
call) and batch 2 (one slice's two crops). Prints one JSON line.

    bench/.venv-ml/bin/python bench/ml/keras_cpu_time.py PEER_DIR [REPEAT]
"""
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, sys.argv[1])
import numpy as np  # noqa: E402
import _dafne_unet as U  # noqa: E402


def main():
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    model = U.build_keras(**U.THIGH)
    gflop = U.conv_flops(**U.THIGH)["conv_GFLOP"]
    rng = np.random.default_rng(1)
    out = {"bench": "segnet_keras_cpu", "timings": {}}
    for batch in (1, 2):
        x = np.stack([rng.uniform(0, 600, (batch, 250, 250)), np.zeros((batch, 250, 250))], -1).astype(np.float32)
        for _ in range(2):
            model.predict(x, verbose=0)
        walls, cpus = [], []
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            model.predict(x, verbose=0)
            walls.append((time.perf_counter() - t) * 1e3)
            cpus.append(time.process_time() - c)
        med = statistics.median(walls)
        out["timings"][f"keras_thigh_predict_b{batch}"] = {
            "median_ms": round(med, 1), "ms_per_crop": round(med / batch, 1),
            "cpu_s_per_forward": round(statistics.mean(cpus), 3),
            "cpu_s_per_crop": round(statistics.mean(cpus) / batch, 3),
            "GFLOPs_achieved": round(gflop * batch / (med / 1e3), 1), "loadavg_before": load}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
