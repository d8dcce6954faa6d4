"""Speed of float64 simulation: the Dirac oracle on the WGAN Dirac-GAN (thesis convention).

Measures start-steps per second ("updates", process CPU time, best of 3) of

* the vectorised path (:func:`stabcheck.simulate.simulate_many`, numpy over B starts), with
  its lean bookkeeping (the default) and the general one (``lean=False``, the earlier code);
* **a lean baseline** (:func:`lean_same_calls`): the same oracle call (``choose_many``) and the
  same compiled field per step, and the bookkeeping written as leanly as numpy allows
  (columns, in-place minimum / maximum, running sums for the choice counts) - the ratio to it
  is the bookkeeping's overhead;
* **a hand-written bound** (:func:`lean_by_hand`): the oracle, the field and the bookkeeping
  all written out for this one game (no oracle or field object at all);
* the engine's one-start path (:func:`stabcheck.simulate.simulate`),
* a plain Python loop over floats (the same oracle and field written by hand),

and prints the ratios (target: >= 5e7 updates/s for simulate_many). All results of the three
numpy variants are checked equal. Run by hand (not in CI), on one core::

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
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def lean_same_calls(game, X0, eta, steps):
    """The Dirac oracle run with simulate_many's oracle and field calls and lean bookkeeping
    (every start stays bounded here; no boundary handling)."""
    from stabcheck.fields import game_field
    from stabcheck.oracles import make_oracle

    oracle = make_oracle("dirac")
    oracle.reset()
    v = game_field(game).numpy
    X = np.array(X0, dtype=float)
    d = np.sqrt(X[:, 0] * X[:, 0] + X[:, 1] * X[:, 1])
    d0, dmin, dmax = d.copy(), d.copy(), d.copy()
    first = np.where(d < 1e-6, 0, -1)
    mg = np.zeros(len(X), dtype=np.int64)
    md = np.zeros(len(X), dtype=np.int64)
    for k in range(steps):
        codes = oracle.choose_many(k, X, 1)
        cg, cd = codes & 1, codes >> 1  # who moves: the code's bits
        G = v(X)
        G[:, 0] *= cg
        G[:, 1] *= cd
        G *= eta
        X = G + X
        a, b = X[:, 0], X[:, 1]
        d = a * a
        d += b * b
        np.sqrt(d, out=d)
        np.minimum(dmin, d, out=dmin)
        np.maximum(dmax, d, out=dmax)
        below = d < 1e-6
        if below.any():
            first[below & (first < 0)] = k + 1
        mg += cg
        md += cd
    both = mg + md - steps
    return X, d, dmin, dmax / d0, first, np.stack([mg - both, md - both, both], axis=1)


def lean_by_hand(X0, eta, steps):
    """Everything written out for the thesis-convention WGAN Dirac-GAN (L = -psi theta,
    v = (psi, -theta)) and the Dirac oracle (V1 when psi theta < 0, or on the boundary with
    theta = 0): columns, no objects."""
    th, ps = X0[:, 0].copy(), X0[:, 1].copy()
    d = np.sqrt(th * th + ps * ps)
    d0, dmin, dmax = d.copy(), d.copy(), d.copy()
    first = np.where(d < 1e-6, 0, -1)
    n1 = np.zeros(len(th), dtype=np.int64)
    for k in range(steps):
        s = ps * th
        g = (s < 0) | ((s == 0) & (th == 0))  # the generator moves (V1)
        th, ps = np.where(g, th + eta * ps, th), np.where(g, ps, ps - eta * th)
        d = th * th
        d += ps * ps
        np.sqrt(d, out=d)
        np.minimum(dmin, d, out=dmin)
        np.maximum(dmax, d, out=dmax)
        below = d < 1e-6
        if below.any():
            first[below & (first < 0)] = k + 1
        n1 += g
    return np.stack([th, ps], axis=1), d, dmin, dmax / d0, first, np.stack([n1, steps - n1, 0 * n1], axis=1)


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
    t_gen = best_of(lambda: simulate_many(game, "dirac", 0.1, X0, a.steps, lean=False))
    t_lean = best_of(lambda: lean_same_calls(game, X0, 0.1, a.steps))
    t_hand = best_of(lambda: lean_by_hand(X0, 0.1, a.steps))
    r_vec = simulate_many(game, "dirac", 0.1, X0, a.steps)
    r_gen = simulate_many(game, "dirac", 0.1, X0, a.steps, lean=False)
    mine = (r_vec.X, r_vec.final_distance, r_vec.min_distance, r_vec.sup_ratio, r_vec.first_below, r_vec.choices)
    same_general = all(np.array_equal(x, y, equal_nan=True) for x, y in
                       zip(mine, (r_gen.X, r_gen.final_distance, r_gen.min_distance, r_gen.sup_ratio,
                                  r_gen.first_below, r_gen.choices)))
    same_lean = all(np.array_equal(x, y, equal_nan=True) for x, y in zip(mine, lean_same_calls(game, X0, 0.1, a.steps)))
    hand = lean_by_hand(X0, 0.1, a.steps)
    same_hand = all(np.allclose(x, y, rtol=1e-9, atol=1e-12) for x, y in zip(mine[:4], hand[:4])) and \
        np.array_equal(mine[4], hand[4]) and np.array_equal(mine[5], hand[5])
    n_plain = min(a.starts, 64)
    t_plain = best_of(lambda: [plain_loop(float(x[0]), float(x[1]), 0.1, a.steps) for x in X0[:n_plain]])
    n_eng = 4
    t_eng = best_of(lambda: [simulate(game, "dirac", 0.1, x, a.steps) for x in X0[:n_eng]], repeat=1)
    res = {
        "device": platform.processor() or platform.machine(), "numpy": np.__version__,
        "starts": a.starts, "steps": a.steps,
        "vectorised_start_steps_per_s": a.starts * a.steps / t_vec,
        "vectorised_general_bookkeeping_start_steps_per_s": a.starts * a.steps / t_gen,
        "lean_baseline_same_calls_start_steps_per_s": a.starts * a.steps / t_lean,
        "lean_by_hand_start_steps_per_s": a.starts * a.steps / t_hand,
        "plain_python_start_steps_per_s": n_plain * a.steps / t_plain,
        "engine_one_start_steps_per_s": n_eng * a.steps / t_eng,
    }
    res["ratio_vectorised_to_plain_python"] = res["vectorised_start_steps_per_s"] / res["plain_python_start_steps_per_s"]
    res["ratio_vectorised_to_engine_one_start"] = res["vectorised_start_steps_per_s"] / res["engine_one_start_steps_per_s"]
    res["ratio_lean_baseline_to_vectorised"] = t_vec / t_lean
    res["ratio_by_hand_to_vectorised"] = t_vec / t_hand
    res["speedup_lean_over_general_bookkeeping"] = t_gen / t_vec
    res["identical_to_general_bookkeeping"] = bool(same_general)
    res["identical_to_lean_baseline"] = bool(same_lean)
    res["agrees_with_by_hand"] = bool(same_hand)
    res["target_1e6_met"] = res["vectorised_start_steps_per_s"] >= 1e6
    res["target_5e7_met"] = res["vectorised_start_steps_per_s"] >= 5e7
    res["loadavg"] = list(os.getloadavg())
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:40s} {v:.4g}" if isinstance(v, float) else f"{k:40s} {v}")


if __name__ == "__main__":
    main()
