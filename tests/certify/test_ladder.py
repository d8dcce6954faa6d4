"""The certificate ladder (issue 14): equality of the fast exact paths with the reference ones,
the Stein rung, balancing, and no set certified by the SDP alone that the ladder misses."""

from fractions import Fraction

import numpy as np
import pytest

from stabcheck.certify import common_quadratic, exact as ex, ladder
from stabcheck.certify.lyapunov import certify_maps

import fuzz_cases as fc


def _ints(rng, shape, bits):
    return np.array([[int(rng.integers(-2 ** 62, 2 ** 62)) * (1 << bits) + int(rng.integers(-9, 10))
                      for _ in range(shape[1])] for _ in range(shape[0])], dtype=object)


def test_limb_product_equals_integer_product():
    rng = np.random.default_rng(0)
    for n, bits in [(2, 0), (17, 40), (30, 130)]:
        X, Y = _ints(rng, (n, n + 3), bits), _ints(rng, (n + 3, n), 7)
        assert (ex.int_matmul(X, Y) == X.dot(Y)).all()
    Z = np.zeros((30, 30), dtype=object)
    Z[:, :] = 0
    assert (ex.int_matmul(Z, _ints(rng, (30, 30), 3)) == 0).all()


def test_congruence_pd_proof_agrees_with_elimination_and_never_proves_an_indefinite_matrix():
    rng = np.random.default_rng(1)
    proved = 0
    for k in range(12):
        n = 26
        B = rng.standard_normal((n, n))
        shift = [0.05, -0.05, 1.0][k % 3] * np.trace(B @ B.T) / n
        M = ex.to_int_matrix(ex.rationalize(B @ B.T + shift * np.eye(n) - (k % 3 == 1) * 40 * np.eye(n)))[0]
        st = ex.psd_status(M)
        fast = ex.pd_by_congruence(M)
        if fast:
            proved += 1
            assert st == "pd"
        if st != "pd":
            assert not fast
    assert proved >= 6  # it proves the well-conditioned PD cases


def _bench(n, seed, k=4):
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((n, n)) + 2 * np.sqrt(n) * np.eye(n)
    Ti = np.linalg.inv(T)
    return [Ti @ (0.9 * Q / np.linalg.norm(Q, 2)) @ T for Q in (rng.standard_normal((n, n)) for _ in range(k))]


def test_stein_rung_certifies_n32_and_sdp_answers_when_stein_cannot():
    As = _bench(32, 32)
    r = common_quadratic(As)
    assert r.status == "certified" and r.extras["rung"] == "stein" and r.solver_status.startswith("not used")
    P = np.array(r.P)
    for A in As:
        assert np.linalg.eigvalsh(A.T @ P @ A - P).max() < 0
    As = _bench(8, 8)  # here rho(sum A_i (x) A_i) > 1: the Stein candidate is not a certificate
    K = sum(np.kron(A.T, A.T) for A in As)
    assert np.max(np.abs(np.linalg.eigvals(K))) > 1
    r = common_quadratic(As)
    assert r.status == "certified" and r.extras["rung"] == "sdp"
    assert any(t["rung"] == "stein" and not t["passed"] for t in r.extras["tried"]) or "stein_wall_s" in r.extras


def test_balancing_maps_the_certificate_back_exactly():
    rng = np.random.default_rng(4)
    n = 6
    base = _bench(n, 9, k=2)
    D = 10.0 ** rng.integers(-5, 6, size=n)
    As = [A * D[:, None] / D[None, :] for A in base]
    e = ladder.balance_exponents(As)
    assert e is not None and max(e) - min(e) >= 10
    r = common_quadratic(As)
    assert r.status == "certified" and "balancing" in r.extras
    P = [[Fraction(v) for v in row] for row in r.P_exact]
    for A in As:  # independent exact check on the original (unbalanced) matrices
        F = [[Fraction(float(v)) for v in row] for row in A]
        assert fc._exact_pd(P) and fc._exact_pd([[-v for v in row] for row in fc._decrease(F, P, False)])


def test_unbalance_margin_is_valid():
    P = [[Fraction(2), Fraction(1)], [Fraction(1), Fraction(3)]]  # >= 1.38 I
    Q, m = ladder.unbalance(P, Fraction(1), [0, 5])
    Qf = np.array([[float(v) for v in row] for row in Q])
    assert np.linalg.eigvalsh(Qf).min() >= float(m) > 0


@pytest.mark.parametrize("seed", range(6))
def test_no_set_certified_by_the_sdp_alone_is_missed_by_the_ladder(seed, monkeypatch):
    rng = np.random.default_rng(100 + seed)
    n, k = int(rng.integers(2, 7)), int(rng.integers(2, 4))
    As = _bench(n, seed, k) if seed % 2 else [
        (lambda M: M * (rng.uniform(0.5, 1.0) / np.linalg.norm(M, 2)))(rng.standard_normal((n, n))) for _ in range(k)]
    Fs = [ex.to_fraction_matrix(A) for A in As]
    new = certify_maps(As, Fs)
    monkeypatch.setattr(ladder, "stein_candidate", lambda *a, **kw: None)
    monkeypatch.setattr(ladder, "balance_exponents", lambda *a, **kw: None)
    old = certify_maps(As, Fs)
    assert old.extras["rung"] in ("sdp", None)
    if old.certified:
        assert new.certified
    for r in (new, old):
        if r.certified:
            P = np.array(r.P)
            assert all(np.linalg.eigvalsh(A.T @ P @ A - P).max() < 0 for A in As)


def test_shared_block_structure_is_certified_block_by_block():
    from scipy.linalg import block_diag

    rng = np.random.default_rng(0)

    def blk():
        M = rng.standard_normal((2, 2))
        return M * (0.8 / np.linalg.norm(M, 2))

    perm = rng.permutation(6)
    As = [block_diag(blk(), blk(), blk())[np.ix_(perm, perm)] for _ in range(3)]
    r = common_quadratic(As)
    assert r.status == "certified" and r.extras["rung"] == "block-diagonal" and len(r.extras["blocks"]) == 3
    P = [[Fraction(v) for v in row] for row in r.P_exact]
    for A in As:  # independent exact check on the full (permuted) matrices
        F = [[Fraction(float(v)) for v in row] for row in A]
        assert fc._exact_pd(P) and fc._exact_pd([[-v for v in row] for row in fc._decrease(F, P, False)])
    # one 12x12 map of six 2x2 blocks with radius 0.99992 (a rotation-scaling with a large shear):
    # above the exact rung's size as a whole, each block is solved exactly
    t = 0.3
    R = 0.99992 * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    A = block_diag(*[np.array([[1.0, 50.0], [0.0, 1.0]]) @ R @ np.array([[1.0, -50.0], [0.0, 1.0]])] * 6)
    r = certify_linear_(A)
    assert r.status == "certified" and r.extras["rung"] == "block-diagonal"


def certify_linear_(A):
    from stabcheck.certify import certify_linear

    return certify_linear(A)


def test_above_the_sdp_size_limit_is_inconclusive_not_a_crash(monkeypatch):
    from stabcheck.certify import lyapunov

    monkeypatch.setitem(lyapunov.SDP_MAX_N, "CLARABEL", 4)
    monkeypatch.setitem(lyapunov.SDP_MAX_N, "SCS", 4)
    monkeypatch.setattr(ladder, "stein_candidate", lambda *a, **kw: None)
    As = _bench(6, 3, k=2)
    r = common_quadratic(As)
    assert r.status == "inconclusive" and "not attempted above n = 4" in r.statement and r.P is None
