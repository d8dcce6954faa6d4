"""Nie & Patel (2019), Corollary 3: JARE's phase factor and conditioning factor against gamma.

Regenerates docs/figures/nie_patel_corollary3.png:
``python analyses/nie_patel_corollary3.py [--quick] [--outdir DIR]``.

Game: the isotropic-Gaussian GAN of Figure 1 (n = 2, ``v = [0, 4]``, ``sigma^2 = 0.04``,
vanilla loss). For each gamma, the JARE-transformed field's Jacobian at the equilibrium comes
from the engine (``FieldTransform("jare", gamma)``, exact sympy Jacobian with gamma a symbol,
evaluated in float64). The field decouples into the direction orthogonal to ``v``
(coordinates ``(theta1, psi1)``: the paper's ``lambda_{1,2}``, governed by ``sigma^2``) and
the direction of ``v`` (``(theta2, psi2)``: ``lambda_{3,4}``, governed by ``beta^2 = sigma^2 +
||v||^2``); the script checks that the off-block entries are zero.

Plotted against gamma:

* (a) the phase factor ``zeta = |Im/Re|`` of ``lambda_{1,2}`` (the paper's definition) and
  stabcheck's whole-spectrum phase factor (:func:`stabcheck.analysis.field_factors`);
* (b) the conditioning factor ``tau = |lambda_3 / lambda_4|`` (the paper's) and the
  whole-spectrum ``max|lambda| / min|lambda|`` (``field_factors``);
* markers: Theorem 3's closed-form eigenvalues, as an independent check of the engine.

Corollary 3 says zeta decreases in gamma, tau decreases for gamma >= 2, and
``zeta -> 0``, ``tau -> 1`` as gamma grows; the figure lets one see where it holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from _common import parse_args, pyplot, save

MU, SIGMA2 = 4.0, 0.04


def theorem3(gamma: np.ndarray, s2: float, b2: float):
    """Theorem 3's eigenvalues ``(-(c + g) +- sqrt((c + g)^2 - (g^2 + 4))) / 4`` for c = s2, b2."""
    out = []
    for c in (s2, b2):
        disc = (c + gamma) ** 2 - (gamma ** 2 + 4)
        r = np.sqrt(disc.astype(complex))
        out.append(((-(c + gamma) + r) / 4, (-(c + gamma) - r) / 4))
    return out


def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    import sympy as sp

    from stabcheck.analysis import field_factors
    from stabcheck.fields import FieldTransform, game_field
    from stabcheck.games import make_game
    from stabcheck.games.base import lambdify_vector

    n = 25 if args.quick else 400
    gammas = np.concatenate([[0.0], np.geomspace(1e-2, 200.0, n - 1)])
    game = make_game("gaussian", "bce", {"mean": [0.0, MU], "sigma2": SIGMA2})
    g = sp.Symbol("gamma", nonnegative=True)
    J_expr = FieldTransform("jare", g)(game_field(game)).jacobian_exact()
    J = lambdify_vector(list(J_expr), [g], "numpy")(gammas[:, None]).reshape(-1, 4, 4)
    off = J[:, [0, 0, 1, 1, 2, 2, 3, 3], [1, 3, 0, 2, 1, 3, 0, 2]]
    if np.max(np.abs(off)) != 0.0:
        raise SystemExit("the JARE Jacobian does not decouple into the (theta1, psi1) and (theta2, psi2) blocks")
    l12 = np.linalg.eigvals(J[:, [[0], [2]], [[0, 2]]])  # (theta1, psi1) block
    l34 = np.linalg.eigvals(J[:, [[1], [3]], [[1, 3]]])  # (theta2, psi2) block
    zeta_paper = np.max(np.abs(l12.imag / l12.real), axis=1)
    mags = np.sort(np.abs(l34), axis=1)
    tau_paper = mags[:, 1] / mags[:, 0]
    ff = [field_factors(np.linalg.eigvals(Jk)) for Jk in J]
    zeta_all = np.array([np.inf if f["phase_factor"] is None else f["phase_factor"] for f in ff])
    tau_all = np.array([np.inf if f["conditioning_factor"] is None else f["conditioning_factor"] for f in ff])

    b2 = SIGMA2 + MU ** 2
    (t1, t2), (t3, t4) = theorem3(gammas, SIGMA2, b2)
    zeta_th = np.abs(t1.imag / t1.real)
    tau_th = np.maximum(np.abs(t3), np.abs(t4)) / np.minimum(np.abs(t3), np.abs(t4))
    err = max(np.max(np.abs(zeta_th - zeta_paper)), np.max(np.abs(tau_th - tau_paper) / tau_th))
    print(f"max deviation engine vs Theorem 3 closed form: {err:.2e}")

    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    x = np.where(gammas == 0, 1e-3, gammas)  # gamma = 0 drawn at the left edge of the log axis
    sel = slice(None, None, max(1, n // 25))
    a.loglog(x, np.where(zeta_paper > 0, zeta_paper, np.nan), "C0", lw=1.2, label="zeta of lambda_1,2 (paper)")
    a.loglog(x, np.where(zeta_all > 0, zeta_all, np.nan), "C1--", lw=1.0, label="whole spectrum (field_factors)")
    a.loglog(x[sel], np.where(zeta_th > 0, zeta_th, np.nan)[sel], "k.", ms=3, label="Theorem 3 closed form")
    a.set_xlabel("gamma (JARE)")
    a.set_title(f"(a) phase factor zeta (0 beyond gamma = {(4 - SIGMA2 ** 2) / (2 * SIGMA2):.4g})")
    b.loglog(x, tau_paper, "C0", lw=1.2, label="tau = |lambda_3 / lambda_4| (paper)")
    b.loglog(x, tau_all, "C1--", lw=1.0, label="max|l| / min|l| (field_factors)")
    b.loglog(x[sel], tau_th[sel], "k.", ms=3, label="Theorem 3 closed form")
    b.axvline(2.0, color="0.5", lw=0.8, ls=":")
    b.set_xlabel("gamma (JARE)")
    b.set_title("(b) conditioning factor (dotted: gamma = 2)")
    for ax in (a, b):
        ax.legend(fontsize=7)
    fig.suptitle(f"JARE on the Gaussian GAN (v = [0, {MU:g}], sigma^2 = {SIGMA2:g}); gamma = 0 is SimGD, "
                 "drawn at the left edge", fontsize=8)
    save(fig, Path(args.outdir) / "nie_patel_corollary3.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
