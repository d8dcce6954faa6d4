"""The optimizer layer against closed forms derived independently (docs/optimizers.md).

* Gidel et al. (AISTATS 2019), the WGAN Dirac-GAN (bilinear, field Jacobian [[0, -1], [1, 0]]):
  with heavy-ball momentum beta on both players (u' = beta u + eta g, x' = x + u'), the z-transform
  of the iteration gives, with q(z) = (z - 1)(z - beta) / z,
    Sim-GDA:  q^2 = -eta^2            ->  charpoly ((z-1)(z-beta))^2 + eta^2 z^2
    Alt-GDA:  q^2 = -eta^2 z          ->  charpoly ((z-1)(z-beta))^2 + eta^2 z^3   (either order)
  Sim: each factor z^2 - (1 + beta +- i eta) z + beta fails the Schur-Cohn test exactly
  ((1 + beta)^2 eta^2 > 0) and has no root on the unit circle, so some |z| > 1 for every eta > 0.
  Alt: at eta = 2 (1 + beta) the root z = -1 appears; converges for beta < 0 and 0 < eta < 2 (1 + beta).
* Two time scales on the Dirac-GAN: Sim |lambda|^2 = 1 + ratio eta^2 f'(0)^2; Alt charpoly
  z^2 - (2 - a^2) z + 1 with a^2 = n_d n_g ratio eta^2 f'(0)^2.
"""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from stabcheck.errors import BadInput
from stabcheck.games import make_game
from stabcheck.linearize import (autodiff_map_jacobian, exact_verdict, linear_map_matrix, method_jacobian)
from stabcheck.methods import make_method
from stabcheck.optimizers import Optimizer
from stabcheck.rules import Alt, Sim, make_rule

z = sp.Symbol("z")
WGAN_J = sp.Matrix([[0, -1], [1, 0]])  # Mescheder convention, f'(0) = 1
FPRIME = {"wgan": sp.Integer(1), "bce": sp.Rational(1, 2)}


def _charpoly(A: sp.Matrix) -> sp.Poly:
    return sp.Poly(A.charpoly(z).as_expr(), z)


def _map(spec: str, eta, loss: str = "wgan") -> sp.Matrix:
    lin = method_jacobian(make_game("dirac", loss), make_method(spec), eta)
    assert lin.exact is not None
    return lin.exact


# ------------------------------------------------------------------ Gidel et al. 2019

def test_sim_momentum_schur_cohn_identity_is_exact():
    # both roots of z^2 + a1 z + a0 in the open disk iff |a0| < 1 and |a1 - conj(a1) a0| < 1 - |a0|^2
    eta, beta = sp.symbols("eta beta", positive=True)
    for sign in (1, -1):
        a1 = -(1 + beta + sign * sp.I * eta)
        a0 = beta
        lhs = sp.expand(sp.Abs(a1 - sp.conjugate(a1) * a0) ** 2)
        gap = sp.simplify(lhs - (1 - a0 ** 2) ** 2)
        assert sp.simplify(gap - (1 + beta) ** 2 * eta ** 2) == 0  # > 0 for eta > 0: test fails


@pytest.mark.parametrize("beta", [Fraction(-9, 10), Fraction(-1, 2), Fraction(-1, 10), Fraction(1, 10),
                                  Fraction(1, 2), Fraction(9, 10)])
@pytest.mark.parametrize("eta", [Fraction(1, 1000), Fraction(1, 10), Fraction(1), Fraction(3)])
def test_sim_gda_with_any_momentum_diverges(beta, eta):
    A = _map(f"sim:momentum={float(beta)}", float(eta))
    b, e = sp.Rational(beta.numerator, beta.denominator), sp.Rational(eta.numerator, eta.denominator)
    expected = sp.Poly(sp.expand(((z - 1) * (z - b)) ** 2 + e ** 2 * z ** 2), z)
    assert _charpoly(A) == expected
    assert exact_verdict(A).verdict == "diverges"


