"""Linearization at the equilibrium: Jacobians of update maps, spectra, verdicts, step sizes.

Two paths, tested to agree (tests/test_linearize.py):

* **exact** (sympy, built-in and sympy games): the transformed field's Jacobian ``J`` at the
  equilibrium is computed exactly; the update rule is then run on the linear field
  ``v(x) = J x`` over exact rationals. This *is* the Jacobian of the map: every rule evaluates
  the field only at points that coincide with the equilibrium when ``x = x*`` (because
  ``v(x*) = 0``), so by the chain rule ``DF(x*)`` depends on the field through ``J`` alone.
* **autodiff** (torch, float64): ``torch.func.jacrev`` of the full nonlinear map
  ``z -> rule.step(z)`` at the equilibrium, for every game including torch user games.

Neither path uses a per-method formula: the rule's own code produces the map.

Verdicts (``converges`` / ``neutral`` / ``unbounded`` / ``diverges``) are decided exactly when the Jacobian
is exact with rational entries: the characteristic polynomial ``p`` is computed exactly, the
factors of ``gcd(p, p*)`` (``p*`` the reciprocal polynomial; every unit-circle root is a root
of both) are tested for roots on the unit circle, and the moduli of the other roots, which
cannot equal 1, are compared with 1 in 60-digit arithmetic. A unit-modulus eigenvalue is
*defective* (Jordan block, polynomial growth) when the nullity of ``h(A)`` is smaller than its
algebraic multiplicity, for its irreducible factor ``h`` - decided in exact arithmetic. A map
with no eigenvalue outside the unit circle and a defective one on it is ``unbounded``
(iterates grow like ``k^(m-1)``, ``m`` the largest Jordan block), never ``neutral``.
Otherwise verdicts use floating point with the tolerance :data:`RHO_TOL`; there a neutral
map is ``unbounded`` when eigenvalues on the circle cluster (within :data:`CLUSTER_TOL`) and
``A - l I`` has fewer near-zero singular values than the cluster has members
(:func:`numeric_defective`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from stabcheck._lazy import LazyModule
from stabcheck.rules import FieldFns, UpdateRule

sp = LazyModule("sympy")  # imported on the exact paths only (start-up)

#: |rho - 1| below this is "neutral" for floating-point verdicts
RHO_TOL = 1e-9
#: floating-point Jordan test: eigenvalues within this (relative to 1 + |A|) form a cluster,
#: singular values of ``A - l I`` below it count as zero (a Jordan block of size 2 splits
#: its eigenvalue by ~sqrt(eps) ~ 1.5e-8 in float64)
CLUSTER_TOL = 1e-6

#: every verdict, and its words in text output
VERDICT_TEXT = {"converges": "converges", "neutral": "neutral",
                "unbounded": "unbounded (polynomial growth)", "diverges": "diverges"}


def verdict_text(verdict: str) -> str:
    """The words printed for a verdict (``unbounded`` -> ``unbounded (polynomial growth)``)."""
    return VERDICT_TEXT.get(verdict, verdict)


@dataclass
class LinearizedMap:
    """The Jacobian of ``F_eta`` at the equilibrium (state coordinates of the rule).

    ``numeric`` is float64; ``exact`` a sympy Matrix or None; ``field_jacobian`` (and its
    exact form) is the Jacobian of the (transformed) field the rule runs on.
    """

    numeric: np.ndarray
    exact: Optional[sp.Matrix]
    field_jacobian: np.ndarray
    field_jacobian_exact: Optional[sp.Matrix]
    eta: float
    path: str  # "exact" | "autodiff"


def linear_map_matrix(rule: UpdateRule, J, eta, n_gen: int):
    """Matrix of the map the rule makes from the *linear* field ``v(x) = J x``.

    ``J`` may be a float array or an object array / sympy Matrix of exact numbers; the map is
    evaluated on the identity basis (each row of the identity is one state), so the result
    has the same kind of entries as ``J`` and ``eta``.
    """
    if sp.loaded() and isinstance(J, sp.MatrixBase):  # (no sympy loaded: J cannot be a sympy matrix)
        Jo = np.array(J.tolist(), dtype=object)
        d = Jo.shape[0]
        Z = np.array(sp.eye(rule.state_dim(d)).tolist(), dtype=object)
        from stabcheck.games.base import exact

        fns = FieldFns(lambda X: X.dot(Jo.T), n_gen, d, backend="numpy", number=exact)
        out = rule.step(Z, fns, eta)
        return sp.Matrix(out.T.tolist())
    J = np.asarray(J, dtype=float)
    d = J.shape[0]
    Z = np.eye(rule.state_dim(d))
    fns = FieldFns(lambda X: X @ J.T, n_gen, d, backend="numpy")
    return rule.step(Z, fns, eta).T


def method_jacobian(game, method, eta: float, *, exact_path: bool = True) -> LinearizedMap:
    """Jacobian of method's map at the equilibrium (exact path when available)."""
    from stabcheck.games.base import exact

    f = method.field(game)
    Jf_exact = f.jacobian_exact() if exact_path else None
    if Jf_exact is not None:
        A = linear_map_matrix(method.rule, Jf_exact, exact(eta), game.n_gen)
        return LinearizedMap(numeric=np.array(A.evalf(30).tolist(), dtype=float), exact=A,
                             field_jacobian=np.array(Jf_exact.evalf(30).tolist(), dtype=float),
                             field_jacobian_exact=Jf_exact, eta=eta, path="exact")
    A = autodiff_map_jacobian(game, method, eta)
    return LinearizedMap(numeric=A, exact=None, field_jacobian=f.jacobian_numeric(), field_jacobian_exact=None,
                         eta=eta, path="autodiff")


