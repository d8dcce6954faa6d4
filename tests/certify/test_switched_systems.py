import numpy as np
import pytest

from stabcheck.certify import common_quadratic, jsr_bounds, lifted_certificate
from stabcheck.certify.switched import product
from stabcheck.errors import BadInput

# A stable pair (JSR ~ 0.97) without a common quadratic Lyapunov function: found by a random
# search for a large gap between the ellipsoidal bound and the product lower bound.
_B = [np.array([[-0.5924, -0.1260], [-0.0725, 0.1087]]), np.array([[-0.0300, 0.1740], [-1.6709, 0.8296]])]


def _pair():
    lo = max(np.max(np.abs(np.linalg.eigvals(product(_B, w)))) ** (1 / len(w))
             for w in [(0,), (1,), (0, 1), (0, 0, 1), (0, 1, 1)])
    return [B * (0.97 / lo) for B in _B]


def test_common_quadratic_for_contractions_in_a_common_norm():
    rng = np.random.default_rng(0)
    n = 5
    T = rng.standard_normal((n, n)) + 3 * np.eye(n)
    Ti = np.linalg.inv(T)
    As = []
    for _ in range(4):  # A_i = T^-1 Q_i T with ||Q_i||_2 = 0.9: P = T^T T works for all
        Q = rng.standard_normal((n, n))
        As.append(Ti @ (0.9 * Q / np.linalg.norm(Q, 2)) @ T)
    res = common_quadratic(As)
    assert res.status == "certified" and res.exact_check and res.dynamics == "switched"
    P = np.array(res.P)
    for A in As:
        assert np.linalg.eigvalsh(A.T @ P @ A - P).max() < 0


def test_jsr_bounds_bracket_the_golden_ratio():
    # JSR of {[[1,1],[0,1]], [[1,0],[1,1]]} is the golden ratio (Jungers 2009, Ex. 2.1):
    # attained by the product of the two (spectral radius phi^2).
    A1 = np.array([[1.0, 1.0], [0.0, 1.0]])
    b = jsr_bounds([A1, A1.T])
    phi = (1 + 5 ** 0.5) / 2
    assert b.lower <= phi + 1e-12 and b.lower == pytest.approx(phi, rel=1e-9)
    assert b.upper >= phi and b.upper_exact
    assert b.upper <= 1.01 * phi


def test_lifted_certificate_when_one_step_is_not_enough():
    As = _pair()
    b = jsr_bounds(As, max_length=8)
    assert b.lower < 1 < b.upper  # the single-step ellipsoidal bound cannot prove stability
    assert common_quadratic(As).status == "not certified"
    res = lifted_certificate(As, 4)
    assert res.status == "certified" and res.exact_check
    P = np.array(res.P)
    import itertools
    for w in itertools.product(range(2), repeat=4):
        M = product(As, w)
        assert np.linalg.eigvalsh(M.T @ P @ M - P).max() < 0


def test_unstable_switching_is_not_certified_with_word_evidence():
    A1 = np.array([[1.0, 1.0], [0.0, 1.0]]) * 0.7  # each stable (rho 0.7), product unstable
    res = common_quadratic([A1, A1.T])
    assert res.status == "not certified"
    assert res.evidence["jsr_lower"] > 1
    assert lifted_certificate([A1, A1.T], 3).status == "not certified"


def test_bad_input():
    with pytest.raises(BadInput):
        common_quadratic([np.eye(2), np.eye(3)])
    with pytest.raises(BadInput):
        lifted_certificate([np.eye(2)], 0)
    with pytest.raises(BadInput):
        common_quadratic([])
