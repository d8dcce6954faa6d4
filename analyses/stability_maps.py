"""Stability maps over (eta, gamma) for Sim, Alt, EG, OGDA, JARE and ConOpt on the small games.

Regenerates docs/figures/stability_map_dirac_wgan.png, stability_map_dirac_bce.png and
stability_map_gaussian.png: ``python analyses/stability_maps.py [--quick] [--outdir DIR]``.

Each panel is one ``stabcheck sweep``: the spectral radius of the update map's Jacobian at
the equilibrium over step size ``eta`` (log axis) and a regularization weight ``gamma``:

* Sim-GDA, Alt-GDA (discriminator first), extragradient, optimistic GDA: ``gamma`` is the R1
  penalty ``--reg r1:gamma=...`` (Mescheder et al. 2018; ``gamma = 0`` is the plain game);
* JARE, ConOpt: ``gamma`` is the method's own regularization weight (Nie & Patel 2019, eq. 7;
  Mescheder et al. 2017), on the unregularized game.

Blue: converges (rho < 1), red: diverges, grey: neutral (an eigenvalue on the unit circle);
black line: rho = 1. The Gaussian game is Nie & Patel's Figure 1 setting (n = 2, v = [0, 4],
sigma^2 = 0.04, vanilla loss); ``--quick`` uses its 1-D version (v = 4) and 12 x 10 grids.
Equivalent command for one panel::

    stabcheck sweep --system dirac --loss wgan --method jare --grid eta=1e-3:2:200:log,gamma=0:20:200 --out map.png
"""

from __future__ import annotations

from pathlib import Path

from _common import parse_args, pyplot, save

METHODS = [("Sim-GDA + R1", "sim", "r1.gamma"), ("Alt-GDA + R1", "alt", "r1.gamma"),
           ("Extragradient + R1", "eg", "r1.gamma"), ("Optimistic GDA + R1", "ogda", "r1.gamma"),
           ("JARE", "jare", "jare.gamma"), ("ConOpt", "conopt", "conopt.gamma")]


def systems(quick: bool):
    gauss = {"mean": [4.0] if quick else [0.0, 4.0], "sigma2": 0.04}
    return [("dirac_wgan", "Dirac-GAN, WGAN loss", "dirac", "wgan", {}, 2.0),
            ("dirac_bce", "Dirac-GAN, BCE loss", "dirac", "bce", {}, 2.0),
            ("gaussian", f"Gaussian GAN (v = {gauss['mean']}, sigma^2 = 0.04, vanilla loss)", "gaussian", "bce",
             gauss, 1.0)]


def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    from stabcheck.sweep import sweep

    n_eta, n_gamma = (12, 10) if args.quick else (200, 200)
    plt = pyplot()
    for key, title, system, loss, params, eta_hi in systems(args.quick):
        fig, axes = plt.subplots(2, 3, figsize=(10.5, 6.2))
        for ax, (label, method, gname) in zip(axes.ravel(), METHODS):
            regs = ["r1"] if gname == "r1.gamma" else []
            grid = f"eta=1e-3:{eta_hi}:{n_eta}:log,{gname}=0:20:{n_gamma}"
            r = sweep(system, loss, method, grid, regs=regs, params=params)
            c = r.counts()
            r.plot(ax=ax, title=f"{label}: {100 * c['converges'] / r.size:.0f}% converge", colorbar=True)
        fig.suptitle(title, fontsize=9)
        save(fig, Path(args.outdir) / f"stability_map_{key}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
