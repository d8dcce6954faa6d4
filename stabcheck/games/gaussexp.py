"""Gaussian expectations as a differentiable symbolic function.

``GaussExp(g, m, q)`` is ``E_{u ~ N(0,1)}[ g(m + sqrt(q) * u) ]``: the expectation of a
univariate function ``g`` under a normal law with mean ``m`` and variance ``q >= 0``. Built-in
games use it for every expectation over Gaussian data or noise: with a linear discriminator,
``D(x) = psi^T x`` of ``x ~ N(mu, Sigma)`` is ``N(psi^T mu, psi^T Sigma psi)``.

Derivatives follow the heat equation (exact, no quadrature):
``dH/dm = GaussExp(g', m, q)``, ``dH/dq = GaussExp(g'', m, q) / 2``, and ``GaussExp(g, m, 0) = g(m)``.
At an equilibrium of the built-in games the variance argument is 0, so Jacobians there are
exact (sympy) even though the game involves expectations.

Numeric forms. For a standard deviation ``s = sqrt(q) <= 1`` numpy and torch use
Gauss-Hermite quadrature (:data:`N_NODES` nodes; error below 1e-15 for the built-in losses).
For ``s > 1`` the losses' features (the kinks and bends of ``log sigmoid`` and the hinge, at
``|t| <= 1``, with a width of order 1) sit on a scale ``1/s`` in the normalized variable, where
Gauss-Hermite converges slowly (48 nodes err by 1.6e-7 at ``(m, s) = (2, 3)``), so a composite
Gauss-Legendre rule is used on ``u in [-12, 12]`` with breakpoints at ``(k - m) / s`` for
``k in (-8, -1, 0, 1, 8)`` and at ``u in (-6, -3, 0, 3, 6)`` (:data:`PANEL_NODES` nodes a
panel; the Gaussian tail beyond 12 is below 1e-31 of the integrand's scale). Losses with kinks
(``Min``, ``Max``, ``Abs``: the hinge) use the composite rule at every ``s > 0``. mpmath uses adaptive tanh-sinh quadrature
(``mpmath.quad``) split at the same breakpoints, accurate to the working precision. The tests
compare all three with ``mpmath.quad`` at 30 digits for ``|psi|`` up to 10. torch uses the
numpy rule in the forward pass and the heat-equation identities in the backward pass, so
autodiff is well defined at ``q = 0``.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

#: Gauss-Hermite nodes used by the numeric backends (for s = sqrt(q) <= 1)
N_NODES = 48
#: Gauss-Legendre nodes per panel of the composite rule (for s > 1)
PANEL_NODES = 24
#: feature points of the losses in t (kinks, bends); breakpoints of the composite rule
FEATURES = (-8.0, -1.0, 0.0, 1.0, 8.0)
#: the composite rule integrates over |u| <= U_MAX (N(0, 1) mass beyond: < 1e-32)
U_MAX = 12.0
#: fixed breakpoints in u (the Gaussian's own scale)
U_BREAKS = (-6.0, -3.0, 0.0, 3.0, 6.0)


class GaussExp(sp.Function):
    """``E_{u~N(0,1)}[g(m + sqrt(q) u)]`` for a sympy ``Lambda`` g (see module docstring)."""

    nargs = 3

    @classmethod
    def eval(cls, g, m, q):
        if q.is_zero:
            return g(m)
        (t,) = g.variables
        if g.expr.is_polynomial(t):
            # exact: E[(m + sqrt(q) u)^k] from the normal moments E[u^(2j)] = (2j-1)!!
            u = sp.Dummy("u")
            poly = sp.Poly(sp.expand(g.expr.xreplace({t: m + sp.sqrt(q) * u})), u)
            return sp.expand(sum(c * (sp.factorial2(k - 1) if k % 2 == 0 else 0)
                                 for (k,), c in poly.terms()))
        return None

    def fdiff(self, argindex=1):
        g, m, q = self.args
        if argindex == 2:
            return GaussExp(derivative_lambda(g, 1), m, q)
        if argindex == 3:
            return GaussExp(derivative_lambda(g, 2), m, q) / 2
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_is_real(self):
        return True


@functools.lru_cache(maxsize=None)
def derivative_lambda(g: sp.Lambda, k: int) -> sp.Lambda:
    """The k-th derivative of a univariate ``Lambda`` as a ``Lambda``."""
    (t,) = g.variables
    return sp.Lambda(t, sp.diff(g.expr, t, k))


@functools.lru_cache(maxsize=4)
def _hermite(n: int):
    u, w = np.polynomial.hermite_e.hermegauss(n)  # weight exp(-u^2/2)
    return u, w / np.sqrt(2 * np.pi)


@functools.lru_cache(maxsize=4)
def _legendre(n: int):
    return np.polynomial.legendre.leggauss(n)


def composite_nodes(m: np.ndarray, s: np.ndarray, xp=np):
    """Nodes ``u`` and weights (the N(0, 1) density folded in) of the composite rule, per
    element of ``m``, ``s`` (shape ``(..., P * PANEL_NODES)``); ``xp`` is numpy or torch."""
    x, w = _legendre(PANEL_NODES)
    if xp is np:
        feats = np.stack([(k - m) / s for k in FEATURES] + [np.full(m.shape, u) for u in U_BREAKS], axis=-1)
        lo = np.full(m.shape + (1,), -U_MAX)
        hi = np.full(m.shape + (1,), U_MAX)
        br = np.sort(np.clip(np.concatenate([lo, feats, hi], axis=-1), -U_MAX, U_MAX), axis=-1)
        xt, wt = x, w
    else:
        feats = xp.stack([(k - m) / s for k in FEATURES] + [xp.full(m.shape, u, dtype=m.dtype) for u in U_BREAKS],
                         dim=-1)
        lo = xp.full(m.shape + (1,), -U_MAX, dtype=m.dtype)
        hi = xp.full(m.shape + (1,), U_MAX, dtype=m.dtype)
        br = xp.sort(xp.clamp(xp.cat([lo, feats, hi], dim=-1), -U_MAX, U_MAX), dim=-1).values
        xt, wt = xp.as_tensor(x, dtype=m.dtype), xp.as_tensor(w, dtype=m.dtype)
    a, b = br[..., :-1, None], br[..., 1:, None]  # (..., P, 1)
    half = (b - a) / 2
    u = a + half * (xt + 1)
    dens = (np.exp(-u * u / 2) if xp is np else xp.exp(-u * u / 2)) / np.sqrt(2 * np.pi)
    ww = half * wt * dens
    return u.reshape(u.shape[:-2] + (-1,)), ww.reshape(ww.shape[:-2] + (-1,))


def is_smooth(g: sp.Lambda) -> bool:
    """False for a loss with kinks (Min, Max, Abs, Piecewise, ...): Gauss-Hermite converges
    slowly on those at every scale, so the composite rule is used for every ``s > 0``."""
    return not g.expr.has(sp.Min, sp.Max, sp.Abs, sp.Heaviside, sp.Piecewise, sp.sign)


def gaussexp_numpy(g, m, q, smooth: bool = True):
    """numpy implementation (vectorised over m, q); ``smooth=False`` for kinked losses."""
    u, w = _hermite(N_NODES)
    m, s = np.broadcast_arrays(np.asarray(m, dtype=float), np.sqrt(np.maximum(np.asarray(q, dtype=float), 0.0)))
    vals = g(m[..., None] + s[..., None] * u)
    out = np.array(np.sum(np.asarray(vals) * w, axis=-1), dtype=float)
    wide = s > (1 if smooth else 0)
    if np.any(wide):
        mw, sw = m[wide], s[wide]
        uc, wc = composite_nodes(mw, sw)
        vals = np.asarray(g(mw[..., None] + sw[..., None] * uc), dtype=float)
        res = np.sum(vals * wc, axis=-1)
        if out.ndim == 0:
            return res.reshape(())
        out[wide] = res
    return out


@functools.lru_cache(maxsize=8)
def _hermite_mp(n: int, dps: int):
    import mpmath as mp

    with mp.workdps(dps + 10):
        # nodes of the probabilists' Hermite polynomial He_n, refined by mpmath
        u0, _ = np.polynomial.hermite_e.hermegauss(n)
        nodes, weights = [], []
        for x0 in u0:
            x = mp.findroot(lambda x: mp.hermite(n, x / mp.sqrt(2)), mp.mpf(x0))
            nodes.append(x)
        for x in nodes:
            # w_i = n! / (n * He_{n-1}(x_i))^2, normalised to the N(0,1) density
            he = mp.hermite(n - 1, x / mp.sqrt(2)) * mp.power(2, -(n - 1) / mp.mpf(2))
            weights.append(mp.factorial(n) / (n * he) ** 2)
        total = mp.fsum(weights)
        return nodes, [w_ / total for w_ in weights]


def gaussexp_mpmath(g, m, q):
    """mpmath implementation: adaptive tanh-sinh quadrature (``mpmath.quad``) split at the
    losses' feature points, accurate to the working precision."""
    import mpmath as mp

    if q == 0:
        return g(m)
    s = mp.sqrt(q)
    c = 1 / mp.sqrt(2 * mp.pi)
    pts = sorted({(mp.mpf(k) - m) / s for k in FEATURES})
    return mp.quad(lambda u: g(m + s * u) * mp.exp(-u * u / 2) * c, [-mp.inf] + pts + [mp.inf])


