"""Known cases of the issue ("Must hold") and property tests on random matrices."""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from stabcheck.certify import certify_linear
from stabcheck.errors import BadInput

from certify_models import alt_wgan, sim_from_field, sim_wgan

ETAS = ["1/1000", "1/100", "1/10", "1/2", "1", "2"]


def _float(F):
    return np.array([[float(v) for v in r] for r in F])


def _assert_valid_strict(res, A):
    """Independent float check of a returned certificate (not the code's own check)."""
    P = np.array(res.P)
    assert np.linalg.eigvalsh(P).min() > 0
    assert np.linalg.eigvalsh(A.T @ P @ A - P).max() < 0


@pytest.mark.parametrize("eta", ETAS)
def test_sim_gda_wgan_dirac_has_no_certificate_at_any_eta(eta):
    F = sim_wgan(eta)
    A = _float(F)
    # spectral radius sqrt(1 + eta^2) > 1: det(A) = 1 + eta^2 exceeds 1, computed exactly
    assert F[0][0] * F[1][1] - F[0][1] * F[1][0] == 1 + Fraction(eta) ** 2
    for strict in (True, False):
        res = certify_linear(A, F, strict=strict)
        assert res.status == "not certified"
        assert not res.exact_check and res.P is None
        assert res.evidence["spectral_radius"][0] > 1
    g = res.counterexample  # a trajectory on which |x| (and every candidate V) grows
    rho = float(np.sqrt(float(1 + Fraction(eta) ** 2)))
    assert g["log10_growth"] > 0
    assert g["log10_growth"] == pytest.approx(g["steps"] * np.log10(rho), rel=1e-6)


@pytest.mark.parametrize("loss,reg", [("wgan", "r1"), ("bce", "r1"), ("bce", "noise")])
def test_sim_gda_with_r1_or_instance_noise_small_eta_is_certified(reg, loss):
    # f'(0), f''(0): WGAN f(t) = t -> 1, 0; BCE f(t) = -log(1 + e^-t) -> 1/2, -1/4.
    fp, fpp = (Fraction(1), Fraction(0)) if loss == "wgan" else (Fraction(1, 2), Fraction(-1, 4))
    if reg == "r1":  # discriminator maximizes L - gamma/2 psi^2, gamma = 1
        J = [[0, -fp], [fp, -1]]
    else:  # instance noise sigma = 1: d^2/dpsi^2 of E f(psi(theta+e)) + E f(-psi e) = 2 f''(0) sigma^2
        J = [[0, -fp], [fp, 2 * fpp]]
    F = sim_from_field(J, "1/10")
    A = _float(F)
    res = certify_linear(A, F)
    assert res.status == "certified" and res.exact_check and res.strict
    assert res.margin > 0
    _assert_valid_strict(res, A)
    # the exact check used rationals: re-verify with sympy on the reported exact P
    P = sp.Matrix([[sp.Rational(v) for v in r] for r in res.P_exact])
    Am = sp.Matrix([[sp.Rational(v.numerator, v.denominator) for v in r] for r in F])
    D = Am.T * P * Am - P + sp.Rational(res.margin) * sp.eye(2)
    assert all(ev < 0 for ev in D.eigenvals())


def test_sim_r1_matches_engine_if_available():
    lin = pytest.importorskip("stabcheck.linearize")
    from stabcheck.games import make_game
    from stabcheck.methods import make_method

    game = make_game("dirac", loss="bce", regs=("r1:gamma=1",))
    L = lin.method_jacobian(game, make_method("sim"), 0.1)
    ours = sim_from_field([[0, Fraction(-1, 2)], [Fraction(1, 2), -1]], "1/10")
    assert sp.Matrix(L.exact) == sp.Matrix([[sp.Rational(v.numerator, v.denominator) for v in r] for r in ours])


@pytest.mark.parametrize("eta", ["1/10", "1/2", "3/2"])
def test_alt_gda_wgan_dirac_nonstrict_yes_strict_no(eta):
    F = alt_wgan(eta)
    A = _float(F)
    strict = certify_linear(A, F, strict=True)
    assert strict.status == "not certified"
    res = certify_linear(A, F, strict=False)
    assert res.status == "certified" and res.exact_check and not res.strict
    # derived by hand: psi' = psi + a theta, theta' = theta - a psi' conserves
    # Q = theta^2 + psi^2 + a theta psi; the certificate must be a multiple of it.
    a = sp.Rational(eta)
    P = sp.Matrix([[sp.Rational(v) for v in r] for r in res.P_exact])
    Am = sp.Matrix([[1 - a ** 2, -a], [a, 1]])
    assert sp.simplify(Am.T * P * Am - P) == sp.zeros(2, 2)
    th, ps = sp.symbols("theta psi")
    Q = th ** 2 + ps ** 2 + a * th * ps
    x = sp.Matrix([th, ps])
    assert sp.simplify((x.T * P * x)[0] / Q).is_number
    assert P.is_positive_definite


