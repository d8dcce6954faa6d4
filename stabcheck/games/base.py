"""The Game: parameters ``x = (theta, psi)``, two losses, an equilibrium.

Conventions (DESIGN.md):

* ``theta`` (generator, ``n_gen`` parameters) *minimizes* ``L_G``;
  ``psi`` (discriminator, ``n_disc`` parameters) *maximizes* ``L_D``.
  Zero-sum games have ``L_G == L_D == L``.
* The game's field is ``v(x) = (-grad_theta L_G, grad_psi L_D)`` (Mescheder et al. 2017,
  thesis eq. 8); gradient descent-ascent follows ``x <- x + eta * v(x)``.
* ``convention`` names the sign convention of psi: ``"mescheder"`` (the discriminator scores
  generated data high: Dirac-GAN ``L = f(psi*theta) + f(0)``) or ``"thesis"`` (real data
  scores high: the thesis's WGAN Dirac-GAN ``L = -psi*theta``, and Nie & Patel's
  ``g1(D(x_real)) + g2(D(G(z)))``). The two are the same game under ``psi -> -psi``.

Built-in games are written once as sympy expressions; every numeric form (numpy for
simulation, torch for autodiff, mpmath for arbitrary precision) is derived from them by
:func:`lambdify_vector`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Sequence

import numpy as np
import sympy as sp

from stabcheck.errors import BadInput
from stabcheck.games.gaussexp import (GaussExp, TorchGaussExp, gaussexp_mpmath,
                                      gaussexp_numpy, is_smooth)

CONVENTIONS = ("mescheder", "thesis")


def exact(value: Any) -> sp.Expr:
    """An exact sympy number for a user-given value: floats become the decimal they print as.

    >>> exact(0.1)
    1/10
    """
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool):
        raise BadInput(f"expected a number, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return sp.Integer(int(value))
    if isinstance(value, str):
        try:
            return sp.Rational(value)
        except (TypeError, ValueError):
            raise BadInput(f"expected a number, got {value!r}") from None
    v = float(value)
    if not np.isfinite(v):
        raise BadInput(f"expected a finite number, got {value!r}")
    return sp.Rational(repr(v))


def convert_state(x: np.ndarray, n_gen: int, frm: str, to: str) -> np.ndarray:
    """A state ``(theta, psi)`` written in convention ``frm``, rewritten in ``to``: the two
    conventions differ by ``psi -> -psi`` (a copy; ``x`` itself when nothing changes)."""
    if to not in CONVENTIONS:
        raise BadInput(f"unknown convention {to!r}; valid: {', '.join(CONVENTIONS)}")
    if to == frm:
        return x
    y = np.array(x, copy=True)
    y[..., n_gen:] = -y[..., n_gen:]
    return y


@dataclass
class Game:
    """A two-player differentiable game given by sympy expressions.

    Attributes
    ----------
    name : str
        System name (``dirac``, ``gaussian``, ``general``, ...).
    loss : str or None
        Loss name (``wgan``, ``bce``, ...), if any.
    params : dict
        Numeric parameters, for reports.
    theta, psi : list of sympy.Symbol
        Generator and discriminator parameters.
    L_G, L_D : sympy.Expr
        Generator loss (minimized) and discriminator objective (maximized).
    equilibrium : list of sympy.Expr
        The equilibrium ``x* = (theta*, psi*)`` (exact).
    convention : str
        ``"mescheder"`` or ``"thesis"`` (see module docstring).
    regs : list of str
        Loss-level regularizers applied (specs), in order.
    structure : object or None
        The GAN structure the losses were built from (built-in games), used by
        regularizers such as instance noise; ``None`` for games given by losses alone.
    """

    name: str
    loss: Optional[str]
    params: dict
    theta: list
    psi: list
    L_G: sp.Expr
    L_D: sp.Expr
    equilibrium: list
    convention: str = "mescheder"
    regs: list = field(default_factory=list)
    structure: Any = None
    description: str = ""

    # ------------------------------------------------------------------ basics
    @property
    def n_gen(self) -> int:
        return len(self.theta)

    @property
    def n_disc(self) -> int:
        return len(self.psi)

    @property
    def dim(self) -> int:
        return self.n_gen + self.n_disc

    @property
    def symbols(self) -> list:
        return list(self.theta) + list(self.psi)

    @property
    def zero_sum(self) -> bool:
        return sp.simplify(self.L_G - self.L_D) == 0

    @property
    def equilibrium_numeric(self) -> np.ndarray:
        return np.array([float(e) for e in self.equilibrium], dtype=float)

    def describe(self) -> dict:
        """The ``system`` object of the JSON contract."""
        return {"name": self.name, "loss": self.loss, "params": dict(self.params),
                "dim": self.dim, "n_gen": self.n_gen, "n_disc": self.n_disc,
                "regularizers": list(self.regs), "convention": self.convention,
                "zero_sum": bool(self.zero_sum)}

    def with_(self, **changes) -> "Game":
        """A copy with some fields replaced (games are treated as immutable)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ field
    @functools.cached_property
    def field_expr(self) -> sp.Matrix:
        """``v(x) = (-grad_theta L_G, grad_psi L_D)`` as a sympy column."""
        return sp.Matrix([-sp.diff(self.L_G, t) for t in self.theta]
                         + [sp.diff(self.L_D, p) for p in self.psi])

    def field_jacobian_exact(self, expr: Optional[sp.Matrix] = None) -> sp.Matrix:
        """Exact Jacobian ``dv/dx`` of ``expr`` (default: the game's field) at the equilibrium."""
        expr = self.field_expr if expr is None else expr
        J = expr.jacobian(self.symbols)
        sub = dict(zip(self.symbols, self.equilibrium))
        return J.xreplace(sub).doit().applyfunc(lambda e: e if e.is_Rational else sp.simplify(e))

    # ------------------------------------------------------------------ conventions
    def convert_state(self, x: np.ndarray, to: str) -> np.ndarray:
        """Map a state from this game's convention to ``to`` (``psi -> -psi`` between the two)."""
        return convert_state(x, self.n_gen, self.convention, to)

    def in_convention(self, to: str) -> "Game":
        """The same game written in convention ``to`` (substitute ``psi -> -psi``)."""
        if to not in CONVENTIONS:
            raise BadInput(f"unknown convention {to!r}; valid: {', '.join(CONVENTIONS)}")
        if to == self.convention:
            return self
        flip = {p: -p for p in self.psi}
        eq = list(self.equilibrium[: self.n_gen]) + [-e for e in self.equilibrium[self.n_gen:]]
        structure = self.structure.flipped() if self.structure is not None else None
        return self.with_(L_G=self.L_G.xreplace(flip), L_D=self.L_D.xreplace(flip),
                          equilibrium=eq, convention=to, structure=structure)

    # ------------------------------------------------------------------ projections
    def project(self, x: np.ndarray, real: np.ndarray, latent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Discriminator outputs on a real batch and on generated samples from ``latent``.

        Only for games with a GAN structure (built-in games). Returns ``(d_real, d_fake)``
        in this game's convention.
        """
        if self.structure is None:
            raise BadInput(f"system {self.name!r} has no data/discriminator structure; "
                           "oracles that need batches (dyn-gda) cannot run on it")
        return self.structure.project(x, real, latent)


# ---------------------------------------------------------------------- lambdify

def _replace_gaussexp(exprs: Sequence[sp.Expr]):
    """Replace each GaussExp(g, m, q) by a fresh undefined function call; return the table."""
    table: dict[str, sp.Lambda] = {}
    cache: dict[sp.Lambda, sp.Function] = {}

    def repl(g, m, q):
        if g not in cache:
            name = f"_gaussexp_{len(cache)}"
            cache[g] = sp.Function(name)
            table[name] = g
        return cache[g](m, q)

    out = [e.replace(GaussExp, repl) for e in exprs]
    return out, table


#: numerically stable forms of the logistic pieces the built-in losses are made of (float64
#: and torch; mpmath's exponent range does not overflow and keeps the plain expression)
_Sig = sp.Function("_stab_sigmoid")    # 1 / (1 + exp(-a))
_Softplus = sp.Function("_stab_softplus")  # log(1 + exp(a))


def _one_plus_exp(base) -> Optional[sp.Expr]:
    """``a`` when ``base`` is ``1 + exp(a)``, else None."""
    if base.is_Add and len(base.args) == 2 and sp.S.One in base.args:
        other = base.args[0] if base.args[1] == sp.S.One else base.args[1]
        if isinstance(other, sp.exp):
            return other.args[0]
    return None


def _combine_mul(e: sp.Mul) -> sp.Expr:
    """``exp(j a) * sigmoid(-a)^k -> sigmoid(a)^j * sigmoid(-a)^(k-j)`` (1 <= j <= k)."""
    factors = list(e.args)
    changed = True
    while changed:
        changed = False
        for i, f in enumerate(factors):
            if not isinstance(f, sp.exp):
                continue
            b = f.args[0]
            for j_, g in enumerate(factors):
                base, k = (g.args[0], g.args[1]) if g.is_Pow else (g, sp.S.One)
                if not (isinstance(base, sp.Function) and base.func == _Sig and k.is_Integer and k > 0):
                    continue
                c = base.args[0]
                ratio = -b / c
                if ratio.is_Integer and 1 <= ratio <= k:
                    factors[j_] = _Sig(-c) ** ratio * _Sig(c) ** (k - ratio)
                    factors.pop(i)
                    changed = True
                    break
            if changed:
                break
    return sp.Mul(*factors)


def stabilize(expr: sp.Expr) -> sp.Expr:
    """Rewrite the overflow-prone logistic forms of ``expr`` (bottom up) into stable ones:
    ``(1 + exp(a))^-k -> sigmoid(-a)^k``, ``exp(j a) sigmoid(-a)^k -> sigmoid(a)^j
    sigmoid(-a)^(k-j)``, ``log(1 + exp(a)) -> softplus(a)``. Mathematically the same
    expression; in float64 a finite state gives a finite value wherever the value is finite
    (``exp(a) / (1 + exp(a))`` at ``a = 1e400`` is ``inf / inf`` = NaN, ``sigmoid(a)`` is 1)."""
    if expr.is_Atom or isinstance(expr, sp.Lambda):
        return expr
    args = tuple(stabilize(a) for a in expr.args)
    e = expr.func(*args) if args != expr.args else expr
    if isinstance(e, sp.log):
        a = _one_plus_exp(e.args[0])
        if a is not None:
            return _Softplus(a)
    if e.is_Pow:
        base, ex = e.args
        a = _one_plus_exp(base)
        if a is not None and ex.is_Integer and ex < 0:
            return _Sig(-a) ** (-ex)
    if e.is_Mul:
        return _combine_mul(e)
    return e


def _np_sigmoid(a):
    from scipy.special import expit

    return expit(a)


def _np_softplus(a):
    return np.logaddexp(0.0, a)


_NP_STABLE = {"_stab_sigmoid": _np_sigmoid, "_stab_softplus": _np_softplus}


def _torch_stable() -> dict:
    import torch

    return {"_stab_sigmoid": torch.sigmoid,
            "_stab_softplus": lambda a: torch.logaddexp(a, torch.zeros((), dtype=a.dtype if torch.is_tensor(a)
                                                                        else torch.float64))}


def lambdify_vector(exprs: Sequence[sp.Expr], symbols: Sequence[sp.Symbol], backend: str) -> Callable:
    """Compile a list of expressions into ``f(x) -> vector`` for a backend.

    Backends: ``"numpy"`` (float64; ``x`` of shape ``(..., d)``, result ``(..., k)``),
    ``"torch"`` (``x`` a 1-D float64 tensor, result a 1-D tensor, differentiable with
    torch.func), ``"mpmath"`` (``x`` a sequence of mpf, result a numpy object array).
    """
    # distributional terms (derivatives of |u| in the hinge loss) vanish off their kinks
    exprs = [sp.sympify(e).replace(sp.DiracDelta, lambda *a: sp.Integer(0)) for e in exprs]
    exprs, table = _replace_gaussexp(exprs)
    syms = list(symbols)
    if backend == "numpy":
        mods = dict(_NP_STABLE)
        for name, g in table.items():
            (t,) = g.variables
            gn = sp.lambdify(t, stabilize(g.expr), modules=[_NP_STABLE, "numpy"])
            mods[name] = functools.partial(_np_ge, gn, is_smooth(g))
        fns = [sp.lambdify(syms, stabilize(e), modules=[mods, "numpy"]) for e in exprs]

        def f_np(x):
            x = np.asarray(x, dtype=float)
            cols = [x[..., i] for i in range(x.shape[-1])]
            shape = x.shape[:-1]
            return np.stack([np.broadcast_to(np.asarray(fn(*cols), dtype=float), shape) for fn in fns], axis=-1)

        return f_np
    if backend == "torch":
        import torch

        mods = {**_torch_stable(), **{name: TorchGaussExp(g) for name, g in table.items()}}
        fn = sp.lambdify(syms, [stabilize(e) for e in exprs], modules=[mods, "torch"], printer=_torch_printer())

        def f_t(x):
            vals = fn(*[x[i] for i in range(x.shape[0])])
            return torch.stack([v if torch.is_tensor(v) else torch.as_tensor(v, dtype=x.dtype) * torch.ones((), dtype=x.dtype) + 0 * x[0]
                                for v in vals])

        return f_t
    if backend == "mpmath":
        mods = {}
        for name, g in table.items():
            (t,) = g.variables
            gm = sp.lambdify(t, g.expr, modules="mpmath")
            mods[name] = functools.partial(gaussexp_mpmath, gm)
        fn = sp.lambdify(syms, exprs, modules=[mods, "mpmath"])

        def f_mp(x):
            return np.array(fn(*list(x)), dtype=object)

        return f_mp
    raise ValueError(f"unknown backend {backend!r}")


def _np_ge(g, smooth, m, q):
    return gaussexp_numpy(g, m, q, smooth)


def _torch_printer():
    """sympy's TorchPrinter that prints our placeholder functions by name."""
    from sympy.printing.pytorch import TorchPrinter

    class _Printer(TorchPrinter):
        def _print_Function(self, expr):
            name = expr.func.__name__
            if name.startswith(("_gaussexp_", "_stab_")):
                return f"{name}({', '.join(self._print(a) for a in expr.args)})"
            return super()._print_Function(expr)

        def _print_Heaviside(self, expr):
            arg = self._print(expr.args[0])
            return f"torch.heaviside({arg}, torch.tensor(0.5, dtype=torch.float64))"

    return _Printer({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                     "user_functions": {}})
