"""The theory's statements as Hypothesis properties over the built-in games and methods.

Run with the CI profile (default, tests/conftest.py) or ``HYPOTHESIS_PROFILE=thorough``.
Each statement is derived independently of the code under test (sympy or a hand derivation
in the docstring), then checked on trajectories the engine computes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from stabcheck.games import make_game
from stabcheck.testing import (build_game, check_bounded, check_convention_invariance, check_converges,
                               check_linearization, check_lyapunov_decrease, game_specs, initial_conditions,
                               run_batch, step_sizes)

WGAN = make_game("dirac", "wgan")  # Mescheder convention: L = psi*theta, v = (-psi, theta)
WGAN_TH = make_game("dirac", "wgan", convention="thesis")  # L = -psi*theta, v = (psi, -theta)
STARTS = initial_conditions(WGAN)


# --------------------------------------------------------------------------- Sim-GDA

@given(x0=STARTS, eta=step_sizes(1e-3, 2.0))
def test_sim_gda_wgan_grows_by_exactly_sqrt_1_plus_eta2(x0, eta):
    """Sim-GDA on the WGAN Dirac-GAN: x' = (I + eta J) x with J = [[0, -1], [1, 0]], and
    (I + eta J)^T (I + eta J) = (1 + eta^2) I, so ||x_{k+1}|| = sqrt(1 + eta^2) ||x_k|| exactly.
    In float64 each step adds a relative rounding error of a few ulps: tolerance 1e-12 per step."""
    A = sp.eye(2) + sp.Symbol("e") * sp.Matrix([[0, -1], [1, 0]])
    assert sp.simplify(A.T * A - (1 + sp.Symbol("e") ** 2) * sp.eye(2)) == sp.zeros(2, 2)
    tr = run_batch(WGAN, "sim", [eta], np.array([x0]), 100)
    d = tr.distances()[0, : int(tr.steps_done[0]) + 1]
    ratios = d[1:] / d[:-1]
    np.testing.assert_allclose(ratios, math.sqrt(1 + eta * eta), rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- Alt-GDA

def test_alt_invariant_derivation():
    """Discriminator-first Alt-GDA on the WGAN Dirac-GAN (Mescheder convention), a = eta f'(0):
    psi' = psi + a theta, theta' = theta - a psi', i.e. A = [[1 - a^2, -a], [a, 1]]. The
    symmetric P with A^T P A = P is, up to scale, [[1, a/2], [a/2, 1]]: the conserved form is
    Q(x) = theta^2 + a theta psi + psi^2 (positive definite for |a| < 2). Derived by sympy here,
    independently of the engine; the engine's own map matrix must be this A."""
    from stabcheck.linearize import linear_map_matrix
    from stabcheck.rules import Alt

    a = sp.Symbol("a", positive=True)
    th, ps = sp.symbols("theta psi")
    psi1 = ps + a * th
    th1 = th - a * psi1
    A = sp.Matrix([[th1.diff(th), th1.diff(ps)], [psi1.diff(th), psi1.diff(ps)]])
    p11, p12, p22 = sp.symbols("p11 p12 p22")
    Pm = sp.Matrix([[p11, p12], [p12, p22]])
    (sol,) = sp.solve(list(A.T * Pm * A - Pm), [p12, p22], dict=True)
    assert sol == {p12: a * p11 / 2, p22: p11}
    eta = sp.Rational(3, 10)
    J = WGAN.field_jacobian_exact()
    assert linear_map_matrix(Alt(), J, eta, 1) == A.subs(a, eta)


@given(x0=STARTS, eta=step_sizes(1e-3, 1.9))
def test_alt_gda_conserves_its_quadratic_invariant(x0, eta):
    """Q(x) = theta^2 + eta theta psi + psi^2 is constant along Alt-GDA (n_d = 1, discriminator
    first) on the WGAN Dirac-GAN (derived above); float64 drift over 500 periods <= 1e-11 relative."""
    tr = run_batch(WGAN, "alt", [eta], np.array([x0]), 500, kind="method")
    th, ps = tr.states[0, :, 0], tr.states[0, :, 1]
    Q = th * th + eta * th * ps + ps * ps
    np.testing.assert_allclose(Q, Q[0], rtol=1e-11, atol=0)


# --------------------------------------------------------------------------- instance noise

