"""Gaussian expectations as a differentiable symbolic function.

``GaussExp(g, m, q)`` is ``E_{u ~ N(0,1)}[ g(m + sqrt(q) * u) ]``: the expectation of a
univariate function ``g`` under a normal law with mean ``m`` and variance ``q >= 0``. Built-in
games use it for every expectation over Gaussian data or noise: with a linear discriminator,
``D(x) = psi^T x`` of ``x ~ N(mu, Sigma)`` is ``N(psi^T mu, psi^T Sigma psi)``.

Derivatives follow the heat equation (exact, no quadrature):
``dH/dm = GaussExp(g', m, q)``, ``dH/dq = GaussExp(g'', m, q) / 2``, and ``GaussExp(g, m, 0) = g(m)``.
At an equilibrium of the built-in games the variance argument is 0, so Jacobians there are
exact (sympy) even though the game involves expectations.

Numeric forms: numpy and mpmath use Gauss-Hermite quadrature (:data:`N_NODES` nodes, exact
for polynomials of degree < 2*N_NODES); torch uses the same quadrature in the forward pass and
the heat-equation identities in the backward pass, so autodiff is well defined at ``q = 0``.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

#: Gauss-Hermite nodes used by the numeric backends
N_NODES = 48


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


def gaussexp_numpy(g, m, q):
    """numpy implementation (vectorised over m, q)."""
    u, w = _hermite(N_NODES)
    m = np.asarray(m, dtype=float)
    s = np.sqrt(np.maximum(np.asarray(q, dtype=float), 0.0))
    vals = g(m[..., None] + s[..., None] * u)
    return np.sum(np.asarray(vals) * w, axis=-1)


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
    """mpmath implementation (Gauss-Hermite at the working precision)."""
    import mpmath as mp

    if q == 0:
        return g(m)
    nodes, weights = _hermite_mp(24, mp.mp.dps)
    s = mp.sqrt(q)
    return mp.fsum(w_ * g(m + s * u_) for u_, w_ in zip(nodes, weights))


class TorchGaussExp:
    """torch implementation: quadrature forward, heat-equation backward (any order)."""

    def __init__(self, g: sp.Lambda):
        self.g = g
        self._fns: dict[int, object] = {}

    def fn(self, k: int):
        if k not in self._fns:
            (t,) = self.g.variables
            self._fns[k] = sp.lambdify(t, derivative_lambda(self.g, k).expr, modules="torch") if k else \
                sp.lambdify(t, self.g.expr, modules="torch")
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
            return torch.sum(vals * wt, dim=-1)

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
