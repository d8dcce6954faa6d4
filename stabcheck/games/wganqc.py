"""WGAN-QC on the Dirac-GAN (Liu et al. 2019, as presented in the Mescheder et al. talk).

The talk's formulation (slide "Regularizing Wasserstein GAN [Liu, 2019]"): solve the optimal
transport problem with quadratic cost ``c(x, y) = |x - y|^2 / 2`` between the generated points
``x_i`` and the real points ``y_j``, get its dual potentials ``H*``; the discriminator
*regresses* onto the potentials and is regularized towards the optimal-transport
displacement; the generator minimizes ``-E D(G(z))``::

    min_psi  1/2 E_real (D(y) - H*_y)^2 + 1/2 E_fake (D(x) - H*_x)^2
             + lambda/2 E_fake GR(x),
    min_theta  -E_fake D(G_theta(z)).

Dirac-GAN instance (real data ``delta_0``, generator ``delta_theta``, ``D(x) = psi * x``):

* one fake point ``x = theta`` and one real point ``y = 0``: the dual constraint
  ``|H_x - H_y| <= theta^2 / 2`` is tight, ``H_y - H_x = theta^2 / 2``; normalized with
  ``H_y = 0`` (the value a bias-free linear ``D`` takes at the real point), so
  ``H_x = -theta^2 / 2``. The OT map sends ``theta`` to ``0``: displacement
  ``y_sigma(x) - x = -theta``. Targets are data for the discriminator (no gradient flows
  through them; ``L_D``'s dependence on theta is never differentiated by the field).
* ``gr="vector"`` (default): ``GR = |grad_x D(x) - (y_sigma(x) - x)|^2 = (psi + theta)^2``,
  the smooth form (Liu et al.'s gradient regularization written on the gradient vector);
* ``gr="norm"``: ``GR = (|grad_x D(x)| - |y_sigma(x) - x|)^2 = (|psi| - |theta|)^2``, the
  form printed on the slide; it is not differentiable at the equilibrium, so its
  linearization there does not exist (stabcheck's exact Jacobian of it is meaningless:
  analyse it by simulation).

The game is written in the real-high orientation (``convention="thesis"``: the discriminator
scores real data high, since ``H_y > H_x``); ``make_game(..., convention="mescheder")`` flips
``psi``. Field (``gr="vector"``): ``v = (psi, -lambda (psi + theta) - theta^2 (psi + theta/2))``;
Jacobian at ``(0, 0)``: ``[[0, 1], [-lambda, -lambda]]``.
"""

from __future__ import annotations

import sympy as sp

from stabcheck.errors import BadInput
from stabcheck.games.base import Game, exact

GR_FORMS = ("vector", "norm")


def wganqc_game(lam=1, gr: str = "vector") -> Game:
    """Build the WGAN-QC Dirac-GAN with gradient-regularization weight ``lam`` (> 0).

    >>> g = wganqc_game(1)
    >>> [sp.expand(e) for e in g.field_expr]
    [psi, -psi*theta**2 - psi - theta**3/2 - theta]
    """
    if gr not in GR_FORMS:
        raise BadInput(f"wgan-qc: unknown gradient-regularization form gr={gr!r}; valid: {', '.join(GR_FORMS)}")
    lam_e = exact(lam)
    if not lam_e >= 0:
        raise BadInput(f"wgan-qc: lam must be >= 0, got {lam}")
    theta, psi = sp.Symbol("theta", real=True), sp.Symbol("psi", real=True)

    def D(x):
        return psi * x

    H_real, H_fake = sp.Integer(0), -theta ** 2 / 2
    displacement = -theta  # y_sigma(theta) - theta
    grad_D = psi  # d/dx D(x)
    if gr == "vector":
        GR = (grad_D - displacement) ** 2
    else:
        GR = (sp.Abs(grad_D) - sp.Abs(displacement)) ** 2
    regression = (D(theta) - H_fake) ** 2 / 2 + (D(sp.Integer(0)) - H_real) ** 2 / 2
    L_D = -(regression + lam_e / 2 * GR)  # the discriminator maximizes L_D = minimizes its loss
    L_G = -D(theta)
    params = {"lam": lam if not isinstance(lam, sp.Basic) else str(lam), "gr": gr}
    return Game(name="wgan-qc", loss="wgan-qc", params=params, theta=[theta], psi=[psi], L_G=L_G, L_D=L_D,
                equilibrium=[sp.Integer(0), sp.Integer(0)], convention="thesis", structure=None,
                description="WGAN-QC Dirac-GAN (Liu et al. 2019; Mescheder talk), D(x) = psi x, "
                            f"{gr}-form gradient regularization")
