"""Tests of stabcheck.simulate: oracles vs. update rules, precision, conventions, divergence."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from stabcheck.errors import BadInput
from stabcheck.games import make_game
from stabcheck.oracles import Choice
from stabcheck.simulate import simulate, simulate_many, split_specs


@pytest.fixture(scope="module")
def wgan_thesis():
    return make_game("dirac", "wgan", convention="thesis")


@pytest.fixture(scope="module")
def wgan_mescheder():
    return make_game("dirac", "wgan")


def _states(r):
    return np.array(r.states, dtype=float)


# --------------------------------------------------------------------- Sim / Alt as oracles

@pytest.mark.parametrize("system,loss,x0", [("dirac", "bce", [0.8, -0.6]), ("dirac", "wgan", [1.0, 0.5]),
                                            ("gaussian", "bce", [1.7, 0.4])])
def test_sim_oracle_equals_sim_rule_step_for_step(system, loss, x0):
    game = make_game(system, loss)
    a = simulate(game, "sim", 0.3, x0, 200, kind="oracle", record_states=True)
    b = simulate(game, "sim", 0.3, x0, 200, kind="method", record_states=True)
    assert a.kind == "oracle" and b.kind == "method"
    np.testing.assert_array_equal(_states(a), _states(b))
    assert a.choices == {"V1": 0, "V2": 0, "V3": 200}


@pytest.mark.parametrize("n_d,n_g,first", [(1, 1, "discriminator"), (5, 1, "discriminator"),
                                           (2, 3, "generator")])
def test_alt_oracle_equals_alt_rule_each_period(n_d, n_g, first):
    game = make_game("dirac", "bce")
    spec = f"alt:n_d={n_d},n_g={n_g},first={first}"
    per = n_d + n_g
    a = simulate(game, spec, 0.2, [0.9, 0.3], 40 * per, kind="oracle", record_states=True)
    b = simulate(game, spec, 0.2, [0.9, 0.3], 40, kind="method", record_states=True)
    np.testing.assert_array_equal(_states(a)[::per], _states(b))
    assert a.choices == {"V1": 40 * n_g, "V2": 40 * n_d, "V3": 0}


def test_sim_and_alt_match_hand_written_wgan_maps(wgan_mescheder):
    # Mescheder convention, L = psi*theta: v = (-psi, theta)
    eta, th, ps = 0.1, 1.0, 0.5
    r = simulate(wgan_mescheder, "sim", eta, [th, ps], 50, record_states=True)
    t, p = th, ps
    for _ in range(50):
        t, p = t - eta * p, p + eta * t
    assert _states(r)[-1] == pytest.approx([t, p], rel=1e-13)
    # eq. 5 with n_d = 1: V2 on even steps, V1 on odd steps
    r = simulate(wgan_mescheder, "alt", eta, [th, ps], 50, record_states=True)
    t, p = th, ps
    for i in range(50):
        if i % 2 == 1:
            t = t - eta * p
        else:
            p = p + eta * t
    assert _states(r)[-1] == pytest.approx([t, p], rel=1e-13)
    assert [int(c) for c in r.codes[:4]] == [2, 1, 2, 1]


# --------------------------------------------------------------------- Dirac oracle

def _dirac_loop(th, ps, eta, steps):
    """Independent plain-Python Dirac oracle (thesis eq. 7, L = -psi*theta), boundary 'auto'."""
    for _ in range(steps):
        s = ps * th
        if s < 0 or (s == 0 and th == 0):
            th = th + eta * ps          # V1 = (-dL/dtheta, 0) = (psi, 0)
        else:
            ps = ps - eta * th          # V2 = (0, dL/dpsi) = (0, -theta)
    return th, ps


def test_dirac_oracle_matches_independent_loop(wgan_thesis):
    r = simulate(wgan_thesis, "dirac", 0.1, [0.7, 1.3], 3000, record_states=True)
    th, ps = _dirac_loop(0.7, 1.3, 0.1, 3000)
    np.testing.assert_array_equal(_states(r)[-1], [th, ps])
    assert r.final_distance == pytest.approx(math.hypot(th, ps), rel=1e-14)


def test_dirac_oracle_exact_arithmetic_matches_fractions(wgan_thesis):
    for boundary, expect in (("V2", None), ("auto", None)):
        r = simulate(wgan_thesis, f"dirac:boundary={boundary}", 0.1, [0.7, 1.3], 800, precision="exact",
                     record_states=True)
        th, ps = Fraction(7, 10), Fraction(13, 10)
        eta = Fraction(1, 10)
        for _ in range(800):
            s = th * ps
            v1 = s < 0 or (s == 0 and boundary == "auto" and th == 0)
            if v1:
                th += eta * ps
            else:
                ps -= eta * th
        assert [Fraction(int(v.p), int(v.q)) for v in r.states[-1]] == [th, ps]
    # boundary V2: the exact run lands on (0, 1/5000) and stays there (V2 vanishes at theta = 0)
    r = simulate(wgan_thesis, "dirac:boundary=V2", 0.1, [0.7, 1.3], 800, precision="exact", record_states=True)
    assert [str(v) for v in r.states[-1]] == ["0", "1/5000"]
    assert r.states[-1][0] == 0 and r.states[-100][0] == 0


def test_oracle_returning_bad_value_is_bad_input(wgan_thesis):
    class Bad:
        name = "bad"
        convention = None

        def reset(self):
            pass

        def __call__(self, inp):
            return "V4"

    with pytest.raises(BadInput, match="'V4'.*V1, V2 or V3"):
        simulate(wgan_thesis, Bad(), 0.1, [1, 1], 5)


# --------------------------------------------------------------------- precision

def test_float64_and_mpmath_agree_then_mpmath_goes_below(wgan_mescheder):
    # extragradient on the WGAN Dirac-GAN, eta = 0.5: |lambda| = sqrt(0.8125), linear rate
    steps = 9000
    f = simulate(wgan_mescheder, "eg", 0.5, [1.0, 1.0], steps, kind="method")
    m = simulate(wgan_mescheder, "eg", 0.5, [1.0, 1.0], steps, kind="method", precision=30)
    above = f.log10_distance > -290
    assert above.sum() > 6000
    np.testing.assert_allclose(f.log10_distance[above], m.log10_distance[above], atol=1e-10)
    # the exact rate: log10 |1 - eta^2 + i eta| per step
    rate = 0.5 * math.log10((1 - 0.25) ** 2 + 0.25)
    assert m.final_distance_log10 == pytest.approx(math.log10(math.sqrt(2)) + steps * rate, abs=0.5)
    assert m.final_distance_log10 < -350 and m.final_distance == 0.0   # below float64's range
    assert not (f.final_distance_log10 > -320)                          # float64 underflowed


def test_mpmath_dirac_oracle_below_float_range(wgan_thesis):
    # the boundary decision must be made in the run's own arithmetic, not via float()
    x = [mpmath.mpf("1e-400"), mpmath.mpf("-3e-400")]
    from stabcheck.oracles import DiracOracle, OracleInput

    with mpmath.workdps(30):
        assert DiracOracle()(OracleInput(0, np.array(x, dtype=object), 1)) is Choice.V1


def test_precision_validation(wgan_thesis):
    for bad in (3, "x", True, -1):
        with pytest.raises(BadInput, match="precision"):
            simulate(wgan_thesis, "sim", 0.1, [1, 1], 3, precision=bad)
    with pytest.raises(BadInput, match="rational"):
        simulate(make_game("dirac", "bce"), "sim", 0.1, [1, 1], 3, precision="exact")


# --------------------------------------------------------------------- conventions

def test_thesis_oracle_on_mescheder_game_is_an_error(wgan_mescheder):
    for spec in ("dirac", "dyn-gda"):
        with pytest.raises(BadInput, match="--convention thesis.*--convert"):
            simulate(wgan_mescheder, spec, 0.1, [1, 1], 3)


def test_conversion_equals_running_in_the_oracle_convention(wgan_mescheder, wgan_thesis):
    for spec in ("dirac", "dyn-gda"):
        conv = simulate(wgan_mescheder, spec, 0.1, [0.7, 1.3], 1500, convert=True, record_states=True)
        # the same start in the thesis convention is (theta, -psi)
        th = simulate(wgan_thesis, spec, 0.1, [0.7, -1.3], 1500, record_states=True)
        assert conv.conversion == "mescheder->thesis" and th.conversion is None
        np.testing.assert_array_equal(conv.codes, th.codes)
        np.testing.assert_array_equal(_states(conv) * [1, -1], _states(th))


def test_dirac_oracle_sign_convention_matches_thesis(wgan_thesis):
    # thesis eq. 7 with L = -psi*theta: where psi*theta < 0, V1 moves theta toward 0
    r = simulate(wgan_thesis, "dirac", 0.1, [1.0, -0.5], 1, record_states=True)
    assert int(r.codes[0]) == 1 and abs(r.states[1][0]) < 1.0 and r.states[1][1] == -0.5
    r = simulate(wgan_thesis, "dirac", 0.1, [1.0, 0.5], 1, record_states=True)
    assert int(r.codes[0]) == 2 and r.states[1][0] == 1.0 and abs(r.states[1][1]) < 0.5


def test_oracle_in_other_declared_convention_rejected(wgan_thesis):
    class MeschederOracle:
        name = "m"
        convention = "mescheder"

        def reset(self):
            pass

        def __call__(self, inp):
            return Choice.V3

    with pytest.raises(BadInput, match="mescheder convention"):
        simulate(wgan_thesis, MeschederOracle(), 0.1, [1, 1], 3)
    r = simulate(wgan_thesis, MeschederOracle(), 0.1, [1, 1], 3, convert=True)
    assert r.conversion == "thesis->mescheder"


# --------------------------------------------------------------------- Dyn-GDA

def test_dyn_gda_on_dirac_is_dirac_oracle_off_the_boundary(wgan_thesis):
    # point masses: real projections 0, fake projections psi*theta; Algorithm 2 steps 4-7
    d = simulate(wgan_thesis, "dirac", 0.1, [0.7, 1.3], 2000)
    g = simulate(wgan_thesis, "dyn-gda", 0.1, [0.7, 1.3], 2000, batch=8, seed=3)
    np.testing.assert_array_equal(d.codes, g.codes)


def test_dyn_gda_on_gaussian_is_seeded():
    game = make_game("gaussian", "bce")
    a = simulate(game, "dyn-gda", 0.05, [0.0, 0.5], 150, batch=16, seed=1)
    b = simulate(game, "dyn-gda", 0.05, [0.0, 0.5], 150, batch=16, seed=1)
    c = simulate(game, "dyn-gda", 0.05, [0.0, 0.5], 150, batch=16, seed=2)
    np.testing.assert_array_equal(a.codes, b.codes)
    assert a.choices["V3"] == 0 and int(a.codes[0]) == 2     # first iteration: V2
    assert not np.array_equal(a.codes, c.codes)


# --------------------------------------------------------------------- divergence, metrics

def test_divergence_is_reported_not_raised(wgan_mescheder):
    r = simulate(wgan_mescheder, "sim", 0.1, [1, 1], 10000)
    assert r.stopped == "boundary" and r.diverged and r.steps_done < 10000
    assert r.final_distance > 1e12 and r.to_json()["stopped"] == "boundary"
    r = simulate(wgan_mescheder, "sim", 1e200, [1, 1], 10, max_distance=math.inf)
    assert r.stopped == "non-finite" and r.diverged
    assert math.isfinite(r.final_distance_log10)     # the last finite state


def test_metrics_against_hand_computation(wgan_mescheder):
    r = simulate(wgan_mescheder, "sim", 0.1, [3.0, 4.0], 20)
    d = [5.0 * (1.01 ** (k / 2)) for k in range(21)]     # |1 + i eta| = sqrt(1.01) per step
    assert r.final_distance == pytest.approx(d[-1], rel=1e-12)
    assert r.min_distance == pytest.approx(5.0, rel=1e-15)
    assert r.sup_ratio == pytest.approx(1.01 ** 10, rel=1e-12)
    assert r.first_below is None
    j = r.to_json()
    for key in ("name", "x0", "steps", "precision", "final_distance", "final_distance_log10", "min_distance",
                "min_distance_log10", "first_below_1e-6", "sup_ratio", "choices", "diverged", "stopped"):
        assert key in j


def test_bad_inputs(wgan_thesis):
    with pytest.raises(BadInput, match="finite"):
        simulate(wgan_thesis, "sim", 0.1, [1, float("nan")], 3)
    with pytest.raises(BadInput, match="3 components; system .dirac. has 2"):
        simulate(wgan_thesis, "sim", 0.1, [1, 2, 3], 3)
    for eta in (0, -1, float("nan")):
        with pytest.raises(BadInput, match="eta"):
            simulate(wgan_thesis, "sim", eta, [1, 1], 3)
    with pytest.raises(BadInput, match="unknown oracle"):
        simulate(wgan_thesis, "nosuch", 0.1, [1, 1], 3, kind="oracle")


def test_split_specs():
    assert split_specs("sim,alt:n_d=5,n_g=2,dirac,pkg.m:O:a=1,b=2") == [
        "sim", "alt:n_d=5,n_g=2", "dirac", "pkg.m:O:a=1,b=2"]


# --------------------------------------------------------------------- vectorised path

@pytest.mark.parametrize("spec,kind", [("dirac", None), ("alt:n_d=3", None), ("sim", None), ("eg", "method")])
def test_simulate_many_equals_single_runs(wgan_thesis, spec, kind):
    rng = np.random.default_rng(0)
    X0 = rng.normal(size=(6, 2))
    steps = 700
    many = simulate_many(wgan_thesis, spec, 0.1, X0, steps, kind=kind)
    for i, x0 in enumerate(X0):
        one = simulate(wgan_thesis, spec, 0.1, x0, steps, kind=kind)
        assert many.final_distance[i] == pytest.approx(one.final_distance, rel=1e-12, abs=0)
        assert many.min_distance[i] == pytest.approx(one.min_distance, rel=1e-12)
        assert (many.first_below[i] if many.first_below[i] >= 0 else None) == one.first_below
        assert many.stopped_name(i) == one.stopped
        if one.choices is not None:
            assert list(many.choices[i]) == [one.choices["V1"], one.choices["V2"], one.choices["V3"]]


def test_simulate_many_stops_diverging_starts(wgan_mescheder):
    X0 = np.array([[1.0, 1.0], [1e-3, 0.0]])
    res = simulate_many(wgan_mescheder, "sim", 0.1, X0, 6000)
    assert res.stopped_name(0) == "boundary" and res.stopped_name(1) is None
    assert res.steps_done[1] == 6000 and res.steps_done[0] < 6000


def test_simulate_many_rejects_bad_codes(wgan_thesis):
    class BadMany:
        name = "badmany"
        convention = None

        def reset(self):
            pass

        def __call__(self, inp):
            return Choice.V1

        def choose_many(self, step, X, n_gen):
            return np.full(X.shape[0], 7)

    with pytest.raises(BadInput, match="badmany"):
        simulate_many(wgan_thesis, BadMany(), 0.1, np.ones((3, 2)), 2)


# ----------------------------------------------------------------------------- lean bookkeeping

def _batch_equal(a, b):
    import dataclasses

    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert (x is None) == (y is None), f.name
            assert np.array_equal(x, y, equal_nan=True), f.name
        else:
            assert x == y, f.name


LEAN_CASES = [
    ("dirac", "wgan", {}, [], "thesis", "dirac", 0.1, 1.0),
    ("dirac", "wgan", {}, [], "thesis", "sim", 0.3, 1.0),  # diverges: starts hit the boundary mid-run
    ("dirac", "wgan", {}, [], None, "alt:n_d=2", 0.5, 1.0),
    ("dirac", "bce", {}, ["r1:gamma=1"], None, "sim", 0.5, 1e-3),  # converges: first_below triggers
    ("dirac", "bce", {}, ["r1:gamma=1"], None, "sim:momentum=0.3", 0.5, 1e-3),  # optimizer state
    ("gaussian", "wgan", {"dim": 2, "mean": [1.0, -0.5]}, [], None, "alt", 0.2, 1.0),  # d = 4, x* != 0
    ("gaussian", "wgan", {"mean": [2.0]}, [], None, "sim", 0.2, 1.0),  # d = 2, x* != 0
]


@pytest.mark.parametrize("case", LEAN_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[5]}")
def test_simulate_many_lean_bookkeeping_equals_general(case):
    system, loss, params, regs, conv, runner, eta, scale = case
    game = make_game(system, loss, params, regs, conv)
    rng = np.random.default_rng(5)
    X0 = game.equilibrium_numeric + scale * rng.uniform(-1, 1, size=(300, game.dim))
    X0[:3] = game.equilibrium_numeric  # starts at the equilibrium (distance 0, first_below 0)
    X0[3] = game.equilibrium_numeric + 1e-200  # squares below float64's range: the rescaled distance
    kind = "method" if "momentum" in runner else "oracle"  # (a method: the rule path, optimizer state)
    a = simulate_many(game, runner, eta, X0, 400, kind=kind)
    b = simulate_many(game, runner, eta, X0, 400, kind=kind, lean=False)
    _batch_equal(a, b)


def test_simulate_many_lean_bookkeeping_handles_stops_and_tiny_boundaries():
    game = make_game("dirac", "wgan", convention="thesis")
    X0 = np.random.default_rng(1).uniform(-1, 1, size=(200, 2))
    far = X0.copy()
    far[0] = [1e200, -1e200]  # a far start: room for everyone, then non-finite states
    for start, md, steps in ((X0, 1.5, 300), (X0, 1e6, 300), (X0, np.inf, 4000), (far, 1e6, 4000)):
        a = simulate_many(game, "sim", 0.7, start, steps, max_distance=md, kind="oracle")
        b = simulate_many(game, "sim", 0.7, start, steps, max_distance=md, kind="oracle", lean=False)
        _batch_equal(a, b)
        assert a.stopped.any()
