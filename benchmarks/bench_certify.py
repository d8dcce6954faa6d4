"""Benchmark: common quadratic Lyapunov function for 4 random n x n matrices, exact check included.

Run by hand (not in CI)::

    python benchmarks/bench_certify.py [--sizes 2,4,8,16,20,32,64] [--solver clarabel] [--repeats 3]

The four matrices are ``A_i = T^{-1} (0.9 Q_i / ||Q_i||_2) T`` with random ``T`` and ``Q_i``, so
a common quadratic Lyapunov function (``P = T^T T``) exists. For each size the table gives the
median SDP solve time, the median exact-check time, the total (certify_common end to end), and
the ratio of the total to a baseline measured in the same run: one
``scipy.linalg.solve_discrete_lyapunov`` on one of the matrices of the same size. The target
of issue 4 is n = 20 under 2 s in total.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np


def make_matrices(n: int, seed: int = 0, k: int = 4) -> list:
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((n, n)) + 2 * np.sqrt(n) * np.eye(n)
    Ti = np.linalg.inv(T)
    out = []
    for _ in range(k):
        Q = rng.standard_normal((n, n))
        out.append(Ti @ (0.9 * Q / np.linalg.norm(Q, 2)) @ T)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2,4,8,16,20,32,64")
    ap.add_argument("--solver", default="clarabel")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    import scipy
    import scipy.linalg
    import cvxpy

    from stabcheck.certify import common_quadratic

    common_quadratic(make_matrices(2))  # warm-up (imports, cvxpy's first compile)
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"cvxpy {cvxpy.__version__}, solver {a.solver.upper()}")
    print(f"{'n':>4} {'status':>10} {'solve_s':>9} {'exact_s':>9} {'total_s':>9} {'baseline_s':>11} {'ratio':>9}")
    for n in [int(s) for s in a.sizes.split(",")]:
        As = make_matrices(n, seed=n)
        solve, exact, total, base = [], [], [], []
        status = None
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            res = common_quadratic(As, solver=a.solver)
            total.append(time.perf_counter() - t0)
            solve.append(res.solve_time_s)
            exact.append(res.exact_time_s)
            status = res.status
            t0 = time.perf_counter()
            scipy.linalg.solve_discrete_lyapunov(As[0].T, np.eye(n))
            base.append(time.perf_counter() - t0)
        med = statistics.median
        print(f"{n:>4} {status:>10} {med(solve):>9.4f} {med(exact):>9.4f} {med(total):>9.4f} "
              f"{med(base):>11.6f} {med(total) / med(base):>9.0f}", flush=True)
        if n == 20:
            print(f"#   n=20: total {med(total):.3f} s vs target 2 s "
                  f"({'meets' if med(total) < 2 else 'MISSES'} the target; {med(total) / 2:.2f} of it)")


if __name__ == "__main__":
    main()
