"""The engine against the papers' closed forms (derived independently in docs/theory.md)."""

import cmath
import math

import numpy as np
import pytest
import sympy as sp

from stabcheck.games import make_game
from stabcheck.linearize import (autodiff_map_jacobian, exact_verdict, method_jacobian,
                                 numeric_verdict_matrix, sorted_eigenvalues, verdict_of)
from stabcheck.methods import make_method

FPRIME = {"wgan": 1.0, "bce": 0.5}  # Mescheder's f'(0); f''(0) = 0 and -1/4


def _eigs(game, spec, eta):
    return sorted_eigenvalues(method_jacobian(game, make_method(spec), eta).numeric)


def _close_sets(a, b, tol=1e-12):
    """Multisets of complex numbers equal within tol (greedy nearest matching)."""
    a, b = list(a), list(b)
    if len(a) != len(b):
        return False
    for y in b:
        k = min(range(len(a)), key=lambda i: abs(a[i] - y))
        if abs(a[k] - y) > tol * max(1, abs(y)):
            return False
        a.pop(k)
    return True


@pytest.mark.parametrize("loss", ["wgan", "bce"])
@pytest.mark.parametrize("eta", [0.01, 0.1, 0.7, 2.5])
def test_sim_gda_dirac_eigenvalues(loss, eta):
    # Mescheder et al. 2018, Lemma 2.3: 1 +- h f'(0) i
    fp = FPRIME[loss]
    expected = [1 + 1j * eta * fp, 1 - 1j * eta * fp]
    assert _close_sets(_eigs(make_game("dirac", loss), "sim", eta), expected)


@pytest.mark.parametrize("loss", ["wgan", "bce"])
@pytest.mark.parametrize("n_d,n_g", [(1, 1), (2, 1), (5, 1), (3, 2)])
@pytest.mark.parametrize("eta", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("first", ["discriminator", "generator"])
def test_alt_gda_dirac_eigenvalues(loss, n_d, n_g, eta, first):
    # Mescheder et al. 2018, Lemma 2.4: 1 - a^2/2 +- sqrt((1 - a^2/2)^2 - 1), a = sqrt(n_g n_d) h f'(0)
    a = math.sqrt(n_g * n_d) * eta * FPRIME[loss]
    c = 1 - a * a / 2
    r = cmath.sqrt(c * c - 1)
    got = _eigs(make_game("dirac", loss), f"alt:n_d={n_d},n_g={n_g},first={first}", eta)
    assert _close_sets(got, [c + r, c - r], tol=1e-10)


def test_alt_gda_edge_is_a_jordan_block():
    # a = 2: double eigenvalue -1, not diagonalizable -> unbounded (polynomial growth), not neutral
    lin = method_jacobian(make_game("dirac", "wgan"), make_method("alt:n_d=4"), 1.0)
    v = verdict_of(lin)
    assert v.verdict == "unbounded" and v.exact and v.defective
    lin = method_jacobian(make_game("dirac", "wgan"), make_method("alt:n_d=1"), 1.0)
    v = verdict_of(lin)
    assert v.verdict == "neutral" and v.exact and v.defective is False


@pytest.mark.parametrize("sigma", [0.1, 0.5, 1.0, 3.0])
def test_instance_noise_field_eigenvalues_bce(sigma):
    # Mescheder et al. 2018, Lemma 3.2: f''(0) s^2 +- sqrt(f''(0)^2 s^4 - f'(0)^2)
    fpp, fp = -0.25, 0.5
    game = make_game("dirac", "bce", regs=[f"noise:sigma={sigma}"])
    J = np.array(game.field_jacobian_exact().tolist(), dtype=float)
    r = cmath.sqrt(fpp ** 2 * sigma ** 4 - fp ** 2)
    assert _close_sets(np.linalg.eigvals(J), [fpp * sigma ** 2 + r, fpp * sigma ** 2 - r])


@pytest.mark.parametrize("gamma", [0.3, 1.0, 4.0])
@pytest.mark.parametrize("loss", ["wgan", "bce"])
def test_r1_field_eigenvalues(gamma, loss):
    # Mescheder et al. 2018, Thm 4.1 setting: -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2)
    fp = FPRIME[loss]
    game = make_game("dirac", loss, regs=[f"r1:gamma={gamma}"])
    J = np.array(game.field_jacobian_exact().tolist(), dtype=float)
    r = cmath.sqrt(gamma ** 2 / 4 - fp ** 2)
    assert _close_sets(np.linalg.eigvals(J), [-gamma / 2 + r, -gamma / 2 - r])


@pytest.mark.parametrize("mean,sigma2", [([1.0], 0.5), ([3.0], 0.04), ([1.0, 2.0], 1.5), ([0.5, -1.0, 2.0], 0.01)])
def test_nie_patel_theorem1(mean, sigma2):
    game = make_game("gaussian", "bce", {"mean": mean, "sigma2": sigma2})
    J = np.array(game.field_jacobian_exact().tolist(), dtype=float)
    beta2 = sigma2 + sum(m * m for m in mean)
    # Theorem 1: the n-1 directions orthogonal to v carry sigma^2, the direction of v beta^2
    got = np.linalg.eigvals(J)
    want = []
    for s in [sigma2] * (len(mean) - 1) + [beta2]:
        r = cmath.sqrt(s * s - 4)
        want += [(-s + r) / 4, (-s - r) / 4]
    assert _close_sets(got, want, tol=1e-10)


@pytest.mark.parametrize("gamma", [0.5, 2.0, 10.0])
@pytest.mark.parametrize("mean,sigma2", [([4.0], 0.04), ([1.0, 2.0], 0.5)])
def test_nie_patel_theorem3_jare(gamma, mean, sigma2):
    game = make_game("gaussian", "bce", {"mean": mean, "sigma2": sigma2})
    f = make_method(f"jare:gamma={gamma}").field(game)
    got = np.linalg.eigvals(np.array(f.jacobian_exact().tolist(), dtype=float))
    want = []
    for s in [sigma2] * (len(mean) - 1) + [sigma2 + sum(m * m for m in mean)]:
        r = cmath.sqrt((s + gamma) ** 2 - (gamma ** 2 + 4))
        want += [(-(s + gamma) + r) / 4, (-(s + gamma) - r) / 4]
    assert _close_sets(got, want, tol=1e-10)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 3.0])
