"""Switched linear systems under arbitrary switching: common quadratic Lyapunov functions,
bounds on the joint spectral radius (JSR), and lifted (k-step) certificates.

Convention: each mode ``A_i`` acts as ``x_{k+1} = A_i x_k``; any sequence of modes may
occur. A product of a word ``(i_1, ..., i_k)`` (applied first to last) is
``A_{i_k} ... A_{i_1}``.

* :func:`common_quadratic` - one ``P`` with ``A_i^T P A_i - P < 0`` for all ``i``
  (exactly checked); proves stability under arbitrary switching.
* :func:`jsr_bounds` - ``max_{|w| <= k} rho(A_w)^(1/|w|) <= JSR <= r``, where ``r`` is the best
  ellipsoidal-norm bound (bisection on ``A_i^T P A_i <= r^2 P``), with ``r`` re-checked
  exactly (so the upper bound is rigorous).
* :func:`lifted_certificate` - a common quadratic certificate for all products of length
  ``k``; it exists whenever JSR < 1 for ``k`` large enough, even when the one-step search
  fails (JSR < 1 iff some k-step certificate exists, Ando & Shih 1998 / Blondel & Nesterov).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional, Sequence

import numpy as np

from stabcheck.certify import exact as ex
from stabcheck.certify.lyapunov import (CertificateResult, certify_maps, check_matrix, check_solver,
                                        exact_of, solve_problem)
from stabcheck.errors import BadInput


def _prepare(As: Sequence[Any], As_exact: Optional[Sequence[Any]]) -> tuple[list, list]:
    if As is None or len(As) == 0:
        raise BadInput("need at least one matrix")
    mats = [check_matrix(A, f"A[{i}]") for i, A in enumerate(As)]
    n = mats[0].shape[0]
    for i, A in enumerate(mats):
        if A.shape != (n, n):
            raise BadInput(f"all matrices must have the same shape ({n}, {n}); A[{i}] has {A.shape}")
    if As_exact is not None and len(As_exact) != len(mats):
        raise BadInput(f"{len(As_exact)} exact matrices given for {len(mats)} matrices")
    fr = [exact_of(A, None if As_exact is None else As_exact[i], f"A[{i}]") for i, A in enumerate(mats)]
    return mats, fr


def common_quadratic(As: Sequence[Any], As_exact: Optional[Sequence[Any]] = None, *,
                     solver: str = "CLARABEL", strict: bool = True,
                     continuous: bool = False) -> CertificateResult:
    """Common quadratic Lyapunov function for ``{A_i}`` (arbitrary switching), exactly checked.

    Parameters as :func:`stabcheck.certify.certify_linear`, for a list of matrices.
    """
    mats, fr = _prepare(As, As_exact)
    what = "mode of dx/dt = A_i x" if continuous else "mode of x_{k+1} = A_i x_k"
    return certify_maps(mats, fr, continuous=continuous, strict=strict, solver=solver,
                        dynamics="switched", what=what)


def words(m: int, k: int):
    """All words of length ``k`` over ``m`` modes (tuples, first applied first)."""
    return itertools.product(range(m), repeat=k)


def product(As: Sequence[np.ndarray], word: Sequence[int]) -> np.ndarray:
    """``A_{w_k} ... A_{w_1}`` (the first letter acts first)."""
    M = np.eye(As[0].shape[0])
    for i in word:
        M = As[i] @ M
    return M


def exact_product(fr: Sequence[list], word: Sequence[int]) -> list:
    n = len(fr[0])
    M = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    for i in word:
        M = ex.frac_matmul(fr[i], M)
    return M


@dataclass
class JSRBounds:
    """Bounds ``lower <= JSR <= upper`` of a finite set of matrices.

    ``lower`` is the best ``rho(A_w)^(1/|w|)`` over words ``w`` up to ``max_length`` (the
    word attaining it in ``lower_word``). ``upper`` is the ellipsoidal-norm bound; when
    ``upper_exact`` it was verified in rational arithmetic (``A_i^T P A_i <= upper^2 P`` with
    ``P > 0``), otherwise it is the trivial ``max ||A_i||_2`` or a solver estimate.
    """

    lower: float
    lower_word: list
    upper: float
    upper_exact: bool
    upper_P: Optional[list]
    max_length: int
    solver: str
    solver_status: str
    wall_s: float
    words_checked: int = 0
    extras: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"lower": self.lower, "lower_word": self.lower_word, "upper": self.upper,
                "upper_exact": self.upper_exact, "upper_P": self.upper_P, "max_length": self.max_length,
                "solver": self.solver, "solver_status": self.solver_status, "wall_s": self.wall_s,
                "words_checked": self.words_checked, **self.extras}


def jsr_lower(As: Sequence[np.ndarray], max_length: int = 6, max_words: int = 20000) -> tuple[float, list, int]:
    """``max rho(A_w)^(1/|w|)`` over words of length ``1..max_length`` (at most ``max_words``)."""
    best, best_w, count = -1.0, [], 0
    m = len(As)
    for k in range(1, max_length + 1):
        if count + m ** k > max_words:
            break
        for w in words(m, k):
            if k > 1 and w[0] != min(w):  # cyclic shifts have the same spectral radius
                continue
            count += 1
            r = float(np.max(np.abs(np.linalg.eigvals(product(As, w))))) ** (1.0 / k)
            if r > best + 1e-15:
                best, best_w = r, list(w)
    return best, best_w, count


def _ellipsoid_feasible(As, r: float, solver: str):
    import cvxpy as cp

    n = As[0].shape[0]
    P = cp.Variable((n, n), symmetric=True)
    t = cp.Variable()
    eye = np.eye(n)
    cons = [P >> eye, P << t * eye]
    for A in As:
        cons.append((A.T @ P @ A + (A.T @ P @ A).T) / 2 << (r * r) * P)
    prob = cp.Problem(cp.Minimize(t), cons)
    status, secs, err = solve_problem(prob, solver)
    ok = status in ("optimal", "optimal_inaccurate") and P.value is not None
    return (P.value if ok else None), status


def _exact_norm_bound(P: np.ndarray, fr: Sequence[list], r: Fraction) -> bool:
    Pr = ex.rationalize(P / np.linalg.eigvalsh(P).max())
    Pi = ex.to_int_matrix(Pr)
    if ex.psd_status(Pi[0]) != "pd":
        return False
    n = len(Pr)
    for A in fr:
        M = ex.congruence(A, Pr)
        D, _ = ex.combine([(r * r, Pi), (-1, M)], n)
        if ex.psd_status(D) == "indefinite":
            return False
    return True


def jsr_bounds(As: Sequence[Any], As_exact: Optional[Sequence[Any]] = None, *, max_length: int = 6,
               solver: str = "CLARABEL", tol: float = 1e-4) -> JSRBounds:
    """Lower and (exactly verified) upper bounds on the joint spectral radius.

    Examples
    --------
    >>> b = jsr_bounds([[[0.5, 0.0], [0.0, 0.5]]])
    >>> round(b.lower, 6), b.upper_exact, b.upper < 0.5001
    (0.5, True, True)
    """
    solver = check_solver(solver)
    t0 = time.perf_counter()
    mats, fr = _prepare(As, As_exact)
    lo, lo_w, count = jsr_lower(mats, max_length)
    hi = max(float(np.linalg.norm(A, 2)) for A in mats)
    status = "not run"
    bestP = None
    a, b = lo, hi
    # bisection on the ellipsoidal bound r: feasible at b, infeasible below a (or unknown)
    if b > a * (1 + tol) and b > 0:
        for _ in range(40):
            if b - a <= tol * max(b, 1e-300):
                break
            mid = (a + b) / 2
            P, st = _ellipsoid_feasible(mats, mid, solver)
            status = st
            if P is not None:
                b, bestP = mid, P
            elif st in ("infeasible", "infeasible_inaccurate"):
                a = mid
            else:  # the solver failed: stop, keep what is proven
                break
    if bestP is None:
        P, st = _ellipsoid_feasible(mats, b * (1 + tol), solver)
        status = st if status == "not run" else status
        bestP = P
    upper, exact_ok, Pout = hi, False, None
    if bestP is not None:
        for fac in (1 + tol, 1 + 10 * tol, 1 + 100 * tol):
            r = Fraction(b * fac).limit_denominator(2 ** 30)
            if r < b * fac:
                r += Fraction(1, 2 ** 30)
            if _exact_norm_bound(bestP, fr, r):
                upper, exact_ok, Pout = float(r), True, (bestP / np.linalg.eigvalsh(bestP).max()).tolist()
                break
    if not exact_ok:
        # ||A||_2 <= hi is rigorous only up to float rounding: say so
        upper = hi
    return JSRBounds(lower=lo, lower_word=lo_w, upper=upper, upper_exact=exact_ok, upper_P=Pout,
                     max_length=max_length, solver=solver, solver_status=status,
                     wall_s=time.perf_counter() - t0, words_checked=count)


def lifted_certificate(As: Sequence[Any], k: int, As_exact: Optional[Sequence[Any]] = None, *,
                       solver: str = "CLARABEL", strict: bool = True,
                       max_products: int = 4096) -> CertificateResult:
    """Common quadratic certificate for all ``m^k`` products of length ``k`` (exact products).

    A certified result proves ``|x_{jk}| -> 0`` for every switching sequence, hence (the modes
    being bounded) stability under arbitrary switching: ``V(x) = x^T P x`` decreases every
    ``k`` steps.
    """
    if not isinstance(k, int) or k < 1:
        raise BadInput(f"lift length k must be an integer >= 1, got {k!r}")
    mats, fr = _prepare(As, As_exact)
    m = len(mats)
    if m ** k > max_products:
        raise BadInput(f"lift k={k} needs {m}**{k} = {m ** k} products; the limit is {max_products}")
    ws = list(words(m, k))
    prods = [product(mats, w) for w in ws]
    prods_fr = [exact_product(fr, w) for w in ws]
    res = certify_maps(prods, prods_fr, strict=strict, solver=solver, dynamics=f"lifted (k={k})",
                       what=f"{k}-step product A_w (all {len(ws)} words)")
    res.extras["lift"] = k
    res.extras["products"] = len(ws)
    return res
