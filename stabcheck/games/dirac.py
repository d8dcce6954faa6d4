"""The Dirac-GAN (Mescheder et al. 2018, section 2.2; thesis section 3.1).

Real data ``delta_0``, generator ``delta_theta``, linear discriminator. In Mescheder's
convention (the default) ``D(x) = psi * x`` and ``L(theta, psi) = f(psi*theta) + f(0)``; in
the thesis's convention (``--convention thesis``) the same game reads with ``psi -> -psi``
(WGAN: ``L = -psi*theta``). The unique equilibrium is ``(0, 0)``.
"""

from __future__ import annotations

import sympy as sp

from stabcheck.games.base import Game
from stabcheck.games.gan import GaussianGanStructure, check_loss


def dirac_game(loss: str = "wgan", convention: str = "mescheder") -> Game:
    """Build the Dirac-GAN with the given loss.

    >>> g = dirac_game("wgan")
    >>> g.L_D
    psi*theta
    >>> dirac_game("wgan", convention="thesis").L_D
    -psi*theta
    """
    loss = check_loss(loss)
    theta, psi = sp.Symbol("theta", real=True), sp.Symbol("psi", real=True)
    zero = sp.zeros(1, 1)
    st = GaussianGanStructure(theta=[theta], psi=[psi], mu_real=[sp.Integer(0)], cov_real=zero,
                              mu_fake=[theta], cov_fake=zero, loss=loss,
                              sign=1 if convention == "thesis" else -1)
    L_G, L_D = st.losses()
    return Game(name="dirac", loss=loss, params={}, theta=[theta], psi=[psi], L_G=L_G, L_D=L_D,
                equilibrium=[sp.Integer(0), sp.Integer(0)], convention=convention, structure=st,
                description="Dirac-GAN (Mescheder et al. 2018)")