@pytest.mark.parametrize("first", ["discriminator", "generator"])
@pytest.mark.parametrize("beta", [Fraction(-9, 10), Fraction(-1, 2), Fraction(-3, 10), Fraction(-1, 20)])
def test_alt_gda_negative_momentum_converges_below_2_one_plus_beta(first, beta):
    b = sp.Rational(beta.numerator, beta.denominator)
    edge = 2 * (1 + b)
    for frac in (sp.Rational(1, 100), sp.Rational(1, 2), sp.Rational(99, 100)):
        e = edge * frac
        A = _map(f"alt:first={first},momentum={float(beta)}", float(e))
        # the float spec parses back to the decimal it prints as: use that exact value
        e_used = sp.Rational(repr(float(e)))
        assert _charpoly(A) == sp.Poly(sp.expand(((z - 1) * (z - b)) ** 2 + e_used ** 2 * z ** 3), z)
        assert exact_verdict(A).verdict == "converges", (beta, e)
    for frac in (sp.Rational(101, 100), sp.Rational(2)):
        A = _map(f"alt:first={first},momentum={float(beta)}", float(edge * frac))
        assert exact_verdict(A).verdict == "diverges", (beta, frac)


@pytest.mark.parametrize("first", ["discriminator", "generator"])
@pytest.mark.parametrize("beta", [0.05, 0.3, 0.9])
@pytest.mark.parametrize("eta", [0.001, 0.1, 1.0, 2.5])
def test_alt_gda_positive_momentum_diverges(first, beta, eta):
    assert exact_verdict(_map(f"alt:first={first},momentum={beta}", eta)).verdict == "diverges"


def test_alt_negative_momentum_stable_range_from_the_scan():
    from stabcheck.analysis import analyze_method

    game = make_game("dirac", "wgan")
    entry = analyze_method(game, make_method("alt:momentum=-0.5"), 0.5)
    assert entry["verdict"] == "converges"
    assert entry["stable_eta"]["max"] == pytest.approx(1.0, rel=1e-8)  # 2 (1 + beta)


# ------------------------------------------------------------------ two time scales

@pytest.mark.parametrize("loss", ["wgan", "bce"])
@pytest.mark.parametrize("ratio", [0.25, 1.0, 4.0, 7.5])
@pytest.mark.parametrize("eta", [0.01, 0.3, 1.2])
def test_sim_two_time_scale_radius(loss, ratio, eta):
    A = _map(f"sim:ratio={ratio}", eta, loss)
    fp = FPRIME[loss]
    r, e = sp.Rational(repr(ratio)), sp.Rational(repr(eta))
    # complex pair 1 +- i eta sqrt(ratio) f'(0): det = |lambda|^2, trace = 2
    assert A.trace() == 2 and A.det() == 1 + r * e ** 2 * fp ** 2
    lam = np.linalg.eigvals(np.array(A.evalf(30).tolist(), dtype=float))
    assert np.allclose(np.abs(lam), float(sp.sqrt(1 + r * e ** 2 * fp ** 2)), rtol=1e-14, atol=0)


@pytest.mark.parametrize("loss", ["wgan", "bce"])
@pytest.mark.parametrize("n_d,n_g", [(1, 1), (5, 1), (2, 3)])
@pytest.mark.parametrize("ratio", [0.5, 2.0, 4.0])
@pytest.mark.parametrize("first", ["discriminator", "generator"])
def test_alt_two_time_scale_mescheder_form(loss, n_d, n_g, ratio, first):
    eta = 0.3
    A = _map(f"alt:n_d={n_d},n_g={n_g},first={first},ratio={ratio}", eta, loss)
    a2 = n_d * n_g * sp.Rational(repr(ratio)) * sp.Rational(repr(eta)) ** 2 * FPRIME[loss] ** 2
    assert _charpoly(A) == sp.Poly(z ** 2 - (2 - a2) * z + 1, z)


def test_alt_two_time_scale_stable_range_closed_form():
    from stabcheck.analysis import analyze_method

    entry = analyze_method(make_game("dirac", "wgan"), make_method("alt:n_d=2,ratio=2"), 0.1)
    assert entry["stable_eta"]["neutral"] == [[0.0, pytest.approx(1.0)]]  # a = sqrt(4) eta = 2 at eta = 1


# ------------------------------------------------------------------ Adam / RMSProp, frozen preconditioner

def _exact_traj(rule, J: sp.Matrix, eta, n_gen, x0, steps):
    M = linear_map_matrix(rule, J, sp.Rational(repr(eta)), n_gen)
    d = J.shape[0]
    zz = sp.Matrix(list(x0) + [0] * (M.shape[0] - d))
    out = []
    for _ in range(steps):
        zz = M * zz
        out.append(list(zz[:d]))
    return out, M


