"""Benchmark: a 1000 x 1000 (eta, momentum) sweep of Alt-GDA on the WGAN Dirac-GAN.

    python benchmarks/bench_sweep_momentum.py            # n = 1000, a minute or two
    python benchmarks/bench_sweep_momentum.py --n 300

Two timings in one run (the machine is shared and noisy: compare the ratio, not the seconds):

* ``stabcheck.sweep.sweep`` with method ``alt`` and grid ``eta=...,momentum=...`` (serial
  executor, symbolic set-up included): the engine runs the rule's own code with the heavy-ball
  optimizer on stacked identity states, points grouped by momentum value, then batched
  ``eigvals`` and the verdict rule;
* a lean numpy baseline written here for the same map: the 4x4 Alt-GDA-with-momentum Jacobian
  (state ``(theta, psi, u_theta, u_psi)``, discriminator first) written out by hand and
  filled for all points at once, then one batched ``eigvals`` and ``max |l|``.

Both give the spectral radius of every point; the benchmark checks that they agree (relative
1e-10) and reports points per second and the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def lean_alt_momentum_rho(eta: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Spectral radius of Alt-GDA (discriminator first) with heavy-ball momentum on the WGAN
    Dirac-GAN (Mescheder convention, v = (-psi, theta)), for arrays ``eta``, ``beta``.

    State (theta, psi, u_t, u_p). Discriminator: u_p' = b u_p + e theta, psi' = psi + u_p'.
    Generator (sees psi'): u_t' = b u_t - e psi', theta' = theta + u_t'.
    """
    e, b = np.broadcast_arrays(np.asarray(eta, float), np.asarray(beta, float))
    e, b = e.reshape(-1), b.reshape(-1)
    B = e.size
    A = np.zeros((B, 4, 4))
    # psi' = psi + b u_p + e theta ; u_p' = b u_p + e theta
    A[:, 1, 0], A[:, 1, 1], A[:, 1, 3] = e, 1.0, b
    A[:, 3, 0], A[:, 3, 3] = e, b
    # u_t' = b u_t - e psi' ; theta' = theta + u_t'
    A[:, 2, 2] = b
    A[:, 2, :] -= e[:, None] * A[:, 1, :]
    A[:, 0, :] = A[:, 2, :]
    A[:, 0, 0] += 1.0
    return np.max(np.abs(np.linalg.eigvals(A)), axis=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="grid points per axis (default 1000)")
    args = ap.parse_args(argv)
    n = args.n
    from stabcheck.sweep import sweep

    t0 = time.perf_counter()
    r = sweep("dirac", "wgan", "alt", [f"eta=0.001:2.5:{n},momentum=-0.99:0.99:{n}"])
    t_sweep = time.perf_counter() - t0
    E, Bm = np.meshgrid(r.axes[0].values, r.axes[1].values, indexing="ij")
    t0 = time.perf_counter()
    rho_lean = lean_alt_momentum_rho(E, Bm).reshape(n, n)
    t_lean = time.perf_counter() - t0
    err = float(np.max(np.abs(r.spectral_radius - rho_lean) / rho_lean))
    pts = n * n
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Alt-GDA + momentum, WGAN Dirac-GAN, {n} x {n} = {pts:,} points "
          f"({platform.processor() or platform.machine()}, load average {load:.1f})")
    print("| path | seconds | points/s |")
    print("|---|---|---|")
    print(f"| stabcheck sweep (set-up included) | {t_sweep:.2f} | {pts / t_sweep:.3g} |")
    print(f"| lean numpy baseline (same 4x4 map) | {t_lean:.2f} | {pts / t_lean:.3g} |")
    print(f"ratio sweep / baseline time: {t_sweep / t_lean:.2f}; max relative difference of rho: {err:.1e}")
    if err > 1e-10:
        print("MISMATCH between the sweep and the baseline")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
