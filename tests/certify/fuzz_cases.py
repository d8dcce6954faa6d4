"""Certification fuzz: seeded draws with an exact ground truth that does not use the code under test.

Ground truth (exact rational arithmetic, written here independently of stabcheck):

* the characteristic polynomial by the Faddeev-LeVerrier recursion over Fractions;
* discrete time: the Schur-Cohn (Jury) recursion decides "all roots strictly inside the unit
  circle" exactly, and a strict quadratic certificate exists iff that holds (Lyapunov);
  "a root strictly outside" is proven by the same test failing on ``p(r z)``, ``r = 1 + 2^-40``
  (all ``|l| < r`` fails, so some ``|l| >= r > 1``);
* continuous time: the Routh array decides Hurwitz stability exactly (a zero pivot means "not
  Hurwitz"); "a root in the open right half plane" is proven by the Routh test failing on
  ``p(s + d)``, ``d = 2^-40``;
* non-strict existence (a certificate with ``A^T P A <= P``) is known by construction for the
  built categories (eigenvalues on the circle semisimple or not), and equals strict existence
  when that holds.

Categories: ``random`` (Gaussian, scaled to a radius), ``scaled`` (similarity by ``diag(10^k)``),
``jordan`` (real / complex Jordan blocks with radius near 1, e.g. 0.99992 of size 6), ``rational``
(``S J S^-1`` with exact rational data, eigenvalues inside, on the circle or outside), and
``continuous`` (Hurwitz or not, including badly scaled ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

import numpy as np

R_OUT = 1 + Fraction(1, 2 ** 40)
D_OUT = Fraction(1, 2 ** 40)


# --------------------------------------------------------------------------- exact ground truth


def charpoly(F: list) -> list:
    """Coefficients of det(zI - A), highest first (Faddeev-LeVerrier over Fractions)."""
    n = len(F)
    M = [[Fraction(0)] * n for _ in range(n)]
    c = [Fraction(1)]
    for k in range(1, n + 1):
        # M_k = A M_{k-1} + c_{k-1} I ; c_k = -tr(A M_k) / k
        AM = [[sum(F[i][t] * M[t][j] for t in range(n)) for j in range(n)] for i in range(n)]
        M = [[AM[i][j] + (c[-1] if i == j else 0) for j in range(n)] for i in range(n)]
        tr = sum(sum(F[i][t] * M[t][i] for t in range(n)) for i in range(n))
        c.append(-tr / k)
    return c


def jury_stable(c: list) -> bool:
    a = list(c)
    while len(a) > 1:
        if abs(a[-1]) >= abs(a[0]):
            return False
        a = [a[0] * x - a[-1] * y for x, y in zip(a, a[::-1])][:-1]
    return True


def routh_stable(c: list) -> bool:
    c = list(c)
    if c[0] < 0:
        c = [-x for x in c]
    n = len(c) - 1
    if n == 0:
        return True
    if any(x <= 0 for x in c):
        return False
    rows = [c[0::2], c[1::2] + [Fraction(0)] * (len(c[0::2]) - len(c[1::2]))]
    for _ in range(n - 1):
        a, b = rows[-2], rows[-1]
        if b[0] <= 0:
            return False
        rows.append([(b[0] * a[i + 1] - a[0] * b[i + 1]) / b[0] for i in range(len(a) - 1)] + [Fraction(0)])
    return all(r[0] > 0 for r in rows[: n + 1])


def scale_roots(c: list, r: Fraction) -> list:
    """Coefficients of p(r z) (roots l / r)."""
    d = len(c) - 1
    return [ck * r ** (d - k) for k, ck in enumerate(c)]


def shift_roots(c: list, d: Fraction) -> list:
    """Coefficients of p(s + d) (roots l - d), by Horner-style Taylor shift."""
    a = list(c)
    n = len(a) - 1
    for i in range(n):
        for j in range(1, n - i + 1):
            a[j] += d * a[j - 1]
    return a


@dataclass
class Draw:
    category: str
    F: list  # exact matrix (Fractions)
    A: np.ndarray  # the float matrix given to the code
    exact_given: bool  # whether F is passed as A_exact (else F is A's exact binary value)
    continuous: bool
    strict_exists: bool = False
    outside: bool = False  # a root strictly outside (RHP) is proven
    nonstrict_exists: Optional[bool] = None  # None: not known
    note: str = ""
    extra: dict = field(default_factory=dict)


def ground_truth(d: Draw, known_nonstrict: Optional[bool] = None) -> Draw:
    c = charpoly(d.F)
    if d.continuous:
        d.strict_exists = routh_stable(c)
        d.outside = not routh_stable(shift_roots(c, D_OUT))
    else:
        d.strict_exists = jury_stable(c)
        d.outside = not jury_stable(scale_roots(c, R_OUT))
    if d.strict_exists:
        d.nonstrict_exists = True
    elif d.outside:
        d.nonstrict_exists = False
    else:
        d.nonstrict_exists = known_nonstrict
    return d


# --------------------------------------------------------------------------- draws


def _fr(A) -> list:
    return [[Fraction(float(v)) for v in row] for row in np.asarray(A, dtype=float)]


def _fmat(F) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in F])


def _rho(A, continuous) -> float:
    ev = np.linalg.eigvals(A)
    return float(np.max(ev.real)) if continuous else float(np.max(np.abs(ev)))


def _random(rng, n, continuous):
    M = rng.standard_normal((n, n))
    if continuous:
        M = M - (float(np.max(np.linalg.eigvals(M).real)) - rng.uniform(-1.0, 0.3)) * np.eye(n)
    else:
        M = M * (rng.uniform(0.05, 1.3) / max(_rho(M, False), 1e-12))
    return M


def _similar_int(rng, J: list) -> list:
    """S J S^-1 exactly, S a random unit lower times unit upper triangular integer matrix."""
    n = len(J)
    Lm = [[Fraction(int(rng.integers(-2, 3))) if j < i else Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    Um = [[Fraction(int(rng.integers(-2, 3))) if j > i else Fraction(int(i == j)) for j in range(n)] for i in range(n)]

    def mm(X, Y):
        return [[sum(X[i][t] * Y[t][j] for t in range(n)) for j in range(n)] for i in range(n)]

    def inv_unit_lower(X):
        Y = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
        for i in range(n):
            for j in range(i):
                s = sum(X[i][t] * Y[t][j] for t in range(j, i))
                Y[i][j] = -s
        return Y

    def inv_unit_upper(X):
        T = [[X[j][i] for j in range(n)] for i in range(n)]
        Yt = inv_unit_lower(T)
        return [[Yt[j][i] for j in range(n)] for i in range(n)]

    S = mm(Lm, Um)
    Si = mm(inv_unit_upper(Um), inv_unit_lower(Lm))
    return mm(mm(S, J), Si)


PYTHAGOREAN = [(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29)]


def _blocks(rng, n, kind):
    """A block-diagonal exact J of size n and whether a non-strict certificate exists."""
    J = [[Fraction(0)] * n for _ in range(n)]
    i = 0
    nonstrict = True
    while i < n:
        if i + 1 < n and rng.random() < 0.5:
            if kind == "circle" and rng.random() < 0.6:
                a, b, c = PYTHAGOREAN[int(rng.integers(len(PYTHAGOREAN)))]
                re, im = Fraction(a, c), Fraction(b, c)  # exactly on the circle
            else:
                r = Fraction(int(rng.integers(1, 20)), 20)
                re, im = r * Fraction(3, 5), r * Fraction(4, 5)
            J[i][i], J[i][i + 1], J[i + 1][i], J[i + 1][i + 1] = re, -im, im, re
            i += 2
        else:
            if kind == "circle" and rng.random() < 0.4:
                lam = Fraction(int(rng.choice([-1, 1])))
                if kind == "circle" and i + 1 < n and rng.random() < 0.3:  # defective: no certificate
                    J[i][i] = J[i + 1][i + 1] = lam
                    J[i][i + 1] = Fraction(1)
                    nonstrict = False
                    i += 2
                    continue
            else:
                lam = Fraction(int(rng.integers(-19, 20)), 20)
            J[i][i] = lam
            i += 1
    return J, nonstrict


def draw(rng: np.random.Generator, category: str) -> Draw:
    n = int(rng.integers(1, 7))
    if category == "random":
        A = _random(rng, n, False)
        return ground_truth(Draw(category, _fr(A), A, False, False))
    if category == "scaled":
        A = _random(rng, max(n, 2), False)
        k = rng.integers(-6, 7, size=A.shape[0]).astype(float)
        D = 10.0 ** k
        A = A * D[:, None] / D[None, :]
        return ground_truth(Draw(category, _fr(A), A, False, False, note=f"diag(10^{k.astype(int).tolist()})"))
    if category == "jordan":
        size = int(rng.integers(2, 7))
        lam = float(rng.choice([0.99992, 0.9999, 0.999, 0.99, 0.9, -0.99992, 1.00001, 1.0]))
        if rng.random() < 0.3:
            lam, size = 0.99992, 6
        A = np.diag([lam] * size) + np.diag([float(rng.choice([1.0, 0.5, 2.0]))] * (size - 1), 1)
        pair = rng.random() < 0.4
        if pair:  # a complex pair of radius ~1, as a real Jordan block
            r, t = float(rng.choice([0.9999, 0.99992, 0.999])), float(rng.uniform(0.1, 3.0))
            B = r * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
            m = size // 2 if size >= 4 else 2
            A = np.kron(np.eye(m), B) + np.kron(np.diag([1.0] * (m - 1), 1), np.eye(2))
        known = None
        if lam == 1.0 and not pair:
            known = False  # a Jordan block at 1: polynomial growth
        return ground_truth(Draw(category, _fr(A), A, False, False, note=f"lambda={lam}"), known)
    if category == "rational":
        kind = str(rng.choice(["inside", "inside", "circle", "outside"]))
        J, nonstrict = _blocks(rng, n, "circle" if kind == "circle" else "inside")
        if kind == "outside":
            j = n - 1  # decoupled from any 2x2 block: a real eigenvalue outside
            for t in range(n):
                if t != j:
                    J[t][j] = J[j][t] = Fraction(0)
            J[j][j] = Fraction(int(rng.choice([-1, 1])) * int(rng.integers(21, 30)), 20)
            nonstrict = False
        F = _similar_int(rng, J)
        return ground_truth(Draw(category, F, _fmat(F), True, False, note=kind), nonstrict)
    if category == "continuous":
        A = _random(rng, n, True)
        if rng.random() < 0.3 and n > 1:
            k = rng.integers(-5, 6, size=n).astype(float)
            D = 10.0 ** k
            A = A * D[:, None] / D[None, :]
        return ground_truth(Draw(category, _fr(A), A, False, True))
    raise ValueError(category)


CATEGORIES = ("random", "scaled", "jordan", "rational", "continuous")


# --------------------------------------------------------------------------- checking one draw


def _exact_pd(M: list) -> bool:
    """Positive definite by Gaussian elimination over Fractions (independent of stabcheck)."""
    A = [row[:] for row in M]
    n = len(A)
    for k in range(n):
        if A[k][k] <= 0:
            return False
        for i in range(k + 1, n):
            f = A[i][k] / A[k][k]
            for j in range(k, n):
                A[i][j] -= f * A[k][j]
    return True


def _decrease(F, P, continuous):
    n = len(F)
    if continuous:
        AP = [[sum(F[k][i] * P[k][j] for k in range(n)) for j in range(n)] for i in range(n)]
        return [[AP[i][j] + AP[j][i] for j in range(n)] for i in range(n)]
    PA = [[sum(P[i][k] * F[k][j] for k in range(n)) for j in range(n)] for i in range(n)]
    return [[sum(F[k][i] * PA[k][j] for k in range(n)) - P[i][j] for j in range(n)] for i in range(n)]


def check(d: Draw, certify_linear) -> dict:
    """Run strict and non-strict certification and compare with the ground truth."""
    kw = dict(continuous=d.continuous)
    if d.exact_given:
        kw["A_exact"] = [[str(v) for v in row] for row in d.F]
    out = {"category": d.category, "n": len(d.F), "strict_exists": d.strict_exists,
           "nonstrict_exists": d.nonstrict_exists, "outside": d.outside, "problems": []}
    for strict in (True, False):
        r = certify_linear(d.A, strict=strict, **kw)
        key = "strict" if strict else "nonstrict"
        out[key] = r.status
        out[key + "_rung"] = r.extras.get("rung")
        s = r.statement
        if r.certified:
            P = [[Fraction(v) for v in row] for row in r.P_exact]
            if strict:
                ok = d.strict_exists and _exact_pd(P) and _exact_pd(
                    [[-v for v in row] for row in _decrease(d.F, P, d.continuous)])
            else:
                ok = (not d.outside) and d.nonstrict_exists is not False and _exact_pd(P)
            if not ok:
                out["problems"].append(f"false {key} certificate")
        none = "and none can exist" in s
        no_strict = "no strict one can exist" in s
        if none and not (d.outside or d.nonstrict_exists is False):
            out["problems"].append(f"unproven impossibility ({key}): {s[:120]}")
        if no_strict and d.strict_exists:
            out["problems"].append(f"false 'no strict one' ({key}): {s[:120]}")
    if out["strict"] == "certified" and out["nonstrict"] != "certified":
        out["problems"].append("strict certified but non-strict not")
    return out


def run(n_draws: int, seed: int, certify_linear, categories=CATEGORIES) -> list:
    rng = np.random.default_rng(seed)
    return [check(draw(rng, categories[i % len(categories)]), certify_linear) for i in range(n_draws)]


def summarize(rows: list) -> dict:
    out = {}
    for cat in sorted(set(r["category"] for r in rows)) + ["all"]:
        rs = [r for r in rows if cat == "all" or r["category"] == cat]
        se = [r for r in rs if r["strict_exists"]]
        ne = [r for r in rs if r["nonstrict_exists"]]
        out[cat] = {
            "draws": len(rs),
            "false_certificates": sum(any("false" in p and "certificate" in p for p in r["problems"]) for r in rs),
            "false_impossibility": sum(any("impossibility" in p or "no strict one" in p for p in r["problems"])
                                       for r in rs),
            "strict_exists": len(se),
            "strict_certified": sum(r["strict"] == "certified" for r in se),
            "nonstrict_exists": len(ne),
            "nonstrict_certified": sum(r["nonstrict"] == "certified" for r in ne),
            "strict_but_not_nonstrict": sum("strict certified but non-strict not" in r["problems"] for r in rs),
            "inconclusive": sum((r["strict"] == "inconclusive") + (r["nonstrict"] == "inconclusive") for r in rs),
        }
    return out


def main(argv=None) -> None:
    """Thorough profile: ``python tests/certify/fuzz_cases.py --draws 10000 --seed 1``."""
    import argparse
    import json
    import time

    from stabcheck.certify import certify_linear

    ap = argparse.ArgumentParser(description="certification fuzz, thorough profile")
    ap.add_argument("--draws", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    c0 = time.process_time()
    rows = run(a.draws, a.seed, certify_linear)
    summ = summarize(rows)
    print(f"# {a.draws} draws, seed {a.seed}: {time.perf_counter() - t0:.0f} s wall, "
          f"{time.process_time() - c0:.0f} s CPU")
    print("| category | draws | false certificates | false impossibility | strict recall | "
          "non-strict recall | strict but not non-strict | inconclusive (calls) |")
    print("|---|---|---|---|---|---|---|---|")
    for cat, s in summ.items():
        print(f"| {cat} | {s['draws']} | {s['false_certificates']} | {s['false_impossibility']} | "
              f"{s['strict_certified']}/{s['strict_exists']} | {s['nonstrict_certified']}/{s['nonstrict_exists']} | "
              f"{s['strict_but_not_nonstrict']} | {s['inconclusive']} |")
    bad = [r for r in rows if r["problems"]]
    misses = [r for r in rows if (r["strict_exists"] and r["strict"] != "certified")
              or (r["nonstrict_exists"] and r["nonstrict"] != "certified")]
    print(json.dumps({"problems": bad[:20], "misses": misses[:20]}, default=str))


if __name__ == "__main__":
    main()