class TorchGaussExp:
    """torch implementation: quadrature forward, heat-equation backward (any order)."""

    def __init__(self, g: sp.Lambda):
        self.g = g
        self.smooth = is_smooth(g)
        self._fns: dict[int, object] = {}

    def fn(self, k: int):
        if k not in self._fns:
            from stabcheck.games.base import _torch_printer, _torch_stable, stabilize

            (t,) = self.g.variables
            expr = derivative_lambda(self.g, k).expr if k else self.g.expr
            self._fns[k] = sp.lambdify(t, stabilize(expr), modules=[_torch_stable(), "torch"],
                                       printer=_torch_printer())
        return self._fns[k]

    def __call__(self, m, q):
        return _ge_apply(self, 0, m, q)


def _ge_apply(obj: TorchGaussExp, k: int, m, q):
    import torch

    class _GE(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(m, q):
            u, w = _hermite(N_NODES)
            ut = torch.as_tensor(u, dtype=m.dtype)
            wt = torch.as_tensor(w, dtype=m.dtype)
            s = torch.sqrt(torch.clamp(q, min=0.0))
            vals = obj.fn(k)(m.unsqueeze(-1) + s.unsqueeze(-1) * ut)
            vals = torch.as_tensor(vals, dtype=m.dtype) if not torch.is_tensor(vals) else vals
            out = torch.sum(vals * wt, dim=-1)
            wide = s > (1 if obj.smooth else 0)
            if bool(torch.any(wide)):
                mw, sw = m[wide], s[wide]
                uc, wc = composite_nodes(mw, sw, xp=torch)
                v2 = obj.fn(k)(mw.unsqueeze(-1) + sw.unsqueeze(-1) * uc)
                v2 = torch.as_tensor(v2, dtype=m.dtype) if not torch.is_tensor(v2) else v2
                out = out.clone()
                out[wide] = torch.sum(torch.broadcast_to(v2, uc.shape) * wc, dim=-1)
            return out

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, gout):
            m, q = ctx.saved_tensors
            return gout * _ge_apply(obj, k + 1, m, q), gout * 0.5 * _ge_apply(obj, k + 2, m, q)

    import torch as _t

    m = m if _t.is_tensor(m) else _t.as_tensor(m, dtype=_t.float64)
    q = q if _t.is_tensor(q) else _t.as_tensor(q, dtype=m.dtype)
    m, q = _t.broadcast_tensors(m, q)
    return _GE.apply(m, q)
