"""Benchmark: batched stability maps vs a Python loop over single-point analyses; Dask scaling.

    python benchmarks/bench_sweep.py                 # 1000 x 1000 grids, about a minute or two
    python benchmarks/bench_sweep.py --n 300 --workers 1 2 --json bench.json
    python benchmarks/bench_sweep.py --target-only --setup --setup-baseline --json bench.json

For each of Sim-GDA, Alt-GDA (both with an R1 penalty ``r1.gamma`` as the second axis) and JARE
(its ``gamma``) on the Dirac-GAN (WGAN loss), over ``eta in [1e-3, 2]`` (log) x ``gamma in
[0, 20]``:

* ``sweep``: wall time of :func:`stabcheck.sweep.sweep` on the n x n grid (serial executor;
  symbolic set-up included) and points per second;
* ``loop (analyze)``: a Python loop calling the single-point analysis at random grid points -
  build the game (``make_game``) and the method, then
  :func:`stabcheck.analysis.analyze_method` (what ``stabcheck analyze --method M`` does per
  point: exact Jacobian, exact verdict, stable step-size scan) - points per second measured
  on ``--baseline-points`` points and extrapolated to the grid;
* ``loop (numeric)``: the leanest possible loop, for an honest second baseline: the field
  Jacobian once per gamma (exact, float64), then per point
  :func:`stabcheck.linearize.linear_map_matrix` + ``numeric_verdict_matrix`` + spectral radius.

The speed-up is points per second of the sweep over points per second of the loop. Then the
JARE sweep runs on a local Dask cluster with each ``--workers`` count (cluster start-up timed
separately) and its results are compared bitwise with the serial ones.

First of all, the **closed-form target** (issue 14): the evaluation of each of the three
sweeps, in process CPU time on one core, against a *lean closed-form baseline* written here
(:func:`lean_closed_form`): the field Jacobian and the map's 2x2 Jacobian by hand, then
``rho`` and the verdict from trace and determinant, in cache-sized blocks, nothing else. It
is timed in the same run, so the ratio is what counts on a shared machine. Targets: the
sweep at >= 1e7 points/s, within 3x of the baseline. The sweep's verdicts are also compared
with the baseline's (they agree except where the baseline's simpler tolerance rule differs,
at neutral points) and with the reference path (``closed_form=False``) on a 300 x 300 grid.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = [  # name, method, regs, grid's second axis
    ("Sim-GDA", "sim", ["r1"], "r1.gamma"),
    ("Alt-GDA", "alt", ["r1"], "r1.gamma"),
    ("JARE", "jare", [], "jare.gamma"),
]


def grid(n: int, second: str) -> str:
    return f"eta=1e-3:2:{n}:log,{second}=0:20:{n}"


def loop_analyze(method: str, regs, second: str, points) -> float:
    """Points per second of make_game + analyze_method per point."""
    from stabcheck.analysis import analyze_method
    from stabcheck.games import make_game
    from stabcheck.methods import make_method

    t = time.perf_counter()
    for eta, g in points:
        if second == "r1.gamma":
            game = make_game("dirac", "wgan", regs=[f"r1:gamma={g!r}"])
            m = make_method(method)
        else:
            game = make_game("dirac", "wgan")
            m = make_method(f"{method}:gamma={g!r}")
        analyze_method(game, m, float(eta))
    return len(points) / (time.perf_counter() - t)


def loop_numeric(method: str, regs, second: str, points) -> float:
    """Points per second of the leanest per-point loop (field Jacobian cached per gamma)."""
    from stabcheck.games import make_game
    from stabcheck.linearize import linear_map_matrix, numeric_verdict_matrix, spectral_radius
    from stabcheck.methods import make_method

    t = time.perf_counter()
    cache = {}
    for eta, g in points:
        if g not in cache:
            if second == "r1.gamma":
                m = make_method(method)
                f = m.field(make_game("dirac", "wgan", regs=[f"r1:gamma={g!r}"]))
            else:
                m = make_method(f"{method}:gamma={g!r}")
                f = m.field(make_game("dirac", "wgan"))
            cache[g] = (m, f.jacobian_numeric())
        m, J = cache[g]
        A = linear_map_matrix(m.rule, J, float(eta), 1)
        numeric_verdict_matrix(A)
        spectral_radius(A)
    return len(points) / (time.perf_counter() - t)


def _timing(r, phase: str, key: str) -> float:
    """``r.info["timing"][phase][key]`` (``setup`` / ``evaluate``; ``wall_s`` / ``cpu_s``)."""
    return float(r.info["timing"][phase][key])


def lean_closed_form(method: str, n: int, block: int = 8192, tol: float = 1e-9):
    """rho and verdict codes of the n x n grid (eta log-spaced in [1e-3, 2], gamma in [0, 20])
    on the WGAN Dirac-GAN (``L = psi theta``; R1 adds ``-gamma/2 psi^2`` to the discriminator's
    loss), by hand: N = A - I of the 2x2 map, then closed forms. The verdict: diverges if
    ``G = rho^2 - 1 > tol max|mu|``, converges if ``G < -tol max|mu|``, else neutral."""
    etas = np.geomspace(1e-3, 2.0, n)
    gammas = np.linspace(0.0, 20.0, n)
    total = n * n
    rho = np.empty(total)
    codes = np.empty(total, dtype=np.int8)
    for s in range(0, total, block):
        e = min(s + block, total)
        k = np.arange(s, e)
        eta, g = etas[k // n], gammas[k % n]
        if method == "sim":  # J = [[0, -1], [1, -g]], A = I + eta J
            a, b, c, d = 0.0, -eta, eta, -eta * g
        elif method == "alt":  # discriminator first: A = [[1 - eta^2, -eta (1 - eta g)], [eta, 1 - eta g]]
            a, b, c, d = -eta * eta, -eta * (1.0 - eta * g), eta, -eta * g
        else:  # jare: J = [[-g, -1], [1, -g]], A = I + eta J
            a, b, c, d = -eta * g, -eta, eta, -eta * g
        t2 = 0.5 * (a + d)
        q = t2 * t2 - (a * d - b * c)
        h = np.sqrt(np.abs(q))
        u = np.abs(1.0 + t2)
        r2 = np.where(q >= 0, (u + h) ** 2, u * u - q)
        G = r2 - 1.0
        m = np.abs(t2) + h  # max |mu|
        codes[s:e] = np.where(G > tol * m, 2, np.where(G < -tol * m, 0, 1))
        rho[s:e] = np.sqrt(r2)
    return rho, codes


#: block sizes tried for the lean baseline (the best counts)
LEAN_BLOCKS = (8192, 65536)


def closed_form_target(n: int, repeats: int = 3) -> list:
    """Sweep evaluation vs the lean baseline (process CPU time, best of ``repeats``)."""
    from stabcheck.sweep import sweep

    rows = []
    for label, method, regs, second in CASES:
        best_sweep = best_lean = float("inf")
        for _ in range(repeats):
            r = sweep("dirac", "wgan", method, grid(n, second), regs=regs)
            best_sweep = min(best_sweep, _timing(r, "evaluate", "cpu_s"))  # evaluation only (serial executor)
            for block in LEAN_BLOCKS:  # the baseline at its best block size
                t = time.process_time()
                rho_l, codes_l = lean_closed_form(method, n, block)
                best_lean = min(best_lean, time.process_time() - t)
        same = float(np.mean(r.codes.reshape(-1) == codes_l))
        rel = float(np.max(np.abs(r.spectral_radius.reshape(-1) - rho_l) / np.maximum(1.0, rho_l)))
        small = grid(300, second)
        fast = sweep("dirac", "wgan", method, small, regs=regs)
        ref = sweep("dirac", "wgan", method, small, regs=regs, closed_form=False)
        row = {"method": label, "grid": grid(n, second), "sweep_eval_cpu_s": best_sweep,
               "sweep_points_per_cpu_s": n * n / best_sweep, "lean_cpu_s": best_lean,
               "lean_points_per_cpu_s": n * n / best_lean, "ratio_lean_over_sweep_speed": best_sweep / best_lean,
               "verdicts_equal_to_lean": same, "rho_max_rel_diff_to_lean": rel,
               "verdicts_equal_to_reference_300": bool(np.array_equal(fast.codes, ref.codes)),
               "rho_max_rel_diff_to_reference_300": float(np.max(np.abs(fast.spectral_radius - ref.spectral_radius)
                                                                 / np.maximum(1.0, ref.spectral_radius))),
               "target_1e7_met": n * n / best_sweep >= 1e7, "target_within_3x_met": best_sweep / best_lean <= 3.0}
        rows.append(row)
        print(f"{label:8s} closed-form target {n}x{n}: sweep {n * n / best_sweep:9.3g} pts/CPU-s | lean baseline "
              f"{n * n / best_lean:9.3g} pts/CPU-s | ratio {best_sweep / best_lean:4.2f}x | verdicts = lean "
              f"{100 * same:.4f}%, = reference (300x300) {row['verdicts_equal_to_reference_300']}", flush=True)
    return rows


_SETUP_SCRIPT = r"""
import json, sys, time
c0 = time.process_time()
import numpy as np
from stabcheck.sweep import sweep
c1 = time.process_time()
import sympy  # the sweep's exact set-up needs it; stabcheck imports it on first use
import stabcheck.games
c2 = time.process_time()
r = sweep("gaussian", "bce", "conopt", "eta=1e-3:2:300:log,conopt.gamma=0:20:300",
          params={"dim": 4, "mean": [0.0, 0.0, 0.0, 4.0], "sigma2": 0.04})
