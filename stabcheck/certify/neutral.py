"""Exact non-strict certificates for maps with conserved directions (eigenvalues on the unit
circle, or the imaginary axis in continuous time) next to strictly stable ones.

A non-strict SDP solution lands on the boundary of the cone (``A^T P A - P`` is singular along
the conserved directions), so rounding it breaks it. Here the structure is found exactly:

1. the exact characteristic polynomial ``p`` (rationals) is factored over Q; each irreducible
   factor ``h`` is classified exactly:
   * *on the circle*: ``h`` is self-reciprocal and ``h(z) = z^m g(z + 1/z)`` with all ``m``
     roots of ``g`` real in ``[-2, 2]`` (Sturm count), or ``h = z -+ 1``; continuous time:
     ``h(s) = g(s^2)`` with all roots of ``g`` real and ``< 0``, or ``h = s``;
   * *strictly inside*: the Schur-Cohn (Jury) recursion (continuous: the Routh array), exact;
   * anything else (a root outside): no non-strict certificate from this route.
2. ``U = ker c(A)`` and ``W = ker s(A)`` (``c`` the product of the circle factors, ``s`` of
   the inside ones, with multiplicity) are exact rational invariant subspaces; in the basis
   ``T = [U W]`` the map is ``diag(A_c, A_s)``.
3. ``P_c`` is a positive definite conserved form of ``A_c`` (``A_c^T P_c A_c = P_c`` solved
   exactly; it exists iff the circle part is diagonalizable), ``P_s`` the exact solution of
   ``A_s^T P_s A_s - P_s = -I``; ``P = T^{-T} diag(P_c, P_s) T^{-1}``.

The result is only a candidate: the caller checks it exactly (non-strict) on the original map.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

#: the largest size handled (exact factorization and nullspaces)
NEUTRAL_SPLIT_MAX_N = 12


def schur_stable(coeffs: list) -> bool:
    """All roots strictly inside the unit circle (exact Schur-Cohn / Jury recursion on the
    rational coefficients, highest degree first)."""
    a = [Fraction(c) for c in coeffs]
    while a and a[0] == 0:
        a = a[1:]
    while len(a) > 1:
        lead, const = a[0], a[-1]
        if abs(const) >= abs(lead):
            return False
        # p_{k-1}(z) = (lead * p(z) - const * p*(z)) / z,  p*(z) = z^k p(1/z)
        rev = a[::-1]
        b = [lead * x - const * y for x, y in zip(a, rev)]
        a = b[:-1]  # the constant term is lead*const - const*lead = 0
    return True


def hurwitz_stable(coeffs: list) -> bool:
    """All roots in the open left half plane (exact Routh array; a zero pivot means no)."""
    c = [Fraction(x) for x in coeffs]
    while c and c[0] == 0:
        c = c[1:]
    if c and c[0] < 0:
        c = [-x for x in c]
    n = len(c) - 1
    if n == 0:
        return True
    if any(x <= 0 for x in c):
        return False
    r1, r2 = c[0::2], c[1::2]
    r2 = r2 + [Fraction(0)] * (len(r1) - len(r2))
    rows = [r1, r2]
    for _ in range(n - 1):
        a, b = rows[-2], rows[-1]
        if b[0] <= 0:
            return False
        rows.append([(b[0] * a[i + 1] - a[0] * b[i + 1]) / b[0] for i in range(len(a) - 1)] + [Fraction(0)])
    return all(r[0] > 0 for r in rows[: n + 1])


def _classify(h, z, continuous: bool) -> str:
    """``"circle"``, ``"inside"`` or ``"other"`` for an irreducible factor ``h`` (sympy Poly over QQ)."""
    import sympy as sp

    d = h.degree()
    co = [Fraction(int(sp.fraction(c)[0]), int(sp.fraction(c)[1])) for c in h.all_coeffs()]
    if continuous:
        if d == 1 and co[1] == 0:
            return "circle"  # s = 0
        if d % 2 == 0 and all(co[i] == 0 for i in range(1, d + 1, 2)):
            g = sp.Poly([sp.Rational(c.numerator, c.denominator) for c in co[0::2]], z, domain="QQ")
            if g.count_roots(-sp.oo, 0) == g.degree() and g.eval(0) != 0:
                return "circle"
        return "inside" if hurwitz_stable(co) else "other"
    if d == 1 and abs(co[0]) == abs(co[1]):
        return "circle"  # z = 1 or z = -1
    if d % 2 == 0 and co == co[::-1]:
        # h(z) = z^m g(z + 1/z): divide out by repeated substitution
        m = d // 2
        w = sp.Symbol("w")
        rem = sp.Poly(h.as_expr(), z, domain="QQ")
        gco = []
        for k in range(m, -1, -1):
            # leading coefficient of rem (degree m + k) gives the coefficient of w^k
            lc = rem.LC() if rem.degree() == m + k else sp.Integer(0)
            gco.append(lc)
            if lc != 0:
                rem = rem - sp.Poly(lc * z ** (m - k) * (z ** 2 + 1) ** k, z, domain="QQ")
        if rem.is_zero:
            g = sp.Poly(gco, w, domain="QQ")
            if g.degree() == m and g.count_roots(-2, 2) == m:
                return "circle"
    return "inside" if schur_stable(co) else "other"


def neutral_split_candidate(F: list, continuous: bool) -> Optional[list]:
    """A rational candidate ``P`` (non-strict) for the exact map ``F``, or None (see module)."""
    import sympy as sp

    from stabcheck.certify.lyapunov import conserved_certificate, exact_lyapunov_solution

    n = len(F)
    if n > NEUTRAL_SPLIT_MAX_N:
        return None
    A = sp.Matrix([[sp.Rational(v.numerator, v.denominator) for v in row] for row in F])
    z = sp.Symbol("z")
    p = sp.Poly(A.charpoly(z).as_expr(), z, domain="QQ")
    circle, inside = sp.Poly(1, z, domain="QQ"), sp.Poly(1, z, domain="QQ")
    for h, mult in p.factor_list()[1]:
        cls = _classify(sp.Poly(h, z, domain="QQ"), z, continuous)
        if cls == "other":
            return None
        if cls == "circle":
            circle = circle * h ** mult
        else:
            inside = inside * h ** mult
    if circle.degree() == 0:
        return None  # strictly stable: the strict ladder's business

    def at(poly):
        R = sp.zeros(n, n)
        for c in poly.all_coeffs():
            R = R * A + c * sp.eye(n)
        return R

    U = at(circle).nullspace()
    W = at(inside).nullspace() if inside.degree() > 0 else []
    if len(U) + len(W) != n:
        return None
    T = sp.Matrix.hstack(*(U + W))
    Ti = T.inv()
    B = Ti * A * T
    kc = len(U)

    def fr(M):
        return [[Fraction(int(sp.fraction(v)[0]), int(sp.fraction(v)[1])) for v in row] for row in M.tolist()]

    import numpy as np

    Ac = fr(B[:kc, :kc])
    Pc = conserved_certificate([np.array([[float(v) for v in r] for r in Ac])], [Ac], continuous, "CLARABEL")
    if Pc is None:
        return None
    Pblk = sp.zeros(n, n)
    Pblk[:kc, :kc] = sp.Matrix([[sp.Rational(v.numerator, v.denominator) for v in r] for r in Pc])
    if kc < n:
        Ps = exact_lyapunov_solution(fr(B[kc:, kc:]), continuous)
        if Ps is None:
            return None
        Pblk[kc:, kc:] = sp.Matrix([[sp.Rational(v.numerator, v.denominator) for v in r] for r in Ps])
    P = Ti.T * Pblk * Ti
    P = (P + P.T) / 2
    return fr(P)


def exact_spectral_class(F: list, continuous: bool) -> Optional[dict]:
    """Exact spectral class of a rational matrix from the factored characteristic polynomial:
    ``{"class": "unstable" | "boundary" | "stable", "defective": bool}``. ``unstable``: a root
    strictly outside the unit circle (open right half plane): an irreducible factor that is
    neither on the circle nor strictly inside has one (its roots off the circle come in pairs
    ``l, 1/conj(l)``, or it has no root on the circle at all and fails Schur-Cohn).
    ``boundary``: none outside, some on the circle (axis); ``defective`` when a circle factor's
    eigenvalues have a Jordan block (``dim ker h(A)^k < k deg h`` is not needed: ``dim ker h(A)
    < mult * deg h``). None above :data:`EXACT_CLASS_MAX_N`."""
    import sympy as sp

    n = len(F)
    if n > EXACT_CLASS_MAX_N:
        return None
    A = sp.Matrix([[sp.Rational(v.numerator, v.denominator) for v in row] for row in F])
    z = sp.Symbol("z")
    p = sp.Poly(A.charpoly(z).as_expr(), z, domain="QQ")
    boundary, defective = False, False
    for h, mult in p.factor_list()[1]:
        hp = sp.Poly(h, z, domain="QQ")
        cls = _classify(hp, z, continuous)
        if cls == "other":
            return {"class": "unstable", "defective": False}
        if cls == "circle":
            boundary = True
            if mult > 1:
                H = sp.zeros(n, n)
                for c in hp.all_coeffs():
                    H = H * A + c * sp.eye(n)
                if n - H.rank() < mult * hp.degree():
                    defective = True
    return {"class": "boundary" if boundary else "stable", "defective": defective}


#: the largest size classified exactly (factorization over Q)
EXACT_CLASS_MAX_N = 16