def test_continuous_time():
    A = np.array([[-1.0, 5.0], [0.0, -2.0]])
    res = certify_linear(A, continuous=True)
    assert res.status == "certified"
    P = np.array(res.P)
    assert np.linalg.eigvalsh(A.T @ P + P @ A).max() < 0
    assert certify_linear(np.array([[0.0, -1.0], [1.0, 0.0]]), continuous=True).status == "not certified"
    # the same matrix as a discrete map is unstable (eigenvalues -1, -2 outside the unit disc)
    assert certify_linear(A).status == "not certified"


def test_solvers_agree():
    rng = np.random.default_rng(7)
    cases = [_float(sim_from_field([[0, -1], [1, -1]], "1/10")), _float(sim_wgan("1/10"))]
    for _ in range(6):
        M = rng.standard_normal((4, 4))
        cases.append(M / np.max(np.abs(np.linalg.eigvals(M))) * rng.choice([0.8, 1.3]))
    for A in cases:
        a = certify_linear(A, solver="clarabel")
        b = certify_linear(A, solver="SCS")
        assert a.solver == "CLARABEL" and b.solver == "SCS"
        if a.status != "inconclusive" and b.status != "inconclusive":
            assert a.status == b.status
        for r in (a, b):
            if r.certified:
                _assert_valid_strict(r, A)


def test_bad_input():
    with pytest.raises(BadInput):
        certify_linear(np.ones((2, 3)))
    with pytest.raises(BadInput):
        certify_linear([[np.nan, 0], [0, 1]])
    with pytest.raises(BadInput):
        certify_linear(np.eye(2), solver="mosek")
    with pytest.raises(BadInput):
        certify_linear(np.eye(2), [[1, 0], [0, "1/3"]])  # A_exact inconsistent with A


def test_solver_failure_is_inconclusive(monkeypatch):
    import cvxpy as cp

    def boom(self, *a, **k):
        raise cp.error.SolverError("simulated failure")

    monkeypatch.setattr(cp.Problem, "solve", boom)
    from stabcheck.certify import ladder
    from stabcheck.certify.lyapunov import certify_maps

    As = [np.eye(2) * 0.5, np.array([[0.3, 0.1], [0.0, 0.4]])]  # two maps
    res = certify_maps(As, [_frac(A) for A in As])
    assert res.status == "certified" and res.extras["rung"] == "stein"  # no solver needed
    monkeypatch.setattr(ladder, "stein_candidate", lambda *a, **k: None)  # force the SDP rung
    res = certify_maps(As, [_frac(A) for A in As])
    assert res.status == "inconclusive" and res.P is None and not res.exact_check
    assert res.to_json()["status"] == "inconclusive"
    # one map is answered by the Lyapunov equation's exact solution, without the solver
    res = certify_linear(np.eye(2) * 0.5)
    assert res.status == "certified" and res.exact_check and res.extras["rung"] == "lyapunov-equation"


def _frac(A):
    from stabcheck.certify.exact import to_fraction_matrix

    return to_fraction_matrix(A)


def test_stable_jordan_block_is_certified_exactly():
    # radius 0.99992, a 6x6 Jordan block: float eigenvalues are off by ~eps^(1/6); the exact
    # Lyapunov rung certifies it, and its P passes an independent float check
    A = np.diag([0.99992] * 6) + np.diag([1.0] * 5, 1)
    res = certify_linear(A)
    assert res.status == "certified" and res.exact_check
    from fractions import Fraction

    P = [[Fraction(v) for v in row] for row in res.P_exact]
    F = _frac(A)
    n = 6
    D = [[sum(F[k][i] * P[k][l] * F[l][j] for k in range(n) for l in range(n)) - P[i][j] for j in range(n)]
         for i in range(n)]
    assert all(D[i][j] == (-1 if i == j else 0) for i in range(n) for j in range(n))  # A^T P A - P = -I exactly


def test_json_contract():
    import json

    res = certify_linear(np.diag([0.5, 0.2]))
    out = json.loads(json.dumps(res.to_json()))
    for key in ("status", "strict", "P", "margin", "exact_check", "solver", "solver_status", "statement"):
        assert key in out
    assert out["status"] == "certified" and out["solver"] == "CLARABEL"
    assert out["solver_status"] in ("optimal", "not used (Lyapunov equation)")


# --------------------------------------------------------------------------- properties


def _scaled(seed, n, radius):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    rho = np.max(np.abs(np.linalg.eigvals(M)))
    return M * (radius / rho)


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(seed=st.integers(0, 10 ** 6), n=st.integers(1, 5), radius=st.floats(1.01, 3.0),
       strict=st.booleans())
def test_spectral_radius_above_one_is_never_certified(seed, n, radius, strict):
    A = _scaled(seed, n, radius)
    assert np.max(np.abs(np.linalg.eigvals(A))) > 1.005
    assert certify_linear(A, strict=strict).status != "certified"


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(seed=st.integers(0, 10 ** 6), n=st.integers(1, 5), radius=st.floats(0.0, 0.95))
def test_spectral_radius_below_one_minus_margin_is_certified(seed, n, radius):
    A = _scaled(seed, n, radius)
    res = certify_linear(A)
    assert res.status == "certified" and res.exact_check
    _assert_valid_strict(res, A)
