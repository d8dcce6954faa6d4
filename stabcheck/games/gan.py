"""GAN games with a linear discriminator and Gaussian (or point-mass) data.

``L = E_{x ~ N(mu_r, S_r)}[g_real(D(x))] + E_{y ~ N(mu_f(theta), S_f)}[g_fake(D(y))]``

written in the *real-high* orientation ``D(x) = s * psi^T x`` (``s = +1`` in the thesis /
Nie & Patel convention, where the discriminator scores real data high; ``s = -1`` in
Mescheder's convention, where ``D_mescheder(x) = psi^T x`` scores generated data high).
With a linear D, ``D(x)`` of a Gaussian ``x`` is Gaussian, so each expectation is one
:class:`~stabcheck.games.gaussexp.GaussExp` (exact in distribution).

Both the Dirac-GAN (Mescheder et al. 2018: real data ``delta_0``, generator ``delta_theta``)
and the isotropic-Gaussian linear GAN (Nie & Patel 2019, section 4: real ``N(v, s2 I)``,
generator ``phi + z`` with ``z ~ N(0, s2 I)``) are instances.

Losses (``g_real``, ``g_fake``, and the non-saturating generator's ``g_gen``) in the real-high
orientation; in Mescheder's notation ``f(t) = g_fake(-t)``:

=======  =========================  ==========================  ===========================
name     g_real(t)                  g_fake(t)                   Mescheder's f(t)
=======  =========================  ==========================  ===========================
wgan     t                          -t                          t
bce      -log(1+e^-t)               -log(1+e^t)                 -log(1+e^-t)
nsgan    as bce; generator minimizes -E g_real(D(G(z)))  (non-zero-sum)
rkl      -e^-t                      1 - t                       (Nie & Patel's reverse KL)
hinge    min(0, t-1)                min(0, -t-1)                min(0, t-1) (zero-sum form)
=======  =========================  ==========================  ===========================
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np
import sympy as sp

from stabcheck.errors import BadInput
from stabcheck.games.gaussexp import GaussExp

_t = sp.Symbol("t", real=True)


def _lam(expr) -> sp.Lambda:
    return sp.Lambda(_t, expr)


#: loss name -> (g_real, g_fake, g_gen or None), real-high orientation
LOSSES = {
    "wgan": (_lam(_t), _lam(-_t), None),
    "bce": (_lam(-sp.log(1 + sp.exp(-_t))), _lam(-sp.log(1 + sp.exp(_t))), None),
    "nsgan": (_lam(-sp.log(1 + sp.exp(-_t))), _lam(-sp.log(1 + sp.exp(_t))),
              _lam(-sp.log(1 + sp.exp(-_t)))),
    "rkl": (_lam(-sp.exp(-_t)), _lam(1 - _t), None),
    # min(0, u) written as (u - |u|)/2 so that every backend differentiates it
    "hinge": (_lam((_t - 1 - sp.Abs(_t - 1)) / 2), _lam((-_t - 1 - sp.Abs(-_t - 1)) / 2), None),
}


@dataclass
class GaussianGanStructure:
    """The data/discriminator structure of a built-in GAN game (see module docstring).

    Attributes
    ----------
    theta, psi : list of sympy.Symbol
    mu_real : list of sympy.Expr (length d)
    cov_real : sympy.Matrix (d x d)
    mu_fake : list of sympy.Expr in theta (length d)
    cov_fake : sympy.Matrix (d x d)
    loss : str
        Key of :data:`LOSSES`.
    sign : int
        +1: ``D(x) = psi^T x`` scores real data high (thesis convention);
        -1: Mescheder convention.
    noise_var : sympy.Expr
        Instance-noise variance added to both real and generated samples.
    disc_penalties : list of (kind, gamma)
        ``("r1"|"r2", gamma)``: ``-gamma/2 E||grad_x D||^2`` added to ``L_D``.
    gen_gradnorm : sympy.Expr
        Weight of Nagarajan & Kolter's generator term ``gamma * ||grad_psi L_D||^2``.
    """

    theta: list
    psi: list
    mu_real: list
    cov_real: sp.Matrix
    mu_fake: list
    cov_fake: sp.Matrix
    loss: str
    sign: int = 1
    noise_var: sp.Expr = sp.Integer(0)
    disc_penalties: list = field(default_factory=list)
    gen_gradnorm: sp.Expr = sp.Integer(0)

    # -------------------------------------------------------------- losses
    def _D_stats(self, mu, cov):
        psi = sp.Matrix(self.psi)
        mean = self.sign * (psi.T * sp.Matrix(mu))[0, 0]
        var = (psi.T * (cov + self.noise_var * sp.eye(len(mu))) * psi)[0, 0]
        return sp.expand(mean), sp.expand(var)

    def value(self) -> sp.Expr:
        """The zero-sum value ``L`` (without penalties)."""
        g_real, g_fake, _ = LOSSES[self.loss]
        m_r, q_r = self._D_stats(self.mu_real, self.cov_real)
        m_f, q_f = self._D_stats(self.mu_fake, self.cov_fake)
        return GaussExp(g_real, m_r, q_r) + GaussExp(g_fake, m_f, q_f)

    def losses(self) -> tuple[sp.Expr, sp.Expr]:
        """``(L_G, L_D)``."""
        L = self.value()
        psi = sp.Matrix(self.psi)
        L_D = L
        for _kind, gamma in self.disc_penalties:
            # linear D: grad_x D = s * psi everywhere, so R1 (real) and R2 (fake) coincide
            L_D = L_D - gamma / 2 * (psi.T * psi)[0, 0]
        _, _, g_gen = LOSSES[self.loss]
        if g_gen is not None:
            m_f, q_f = self._D_stats(self.mu_fake, self.cov_fake)
            L_G = -GaussExp(g_gen, m_f, q_f)
        else:
            L_G = L
        if self.gen_gradnorm != 0:
            grad = sp.Matrix([sp.diff(L_D, p) for p in self.psi])
            L_G = L_G + self.gen_gradnorm * (grad.T * grad)[0, 0]
        return L_G, L_D

    def flipped(self) -> "GaussianGanStructure":
        return replace(self, sign=-self.sign)

    # -------------------------------------------------------------- data
    def _num(self, exprs, x=None):
        sub = {}
        if x is not None:
            sub = dict(zip(self.theta, [float(v) for v in x[: len(self.theta)]]))
        return np.array([[float(sp.sympify(e).xreplace(sub)) for e in row] for row in exprs], dtype=float)

    def sample_real(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        """``batch`` real samples (without instance noise), shape (batch, d)."""
        mu = self._num([self.mu_real])[0]
        cov = self._num(self.cov_real.tolist())
        return _sample(rng, mu, cov, batch)

    def sample_latent(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        """Latent draws: generated sample = mu_fake(theta) + latent, latent ~ N(0, cov_fake)."""
        cov = self._num(self.cov_fake.tolist())
        return _sample(rng, np.zeros(cov.shape[0]), cov, batch)

    def project(self, x: np.ndarray, real: np.ndarray, latent: np.ndarray):
        """Discriminator outputs ``psi^T y`` (this game's convention) on real and generated data."""
        n = len(self.theta)
        x = np.asarray(x)
        if x.dtype == object:  # mpmath numbers keep their precision
            mu_f = np.array(_mu_fake_fn(tuple(self.theta), tuple(self.mu_fake), "mpmath")(*x[:n]), dtype=object)
            psi = x[n:]
        else:
            x = x.astype(float)
            mu_f = np.asarray(_mu_fake_fn(tuple(self.theta), tuple(self.mu_fake), "numpy")(*x[:n]), dtype=float)
            psi = x[n:]
        fake = mu_f[None, :] + latent
        return real @ psi, fake @ psi


@functools.lru_cache(maxsize=64)
def _mu_fake_fn(theta: tuple, mu_fake: tuple, backend: str):
    """The generator's mean ``mu_fake(theta)`` compiled for a backend (cached)."""
    return sp.lambdify(list(theta), list(mu_fake), modules=backend)


def _sample(rng, mu, cov, batch):
    if not np.any(cov):
        return np.broadcast_to(mu, (batch, mu.size)).copy()
    return rng.multivariate_normal(mu, cov, size=batch)


def check_loss(loss: Optional[str]) -> str:
    if loss is None:
        raise BadInput(f"this system needs --loss; valid losses: {', '.join(LOSSES)}")
    if loss not in LOSSES:
        raise BadInput(f"unknown loss {loss!r}; valid losses: {', '.join(LOSSES)}")
    return loss
