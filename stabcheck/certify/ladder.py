"""The certificate ladder's cheap pieces: a common diagonal balancing and the Stein candidate.

Nothing here proves anything. Every matrix produced here is a *candidate*, handed to the exact
rational check of :mod:`stabcheck.certify.lyapunov` on the caller's original exact matrices.

* :func:`balance_exponents` - one diagonal similarity ``T = diag(2^e_i)`` for all maps
  (``scipy.linalg.matrix_balance`` of ``sum_i |A_i|``, no permutation). Powers of two make
  ``T^{-1} A T`` exact in floating point (barring underflow) and in rationals.
* :func:`unbalance` - maps a rational certificate ``P'`` of the balanced maps back to
  ``P = T^{-1} P' T^{-1}`` exactly, with a margin that is provably valid for ``P``.
* :func:`stein_candidate` - solves ``P - sum_i A_i^T P A_i = I`` (discrete). If its solution
  is positive definite then every ``A_i^T P A_i - P <= -I`` (the other terms are PSD): a
  common quadratic certificate. It exists and is ``>= I`` when ``rho(sum_i A_i (x) A_i) < 1``;
  otherwise it may be indefinite and the exact check rejects it (the ladder moves on).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

#: below this size the Stein equation is solved densely (Kronecker form, n^2 unknowns)
STEIN_DENSE_MAX_N = 20
#: the loose-tolerance SCS rung runs only from this size on (measured, 4 maps, Stein off: n = 24 SCS
#: 4.5 s CPU vs CLARABEL 3.3 s; n = 32 7.6 s vs 9.1 s; n = 48 65 s vs 77 s)
SCS_LOOSE_MIN_N = 32
#: SCS options of the loose rung: the unit slack (P >= I, decrease <= -I) absorbs a residual
#: of this size whenever the certificate's condition number is below ~1/eps; the exact check
#: decides either way, and a miss falls through to the tight solver.
SCS_LOOSE_OPTIONS = {"eps_abs": 1e-5, "eps_rel": 1e-5, "max_iters": 20000, "time_limit_secs": 120.0}


def balance_exponents(As: Sequence[np.ndarray]) -> Optional[list]:
    """Integer exponents ``e`` with ``T = diag(2^e)`` balancing ``sum_i |A_i|``; None when no
    scaling is needed (all zero) or the balancing fails."""
    from scipy import linalg

    M = sum(np.abs(np.asarray(A, dtype=float)) for A in As)
    if M.shape[0] < 2 or not np.all(np.isfinite(M)):
        return None
    try:
        _, (scale, _) = linalg.matrix_balance(M, permute=False, separate=True)
    except (ValueError, np.linalg.LinAlgError):
        return None
    e = [int(np.round(np.log2(s))) for s in scale]
    if not any(e) or any(2.0 ** k != s for k, s in zip(e, scale)):
        return None
    lo = min(e)
    return [k - lo for k in e]  # shift so the smallest exponent is 0 (same similarity up to a scalar)


def balanced(As: Sequence[np.ndarray], Fs: Sequence[list], e: list) -> tuple[list, list]:
    """``T^{-1} A T`` for ``T = diag(2^e)``: floats (exact up to under/overflow) and rationals (exact)."""
    n = len(e)
    s = np.array([2.0 ** k for k in e])
    Ab = [np.asarray(A, dtype=float) * s[None, :] / s[:, None] for A in As]
    Fb = [[[F[i][j] * (Fraction(2) ** (e[j] - e[i])) for j in range(n)] for i in range(n)] for F in Fs]
    return Ab, Fb


def unbalance(P: list, m: Fraction, e: Optional[list]) -> tuple[list, Fraction]:
    """A certificate ``P'`` (margin ``m'``) of the balanced maps as one of the original maps:
    ``P = c T^{-1} P' T^{-1}`` with margin ``c m' 2^(-2 max e)``, ``c`` a power of two that
    brings ``max |P_ij|`` near 1. (``P >= m' T^{-2} >= m' 2^(-2 max e) I``, and the decrease
    matrix maps by the same congruence.)"""
    if not e:
        return P, m
    n = len(P)
    Q = [[P[i][j] / (Fraction(2) ** (e[i] + e[j])) for j in range(n)] for i in range(n)]
    big = max(abs(v) for row in Q for v in row)
    if big == 0:
        return Q, Fraction(0)
    k = big.numerator.bit_length() - big.denominator.bit_length()
    c = Fraction(2) ** (-k)
    return [[v * c for v in row] for row in Q], m * c / (Fraction(2) ** (2 * max(e)))


def stein_candidate(As: Sequence[np.ndarray], continuous: bool = False) -> Optional[np.ndarray]:
    """Float solution of ``P - sum_i A_i^T P A_i = I`` (continuous: ``sum_i (A_i^T P + P A_i) = -I``),
    symmetrized and scaled to ``||P||_2 = 1``; None when it cannot be solved or is not positive
    definite in floating point (then it cannot pass the exact check either)."""
    from scipy import linalg

    import warnings

    A0 = np.asarray(As[0], dtype=float)
    n = A0.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ill-conditioned solves: the exact check decides
        return _stein(As, A0, n, continuous, linalg)


def _stein(As, A0, n, continuous, linalg):
    try:
        if continuous:
            S = sum(np.asarray(A, dtype=float) for A in As)
            P = linalg.solve_continuous_lyapunov(S.T, -np.eye(n))
        elif len(As) == 1:
            P = linalg.solve_discrete_lyapunov(A0.T, np.eye(n))
        elif n <= STEIN_DENSE_MAX_N:
            K = np.eye(n * n) - sum(np.kron(A.T, A.T) for A in As)
            P = np.linalg.solve(K, np.eye(n).ravel()).reshape(n, n)
        else:
            P = _stein_krylov(As)
    except (ValueError, np.linalg.LinAlgError):
        return None
    if P is None or not np.all(np.isfinite(P)):
        return None
    P = (P + P.T) / 2
    try:
        ev = np.linalg.eigvalsh(P)
    except np.linalg.LinAlgError:
        return None
    if not ev[0] > 0:
        return None
    return P / ev[-1]


def _stein_krylov(As: Sequence[np.ndarray]) -> Optional[np.ndarray]:
    """GMRES on the operator ``P -> P - sum_i A_i^T P A_i`` (8 n^3 flops per product per map)."""
    from scipy.sparse.linalg import LinearOperator, gmres

    n = As[0].shape[0]
    mats = [np.asarray(A, dtype=float) for A in As]

    def mv(v):
        P = v.reshape(n, n)
        out = P.copy()
        for A in mats:
            out -= A.T @ P @ A
        return out.ravel()

    op = LinearOperator((n * n, n * n), matvec=mv, dtype=float)
    x, info = gmres(op, np.eye(n).ravel(), rtol=1e-12, atol=0.0, restart=80, maxiter=50)
    if info != 0:
        return None
    return x.reshape(n, n)
