"""Certification fuzz in CI (issue 16): seeded draws, exact ground truth (tests/certify/fuzz_cases.py).

The thorough profile (>= 10,000 draws, figures in docs/certify.md) runs by hand:
``python tests/certify/fuzz_cases.py --draws 10000 --seed 1``.
"""

from fractions import Fraction

import numpy as np
import pytest

import fuzz_cases as fc
from stabcheck.certify import certify_linear

CI_DRAWS = 300
CI_SEED = 2026


@pytest.fixture(scope="module")
def rows():
    return fc.run(CI_DRAWS, CI_SEED, certify_linear)


def test_no_false_certificate_and_no_false_impossibility(rows):
    bad = [(r["category"], r["problems"]) for r in rows if r["problems"]]
    assert bad == []


def test_strict_recall_and_nonstrict_follows_strict(rows):
    s = fc.summarize(rows)["all"]
    assert s["strict_exists"] >= 100  # the draws are not dominated by unstable maps
    assert s["strict_certified"] >= 0.95 * s["strict_exists"]
    assert s["strict_but_not_nonstrict"] == 0
    for cat in fc.CATEGORIES:  # every category is exercised, with both outcomes
        c = fc.summarize(rows)[cat]
        assert c["draws"] >= 30 and 0 < c["strict_exists"] < c["draws"]


def test_ground_truth_agrees_with_construction():
    # the exact rational draws are built with a known spectrum: Schur-Cohn must agree with it
    rng = np.random.default_rng(5)
    seen = set()
    for _ in range(150):
        d = fc.draw(rng, "rational")
        kind = d.note
        seen.add(kind)
        if kind == "outside":
            assert d.outside and not d.strict_exists and d.nonstrict_exists is False
        elif kind == "inside":
            assert d.strict_exists and not d.outside
        else:  # circle: some eigenvalues may have landed inside only
            assert not d.outside
    assert seen == {"inside", "circle", "outside"}
    # and the tests themselves: x^2 + 1 (on the circle), 2x - 1 (root 1/2), x - 2 (root 2)
    assert not fc.jury_stable([1, 0, 1]) and fc.jury_stable(fc.scale_roots([1, 0, 1], fc.R_OUT))
    assert fc.jury_stable([2, -1]) and not fc.jury_stable(fc.scale_roots([1, -2], fc.R_OUT))
    assert fc.routh_stable([1, 3, 3, 1]) and not fc.routh_stable([1, 0, 1])  # (s+1)^3; s^2 + 1
    assert fc.charpoly([[Fraction(0), Fraction(-1)], [Fraction(1), Fraction(0)]]) == [1, 0, 1]


def test_known_hard_cases():
    # 6x6 Jordan block of radius 0.99992 (float eigenvalues are off by ~eps^(1/6))
    J = np.diag([0.99992] * 6) + np.diag([1.0] * 5, 1)
    for strict in (True, False):
        assert certify_linear(J, strict=strict).status == "certified"
    # Sim-GDA + R1 on the BCE Dirac-GAN at eta = 1e-300 (exact decimal): strictly stable
    from certify_models import sim_from_field

    F = sim_from_field([[0, Fraction(-1, 2)], [Fraction(1, 2), -1]], "1e-300")
    r = certify_linear(np.array([[float(v) for v in row] for row in F]), [[str(v) for v in row] for row in F])
    assert r.status == "certified" and r.extras["rung"] == "lyapunov-equation"
    # the non-strict example: a strict certificate is also a non-strict one
    r = certify_linear([[0.5, 1.0], [0.0, 0.5]], strict=False)
    assert r.status == "certified" and not r.strict and r.extras["strict_certificate"]
    # badly scaled: similarity by diag(10^k), n = 12 (above the exact Lyapunov rung's size)
    rng = np.random.default_rng(3)
    M = rng.standard_normal((12, 12))
    M *= 0.9 / np.max(np.abs(np.linalg.eigvals(M)))
    D = 10.0 ** rng.integers(-7, 8, size=12)
    A = M * D[:, None] / D[None, :]
    r = certify_linear(A)
    assert r.status == "certified"
    P = [[Fraction(v) for v in row] for row in r.P_exact]
    F = [[Fraction(float(v)) for v in row] for row in A]
    assert fc._exact_pd(P) and fc._exact_pd([[-v for v in row] for row in fc._decrease(F, P, False)])


def test_conserved_directions_exactly():
    # a rotation by a Pythagorean angle next to a contraction, hidden by an integer similarity
    J = [[Fraction(3, 5), Fraction(-4, 5), 0], [Fraction(4, 5), Fraction(3, 5), 0], [0, 0, Fraction(-1, 3)]]
    J = [[Fraction(v) for v in row] for row in J]
    F = fc._similar_int(np.random.default_rng(0), J)
    A = np.array([[float(v) for v in row] for row in F])
    ex = [[str(v) for v in row] for row in F]
    r = certify_linear(A, ex, strict=False)
    assert r.status == "certified" and r.extras["rung"] == "neutral-split"
    P = [[Fraction(v) for v in row] for row in r.P_exact]
    D = fc._decrease(F, P, False)
    ev = np.linalg.eigvalsh(np.array([[float(v) for v in row] for row in D]))
    assert fc._exact_pd(P) and ev.max() < 1e-12 and ev.min() < -1e-6  # conserved on 2 dims, decreasing on 1
    s = certify_linear(A, ex, strict=True)
    assert s.status == "not certified" and "no strict one can exist" in s.statement
    # a Jordan block on the circle: exactly proven that no certificate exists
    r = certify_linear([[1, 1], [0, 1]], strict=False)
    assert r.status == "not certified" and "none can exist" in r.statement and "Jordan block" in r.statement
    # continuous time: a rotation generator next to a stable direction
    r = certify_linear([[0, -1, 0], [1, 0, 0], [0, 0, -0.5]], strict=False, continuous=True)
    assert r.status == "certified"
