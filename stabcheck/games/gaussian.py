"""The isotropic-Gaussian linear GAN (Nie & Patel 2019, section 4).

Real data ``x ~ N(v, s2 I_n)``, latent ``z ~ N(0, s2 I_n)``, generator ``G(z) = phi + z``,
discriminator ``D(x) = psi^T x`` (Nie & Patel call the discriminator's parameter theta and the
generator's phi; stabcheck's ``theta`` is their ``phi``). Objective
``f = E[g1(D(x))] + E[g2(D(G(z)))]`` in the real-high (thesis) convention, which is the
default here. Equilibrium ``(phi*, psi*) = (v, 0)``.

Expectations are exact: ``D`` of a Gaussian is Gaussian, so each is a one-dimensional
Gaussian expectation along ``psi^T x`` (Gauss-Hermite numerically, exact at the equilibrium).
"""

from __future__ import annotations

from typing import Sequence

import sympy as sp

from stabcheck.errors import BadInput
from stabcheck.games.base import Game, exact
from stabcheck.games.gan import GaussianGanStructure, check_loss


def gaussian_game(loss: str = "bce", mean: Sequence[float] = (1.0,), sigma2: float = 1.0,
                  convention: str = "thesis") -> Game:
    """Build Nie & Patel's Gaussian game of dimension ``len(mean)``.

    Parameters
    ----------
    mean : sequence of float
        The real data mean ``v`` (its length is the dimension n).
    sigma2 : float
        The common variance ``sigma^2 > 0`` of the data and the latent noise.
    """
    loss = check_loss(loss)
    n = len(mean)
    if n < 1:
        raise BadInput("--mean needs at least one component")
    s2 = exact(sigma2)
    if not s2 > 0:
        raise BadInput(f"--sigma2 must be > 0, got {sigma2}")
    v = [exact(m) for m in mean]
    theta = list(sp.symbols(f"theta1:{n + 1}", real=True)) if n > 1 else [sp.Symbol("theta", real=True)]
    psi = list(sp.symbols(f"psi1:{n + 1}", real=True)) if n > 1 else [sp.Symbol("psi", real=True)]
    cov = s2 * sp.eye(n)
    st = GaussianGanStructure(theta=theta, psi=psi, mu_real=v, cov_real=cov, mu_fake=list(theta),
                              cov_fake=cov, loss=loss, sign=1 if convention == "thesis" else -1)
    L_G, L_D = st.losses()
    return Game(name="gaussian", loss=loss,
                params={"dim": n, "mean": [float(m) for m in mean], "sigma2": float(sigma2)},
                theta=theta, psi=psi, L_G=L_G, L_D=L_D, equilibrium=v + [sp.Integer(0)] * n,
                convention=convention, structure=st,
                description="isotropic-Gaussian linear GAN (Nie & Patel 2019, sec. 4)")