def autodiff_map_jacobian(game, method, eta: float) -> np.ndarray:
    """``torch.func.jacrev`` of the full nonlinear map ``z -> rule.step(z)`` at the equilibrium."""
    import torch
    from torch.func import jacrev

    f = method.field(game)
    fns = FieldFns(f.torch, game.n_gen, game.dim, backend="torch")
    z0 = torch.as_tensor(method.rule.state_equilibrium(game.equilibrium_numeric), dtype=torch.float64)
    J = jacrev(lambda z: method.rule.step(z, fns, float(eta)))(z0)
    return J.detach().numpy()


# ---------------------------------------------------------------------- spectra

def sorted_eigenvalues(A: np.ndarray) -> np.ndarray:
    """Eigenvalues sorted by real part, then imaginary part."""
    ev = np.linalg.eigvals(np.asarray(A, dtype=float))
    return ev[np.lexsort((ev.imag, ev.real))]


def spectral_radius(A: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(A, dtype=float))))) if np.size(A) else 0.0


@dataclass
class Verdict:
    """Discrete-time verdict on a map's Jacobian."""

    verdict: str  # converges | neutral | unbounded | diverges
    exact: bool
    defective: Optional[bool] = None  # a unit-modulus eigenvalue with a Jordan block
    note: str = ""


def numeric_verdict(rho: float, tol: float = RHO_TOL) -> Verdict:
    if not math.isfinite(rho) or rho > 1 + tol:
        return Verdict("diverges", False)
    if rho < 1 - tol:
        return Verdict("converges", False)
    return Verdict("neutral", False, note=f"|rho - 1| <= {tol:g} (floating point)")


def _rational_poly(A: sp.Matrix):
    if not all(e.is_Rational for e in A):
        return None
    z = sp.Symbol("z")
    return sp.Poly(A.charpoly(z).as_expr(), z, domain="QQ"), z


def _moduli(poly: sp.Poly, dps: int = 60) -> list:
    import mpmath as mp

    if poly.degree() <= 0:
        return []
    with mp.workdps(dps):
        try:
            roots = mp.polyroots([mp.mpf(sp.Rational(c).p) / sp.Rational(c).q for c in poly.all_coeffs()],
                                 maxsteps=400, extraprec=4 * dps)
        except mp.libmp.libhyper.NoConvergence:
            raise _NoExactVerdict from None
        return [mp.fabs(r) for r in roots]