np.savez(sys.argv[1], rho=r.spectral_radius, codes=r.codes)
t = r.info["timing"]
print(json.dumps({"import_cpu_s": c1 - c0, "import_sympy_games_cpu_s": c2 - c1, "setup_cpu_s": t["setup"]["cpu_s"], "setup_wall_s": t["setup"]["wall_s"],
                  "evaluate_cpu_s": t["evaluate"]["cpu_s"], "total_cpu_s": time.process_time() - c0,
                  "counts": r.counts()}))
"""


def setup_target(baseline: bool) -> dict:
    """Cold set-up (fresh process) of the Gaussian dim-4 BCE ConOpt 300 x 300 sweep
    (``--mean 0,0,0,4 --sigma2 0.04``, ``eta x conopt.gamma``): set-up CPU seconds (the
    sweep's own, after the imports, which are timed separately) with the equilibrium shortcut, and (``baseline``) with ``STABCHECK_FULL_JACOBIAN=1`` (the transformed
    field differentiated symbolically, as before) in the same run; verdicts compared."""
    import subprocess
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, env_full in (("shortcut", False), ("full_differentiation", True)):
            if env_full and not baseline:
                continue
            env = dict(os.environ, STABCHECK_FULL_JACOBIAN="1" if env_full else "0")
            npz = str(Path(tmp) / f"{label}.npz")
            res = subprocess.run([sys.executable, "-c", _SETUP_SCRIPT, npz], capture_output=True, text=True,
                                 env=env, check=True)
            out[label] = json.loads(res.stdout.strip().splitlines()[-1])
            out[label]["_npz"] = npz
        if "full_differentiation" in out:
            a, b = np.load(out["shortcut"]["_npz"]), np.load(out["full_differentiation"]["_npz"])
            out["verdicts_identical"] = bool(np.array_equal(a["codes"], b["codes"]))
            out["rho_max_rel_diff"] = float(np.max(np.abs(a["rho"] - b["rho"]) / np.maximum(1.0, b["rho"])))
            out["setup_speedup"] = out["full_differentiation"]["setup_cpu_s"] / out["shortcut"]["setup_cpu_s"]
        for v in out.values():
            if isinstance(v, dict):
                v.pop("_npz", None)
    out["target_under_1_cpu_s_met"] = out["shortcut"]["setup_cpu_s"] < 1.0
    s = out["shortcut"]
    line = (f"Gaussian dim 4 BCE conopt 300x300, cold: set-up {s['setup_cpu_s']:.2f} CPU-s "
            f"(before it: import stabcheck.sweep {s['import_cpu_s']:.2f}, sympy + games "
            f"{s['import_sympy_games_cpu_s']:.2f}; evaluation {s['evaluate_cpu_s']:.2f})")
    if "full_differentiation" in out:
        f = out["full_differentiation"]
        line += (f" | differentiating the transformed field: {f['setup_cpu_s']:.2f} CPU-s "
                 f"({out['setup_speedup']:.0f}x) | verdicts identical {out['verdicts_identical']}, "
                 f"rho max rel diff {out['rho_max_rel_diff']:.1e}")
    print(line, flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="grid side (n x n points; default 1000)")
    p.add_argument("--baseline-points", type=int, default=40, help="points timed in the analyze loop")
    p.add_argument("--numeric-points", type=int, default=20000, help="points timed in the numeric loop")
    p.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="local Dask worker counts")
    p.add_argument("--chunk", type=int, default=None, help="points per task (default: the sweep's)")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--target-only", action="store_true", help="only the closed-form target (no loops, no Dask)")
    p.add_argument("--setup", action="store_true", help="also the Gaussian dim-4 conopt set-up target")
    p.add_argument("--setup-baseline", action="store_true",
                   help="with --setup: also the old set-up (full symbolic differentiation; 10-60 s)")
    args = p.parse_args(argv)
    from stabcheck.sweep import DEFAULT_CHUNK, sweep

    chunk = args.chunk or DEFAULT_CHUNK
    rng = np.random.default_rng(0)
    n = args.n
    out = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "numpy": np.__version__, "platform": platform.platform(),
                       "loadavg_start": list(os.getloadavg())},
           "n": n, "points": n * n, "chunk": chunk, "cases": [], "dask": []}
    out["closed_form_target"] = closed_form_target(n)
    if args.setup:
        out["setup_target"] = setup_target(args.setup_baseline)
    if args.target_only:
        out["machine"]["loadavg_end"] = list(os.getloadavg())
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        return 0
    results = {}
    for label, method, regs, second in CASES:
        t = time.perf_counter()
        r = sweep("dirac", "wgan", method, grid(n, second), regs=regs, chunk=chunk)
        wall = time.perf_counter() - t
        results[method] = r
        etas = r.axes[0].values
        gs = r.axes[1].values
        pts = [(float(etas[i]), float(gs[j])) for i, j in zip(rng.integers(0, n, args.baseline_points),
                                                 rng.integers(0, n, args.baseline_points))]
        pps_an = loop_analyze(method, regs, second, pts)
        npts = [(float(etas[i]), float(gs[j])) for i, j in zip(rng.integers(0, n, args.numeric_points),
                                                  rng.integers(0, min(n, 50), args.numeric_points))]
        pps_num = loop_numeric(method, regs, second, npts)
        pps = n * n / wall
        row = {"method": label, "grid": grid(n, second), "sweep_wall_s": wall, "sweep_points_per_s": pps,
               "setup_s": r.info["timing"]["setup"]["wall_s"],
               "loop_analyze_points_per_s": pps_an, "loop_analyze_extrapolated_s": n * n / pps_an,
               "speedup_vs_analyze_loop": pps / pps_an,
               "loop_numeric_points_per_s": pps_num, "speedup_vs_numeric_loop": pps / pps_num,
               "counts": r.counts()}
        out["cases"].append(row)
        print(f"{label:8s} sweep {n}x{n}: {wall:7.2f} s ({pps:9.3g} pts/s) | analyze loop {pps_an:7.3g} pts/s "
              f"(x{pps / pps_an:8.0f}) | numeric loop {pps_num:7.3g} pts/s (x{pps / pps_num:6.1f})", flush=True)

    if args.workers:
        from stabcheck.executors import get_executor

        base = results["jare"]
        for w in args.workers:
            t = time.perf_counter()
            ex = get_executor("dask", workers=w)
            start = time.perf_counter() - t
            try:
                sweep("dirac", "wgan", "jare", grid(8, "jare.gamma"), executor=ex)  # warm the workers
                t = time.perf_counter()
                r = sweep("dirac", "wgan", "jare", grid(n, "jare.gamma"), executor=ex, chunk=chunk)
                wall = time.perf_counter() - t
            finally:
                ex.close()
            same = bool(np.array_equal(r.spectral_radius, base.spectral_radius) and np.array_equal(r.codes, base.codes))
            out["dask"].append({"workers": w, "cluster_start_s": start, "sweep_wall_s": wall,
                                "points_per_s": n * n / wall, "identical_to_serial": same,
                                "tasks": r.info["tasks"]})
            print(f"dask {w} worker(s): start {start:5.2f} s, JARE sweep {wall:6.2f} s "
                  f"({n * n / wall:9.3g} pts/s), identical to serial: {same}", flush=True)
        serial = next(c for c in out["cases"] if c["method"] == "JARE")["sweep_wall_s"]
        print(f"(serial JARE sweep: {serial:.2f} s)")
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
