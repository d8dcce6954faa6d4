"""Examples per second that ``check-oracle`` sustains: vectorised search vs. a naive per-example loop.

Both fuzz the Dirac oracle on the WGAN Dirac-GAN (thesis convention) with the same Hypothesis
strategies (x0 from ``initial_conditions``, eta log-uniform in [1e-3, 0.5]) and evaluate the
same properties (bounded, lyapunov H, never_v3) on 1000-step trajectories:

* vectorised: :func:`stabcheck.check_oracle.search` (Hypothesis draws batches of 200; each batch
  runs at once in numpy with one step size per start);
* naive: a ``@given`` test with one draw per example, each run by
  :func:`stabcheck.simulate.simulate` (what a user's loop over examples does).

Run: ``python benchmarks/bench_check_oracle.py [--examples 1000] [--naive-examples 100]``.
The target is a ratio >= 10.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=1000)
    ap.add_argument("--naive-examples", type=int, default=100)
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
    cfg = Config(max_examples=args.examples, steps=args.steps, compare=False)
    search(game, runner, Config(max_examples=50, steps=10), props, False)  # warm up (lambdify, imports)

    t = time.perf_counter()
    res = search(game, runner, cfg, props, False)
    vec = res.examples / (time.perf_counter() - t)

    x0s, etas, _ = _draws(game, cfg)
    count = [0]

    @settings(max_examples=args.naive_examples, database=None, deadline=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(x0s, etas)
    def naive(x0, eta):
        tr = run_batch(game, runner, [eta], np.array([x0]), args.steps, vectorised=False)  # simulate() per draw
        for p in props:
            _evaluate(p, game, tr, cfg, runner, False)
        count[0] += 1

    t = time.perf_counter()
    naive()
    nai = count[0] / (time.perf_counter() - t)
    print(f"Dirac oracle, WGAN Dirac-GAN, {args.steps}-step trajectories, properties {', '.join(props)}")
    print(f"vectorised search : {res.examples:5d} examples, {vec:8.1f} examples/s")
    print(f"naive per-example : {count[0]:5d} examples, {nai:8.1f} examples/s")
    print(f"speed-up          : {vec / nai:.1f}x   (target >= 10x: {'PASS' if vec / nai >= 10 else 'FAIL'})")


if __name__ == "__main__":
    main()
