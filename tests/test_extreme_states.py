"""Extreme states (issue 16): a finite state gives a finite field where the field is
mathematically finite (stable logistic forms), the mpmath path applies the boundary, and a
float run that reaches the subnormal range says so."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch

from stabcheck.errors import BadInput
from stabcheck.fields import game_field
from stabcheck.games import make_game
from stabcheck.games.base import stabilize
from stabcheck.simulate import simulate


@pytest.mark.parametrize("loss", ["bce", "nsgan"])
def test_far_state_has_a_finite_field(loss):
    f = game_field(make_game("dirac", loss))
    x = np.array([1e200, -1e200])
    with np.errstate(over="ignore"):  # psi * theta = -1e400 overflows; the sigmoid of it does not
        v = f.numpy(x)
    # psi * theta -> -inf: the discriminator's sigmoid saturates, the field is (+-psi, theta) x 0 or 1
    ref = {"bce": [1e200, 1e200], "nsgan": [0.0, 1e200]}[loss]
    np.testing.assert_array_equal(v, ref)
    vt = f.torch(torch.tensor(x, dtype=torch.float64)).numpy()
    np.testing.assert_array_equal(vt, ref)
    r = simulate(make_game("dirac", loss), "sim", 0.1, list(x), 10)
    assert r.stopped is None and r.steps_done == 10


@pytest.mark.parametrize("loss", ["bce", "nsgan"])
def test_stable_forms_equal_the_plain_ones(loss):
    game = make_game("dirac", loss)
    f = game_field(game)
    plain = sp.lambdify(game.symbols, list(f.expr), modules="mpmath")
    rng = np.random.default_rng(0)
    for x in rng.normal(scale=5, size=(50, 2)):
        with mpmath.workdps(30):
            ref = [float(c) for c in plain(*[mpmath.mpf(float(c)) for c in x])]
        np.testing.assert_allclose(f.numpy(x), ref, rtol=1e-13, atol=1e-300)
    t = sp.Symbol("t")
    # derivatives of the losses: exp(j a) / (1 + exp(a))^k becomes products of sigmoids, no exp left
    g = -sp.log(1 + sp.exp(-t))
    for k in (1, 2, 3):
        d = stabilize(sp.diff(g, t, k))
        assert not d.has(sp.exp), d
    assert not stabilize(g).has(sp.exp, sp.log)


def test_mpmath_run_stops_at_the_boundary():
    game = make_game("dirac", "wgan")
    r = simulate(game, "sim", 3, [1.0, 1.0], 2000, precision=50, max_distance=1e300)
    assert r.stopped == "boundary" and r.diverged
    assert 300 < r.final_distance_log10 < 302  # it stopped right after crossing, not at 10^1500
    with pytest.raises(BadInput, match="must be finite"):
        simulate(game, "sim", 3, [1.0, 1.0], 2000, precision=50, max_distance=math.inf)  # e.g. --max-distance 1e400


def test_subnormal_distance_is_reported():
    game = make_game("dirac", "wgan")
    far = simulate(game, "eg", 0.5, [1e-300, 1e-300], 3000, kind="method")
    assert far.extras["underflow_at"] is not None and far.to_json()["underflow_at"] == far.extras["underflow_at"]
    k = far.extras["underflow_at"]
    tiny = math.log10(np.finfo(np.float64).tiny)
    assert far.log10_distance[k] < tiny <= far.log10_distance[k - 1]
    assert simulate(game, "eg", 0.5, [1.0, 1.0], 300, kind="method").extras["underflow_at"] is None
    # mpmath follows it below float64's range: nothing to report
    deep = simulate(game, "eg", 0.5, [1e-300, 1e-300], 3000, kind="method", precision=30)
    assert deep.extras["underflow_at"] is None and deep.final_distance_log10 < -400
