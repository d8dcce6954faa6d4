"""Benchmark: common quadratic Lyapunov function for 4 random n x n matrices, exact check included.

Run by hand (not in CI)::

    python benchmarks/bench_certify.py [--sizes 8,16,20,32,48,64,128] [--today-max 32] [--repeats 1]

The four matrices are ``A_i = T^{-1} (0.9 Q_i / ||Q_i||_2) T`` with random ``T`` and ``Q_i``, so
a common quadratic Lyapunov function (``P = T^T T``) exists. For each size the table gives the
rung that answered, the process CPU time and the wall time of ``common_quadratic`` end to end
(the ladder: Stein equation, loose SCS for n >= 24, tight CLARABEL; exact check included), the
exact-check share, and, up to ``--today-max``, "today": the same call with the ladder's cheap
rungs switched off (the tight CLARABEL SDP and the exact check, as before issue 14), measured in
the same run, with the ratio today / ladder. The baseline is one
``scipy.linalg.solve_discrete_lyapunov`` of the same size. Targets (issue 14): n = 64 under
30 s, n = 128 reported, n = 8..48 no slower than today.
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


def _timed(f):
    w, c = time.perf_counter(), time.process_time()
    r = f()
    return r, time.process_time() - c, time.perf_counter() - w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="8,16,20,32,48,64,128")
    ap.add_argument("--solver", default="clarabel")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--today-max", type=int, default=32, help="largest n for the pre-ladder path (n = 48 takes ~1 min)")
    a = ap.parse_args()
    import scipy
    import scipy.linalg
    import cvxpy

    from stabcheck.certify import common_quadratic, ladder

    common_quadratic(make_matrices(2))  # warm-up (imports, cvxpy's first compile)
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"cvxpy {cvxpy.__version__}, solver {a.solver.upper()}; times are medians of {a.repeats}")
    print(f"{'n':>4} {'status':>10} {'rung':>14} {'cpu_s':>8} {'wall_s':>8} {'exact_s':>8} "
          f"{'today_cpu_s':>12} {'today/ladder':>13} {'baseline_s':>11}")
    med = statistics.median
    stein, bal = ladder.stein_candidate, ladder.balance_exponents
    for n in [int(s) for s in a.sizes.split(",")]:
        As = make_matrices(n, seed=n)
        cpu, wall, exact, today, base = [], [], [], [], []
        for _ in range(a.repeats):
            res, c, w = _timed(lambda: common_quadratic(As, solver=a.solver))
            cpu.append(c)
            wall.append(w)
            exact.append(res.exact_wall_s)
            if n <= a.today_max:
                ladder.stein_candidate = lambda *x, **k: None
                ladder.balance_exponents = lambda *x, **k: None
                scs_min = ladder.SCS_LOOSE_MIN_N
                ladder.SCS_LOOSE_MIN_N = 10 ** 9
                try:
                    old, c_old, _ = _timed(lambda: common_quadratic(As, solver=a.solver))
                finally:
                    ladder.stein_candidate, ladder.balance_exponents, ladder.SCS_LOOSE_MIN_N = stein, bal, scs_min
                today.append(c_old)
                assert not (old.certified and not res.certified), "the ladder missed a certificate"
            t0 = time.perf_counter()
            scipy.linalg.solve_discrete_lyapunov(As[0].T, np.eye(n))
            base.append(time.perf_counter() - t0)
        t_s = f"{med(today):>12.3f}" if today else f"{'-':>12}"
        r_s = f"{med(today) / med(cpu):>13.1f}" if today else f"{'-':>13}"
        print(f"{n:>4} {res.status:>10} {str(res.extras.get('rung')):>14} {med(cpu):>8.3f} {med(wall):>8.3f} "
              f"{med(exact):>8.3f} {t_s} {r_s} {med(base):>11.6f}", flush=True)
        if n == 64:
            print(f"#   n=64: {med(cpu):.2f} s CPU ({med(wall):.2f} s wall) vs target 30 s "
                  f"({'meets' if med(wall) < 30 else 'MISSES'} the target)")


if __name__ == "__main__":
    main()