def test_nie_patel_jare_eta_max(gamma):
    # eta_max = 8 min{(g + s2)/(g^2 + 4), 1/((b2 + g) + sqrt(2 b2 g + b2^2 - 4))}: printed form,
    # valid when lambda_{1,2} are complex and lambda_{3,4} real (checked here: s2 = 0.04, |v| = 4)
    from stabcheck.analysis import sim_stable_eta_closed_form

    s2, v = 0.04, 4.0
    b2 = s2 + v * v
    assert (s2 + gamma) ** 2 < gamma ** 2 + 4 and (b2 + gamma) ** 2 > gamma ** 2 + 4
    printed = 8 * min((gamma + s2) / (gamma ** 2 + 4), 1 / ((b2 + gamma) + math.sqrt(2 * b2 * gamma + b2 * b2 - 4)))
    f = make_method(f"jare:gamma={gamma}").field(make_game("gaussian", "bce", {"mean": [v], "sigma2": s2}))
    ev = np.linalg.eigvals(np.array(f.jacobian_exact().tolist(), dtype=float))
    assert sim_stable_eta_closed_form(ev)["max"] == pytest.approx(printed, rel=1e-12)
    # and the engine's map is stable just below and unstable just above
    game = make_game("gaussian", "bce", {"mean": [v], "sigma2": s2})
    for eta, want in [(printed * 0.999, "converges"), (printed * 1.001, "diverges")]:
        lin = method_jacobian(game, make_method(f"jare:gamma={gamma}"), eta)
        assert numeric_verdict_matrix(lin.numeric).verdict == want


def test_nagarajan_kolter_wgan_and_gradnorm():
    # WGAN Dirac: field eigenvalues +-i (not Hurwitz): Sim-GDA is not locally asymptotically stable.
    J = np.array(make_game("dirac", "wgan").field_jacobian_exact().tolist(), dtype=float)
    assert _close_sets(np.linalg.eigvals(J), [1j, -1j])
    # generator term gamma ||grad_psi L||^2: J = [[-2 gamma, -1], [1, 0]], eigenvalues -gamma +- sqrt(gamma^2 - 1)
    for gamma in (0.1, 0.5, 2.0):
        J = np.array(make_game("dirac", "wgan", regs=[f"gradnorm:gamma={gamma}"]).field_jacobian_exact().tolist(), dtype=float)
        r = cmath.sqrt(gamma ** 2 - 1)
        assert _close_sets(np.linalg.eigvals(J), [-gamma + r, -gamma - r])
        assert np.all(np.linalg.eigvals(J).real < 0)


