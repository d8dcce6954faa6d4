"""Dirac-GAN trajectories (Mescheder et al. 2018, Figs. 1-3): Sim, Alt, WGAN, instance noise, R1.

Regenerates docs/figures/mescheder_trajectories.png:
``python analyses/mescheder_trajectories.py [--quick] [--outdir DIR]``.

Each panel shows the Dirac-GAN's field ``v(theta, psi)`` (arrows; Mescheder convention
``L = f(psi*theta) + f(0)``, theta = generator, psi = discriminator) and the trajectory of one
method from ``x0 = (1, 1)`` with ``eta = 0.1`` (one step = one application of the method's map;
Alt-GDA = one discriminator step, then one generator step). The title gives the spectral radius
of the map's Jacobian at the equilibrium (``stabcheck analyze``), so the picture and the
linear analysis can be read side by side:

* BCE, Sim-GDA: eigenvalues ``1 +- i eta/2``, rho > 1 - slowly spirals out.
* BCE, Alt-GDA: eigenvalues on the unit circle (neutral) - cycles.
* WGAN, Sim-GDA / Alt-GDA: the same, faster (``f'(0) = 1``).
* BCE + instance noise (sigma = 0.7) and BCE + R1 (gamma = 0.3), Sim-GDA: rho < 1 - converges.
"""

from __future__ import annotations

import numpy as np

from _common import parse_args, pyplot, save, trajectory

ETA = 0.1
X0 = (1.0, 1.0)
PANELS = [  # (title, loss, regularizers, method)
    ("BCE, Sim-GDA", "bce", [], "sim"),
    ("BCE, Alt-GDA", "bce", [], "alt"),
    ("WGAN, Sim-GDA", "wgan", [], "sim"),
    ("WGAN, Alt-GDA", "wgan", [], "alt"),
    ("BCE + instance noise (sigma=0.7), Sim", "bce", ["noise:sigma=0.7"], "sim"),
    ("BCE + R1 (gamma=0.3), Sim-GDA", "bce", ["r1:gamma=0.3"], "sim"),
]


def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    from stabcheck.analysis import analyze_method
    from stabcheck.fields import game_field
    from stabcheck.games import make_game
    from stabcheck.methods import make_method

    steps = 60 if args.quick else 600
    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(9.0, 6.0))
    g1, g2 = np.meshgrid(np.linspace(-2.2, 2.2, 15), np.linspace(-2.2, 2.2, 15))
    for ax, (title, loss, regs, method) in zip(axes.ravel(), PANELS):
        game = make_game("dirac", loss, regs=regs)
        V = game_field(game).numpy(np.stack([g1, g2], axis=-1))
        ax.quiver(g1, g2, V[..., 0], V[..., 1], color="0.6", width=0.003, angles="xy")
        X = trajectory(game, method, ETA, X0, steps)
        X = X[np.all(np.abs(X) < 1e3, axis=1)]
        ax.plot(X[:, 0], X[:, 1], color="C3", lw=1.0)
        ax.plot([X0[0]], [X0[1]], "o", color="C3", ms=3)
        ax.plot([0], [0], "k*", ms=6)
        entry = analyze_method(game, make_method(method), ETA)
        ax.set_title(f"{title}\nrho = {entry['spectral_radius']:.5f} ({entry['verdict']})")
        ax.set_xlim(-2.2, 2.2)
        ax.set_ylim(-2.2, 2.2)
        ax.set_xlabel("theta (generator)")
        ax.set_ylabel("psi (discriminator)")
        ax.set_aspect("equal")
    fig.suptitle(f"Dirac-GAN, eta = {ETA}, {steps} steps from (1, 1) (Mescheder convention)", fontsize=9)
    save(fig, __import__("pathlib").Path(args.outdir) / "mescheder_trajectories.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
