"""Games: construction, conventions, regularizers, user games."""

import numpy as np
import pytest
import sympy as sp

from stabcheck.errors import BadInput
from stabcheck.games import custom_game, make_game
from stabcheck.games.torchgame import TorchGame
from stabcheck.linearize import method_jacobian
from stabcheck.methods import make_method


def test_dirac_losses_in_mescheder_form():
    th, ps = sp.symbols("theta psi", real=True)
    f = {"wgan": lambda t: t, "bce": lambda t: -sp.log(1 + sp.exp(-t))}
    for loss, fn in f.items():
        g = make_game("dirac", loss)
        assert sp.simplify(g.L_D - (fn(ps * th) + fn(sp.Integer(0)))) == 0


def test_thesis_convention_is_psi_flip():
    g = make_game("dirac", "wgan", convention="thesis")
    th, ps = g.theta[0], g.psi[0]
    assert sp.simplify(g.L_D + ps * th) == 0
    x = np.array([[1.0, 2.0]])
    assert np.allclose(make_game("dirac", "wgan").convert_state(x, "thesis"), [[1.0, -2.0]])


def test_field_numpy_matches_expression_away_from_equilibrium():
    from stabcheck.fields import game_field

    g = make_game("dirac", "bce", regs=["noise:sigma=0.7"])
    f = game_field(g)
    X = np.array([[0.3, -1.2], [2.0, 0.5]])
    # independent reference: Monte-Carlo-free quadrature of the noisy game by scipy
    from scipy import integrate

    def L(th, ps):
        def integrand(e, a):
            return np.exp(-e * e / (2 * 0.49)) / np.sqrt(2 * np.pi * 0.49) * a(e)
        fake = integrate.quad(integrand, -12, 12, args=(lambda e: -np.log1p(np.exp(-ps * (th + e))),))[0]
        real = integrate.quad(integrand, -12, 12, args=(lambda e: -np.log1p(np.exp(ps * e)),))[0]
        return fake + real

    h = 1e-5
    for th, ps in X:
        v_ref = [-(L(th + h, ps) - L(th - h, ps)) / (2 * h), (L(th, ps + h) - L(th, ps - h)) / (2 * h)]
        assert np.allclose(f.numpy(np.array([th, ps])), v_ref, atol=1e-7)


def test_torch_user_game_matches_symbolic():
    L = lambda t, p: (p * t).sum()  # noqa: E731
    tg = TorchGame(name="t", n_gen=1, n_disc=1, L_G=L, L_D=L, equilibrium=[0.0, 0.0])
    sg = make_game("dirac", "wgan")
    for spec in ["sim", "alt:n_d=3", "eg", "ogda", "jare:gamma=2"]:
        m = make_method(spec)
        assert np.allclose(method_jacobian(tg, m, 0.2).numeric, method_jacobian(sg, m, 0.2).numeric, atol=1e-13)
        assert method_jacobian(tg, m, 0.2).exact is None


def test_torch_game_rejects_non_equilibrium():
    L = lambda t, p: (p * (t - 1)).sum()  # noqa: E731
    with pytest.raises(BadInput, match="not a stationary point"):
        TorchGame(name="t", n_gen=1, n_disc=1, L_G=L, L_D=L, equilibrium=[0.0, 0.0])


def test_custom_sympy_game():
    th, ps = sp.symbols("theta psi", real=True)
    g = custom_game([th], [ps], L=ps * th - ps ** 2 / 2, equilibrium=[0, 0])
    assert g.field_jacobian_exact() == sp.Matrix([[0, -1], [1, -1]])
    with pytest.raises(BadInput, match="stationary"):
        custom_game([th], [ps], L=ps * (th - 1), equilibrium=[0, 0])


def test_user_game_from_import_path(tmp_path, monkeypatch):
    mod = tmp_path / "my_user_games.py"
    mod.write_text(
        "import sympy as sp\n"
        "from stabcheck.games import custom_game\n"
        "def make(scale=1):\n"
        "    th, ps = sp.symbols('theta psi', real=True)\n"
        "    return custom_game([th], [ps], L=scale * ps * th, equilibrium=[0, 0], name='mine')\n"
        "def bad():\n"
        "    return 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    g = make_game("my_user_games:make", params={"scale": 2})
    assert g.name == "mine" and g.field_jacobian_exact() == sp.Matrix([[0, -2], [2, 0]])
    with pytest.raises(BadInput, match="expected stabcheck.games.Game"):
        make_game("my_user_games:bad")
    with pytest.raises(BadInput, match="not found"):
        make_game("my_user_games:nope")


def test_regularizers_need_structure():
    with pytest.raises(BadInput, match="needs a built-in GAN game"):
        make_game("general", params={"P": [[1]], "Q": [[-1]]}, regs=["r1:gamma=1"])


def test_dirac_projections_follow_convention():
    g = make_game("dirac", "wgan")
    rng = np.random.default_rng(0)
    real = g.structure.sample_real(rng, 4)
    lat = g.structure.sample_latent(rng, 4)
    d_real, d_fake = g.project(np.array([2.0, 3.0]), real, lat)
    assert np.allclose(d_real, 0) and np.allclose(d_fake, 6.0)
