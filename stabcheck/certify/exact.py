"""Exact (rational) arithmetic for checking Lyapunov certificates.

A solver returns a floating-point ``P``; it is trusted for nothing. :func:`rationalize`
rounds it to a rational matrix, and every condition is then re-checked with Python
integers (no rounding anywhere): positive (semi)definiteness by symmetric fraction-free
Gaussian elimination (Bareiss), which is exact and fast (a 20x20 check takes milliseconds).

Conventions
-----------
Matrices are given as 2-D sequences of numbers. Floats are taken at their *exact* binary
value (a float64 is a dyadic rational); :class:`fractions.Fraction`, ``int``, strings such
as ``"1/10"`` and sympy ``Rational`` entries are exact. Irrational sympy entries are refused
(:class:`stabcheck.errors.BadInput`), because an exact check needs rational data.

Examples
--------
>>> M, d = to_int_matrix([[1, "1/2"], ["1/2", 1]])
>>> d, M.tolist()
(2, [[2, 1], [1, 2]])
>>> psd_status(M)
'pd'
>>> psd_status(to_int_matrix([[1, 1], [1, 1]])[0])
'psd'
>>> psd_status(to_int_matrix([[0, 1], [1, 0]])[0])
'indefinite'
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from stabcheck.errors import BadInput


def to_fraction(x: Any) -> Fraction:
    """One number as an exact :class:`~fractions.Fraction` (floats at their exact binary value)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise BadInput(f"matrix entry {x!r} is a boolean, not a number")
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(float(x)):
            raise BadInput(f"matrix entry {x!r} is not finite")
        return Fraction(float(x))
    if isinstance(x, str):
        try:
            return Fraction(x.strip())
        except (ValueError, ZeroDivisionError):
            raise BadInput(f"matrix entry {x!r} is not a rational number (e.g. 3, 0.25, '1/10')") from None
    # sympy numbers (imported lazily: only if the caller already has sympy objects)
    if hasattr(x, "is_Rational"):
        if x.is_Rational:
            return Fraction(int(x.p), int(x.q))
        raise BadInput(f"matrix entry {x} is not rational; an exact check needs rational entries")
    raise BadInput(f"matrix entry {x!r} of type {type(x).__name__} is not a number")


def to_fraction_matrix(A: Any) -> list[list[Fraction]]:
    """A 2-D matrix (numpy array, nested lists, sympy Matrix) as nested lists of Fractions."""
    if hasattr(A, "tolist") and not isinstance(A, np.ndarray):  # sympy Matrix
        rows = A.tolist()
    elif isinstance(A, np.ndarray):
        rows = A.tolist() if A.dtype != object else [list(r) for r in A]
    else:
        rows = [list(r) for r in A]
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise BadInput("matrix rows have different lengths or the matrix is empty")
    return [[to_fraction(v) for v in r] for r in rows]


