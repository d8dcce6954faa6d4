"""Nie & Patel (2019), Figure 1: SimGD vs ConOpt vs JARE on the isotropic-Gaussian GAN.

Regenerates docs/figures/nie_patel_figure1.png:
``python analyses/nie_patel_figure1.py [--quick] [--outdir DIR]``.

The paper's setting (section 7, "Isotropic Gaussian"): n = 2, real data ``N(v, sigma^2 I)``
with ``v = [0, mu]^T``, ``mu = 4``, ``sigma^2 = 0.04``; vanilla GAN loss (``g1(t) = g2(-t) =
-log(1 + e^-t)``: stabcheck's ``bce`` in the thesis / Nie & Patel convention); step size
``eta = 0.001``; ``gamma = 10`` for ConOpt and JARE; 15,000 iterations; start within
``B_delta(w*)`` with ``delta = 0.05``.

One deliberate difference: the paper runs SGD on batches of 128 samples; stabcheck runs the
*deterministic* dynamics (exact expectations over the Gaussians, as in the paper's analysis),
so the curves are the noise-free version of the paper's. The start is one point drawn
uniformly in the ball of radius 0.05 around ``w* = (v, 0)`` (seed 0), the same for the three
methods. Plotted: ``d_norm = ||psi_k - psi*||`` (discriminator) and ``g_norm = ||theta_k -
theta*||`` (generator) against iterations, as in the paper's panels (a) and (b).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from _common import parse_args, pyplot, save, trajectory

MU, SIGMA2, ETA, GAMMA, STEPS, DELTA = 4.0, 0.04, 0.001, 10.0, 15000, 0.05
METHODS = [("SimGD", "sim"), (f"ConOpt (gamma={GAMMA:g})", f"conopt:gamma={GAMMA:g}"),
           (f"JARE (gamma={GAMMA:g})", f"jare:gamma={GAMMA:g}")]


def start_point(seed: int = 0) -> np.ndarray:
    """``w* + u`` with ``u`` uniform in the 4-D ball of radius DELTA."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=4)
    u *= DELTA * rng.uniform() ** 0.25 / np.linalg.norm(u)
    return np.array([0.0, MU, 0.0, 0.0]) + u


def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    from stabcheck.games import make_game

    steps = 300 if args.quick else STEPS
    game = make_game("gaussian", "bce", {"mean": [0.0, MU], "sigma2": SIGMA2})
    x_star = game.equilibrium_numeric
    x0 = start_point()
    plt = pyplot()
    fig, (ax_d, ax_g) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    for (label, method), color in zip(METHODS, ("C0", "C1", "C2")):
        X = trajectory(game, method, ETA, x0, steps) - x_star
        k = np.arange(len(X))
        ax_d.semilogy(k, np.linalg.norm(X[:, 2:], axis=1), color=color, lw=1.0, label=label)
        ax_g.semilogy(k, np.linalg.norm(X[:, :2], axis=1), color=color, lw=1.0, label=label)
    ax_d.set_title("(a) discriminator: d_norm = ||psi - psi*||")
    ax_g.set_title("(b) generator: g_norm = ||theta - theta*||")
    for ax in (ax_d, ax_g):
        ax.set_xlabel("iteration")
        ax.legend(fontsize=7)
    fig.suptitle(f"Gaussian GAN (n = 2, v = [0, {MU:g}], sigma^2 = {SIGMA2:g}, vanilla loss), eta = {ETA:g}, "
                 "deterministic gradients", fontsize=8)
    save(fig, Path(args.outdir) / "nie_patel_figure1.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
