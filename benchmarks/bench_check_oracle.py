"""Examples per second of ``check-oracle``'s search: the numpy engine vs. the Hypothesis one.

Both fuzz the Dirac oracle on the WGAN Dirac-GAN (thesis convention), eta in [1e-3, 0.5],
1000-step trajectories, properties bounded, lyapunov (H) and never_v3, measured in the same
run (process CPU time and wall time):

* numpy (the default, ``--search numpy``): :func:`stabcheck.check_oracle.search_numpy` - one
  Hypothesis example draws a seed, numpy draws a block of 8192 (x0, eta) with the strategies'
  distributions, and :func:`stabcheck.testing.stream.stream_failures` runs the block with the
  states streamed (tested equal, draw by draw, to the reference path);
* hypothesis (the reference, ``--search hypothesis``, what check-oracle did before):
  :func:`stabcheck.check_oracle.search_reference` - Hypothesis draws every (x0, eta), 200 per
  example, run by :func:`stabcheck.testing.run_batch` and the ``*_violations`` functions;
* optionally (``--naive-examples N``) a ``@given`` loop with one draw per example through
  :func:`stabcheck.simulate.simulate`.

Run: ``python benchmarks/bench_check_oracle.py [--examples 40000] [--reference-examples 2000]``.
Targets: >= 10,000 examples/s for the numpy engine (issue 14; on an idle core), and its ratio
to the reference measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=40000, help="draws of the numpy search (default 40000)")
    ap.add_argument("--reference-examples", type=int, default=2000,
                    help="draws of the Hypothesis search (default 2000)")
    ap.add_argument("--naive-examples", type=int, default=0, help="draws of the one-by-one loop (default: skip)")
    ap.add_argument("--steps", type=int, default=1000)
    args = ap.parse_args()

    from hypothesis import HealthCheck, Phase, given, settings

    from stabcheck.check_oracle import Config, _draws, _evaluate, search
    from stabcheck.games import make_game
    from stabcheck.simulate import make_runner
    from stabcheck.testing import run_batch

    game = make_game("dirac", "wgan", convention="thesis")
    runner = make_runner("dirac")
    props = ["bounded", "lyapunov", "never_v3"]
    for e in ("numpy", "hypothesis"):  # warm up (lambdify, imports)
        search(game, runner, Config(max_examples=50, steps=10, engine=e), props, False)

    rows = []
    results = {}
    for engine, n in (("numpy", args.examples), ("hypothesis", args.reference_examples)):
        res, wall, cpu = _timed(lambda: search(game, runner, Config(max_examples=n, steps=args.steps, compare=False,
                                                                    engine=engine), props, False))
        results[engine] = res
        rows.append((engine, res.examples, res.examples / wall, res.examples / cpu))

    if args.naive_examples:
        cfg = Config(steps=args.steps)
        x0s, etas, _ = _draws(game, cfg)
        count = [0]

        @settings(max_examples=args.naive_examples, database=None, deadline=None, derandomize=True,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(x0s, etas)
        def naive(x0, eta):
            tr = run_batch(game, runner, [eta], np.array([x0]), args.steps, vectorised=False)
            for p in props:
                _evaluate(p, game, tr, cfg, runner, False)
            count[0] += 1

        _, wall, cpu = _timed(naive)
        rows.append(("one by one", count[0], count[0] / wall, count[0] / cpu))

    print(f"Dirac oracle, WGAN Dirac-GAN (thesis convention), {args.steps}-step trajectories, "
          f"properties {', '.join(props)}")
    print(f"{'search':12s} {'examples':>9s} {'per s (wall)':>13s} {'per s (CPU)':>12s}")
    for name, n, w, c in rows:
        print(f"{name:12s} {n:9d} {w:13.0f} {c:12.0f}")
    fast, ref = rows[0], rows[1]
    print(f"numpy / hypothesis: {fast[3] / ref[3]:.1f}x (CPU), {fast[2] / ref[2]:.1f}x (wall)")
    print(f"target >= 10,000 examples/s (CPU): {'PASS' if fast[3] >= 1e4 else 'FAIL'} ({fast[3]:.0f}/s)")
    fr = {p: results['numpy'].failures[p] / results['numpy'].examples for p in props}
    rr = {p: results['hypothesis'].failures[p] / results['hypothesis'].examples for p in props}
    print("failing fraction numpy / hypothesis: "
          + ", ".join(f"{p} {fr[p]:.3f} / {rr[p]:.3f}" for p in props))


if __name__ == "__main__":
    main()
