"""The thesis's Figure 6 (DeOliveira 2023, appendix B): Dirac-GAN gradient fields V3, V1, V2
(bottom row) and their norms (top row) for the vanilla (BCE), Wasserstein, and Wasserstein
with a gradient penalty losses; the state is (theta, psi) in the thesis's convention.

The gradient penalty here is R1 (``-gamma/2 ||grad_x D||^2``, gamma = 1): with the linear
discriminator of the Dirac-GAN, ``grad_x D = psi`` everywhere; WGAN-GP's ``(||grad D|| - 1)^2``
is not a built-in regularizer (stated in the figure's label).

Writes docs/figures/figure6.png. Run from the repo root:
``python analyses/figure6.py [--quick] [--outdir DIR]`` (``--quick`` is the same figure; it is cheap).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parse_args, readable  # noqa: E402

from stabcheck.games import make_game  # noqa: E402
from stabcheck.plots import field_grid_figure  # noqa: E402


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    games = [make_game("dirac", "bce", convention="thesis"),
             make_game("dirac", "wgan", convention="thesis"),
             make_game("dirac", "wgan", regs=["r1:gamma=1"], convention="thesis")]
    labels = ["BCE", "WGAN", "WGAN+R1 (gamma=1; stands in for GP)"]
    out = Path(args.outdir) / "figure6.png"
    field_grid_figure(games, labels, out)
    readable(out)


if __name__ == "__main__":
    main()