@settings(max_examples=max(5, settings.default.max_examples // 4))
@given(sigma=st.floats(1.0, 2.0), frac=st.floats(0.1, 0.5), x0=initial_conditions(WGAN, kinds=("near", "tiny")))
def test_instance_noise_bce_converges_for_small_eta(sigma, frac, x0):
    """BCE has f''(0) = -1/4 < 0; with instance noise sigma the field Jacobian at x* is
    [[0, -f'(0)], [f'(0), 2 f''(0) sigma^2]] (Mescheder et al. 2018, Lemma 3.2 setting), which is
    Hurwitz, so Sim-GDA converges for eta below the closed-form bound (thesis eq. 9) - locally:
    starts within 1e-2 of x* (from far starts, e.g. x0 = (1, 6), the BCE loss saturates and the
    linear rate is not reached in this many steps). Steps: twice the linear prediction
    ln(1e-6)/ln(rho) plus 200; tolerance 1e-6 relative."""
    from stabcheck.analysis import analyze, resolve_methods

    game = build_game("dirac", "bce", (f"noise:sigma={sigma!r}",), "mescheder")
    J = np.array(game.field_jacobian_exact().evalf(30).tolist(), dtype=float)
    fp, fpp = 0.5, -0.25  # f'(0), f''(0) of f(t) = -log(1 + e^-t)
    np.testing.assert_allclose(J, [[0, -fp], [fp, 2 * fpp * sigma ** 2]], rtol=1e-12, atol=1e-15)
    ev = np.linalg.eigvals(J)
    assert np.all(ev.real < 0)
    bound = float(np.min(-2 * ev.real / np.abs(ev) ** 2))
    eta = float(f"{frac * bound:.3g}")
    rep = analyze(game, resolve_methods(["sim"]), eta)
    assert rep["methods"][0]["verdict"] == "converges"
    rho = rep["methods"][0]["spectral_radius"]
    steps = int(2 * math.log(1e-6) / math.log(rho)) + 200
    check_converges(game, "sim", eta, x0, steps=steps, tol=1e-6)


# --------------------------------------------------------------------------- Dirac oracle

@given(x0=initial_conditions(WGAN_TH), eta=step_sizes(1e-3, 1.0, critical=[1.0]))
def test_dirac_oracle_sup_norm_never_increases_for_eta_le_1(x0, eta):
    """WGAN Dirac oracle (thesis convention): a V1 step gives |theta'| = ||theta| - eta |psi||,
    a V2 step |psi'| = ||psi| - eta |theta||, so W = max(|theta|, |psi|) never increases for
    eta <= 1 (docs/testing.md). Hence ||x_k|| <= sqrt(2) W(x_k) <= sqrt(2) ||x_0||: bounded with
    C = sqrt(2). Float slack 1e-9 relative. (Starts at scale 1e-170, opt-in kind "extreme", are not drawn: see
    docs/testing.md, the float64 underflow of psi*theta.)"""
    check_lyapunov_decrease(WGAN_TH, "dirac", eta, x0, steps=1000, V="W", rtol=1e-9)
    check_bounded(WGAN_TH, "dirac", eta, x0, steps=1000, C=math.sqrt(2) * (1 + 1e-9))


@given(x0=initial_conditions(WGAN_TH, kinds=("unit", "near", "far")), eta=step_sizes(0.05, 0.5))
def test_thesis_potential_H_is_not_monotone_under_the_dirac_oracle(x0, eta):
    """Lemma D.5 claims H = (theta^2 + psi^2)/2 is non-increasing. For a V2 step (psi*theta > 0)
    H(x') - H(x) = eta theta (eta theta - 2 psi) / 2 > 0 when |psi| < eta |theta| / 2: every
    discriminator phase ends by overshooting the axis. So H must increase somewhere on almost
    every trajectory that crosses an axis; here: from x0 = (theta, psi) with psi = eta*theta/4."""
    th = x0[0]
    start = [th, eta * th / 4]
    with pytest.raises(AssertionError, match="lyapunov: H increased at step 0"):
        check_lyapunov_decrease(WGAN_TH, "dirac", eta, start, steps=1)


# --------------------------------------------------------------------------- conventions

@given(spec=game_specs(), runner=st.sampled_from(["sim", "alt", "alt:n_d=3", "dirac"]),
       eta=step_sizes(1e-3, 0.5), data=st.data())
def test_sign_convention_mapping(spec, runner, eta, data):
    """The same game in the other convention (psi -> -psi) with the start converted gives the
    same trajectory with psi -> -psi, bit for bit, for every built-in loss and regularizer; the
    thesis-convention Dirac oracle runs with convert=True on Mescheder-convention games."""
    game = build_game(*spec)
    x0 = data.draw(initial_conditions(game, kinds=("unit", "near", "boundary")))
    convert = runner == "dirac" and game.convention != "thesis"
    check_convention_invariance(game, runner, eta, x0, steps=200, convert=convert)


# --------------------------------------------------------------------------- linearization

@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(spec=game_specs(losses=("wgan", "bce", "rkl"), regularizers=("noise", "r1")),
       method=st.sampled_from(["sim", "alt", "alt:n_d=2", "eg", "ogda"]), eta=step_sizes(0.01, 0.5))
def test_perturbations_grow_at_the_spectral_radius(spec, method, eta):
    """A perturbation of size 1e-12 of x* (= 0 on the Dirac-GAN, so no cancellation) grows or
    shrinks per step at the spectral radius rho of the map's Jacobian:
    |(d_k/d_j)^(1/(k-j)) - rho| <= 0.05 rho with k = 200, j = k/2 (for rho > 1, k stops before
    the perturbation reaches 1e-2, the linear regime)."""
    check_linearization(build_game(*spec), method, eta, steps=200, eps=1e-12, rtol=0.05)