@pytest.mark.parametrize("beta1", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("c", [0.5, 3.0])
def test_adam_scalar_precond_is_ema_momentum_with_step_c_eta(beta1, c):
    # Adam: m' = b m + (1-b) g, x' = x + c eta m'.  With u = c eta m this is heavy ball
    # u' = b u + (1-b) c eta g: the same positions for every step (exactly), equal spectra.
    J = sp.Matrix([[sp.Rational(-1, 3), -1], [1, sp.Rational(-1, 5)]])
    eta = 0.2
    adam = make_rule(f"sim:opt=adam,beta1={beta1},precond={c}")
    ema_step = float((1 - Fraction(repr(beta1))) * Fraction(repr(c)))  # heavy ball's step / eta, as a decimal
    x_adam, A1 = _exact_traj(adam, J, eta, 1, [1, 2], 12)
    hb = Sim(optimizer=Optimizer("sgd", momentum=beta1, precond=ema_step)) if beta1 else \
        Sim(optimizer=Optimizer("sgd", precond=ema_step))
    x_hb, A2 = _exact_traj(hb, J, eta, 1, [1, 2], 12)
    assert x_adam == x_hb
    if beta1:
        assert _charpoly(A1) == _charpoly(A2)


@pytest.mark.parametrize("momentum", [0.0, -0.4, 0.6])
def test_rmsprop_scalar_precond_is_heavy_ball_with_step_c_eta(momentum):
    J = sp.Matrix([[sp.Rational(-1, 2), -2], [2, 0]])
    r = make_rule(f"alt:opt=rmsprop,precond=2.5,momentum={momentum}")
    hb = Alt(momentum=momentum)
    A = linear_map_matrix(r, J, sp.Rational(1, 10), 1)
    B = linear_map_matrix(hb, J, sp.Rational(25, 100), 1)
    assert A == B


def test_sim_adam_beta1_zero_diagonal_precond_is_sim_on_field_Dv():
    game = make_game("gaussian", "bce", {"mean": [1.0, -2.0], "sigma2": 0.5})
    d = game.dim
    D = [0.5, 2.0, 1.25, 4.0][:d] + [1.0] * max(0, d - 4)
    spec = "sim:opt=adam,beta1=0,precond=" + ";".join(repr(v) for v in D)
    J = game.field_jacobian_exact()
    Dm = sp.diag(*[sp.Rational(repr(v)) for v in D])
    A_adam = linear_map_matrix(make_rule(spec), J, sp.Rational(1, 10), game.n_gen)
    A_dv = linear_map_matrix(Sim(), Dm * J, sp.Rational(1, 10), game.n_gen)
    # state (x, m): the x block is the Sim map on D v; m' = v(x) does not feed back when beta1 = 0
    assert A_adam[:d, :d] == A_dv and A_adam[:d, d:] == sp.zeros(d, d)
    assert sp.expand(_charpoly(A_adam).as_expr() - z ** d * _charpoly(A_dv).as_expr()) == 0


def test_adam_bias_correction_scales_the_step():
    J = sp.Matrix([[-1, -1], [1, 0]])
    A = linear_map_matrix(make_rule("sim:opt=adam,beta1=0.5,precond=1,t=1"), J, sp.Rational(1, 10), 1)
    B = linear_map_matrix(make_rule("sim:opt=adam,beta1=0.5,precond=2"), J, sp.Rational(1, 10), 1)
    assert A == B  # 1 / (1 - 0.5^1) = 2


# ------------------------------------------------------------------ exact vs autodiff

GAMES = [
    ("dirac", "wgan", {}, []), ("dirac", "bce", {}, ["noise:sigma=0.4"]), ("dirac", "nsgan", {}, ["r1:gamma=0.5"]),
    ("dirac", "rkl", {}, ["gradnorm:gamma=0.3"]), ("dirac", "hinge", {}, ["r2:gamma=1"]),
    ("gaussian", "bce", {"mean": [1.0, -2.0], "sigma2": 0.5}, []),
    ("general", None, {"P": [[1, 0.5], [0, 2]], "Q": [[-1, 0.2], [0.2, -0.5]]}, []),
    ("wgan-qc", None, {"lam": 2}, []),
]
OPT_METHODS = ["sim:ratio=3,momentum=-0.4", "alt:n_d=2,momentum=0.3,ratio=0.5", "eg:opt=adam,beta1=0.5,precond=2.5",
               "ogda:opt=rmsprop,precond=0.7,momentum=0.2", "alt:first=generator,opt=adam,beta1=0.3,precond=1.5,t=5",
               "jare:gamma=2,momentum=-0.3,ratio=2", "genreg:gamma=1,rule=alt,n_d=2,opt=adam,beta1=0.6,precond=0.8"]


@pytest.mark.parametrize("system,loss,params,regs", GAMES)
def test_exact_and_autodiff_agree_for_optimizers(system, loss, params, regs):
    game = make_game(system, loss, params, regs)
    for spec in OPT_METHODS:
        m = make_method(spec)
        lin = method_jacobian(game, m, 0.17)
        assert lin.path == "exact"
        auto = autodiff_map_jacobian(game, m, 0.17)
        assert lin.numeric.shape == auto.shape
        assert np.max(np.abs(lin.numeric - auto)) <= 1e-12, (spec, lin.numeric, auto)


def test_exact_and_autodiff_agree_vector_precond():
    game = make_game("gaussian", "bce", {"mean": [1.0, -2.0], "sigma2": 0.5})
    D = ";".join(repr(0.5 + 0.25 * i) for i in range(game.dim))
    for rule in ("sim", "alt:n_d=2", "eg", "ogda"):
        m = make_method(f"{rule},opt=adam,beta1=0.4,precond={D}" if ":" in rule else f"{rule}:opt=adam,beta1=0.4,precond={D}")
        assert np.max(np.abs(method_jacobian(game, m, 0.2).numeric - autodiff_map_jacobian(game, m, 0.2))) <= 1e-12


# ------------------------------------------------------------------ specs and bad input

@pytest.mark.parametrize("spec", ["sim:ratio=4", "alt:n_d=1,ratio=0.5", "alt:momentum=-0.5,first=generator",
                                  "eg:opt=adam,beta1=0.5,precond=100", "ogda:opt=rmsprop,precond=1;2,momentum=0.1",
                                  "jare:gamma=10,rule=alt,n_d=2,momentum=-0.2", "conopt:gamma=1,rule=alt,first=generator"])
def test_spec_round_trip(spec):
    m = make_method(spec)
    assert make_method(m.spec).spec == m.spec
    assert make_method(m.spec).rule.optimizer.params == m.rule.optimizer.params


@pytest.mark.parametrize("spec,fragment", [
    ("sim:momentum=1", "(-1, 1)"), ("sim:momentum=-1.5", "(-1, 1)"), ("alt:ratio=0", "> 0"),
    ("alt:ratio=-2", "> 0"), ("sim:opt=adam", "needs precond"), ("sim:opt=adam,precond=-1", "> 0"),
    ("sim:opt=adam,precond=1;0", "> 0"), ("sim:opt=lion,precond=1", "unknown optimizer"),
    ("sim:opt=adam,precond=1,momentum=0.3", "beta1"), ("sim:beta1=0.5", "opt=adam"),
    ("sim:opt=adam,precond=1,beta1=1", "[0, 1)"), ("sim:opt=adam,precond=1,t=0", ">= 1"),
    ("sim:precond=abc", "precond"), ("alt:n_d=99999999999999999999", "limit"),
])
def test_bad_optimizer_specs(spec, fragment):
    with pytest.raises(BadInput, match=None) as e:
        make_method(spec)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_precond_of_wrong_length_is_bad_input():
    game = make_game("dirac", "wgan")
    with pytest.raises(BadInput, match="2 parameters"):
        method_jacobian(game, make_method("sim:opt=adam,precond=1;2;3"), 0.1)


def test_replay_rule_is_the_product_of_the_chosen_steps():
    from stabcheck.rules import ReplayRule

    J = sp.Matrix([[sp.Rational(-1, 4), -1], [1, sp.Rational(-1, 3)]])
    eta = sp.Rational(1, 5)
    one = {c: linear_map_matrix(ReplayRule([c]), J, eta, 1) for c in (1, 2, 3)}
    codes = [2, 2, 1, 3, 1, 2]
    prod = sp.eye(2)
    for c in codes:
        prod = one[c] * prod
    assert linear_map_matrix(ReplayRule(codes), J, eta, 1) == prod
    # Alt-GDA's period is the replay of its schedule, also with momentum
    assert linear_map_matrix(ReplayRule([2, 2, 1], momentum=-0.3), J, eta, 1) == \
        linear_map_matrix(Alt(n_d=2, momentum=-0.3), J, eta, 1)
    with pytest.raises(BadInput):
        ReplayRule([1, 4])