class _NoExactVerdict(Exception):
    """The exact root moduli could not be resolved (e.g. coefficients of wildly different size)."""


def exact_verdict(A: sp.Matrix) -> Optional[Verdict]:
    """Decide the verdict from the exact characteristic polynomial (rational entries only);
    None when it cannot be decided exactly (the caller falls back to floating point)."""
    try:
        return _exact_verdict(A)
    except _NoExactVerdict:
        return None


def _exact_verdict(A: sp.Matrix) -> Optional[Verdict]:
    res = _rational_poly(A)
    if res is None:
        return None
    p, z = res
    d = p.degree()
    if d == 0:
        return Verdict("converges", True)
    rev = sp.Poly(sp.expand(z ** d * p.as_expr().subs(z, 1 / z)), z, domain="QQ")
    g = sp.gcd(p, rev)
    circle_factors = []
    for h, _ in (sp.factor_list(g.as_expr(), z)[1] if g.degree() > 0 else []):
        hp = sp.Poly(h, z, domain="QQ")
        mods = _moduli(hp)
        if mods and all(abs(m - 1) < sp.Float("1e-40") for m in mods):
            # multiplicity of h in p
            k, q = 0, p
            while True:
                qq, r = sp.div(q, hp)
                if not r.is_zero:
                    break
                k, q = k + 1, qq
            circle_factors.append((hp, k))
    rest = p
    for hp, k in circle_factors:
        rest = sp.quo(rest, hp ** k)
    mods = _moduli(rest)
    if any(m > 1 for m in mods):
        return Verdict("diverges", True)
    if not circle_factors:
        return Verdict("converges", True)
    defective = False
    for hp, k in circle_factors:
        if k > 1:
            H = _poly_at_matrix(hp, A)
            nullity = A.shape[0] - H.rank()
            if nullity < k * hp.degree():
                defective = True
    if defective:
        return Verdict("unbounded", True, defective=True,
                       note="eigenvalue(s) on the unit circle with a Jordan block: iterates grow polynomially")
    return Verdict("neutral", True, defective=False, note="eigenvalue(s) on the unit circle")


def _poly_at_matrix(poly: sp.Poly, A: sp.Matrix) -> sp.Matrix:
    n = A.shape[0]
    R = sp.zeros(n, n)
    for c in poly.all_coeffs():
        R = R * A + c * sp.eye(n)
    return R


