"""Fields and field transforms (``Field -> Field``).

A :class:`Field` is the vector field ``v(x) = (-grad_theta L_G, grad_psi L_D)`` of a game,
possibly transformed. The partial fields of the thesis (eq. 3) are ``V1 = (v_theta, 0)``
(generator only), ``V2 = (0, v_psi)`` (discriminator only) and ``V3 = v``.

Gradient-level regularizations are transforms of the form

    ``v  ->  v - gamma * (M o J)^T v``,   ``J = dv/dx``,

where ``M`` keeps some blocks of the Jacobian (``o`` is the entrywise product). Since
``(M o J)^T v = grad_x (1/2 ||v_B||^2)`` restricted to the kept blocks, each is a gradient
penalty on a part of the field (Nie & Patel 2019, section 5):

=========  ==============================  ==============================================
name       kept blocks of J                update
=========  ==============================  ==============================================
conopt     all                             ``v - gamma grad(||v||^2 / 2)`` (Mescheder 2017)
jare       (psi,theta) and (theta,psi)     G: ``- gamma grad_theta ||v_psi||^2/2``;
                                           D: ``- gamma grad_psi ||v_theta||^2/2`` (N&P eq. 7)
genreg     (psi,theta)                     generator only (Nagarajan & Kolter's form)
discreg    (theta,psi)                     discriminator only
=========  ==============================  ==============================================

In Nie & Patel's notation this is ``Gamma * v`` with their regularization matrices Gamma
(section 5.1). One formula, any backend: sympy (exact), torch (autodiff), numpy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from stabcheck._lazy import LazyModule
from stabcheck.errors import BadInput
from stabcheck.specs import check_params, format_spec, parse_spec

sp = LazyModule("sympy")  # imported on the exact paths only (start-up)

#: transform name -> blocks of J kept: (rows, cols) with "g" = theta rows/cols, "d" = psi
TRANSFORM_BLOCKS = {
    "conopt": (("g", "g"), ("g", "d"), ("d", "g"), ("d", "d")),
    "jare": (("d", "g"), ("g", "d")),
    "genreg": (("d", "g"),),
    "discreg": (("g", "d"),),
}


def block_mask(name: str, n_gen: int, n_disc: int) -> np.ndarray:
    """0/1 mask ``M`` (shape d x d, rows = field components, cols = parameters)."""
    d = n_gen + n_disc
    M = np.zeros((d, d))
    sl = {"g": slice(0, n_gen), "d": slice(n_gen, d)}
    for r, c in TRANSFORM_BLOCKS[name]:
        M[sl[r], sl[c]] = 1.0
    return M


@dataclass
class Field:
    """A field on ``x = (theta, psi)``; symbolic (``expr``) and/or torch (``torch_fn``).

    Attributes
    ----------
    game : Game or TorchGame
    expr : sympy.Matrix or None
        The field as expressions in ``game.symbols`` (built-in and sympy games).
    torch_fn : callable or None
        ``x (1-D float64 tensor) -> v(x)`` for torch games.
    transforms : list of str
        Specs of the transforms applied, in order.
    """

    game: Any
    expr: Optional[sp.Matrix] = None
    torch_fn: Optional[Callable] = None
    transforms: list = field(default_factory=list)
    #: the field this one was made from and the transform that made it (None for a game's own field)
    base: Optional["Field"] = field(default=None, repr=False, compare=False)
    transform: Optional["FieldTransform"] = field(default=None, repr=False, compare=False)

    @property
    def n_gen(self) -> int:
        return self.game.n_gen

    @property
    def dim(self) -> int:
        return self.game.dim

    @property
    def symbolic(self) -> bool:
        return self.expr is not None

    # -------------------------------------------------------------- compiled forms
    @functools.cached_property
    def numpy(self) -> Callable[[np.ndarray], np.ndarray]:
        """``X (..., d) -> v(X) (..., d)`` in float64."""
        if self.expr is not None:
            from stabcheck.games.base import lambdify_vector

            return lambdify_vector(list(self.expr), self.game.symbols, "numpy")
        return _numpy_from_torch(self.torch)

    @functools.cached_property
    def torch(self) -> Callable:
        """``x (1-D float64 tensor) -> v(x)``, differentiable with torch.func."""
        if self.torch_fn is not None:
            return self.torch_fn
        from stabcheck.games.base import lambdify_vector

        return lambdify_vector(list(self.expr), self.game.symbols, "torch")

    @functools.cached_property
    def mpmath(self) -> Callable:
        """``x (sequence of mpf) -> v(x)`` as a numpy object array (symbolic fields only)."""
        if self.expr is None:
            raise BadInput("arbitrary precision needs a symbolic game (torch games run in float64)")
        from stabcheck.games.base import lambdify_vector

        return lambdify_vector(list(self.expr), self.game.symbols, "mpmath")

    def jacobian_exact(self) -> Optional[sp.Matrix]:
        """Exact ``dv/dx`` at the game's equilibrium, or None for non-symbolic fields.

        For a transformed field whose base field vanishes at the equilibrium (every built-in
        game's does; checked exactly), from the base field's Jacobian by
        :meth:`FieldTransform.jacobian_at_zero` (``J - gamma (M o J)^T J``), without
        differentiating the transformed field; otherwise (and with ``STABCHECK_FULL_JACOBIAN=1``)
        by differentiating :attr:`expr`. The two agree exactly (tests/test_linearize.py).
        """
        if not self.symbolic:
            return None
        cached = self.__dict__.get("_jacobian_exact")
        if cached is not None:
            return cached
        J = None
        if self.base is not None and self.transform is not None and not _FULL_JACOBIAN():
            if self.base.vanishes_at_equilibrium():
                J0 = self.base.jacobian_exact()
                J = _simplify_entries(self.transform.jacobian_at_zero(J0, self.n_gen))
        if J is None and self.base is None and not _FULL_JACOBIAN():
            J = _jacobian_along_lines(self.expr, self.game)
        if J is None:
            J = self.game.field_jacobian_exact(self.expr)
        self.__dict__["_jacobian_exact"] = J
        return J

    def vanishes_at_equilibrium(self) -> bool:
        """``v(x*) = 0`` exactly (symbolic fields; False when it cannot be shown)."""
        cached = self.__dict__.get("_vanishes")
        if cached is not None:
            return cached
        if not self.symbolic:
            return False
        if self.base is not None and self.transform is not None:
            out = self.base.vanishes_at_equilibrium()  # w = v - gamma (M o J)^T v is 0 where v is
        else:
            sub = dict(zip(self.game.symbols, self.game.equilibrium))
            out = True
            for e in self.expr:
                e = e.xreplace(sub).doit()
                if not (e.is_zero or (not e.is_Rational and sp.simplify(e) == 0)):
                    out = False
                    break
        self.__dict__["_vanishes"] = out
        return out

    def jacobian_numeric(self) -> np.ndarray:
        """``dv/dx`` at the equilibrium in float64 (exact path when available, else autodiff)."""
        J = self.jacobian_exact()
        if J is not None:
            return np.array(J.evalf(30).tolist(), dtype=float)
        import torch
        from torch.func import jacrev

        x = torch.as_tensor(self.game.equilibrium_numeric, dtype=torch.float64)
        return jacrev(self.torch)(x).detach().numpy()


def _FULL_JACOBIAN() -> bool:
    import os

    return os.environ.get("STABCHECK_FULL_JACOBIAN", "") == "1"


def _jacobian_along_lines(expr, game):
    """The exact Jacobian of ``expr`` at the game's equilibrium ``x*``, entry by entry along
    coordinate lines: ``d/de v_i(x* + e e_j)`` at ``e = 0``, the other coordinates substituted
    first (a univariate derivative of a smaller expression: about half the time of
    differentiating ``v`` everywhere and substituting afterwards, as
    :meth:`Game.field_jacobian_exact` does, with the same entries; tested). None if it fails."""
    try:
        syms, eq = list(game.symbols), list(game.equilibrium)
        eps = sp.Dummy("e")
        at = dict(zip(syms, eq))
        rows = []
        for v in expr:
            free = v.free_symbols
            row = []
            for j, x in enumerate(syms):
                if x not in free:
                    row.append(sp.Integer(0))
                    continue
                sub = dict(at)
                sub[x] = eq[j] + eps
                d = sp.diff(v.xreplace(sub), eps).xreplace({eps: 0}).doit()
                row.append(d if d.is_Rational else sp.simplify(d))
            rows.append(row)
        return sp.Matrix(rows)
    except Exception:  # noqa: BLE001 - the standard path decides
        return None


def _simplify_entries(J: sp.Matrix) -> sp.Matrix:
    """Entries in a simplified form, as :meth:`Game.field_jacobian_exact` gives them: rationals
    stay; polynomials with rational coefficients (what ``J - gamma (M o J)^T J`` is when ``J``
    is rational and ``gamma`` a number or a swept symbol) are expanded; the rest is
    ``sympy.simplify``'d. The same exact values either way."""

    def one(e):
        if e.is_Rational:
            return e
        free = e.free_symbols
        if free:
            try:
                dom = sp.Poly(e, *sorted(free, key=str)).domain
                if dom.is_QQ or dom.is_ZZ:
                    return sp.expand(e)
            except sp.PolynomialError:
                pass
        return sp.simplify(e)

    return J.applyfunc(one)


class _TransformedField(Field):
    """A transformed symbolic field whose expression is built on first use: at the
    equilibrium its Jacobian comes from the base field's (:meth:`Field.jacobian_exact`), so
    sweeps and ``analyze`` never need it; simulations, plots and claims build it."""

    @property
    def expr(self):
        d = self.__dict__
        if d.get("_expr") is None and d.get("_make") is not None:
            d["_expr"] = d.pop("_make")()
        return d.get("_expr")

    @expr.setter
    def expr(self, value):
        self.__dict__["_expr"] = value

    @property
    def symbolic(self) -> bool:
        return self.__dict__.get("_make") is not None or self.__dict__.get("_expr") is not None

    def __getstate__(self):
        self.expr  # noqa: B018 - build it: the recipe is a closure
        state = dict(self.__dict__)
        state.pop("_make", None)
        return state


def game_field(game) -> Field:
    """The game's own field ``v``."""
    if getattr(game, "field_expr", None) is not None:
        return Field(game=game, expr=game.field_expr)
    return Field(game=game, torch_fn=game.field_torch)


def _numpy_from_torch(fn):
    def f(X):
        import torch

        X = np.asarray(X, dtype=float)
        flat = X.reshape(-1, X.shape[-1])
        with torch.no_grad():
            out = np.stack([fn(torch.as_tensor(row, dtype=torch.float64)).numpy() for row in flat])
        return out.reshape(X.shape)

    return f


# ---------------------------------------------------------------------- transforms

@dataclass(frozen=True)
class FieldTransform:
    """``v -> v - gamma (M o J)^T v`` for the blocks of :data:`TRANSFORM_BLOCKS` [name]."""

    name: str
    gamma: float

    @property
    def spec(self) -> str:
        return format_spec(self.name, {"gamma": self.gamma})

    def masked(self, J: sp.Matrix, n_gen: int) -> sp.Matrix:
        """``M o J``: the blocks of ``J`` this transform keeps (the others 0)."""
        d = J.shape[0]
        M = block_mask(self.name, n_gen, d - n_gen)
        return sp.Matrix(d, d, lambda i, j: J[i, j] if M[i, j] else 0)

    def jacobian_at_zero(self, J: sp.Matrix, n_gen: int) -> sp.Matrix:
        """The transformed field's Jacobian at a point where the field vanishes, from the
        field's Jacobian ``J`` there: ``J - gamma (M o J)^T J``.

        Component ``j`` of the transformed field is ``w_j = v_j - gamma sum_i M_ij J_ij v_i``,
        so ``dw_j/dx_k = J_jk - gamma sum_i M_ij (dJ_ij/dx_k v_i + J_ij J_ik)``; at ``v = 0``
        the second derivatives drop out. The same ``M`` and ``gamma`` as :meth:`__call__`.
        """
        from stabcheck.games.base import exact

        return J - exact(self.gamma) * (self.masked(J, n_gen).T * J)

    def __call__(self, f: Field) -> Field:
        from stabcheck.games.base import exact

        M = block_mask(self.name, f.n_gen, f.dim - f.n_gen)
        if f.symbolic:
            def make():
                v = f.expr
                J = v.jacobian(f.game.symbols)
                return v - exact(self.gamma) * (self.masked(J, f.n_gen).T * v)

            out = _TransformedField(game=f.game, expr=None, transforms=f.transforms + [self.spec], base=f,
                                    transform=self)
            out.__dict__["_make"] = make
            return out
        import torch
        from torch.func import jacrev

        base = f.torch
        Mt = torch.as_tensor(M, dtype=torch.float64)
        gamma = float(self.gamma)

        def v(x):
            val = base(x)
            return val - gamma * ((Mt * jacrev(base)(x)).T @ val)

        return Field(game=f.game, torch_fn=v, transforms=f.transforms + [self.spec])


def make_transform(text: str) -> FieldTransform:
    """``jare:gamma=10`` etc. (default gamma = 1)."""
    spec = parse_spec(text, what="field transform")
    if spec.name not in TRANSFORM_BLOCKS:
        raise BadInput(f"unknown field transform {spec.name!r}; valid: {', '.join(TRANSFORM_BLOCKS)}")
    params = check_params(spec, {"gamma": float}, what="field transform")
    gamma = params.get("gamma", 1.0)
    if not gamma >= 0:
        raise BadInput(f"{spec.name}: gamma must be >= 0, got {gamma}")
    return FieldTransform(spec.name, gamma)