GAMES = [
    ("dirac", "wgan", {}, []), ("dirac", "bce", {}, ["noise:sigma=0.4"]), ("dirac", "nsgan", {}, ["r1:gamma=0.5"]),
    ("dirac", "rkl", {}, ["gradnorm:gamma=0.3"]), ("dirac", "hinge", {}, ["r2:gamma=1"]),
    ("gaussian", "bce", {"mean": [1.0, -2.0], "sigma2": 0.5}, []),
    ("gaussian", "rkl", {"mean": [0.5], "sigma2": 0.2}, ["noise:sigma=0.3"]),
    ("gaussian", "wgan", {"mean": [1.0], "sigma2": 0.5}, ["r1:gamma=0.5"]),
    ("general", None, {"P": [[1, 0.5], [0, 2]], "Q": [[-1, 0.2], [0.2, -0.5]]}, []),
    ("wgan-qc", None, {"lam": 2}, []),
]
METHODS = ["sim", "alt:n_d=3,n_g=2", "alt:first=generator", "eg", "ogda", "jare:gamma=2", "conopt:gamma=0.5",
           "genreg:gamma=1", "discreg:gamma=1.5"]


@pytest.mark.parametrize("system,loss,params,regs", GAMES)
def test_symbolic_and_autodiff_jacobians_agree(system, loss, params, regs):
    game = make_game(system, loss, params, regs)
    for spec in METHODS:
        if spec.startswith("conopt") and system == "gaussian":
            continue  # covered below with one game to keep CI fast
        m = make_method(spec)
        exact = method_jacobian(game, m, 0.17).numeric
        auto = autodiff_map_jacobian(game, m, 0.17)
        assert np.max(np.abs(exact - auto)) <= 1e-12, (spec, exact, auto)


def test_symbolic_and_autodiff_agree_conopt_gaussian():
    game = make_game("gaussian", "bce", {"mean": [1.0], "sigma2": 0.5})
    m = make_method("conopt:gamma=0.5")
    assert np.max(np.abs(method_jacobian(game, m, 0.3).numeric - autodiff_map_jacobian(game, m, 0.3))) <= 1e-12


def test_exact_verdicts_match_float_where_clear():
    rng = np.random.default_rng(0)
    for _ in range(30):
        A = sp.Matrix(3, 3, lambda i, j: sp.Rational(int(rng.integers(-9, 10)), 10))
        rho = max(abs(np.linalg.eigvals(np.array(A.tolist(), dtype=float))))
        v = exact_verdict(A)
        if abs(rho - 1) > 1e-6:
            assert v.verdict == ("converges" if rho < 1 else "diverges")


def test_exact_verdict_rotation_is_neutral_and_shear_is_defective():
    c, s = sp.Rational(3, 5), sp.Rational(4, 5)
    assert exact_verdict(sp.Matrix([[c, -s], [s, c]])).verdict == "neutral"
    v = exact_verdict(sp.Matrix([[1, 1], [0, 1]]))
    assert v.verdict == "unbounded" and v.defective
    assert exact_verdict(sp.Matrix([[1, 0], [0, sp.Rational(1, 2)]])).defective is False


def test_exact_hurwitz_matches_eigenvalues_away_from_the_axis():
    from stabcheck.linearize import exact_hurwitz

    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(150):
        n = int(rng.integers(1, 5))
        A = sp.Matrix(n, n, lambda i, j: sp.Rational(int(rng.integers(-6, 7)), int(rng.integers(1, 4))))
        m = np.linalg.eigvals(np.array(A.tolist(), dtype=float)).real.max()
        if abs(m) < 1e-6:
            continue
        checked += 1
        assert exact_hurwitz(A) == (m < 0), A
    assert checked > 100
    # on the imaginary axis: not Hurwitz (Routh's first column hits 0)
    assert exact_hurwitz(sp.Matrix([[0, -1], [1, 0]])) is False
    assert exact_hurwitz(sp.Matrix([[-1, 0], [0, 0]])) is False


# ------------------------------------------------------------------ the transformed Jacobian at x*

TRANSFORM_CASES = [
    # (the case, bce dim 4 conopt/jare, takes 4-20 s by the full path: benchmarks/bench_sweep.py --setup checks it)
    ("gaussian", "wgan", {"dim": 4, "mean": [0.0, 0.0, 0.0, 4.0], "sigma2": 0.04}, [], "conopt:gamma=3"),
    ("gaussian", "nsgan", {"dim": 4, "mean": [0.0, 0.0, 0.0, 4.0], "sigma2": 0.04}, [], "genreg:gamma=3"),
    ("gaussian", "bce", {"dim": 2, "mean": [0.0, 4.0], "sigma2": 0.04}, [], "jare:gamma=3"),
    ("dirac", "bce", {}, ["r1:gamma=1"], "conopt:gamma=2"),
    ("dirac", "bce", {}, ["noise:sigma=0.5"], "jare:gamma=1.5"),
    ("dirac", "nsgan", {}, ["r2:gamma=0.3"], "genreg:gamma=1"),
    ("dirac", "wgan", {}, ["r1:gamma=0.7"], "discreg:gamma=4"),
]


