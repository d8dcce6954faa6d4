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
import sympy as sp

from stabcheck.errors import BadInput
from stabcheck.specs import check_params, format_spec, parse_spec

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
        """Exact ``dv/dx`` at the game's equilibrium, or None for non-symbolic fields."""
        if self.expr is None:
            return None
        return self.game.field_jacobian_exact(self.expr)

    def jacobian_numeric(self) -> np.ndarray:
        """``dv/dx`` at the equilibrium in float64 (exact path when available, else autodiff)."""
        J = self.jacobian_exact()
        if J is not None:
            return np.array(J.evalf(30).tolist(), dtype=float)
        import torch
        from torch.func import jacrev

        x = torch.as_tensor(self.game.equilibrium_numeric, dtype=torch.float64)
        return jacrev(self.torch)(x).detach().numpy()


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

    def __call__(self, f: Field) -> Field:
        from stabcheck.games.base import exact

        M = block_mask(self.name, f.n_gen, f.dim - f.n_gen)
        if f.expr is not None:
            J = f.expr.jacobian(f.game.symbols)
            MJ = sp.Matrix(f.dim, f.dim, lambda i, j: J[i, j] if M[i, j] else 0)
            new = f.expr - exact(self.gamma) * (MJ.T * f.expr)
            return Field(game=f.game, expr=new, transforms=f.transforms + [self.spec])
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