def to_int_matrix(A: Any) -> tuple[np.ndarray, int]:
    """``A`` as ``(M, d)`` with ``A = M / d``, ``M`` an object array of Python ints, ``d > 0``."""
    F = A if (isinstance(A, list) and A and isinstance(A[0], list) and all(
        isinstance(v, Fraction) for v in A[0])) else to_fraction_matrix(A)
    d = 1
    for r in F:
        for v in r:
            d = math.lcm(d, v.denominator)
    M = np.empty((len(F), len(F[0])), dtype=object)
    for i, r in enumerate(F):
        for j, v in enumerate(r):
            M[i, j] = v.numerator * (d // v.denominator)
    return M, d


def rationalize(P: np.ndarray, bits: int = 40) -> list[list[Fraction]]:
    """Round a float matrix to rationals with ``bits`` significant bits relative to max |P|.

    Entries become integer multiples of ``2**(e - bits)`` where ``2**e >= max |P_ij|``, and
    the result is symmetrized exactly when ``P`` is (numerically) symmetric.
    """
    P = np.asarray(P, dtype=float)
    if not np.all(np.isfinite(P)):
        raise BadInput("cannot rationalize a matrix with non-finite entries")
    scale = float(np.max(np.abs(P))) if P.size else 0.0
    e = math.frexp(scale)[1] if scale > 0 else 0
    q = Fraction(2) ** (e - bits) if e - bits >= 0 else Fraction(1, 2 ** (bits - e))
    R = [[Fraction(round(Fraction(float(v)) / q)) * q for v in row] for row in P]
    n = len(R)
    if P.ndim == 2 and P.shape[0] == P.shape[1]:
        for i in range(n):
            for j in range(i + 1, n):
                s = (R[i][j] + R[j][i]) / 2
                R[i][j] = R[j][i] = s
    return R


def psd_status(M: np.ndarray) -> str:
    """Exact definiteness of a symmetric integer (or Fraction) matrix.

    Returns ``"pd"`` (positive definite), ``"psd"`` (positive semidefinite, singular) or
    ``"indefinite"`` (has a negative direction; "indefinite" also covers negative definite).

    Algorithm: symmetric fraction-free elimination (Bareiss). A positive pivot is eliminated
    (the scaled Schur complement keeps its sign because all earlier pivots are positive); a
    negative pivot proves a negative direction; a zero pivot is allowed only if its whole row
    is zero (otherwise a 2x2 principal minor is negative), and that index is dropped.
    """
    A = np.array(M, dtype=object)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise BadInput(f"definiteness check needs a square matrix, got shape {A.shape}")
    n = A.shape[0]
    if n and any(isinstance(v, Fraction) for v in A.ravel()):
        A, _ = to_int_matrix(A.tolist())
    for i in range(n):
        for j in range(i + 1, n):
            if A[i, j] != A[j, i]:
                raise BadInput("definiteness check needs a symmetric matrix")
    A = [[int(v) for v in row] for row in A]
    idx = list(range(n))
    prev = 1
    singular = False
    while idx:
        k = idx[0]
        p = A[k][k]
        rest = idx[1:]
        if p < 0:
            return "indefinite"
        if p == 0:
            if any(A[k][j] != 0 for j in rest):
                return "indefinite"
            singular = True
            idx = rest
            continue
        for i in rest:
            aik = A[i][k]
            row_i = A[i]
            row_k = A[k]
            for j in rest:
                if j < i:
                    row_i[j] = A[j][i]
                    continue
                row_i[j] = (p * row_i[j] - aik * row_k[j]) // prev
        prev = p
        idx = rest
    return "psd" if singular else "pd"


def frac_matmul(A: list, B: list) -> list:
    """Exact product of two Fraction (or int) matrices given as nested lists."""
    Ai, da = to_int_matrix(A)
    Bi, db = to_int_matrix(B)
    C = Ai.dot(Bi)
    d = da * db
    return [[Fraction(int(v), d) for v in row] for row in C]


def congruence(A: list, P: list) -> tuple[np.ndarray, int]:
    """``A^T P A`` exactly, as ``(M, d)`` with integer ``M`` and ``A^T P A = M / d``."""
    Ai, da = to_int_matrix(A)
    Pi, dp = to_int_matrix(P)
    return int_matmul(int_matmul(Ai.T, Pi), Ai), da * da * dp


def combine(terms: Sequence[tuple[Any, Any]], n: int) -> tuple[np.ndarray, int]:
    """Exact ``sum_k c_k M_k / d_k`` for terms ``(c_k, (M_k, d_k))``; returns ``(M, d)``."""
    d = 1
    fr = []
    for c, (M, dm) in terms:
        c = to_fraction(c)
        fr.append((c, M, dm))
        d = math.lcm(d, c.denominator * dm)
    out = np.zeros((n, n), dtype=object)
    out[:, :] = 0
    for c, M, dm in fr:
        f = d // (c.denominator * dm) * c.numerator
        out = out + M * f
    return out, d


def identity_int(n: int) -> tuple[np.ndarray, int]:
    """The identity as an exact integer matrix ``(I, 1)``."""
    M = np.zeros((n, n), dtype=object)
    M[:, :] = 0
    for i in range(n):
        M[i, i] = 1
    return M, 1


def as_float(M: np.ndarray, d: int) -> np.ndarray:
    """``M / d`` as a float array (for reporting violations; never for deciding)."""
    return np.array([[float(Fraction(int(v), d)) for v in row] for row in M], dtype=float)


def is_exactly_symmetric(F: list) -> bool:
    """True when a Fraction matrix equals its transpose exactly."""
    n = len(F)
    return all(F[i][j] == F[j][i] for i in range(n) for j in range(i + 1, n))


# --------------------------------------------------------------------------- fast exact paths
#
# Both functions below are exact: integer products are formed from float64 products of small
# "limbs" whose every partial sum is an integer below 2^53 (so no rounding can occur, in any
# summation order), and positive definiteness is proven by an exact congruence plus Gershgorin.


def _limbs(M: np.ndarray, b: int) -> list:
    """``M`` (object array of ints) as float64 arrays ``L_k`` with ``M = sum_k L_k 2^(b k)``,
    ``|L_k| < 2^b`` (signed limbs: the sign of each entry is carried by every limb)."""
    A = np.asarray(M, dtype=object)
    sign = np.where(A < 0, -1.0, 1.0)
    absA = np.abs(A)
    top = max((int(v).bit_length() for v in absA.ravel()), default=0)
    mask = (1 << b) - 1
    out = []
    for k in range((top + b - 1) // b if top else 1):
        limb = ((absA >> (b * k)) & mask).astype(np.float64)
        out.append(limb * sign)
    return out


def int_matmul(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The exact product of two integer matrices (object arrays of Python ints), by float64
    BLAS products of limbs (exact: each limb product sum is an integer of magnitude
    ``< k 2^(2b) <= 2^52``). Equal to ``X.dot(Y)`` in object arithmetic, much faster for large
    matrices."""
    X = np.asarray(X, dtype=object)
    Y = np.asarray(Y, dtype=object)
    k = X.shape[1]
    if X.shape[0] * k * Y.shape[1] <= 24 ** 3:  # measured break-even: object arithmetic is faster below
        return X.dot(Y)
    b = max(1, (52 - max(1, k).bit_length()) // 2)
    LX, LY = _limbs(X, b), _limbs(Y, b)
    acc: dict = {}
    for i, a in enumerate(LX):
        for j, c in enumerate(LY):
            p = (a @ c).astype(np.int64)  # exact integers < 2^52
            acc[i + j] = acc.get(i + j, 0) + p  # at most ~min(#limbs) terms: < 2^60, fits int64
    out = np.zeros((X.shape[0], Y.shape[1]), dtype=object)
    out[:, :] = 0
    for s, S in acc.items():
        out = out + S.astype(object) * (1 << (b * s))
    return out


def _scaled_float(M: np.ndarray) -> np.ndarray:
    """An integer matrix as floats scaled by a power of two (for a numerical factorization only)."""
    A = np.asarray(M, dtype=object)
    top = max((abs(int(v)).bit_length() for v in A.ravel()), default=0)
    sh = max(0, top - 60)
    return np.array([[float(int(v) >> sh) if v >= 0 else -float((-int(v)) >> sh) for v in row] for row in A])


def pd_by_congruence(M: np.ndarray) -> bool:
    """True only when the symmetric integer matrix ``M`` is *proven* positive definite:
    ``X M X^T`` (``X`` a rounded inverse Cholesky factor, integer, lower triangular with a
    nonzero diagonal, hence nonsingular) is computed exactly and is strictly diagonally
    dominant with a positive diagonal (Gershgorin). False means "not proven this way" (the
    caller then decides exactly by elimination), never "indefinite"."""
    A = np.asarray(M, dtype=object)
    n = A.shape[0]
    try:
        L = np.linalg.cholesky(_scaled_float(A))
        Xf = np.linalg.solve(L, np.eye(n))
    except np.linalg.LinAlgError:
        return False
    if not np.all(np.isfinite(Xf)):
        return False
    X = np.zeros((n, n), dtype=object)
    X[:, :] = 0
    for i in range(n):
        row = np.tril(Xf)[i, : i + 1]
        e = math.frexp(float(np.max(np.abs(row))))[1] if np.max(np.abs(row)) > 0 else 0
        for j in range(i + 1):
            X[i, j] = int(round(math.ldexp(float(row[j]), 44 - e)))
        if X[i, i] == 0:
            return False
    G = int_matmul(int_matmul(X, A), X.T)
    for i in range(n):
        off = sum(abs(int(G[i, j])) for j in range(n) if j != i)
        if not int(G[i, i]) > off:
            return False
    return True