def growth_margins(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per eigenvalue: ``|l_i|^2 - 1`` and ``|l_i - 1|``, from the eigenvalues ``mu`` of ``A - I``.

    ``|1 + mu|^2 - 1 = 2 Re(mu) + |mu|^2`` keeps its relative accuracy when an eigenvalue is
    close to 1 (small step sizes), where ``|l| - 1`` computed from ``A`` would be lost in
    rounding; ``|mu|`` sets the size of the rounding error of each margin.
    """
    A = np.asarray(A, dtype=float)
    mu = np.linalg.eigvals(A - np.eye(A.shape[0])) if A.size else np.zeros(0)
    with np.errstate(over="ignore"):  # |mu|^2 beyond float64 is inf: a diverging eigenvalue
        return 2 * np.real(mu) + np.abs(mu) ** 2, np.maximum(np.abs(mu), 1e-300)


def numeric_verdict_matrix(A: np.ndarray, tol: float = RHO_TOL) -> Verdict:
    """Floating-point verdict: an eigenvalue is on the unit circle when
    ``| |l|^2 - 1 | <= tol * |l - 1|`` (relative to its distance from 1)."""
    g, scale = growth_margins(A)
    if g.size == 0:
        return Verdict("converges", False)
    if not np.all(np.isfinite(g)) or np.any(g > tol * scale):
        return Verdict("diverges", False)
    if np.all(g < -tol * scale):
        return Verdict("converges", False)
    if numeric_defective(A, tol):
        return Verdict("unbounded", False, defective=True,
                       note=f"eigenvalues on the unit circle (| |l|^2 - 1 | <= {tol:g} |l - 1|) within "
                            f"{CLUSTER_TOL:g} of each other with fewer eigenvectors (floating point): a Jordan "
                            "block, iterates grow polynomially")
    return Verdict("neutral", False, defective=False,
                   note=f"| |l|^2 - 1 | <= {tol:g} |l - 1| for some eigenvalue (floating point)")


def numeric_defective(A: np.ndarray, tol: float = RHO_TOL, cluster_tol: float = CLUSTER_TOL) -> bool:
    """Floating-point Jordan test of a map with no eigenvalue outside the unit circle: some
    cluster of ``k >= 2`` unit-circle eigenvalues (pairwise within ``cluster_tol (1 + |A|)``)
    whose mean ``l`` leaves ``A - l I`` with fewer than ``k`` singular values below
    ``cluster_tol (1 + |A|)``. Isolated (simple) eigenvalues are never defective."""
    A = np.asarray(A, dtype=float)
    if A.size == 0 or not np.all(np.isfinite(A)):
        return False
    n = A.shape[0]
    mu = np.linalg.eigvals(A - np.eye(n))
    g = 2 * np.real(mu) + np.abs(mu) ** 2
    on = np.flatnonzero(np.abs(g) <= tol * np.maximum(np.abs(mu), 1e-300))
    if len(on) < 2:
        return False
    delta = cluster_tol * (1.0 + float(np.max(np.abs(A))))
    lam = 1 + mu[on]
    seen = np.zeros(len(on), dtype=bool)
    for i in range(len(on)):
        if seen[i]:
            continue
        members = np.flatnonzero(np.abs(lam - lam[i]) <= delta)
        seen[members] = True
        k = len(members)
        if k < 2:
            continue
        c = complex(np.mean(lam[members]))
        sv = np.linalg.svd(A.astype(complex) - c * np.eye(n), compute_uv=False)
        if int(np.sum(sv <= delta)) < k:
            return True
    return False


def verdict_of(lin: LinearizedMap, tol: float = RHO_TOL) -> Verdict:
    """Exact verdict when possible, else floating point."""
    if lin.exact is not None:
        v = exact_verdict(lin.exact)
        if v is not None:
            return v
    return numeric_verdict_matrix(lin.numeric, tol)


def iterations_per_decade(rho: float) -> Optional[float]:
    """Iterations to reduce the error tenfold at linear rate rho (None unless rho < 1)."""
    if not (0 <= rho < 1):
        return None
    if rho == 0:
        return 0.0
    return math.log(10) / -math.log(rho)


def hurwitz(eigs: np.ndarray, tol: float = 0.0) -> bool:
    """All real parts strictly negative (continuous-time local convergence)."""
    return bool(np.all(np.real(eigs) < -tol))


def exact_hurwitz(J: sp.Matrix) -> Optional[bool]:
    """Exact Routh-Hurwitz decision for a rational matrix (None if not rational)."""
    res = _rational_poly(J)
    if res is None:
        return None
    p, z = res
    # count roots with Re >= 0 via exact root isolation of p(z) along the imaginary axis
    # using the Routh-Hurwitz criterion on p (monic, rational)
    coeffs = p.all_coeffs()
    return _routh_hurwitz(coeffs)


def _routh_hurwitz(coeffs) -> bool:
    """True iff all roots of the polynomial have negative real part (exact rationals)."""
    c = [sp.Rational(x) for x in coeffs]
    if c[0] < 0:
        c = [-x for x in c]
    if any(x <= 0 for x in c):
        return False
    n = len(c) - 1
    row1, row2 = c[0::2], c[1::2]
    rows = [row1, row2 + [0] * (len(row1) - len(row2))]
    for _ in range(n - 1):
        a, b = rows[-2], rows[-1]
        if b[0] == 0:
            return False
        new = [(b[0] * a[i + 1] - a[0] * b[i + 1]) / b[0] for i in range(len(a) - 1)] + [0]
        rows.append(new)
    return all(r[0] > 0 for r in rows[: n + 1])
