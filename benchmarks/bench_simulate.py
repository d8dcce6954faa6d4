"""Speed of float64 simulation: the Dirac oracle on the WGAN Dirac-GAN (thesis convention).

Measures start-steps per second of

* the vectorised path (:func:`stabcheck.simulate.simulate_many`, numpy over B starts),
* the engine's one-start path (:func:`stabcheck.simulate.simulate`),
* a plain Python loop over floats (the same oracle and field written by hand),

and prints the ratios. Run by hand (not in CI), on one core::

    OMP_NUM_THREADS=1 python benchmarks/bench_simulate.py [--starts 4096] [--steps 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from stabcheck.games import make_game  # noqa: E402
from stabcheck.simulate import simulate, simulate_many  # noqa: E402


def plain_loop(th: float, ps: float, eta: float, steps: int):
    """Dirac oracle (thesis eq. 7, boundary 'auto') on L = -psi*theta, plain Python floats."""
    for _ in range(steps):
        s = ps * th
        if s < 0 or (s == 0 and th == 0):
            th = th + eta * ps
        else:
            ps = ps - eta * th
    return th, ps


def best_of(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    game = make_game("dirac", "wgan", convention="thesis")
    X0 = np.random.default_rng(0).uniform(-1, 1, size=(a.starts, 2))
    simulate_many(game, "dirac", 0.1, X0[:8], 10)  # compile the field once

    t_vec = best_of(lambda: simulate_many(game, "dirac", 0.1, X0, a.steps))
    n_plain = min(a.starts, 64)
    t_plain = best_of(lambda: [plain_loop(float(x[0]), float(x[1]), 0.1, a.steps) for x in X0[:n_plain]])
    n_eng = 4
    t_eng = best_of(lambda: [simulate(game, "dirac", 0.1, x, a.steps) for x in X0[:n_eng]], repeat=1)
    res = {
        "device": platform.processor() or platform.machine(), "numpy": np.__version__,
        "starts": a.starts, "steps": a.steps,
        "vectorised_start_steps_per_s": a.starts * a.steps / t_vec,
        "plain_python_start_steps_per_s": n_plain * a.steps / t_plain,
        "engine_one_start_steps_per_s": n_eng * a.steps / t_eng,
    }
    res["ratio_vectorised_to_plain_python"] = res["vectorised_start_steps_per_s"] / res["plain_python_start_steps_per_s"]
    res["ratio_vectorised_to_engine_one_start"] = res["vectorised_start_steps_per_s"] / res["engine_one_start_steps_per_s"]
    res["target_1e6_met"] = res["vectorised_start_steps_per_s"] >= 1e6
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:40s} {v:.4g}" if isinstance(v, float) else f"{k:40s} {v}")


if __name__ == "__main__":
    main()
