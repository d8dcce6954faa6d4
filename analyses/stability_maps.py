"""Stability maps over (eta, gamma) for Sim, Alt, EG, OGDA, JARE and ConOpt on the small games.

Regenerates docs/figures/stability_map_dirac_wgan.png, stability_map_dirac_bce.png and
stability_map_gaussian.png: ``python analyses/stability_maps.py [--quick] [--outdir DIR]``.

Each panel is one ``stabcheck sweep``: the spectral radius of the update map's Jacobian at
the equilibrium over step size ``eta`` (log axis) and a regularization weight ``gamma``:

* Sim-GDA, Alt-GDA (discriminator first), extragradient, optimistic GDA: ``gamma`` is the R1
  penalty ``--reg r1:gamma=...`` (Mescheder et al. 2018; ``gamma = 0`` is the plain game);
* JARE, ConOpt: ``gamma`` is the method's own regularization weight (Nie & Patel 2019, eq. 7;
  Mescheder et al. 2017), on the unregularized game.

Blue: converges, coloured by log10(1 - rho) (lighter = slower, never white); red: diverges,
coloured by log10 rho; grey: neutral (an eigenvalue on the unit circle); pink-violet:
unbounded (a Jordan block on the unit circle); black line: the edge of the converging region.
The six panels of a figure share one colour scale. The Gaussian game is Nie & Patel's Figure 1 setting (n = 2, v = [0, 4],
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
    from stabcheck.plots import draw_sweep_map, sweep_colorbars, sweep_legend, sweep_ranges
    from stabcheck.sweep import sweep

    n_eta, n_gamma = (12, 10) if args.quick else (200, 200)
    plt = pyplot()
    for key, title, system, loss, params, eta_hi in systems(args.quick):
        results = []
        for label, method, gname in METHODS:
            regs = ["r1"] if gname == "r1.gamma" else []
            grid = f"eta=1e-3:{eta_hi}:{n_eta}:log,{gname}=0:20:{n_gamma}"
            results.append(sweep(system, loss, method, grid, regs=regs, params=params))
        lo, hi = sweep_ranges(results)  # one colour scale for the six panels
        fig = plt.figure(figsize=(14.0, 10.0))
        gs = fig.add_gridspec(3, 3, height_ratios=[1, 1, 0.045], hspace=0.42, wspace=0.22)
        present = set()
        for i, ((label, method, gname), r) in enumerate(zip(METHODS, results)):
            ax = fig.add_subplot(gs[i // 3, i % 3])
            drawn = draw_sweep_map(ax, r, conv_lo=lo, div_hi=hi)
            present |= drawn["present"]
            c = r.counts()
            ax.set_title(f"{label}: {100 * c['converges'] / r.size:.0f}% converge", fontsize=10)
        sweep_colorbars(fig, drawn, caxes=(fig.add_subplot(gs[2, 0]), fig.add_subplot(gs[2, 2])))
        sweep_legend(fig, present, loc="lower center", bbox_to_anchor=(0.5, 0.005), ncol=1, fontsize=9,
                     frameon=False)
        fig.suptitle(f"{title}: spectral radius rho of the map's Jacobian at the equilibrium", fontsize=11)
        import warnings

        with warnings.catch_warnings():  # the colorbar row is laid out by the gridspec, not by tight_layout
            warnings.filterwarnings("ignore", "This figure includes Axes that are not compatible", UserWarning)
            save(fig, Path(args.outdir) / f"stability_map_{key}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
