"""Shared building blocks of the built-in checks: everything goes through stabcheck's engine.

Nothing here knows a verdict: the helpers compute (exact Jacobians, characteristic
polynomials, stable step sizes, simulations) and report what they found.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

import numpy as np
import sympy as sp

Z = sp.Symbol("z")


def fmt(x, digits: int = 4) -> str:
    """A number for a report: ``digits`` significant digits, stable across runs."""
    if isinstance(x, sp.Basic):
        if x.is_Rational:
            return str(x)
        x = complex(x.evalf(30)) if not x.is_real else float(x)
    if isinstance(x, complex):
        if abs(x.imag) < 1e-300:
            return fmt(x.real, digits)
        return f"{fmt(x.real, digits)}{'+' if x.imag >= 0 else '-'}{fmt(abs(x.imag), digits)}i"
    x = float(x)
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def field_jacobian(game) -> sp.Matrix:
    """Exact Jacobian of the game's field at its equilibrium (engine: Field.jacobian_exact)."""
    from stabcheck.fields import game_field

    return game_field(game).jacobian_exact()


def transformed_jacobian(game, name: str, gamma) -> sp.Matrix:
    """Exact Jacobian of the field after a transform (jare, conopt, genreg, discreg)."""
    from stabcheck.fields import FieldTransform, game_field

    return FieldTransform(name, gamma)(game_field(game)).jacobian_exact()


def map_matrix(rule, J, eta, n_gen: int):
    """The update map's Jacobian built by the rule's own code (engine: linear_map_matrix)."""
    from stabcheck.linearize import linear_map_matrix

    return linear_map_matrix(rule, J, eta, n_gen)


def printed_charpoly(eigs: Sequence[sp.Expr]) -> sp.Expr:
    p = sp.Integer(1)
    for e in eigs:
        p = p * (Z - e)
    return sp.expand(p)


def charpoly_difference(A: sp.Matrix, eigs: Sequence[sp.Expr]) -> sp.Expr:
    """``charpoly(A) - prod(z - e)`` simplified (0 iff the printed eigenvalues are A's, with
    multiplicity)."""
    if len(eigs) != A.shape[0]:
        return sp.nan
    p = A.charpoly(Z).as_expr()
    return sp.simplify(sp.expand(p - printed_charpoly(eigs)))


def eig_numeric(A) -> np.ndarray:
    M = np.array(sp.Matrix(A).evalf(30).tolist(), dtype=complex) if isinstance(A, sp.MatrixBase) else np.asarray(A)
    ev = np.linalg.eigvals(M)
    return ev[np.lexsort((ev.imag, ev.real))]


def multiset_distance(a: Iterable[complex], b: Iterable[complex]) -> float:
    """Largest distance between two multisets of complex numbers under the best matching
    (``inf`` if their sizes differ)."""
    from scipy.optimize import linear_sum_assignment

    a, b = np.asarray(list(a), dtype=complex), np.asarray(list(b), dtype=complex)
    if a.size != b.size:
        return math.inf
    if a.size == 0:
        return 0.0
    C = np.abs(a[:, None] - b[None, :])
    r, c = linear_sum_assignment(C)
    return float(C[r, c].max())


def sup_stable_eta(rule, J: np.ndarray, n_gen: int) -> Optional[float]:
    """Largest step size of the first stable interval, found by the engine's scan
    (:func:`stabcheck.analysis.stable_eta_scan`: log grid + bisection on the map's spectrum)."""
    from stabcheck.analysis import stable_eta_scan

    st = stable_eta_scan(rule, np.asarray(J, dtype=float), n_gen)
    if not st["intervals"]:
        return None
    a, b = st["intervals"][0]
    return b if a == 0.0 else None


def spectral_radius(A) -> float:
    from stabcheck.linearize import spectral_radius as rho

    return rho(np.array(sp.Matrix(A).evalf(30).tolist(), dtype=float) if isinstance(A, sp.MatrixBase) else A)


def exact_verdict(A: sp.Matrix) -> str:
    from stabcheck.linearize import exact_verdict as ev, numeric_verdict_matrix

    v = ev(A)
    if v is None:
        return numeric_verdict_matrix(np.array(A.evalf(30).tolist(), dtype=float)).verdict
    return v.verdict


def rational_grid(values: Iterable) -> list:
    return [sp.Rational(str(v)) for v in values]


def gaussian(loss: str, mean: Sequence, sigma2) -> object:
    from stabcheck.games import make_game

    return make_game("gaussian", loss, {"mean": [sp.Rational(str(m)) for m in mean],
                                        "sigma2": sp.Rational(str(sigma2))})


def dirac(loss: str, regs: Sequence[str] = (), convention: Optional[str] = None):
    from stabcheck.games import make_game

    return make_game("dirac", loss, None, regs, convention)


def mescheder_f(loss: str) -> sp.Lambda:
    """Mescheder's ``f`` of a built-in loss: ``f(t) = g_fake(-t)`` (stabcheck.games.gan)."""
    from stabcheck.games.gan import LOSSES

    t = sp.Symbol("t", real=True)
    return sp.Lambda(t, LOSSES[loss][1](-t))


def f_derivs(loss: str) -> tuple:
    f = mescheder_f(loss)
    (t,) = f.variables
    e = f.expr.replace(sp.Abs, lambda u: sp.sqrt(u ** 2))  # hinge: smooth at 0
    return sp.simplify(sp.diff(e, t).subs(t, 0)), sp.simplify(sp.diff(e, t, 2).subs(t, 0))


def first_counter_sample(expr: sp.Expr, symbols: Sequence[sp.Symbol], samples: Sequence[Sequence],
                         tol: float = 1e-9) -> Optional[dict]:
    """The first substitution of ``samples`` where ``expr`` is not 0 (numerically), or None."""
    for vals in samples:
        sub = dict(zip(symbols, [sp.Rational(str(v)) for v in vals]))
        val = complex(sp.N(expr.xreplace(sub), 30))
        if abs(val) > tol:
            return {str(k): str(v) for k, v in sub.items()} | {"difference": fmt(val)}
    return None


def simulate_starts(game, runner, eta, starts, steps, **kw):
    """Distances after ``steps`` from several starts (engine: simulate_many, float64)."""
    from stabcheck.simulate import simulate_many

    return simulate_many(game, runner, eta, np.asarray(starts, dtype=float), steps, **kw)


def seeded_starts(n: int, dim: int = 2, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return scale * np.random.default_rng(seed).standard_normal((n, dim))