@pytest.mark.parametrize("case", TRANSFORM_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[4]}-{c[3]}")
def test_transformed_jacobian_at_equilibrium_equals_differentiating_the_transformed_field(case):
    """J - gamma (M o J)^T J (from the base field's Jacobian) is exactly the Jacobian of the
    transformed field (the transform's expression differentiated) at x*."""
    system, loss, params, regs, spec = case
    game = make_game(system, loss, params, regs)
    f = make_method(spec).field(game)
    assert f.base is not None and f.base.vanishes_at_equilibrium()
    short = f.jacobian_exact()
    full = game.field_jacobian_exact(f.expr)  # differentiates the transformed expression
    assert short.shape == full.shape
    assert all(sp.simplify(a - b) == 0 for a, b in zip(short, full))


def test_transformed_jacobian_with_a_swept_symbol_and_chained_transforms():
    from stabcheck.fields import FieldTransform, game_field

    g = sp.Symbol("g", nonnegative=True)
    game = make_game("dirac", "bce", regs=["r1:gamma=1"])
    f = FieldTransform("jare", 2)(FieldTransform("conopt", g)(game_field(game)))
    full = game.field_jacobian_exact(f.expr)
    assert all(sp.simplify(a - b) == 0 for a, b in zip(f.jacobian_exact(), full))
    assert f.jacobian_exact().free_symbols == {g}


def test_transformed_jacobian_falls_back_where_the_field_does_not_vanish():
    """Away from a zero of the field the shortcut would drop dJ/dx v: the full path is used."""
    game = make_game("dirac", "bce")
    moved = game.with_(equilibrium=[sp.Rational(1, 2), 0])  # v = (0, 1/4) there
    f = make_method("conopt:gamma=1").field(moved)
    assert not f.base.vanishes_at_equilibrium()
    J = f.jacobian_exact()
    assert J == moved.field_jacobian_exact(f.expr)
    J0 = f.base.jacobian_exact()
    assert J != (J0 - (J0.T * J0)).applyfunc(sp.simplify)  # the shortcut would be wrong here


def test_transformed_field_expression_is_the_transform_away_from_equilibrium():
    """The (lazily built) transformed expression is the transform's source of truth away from
    x*: at random points it is v - gamma (M o J)^T v with J by central differences of v."""
    from stabcheck.fields import block_mask, game_field

    game = make_game("dirac", "bce", regs=["r1:gamma=0.5"])
    v = game_field(game).numpy
    h = 1e-6
    for name in ("conopt", "jare", "genreg", "discreg"):
        f = make_method(f"{name}:gamma=1.5").field(game)
        M = block_mask(name, 1, 1)
        for x in np.random.default_rng(0).normal(size=(5, 2)):
            J = np.stack([(v(x + h * e) - v(x - h * e)) / (2 * h) for e in np.eye(2)], axis=1)
            np.testing.assert_allclose(f.numpy(x), v(x) - 1.5 * (M * J).T @ v(x), rtol=1e-7, atol=1e-8)


def test_imports_leave_heavy_dependencies_lazy():
    """Start-up: the analysis / linearize / fields / sweep modules and the CLI import neither
    sympy (the exact paths import it) nor torch, cvxpy, matplotlib."""
    import subprocess
    import sys

    code = ("import sys, stabcheck.analysis, stabcheck.linearize, stabcheck.fields, stabcheck.sweep, stabcheck.cli; "
            "print(sorted(m for m in ('sympy', 'torch', 'cvxpy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("system, loss, params, regs", [
    ("dirac", "bce", {}, ["noise:sigma=0.5"]),
    ("dirac", "hinge", {}, ["r1:gamma=1"]),
    ("dirac", "nsgan", {}, ["gradnorm:gamma=2"]),
    ("gaussian", "bce", {"dim": 2, "mean": [1.0, -2.0], "sigma2": 0.5}, []),
    ("gaussian", "nsgan", {"dim": 3}, []),
])
def test_game_field_jacobian_along_lines_equals_the_game_s(system, loss, params, regs):
    """The game field's exact Jacobian at x* (derivatives along coordinate lines) is the one
    Game.field_jacobian_exact gives (differentiate everywhere, then substitute)."""
    from stabcheck.fields import game_field

    game = make_game(system, loss, params, regs)
    assert game_field(game).jacobian_exact() == game.field_jacobian_exact(game.field_expr)
