"""The fast path of check-oracle against the reference path.

* :func:`stabcheck.testing.stream.stream_failures` (states streamed, never stored) gives, draw
  by draw, exactly the verdicts of ``run_batch`` + the ``*_violations`` functions;
* the numpy search (``engine="numpy"``, the default) and the Hypothesis search
  (``engine="hypothesis"``, the reference) find the same planted failures and pass the
  thesis's Dirac oracle where it holds;
* the numpy draws mirror the Hypothesis strategies (ranges, short decimals, kinds of start).
"""

import numpy as np
import pytest

from stabcheck.check_oracle import Config, _evaluate, check_oracle
from stabcheck.games import make_game
from stabcheck.simulate import make_runner
from stabcheck.testing import run_batch
from stabcheck.testing import strategies as S
from stabcheck.testing.stream import STREAMED, stream_failures

STEPS = 120


def _draws(game, n=200, seed=1):
    rng = np.random.default_rng(seed)
    crit = S.critical_step_sizes(game)
    X = S.draw_initial_conditions(rng, n, game, kinds=S.ALL_KINDS)
    E = S.draw_step_sizes(rng, n, 1e-3, 3.0, critical=crit)
    X[:15] *= 1e150  # squared distances overflow
    X[15:30] *= 1e-140  # ... and underflow
    Xc, Ec = S.corner_draws(game, 1e-3, 3.0, critical=crit, kinds=S.ALL_KINDS)
    return np.vstack([X, Xc]), np.concatenate([E, Ec])


CASES = [
    # (system, loss, convention, oracle, properties that must fail on some draws)
    ("dirac", "wgan", "thesis", "dirac", {"lyapunov", "bounded"}),
    ("dirac", "wgan", "thesis", "dirac:boundary=V3", {"never_v3"}),
    ("dirac", "wgan", "mescheder", "sim", {"bounded", "never_v3"}),
    ("dirac", "bce", "mescheder", "alt:n_d=2", {"converges"}),
    ("gaussian", "wgan", "thesis", "alt", {"lyapunov"}),
    ("dirac", "wgan", "mescheder", "broken_oracles:AlwaysV3Many", {"never_v3", "bounded"}),
    ("dirac", "wgan", "thesis", "broken_oracles:WrongDirac", {"bounded"}),
    ("dirac", "wgan", "mescheder", "broken_oracles:SignDependentMany", {"convention"}),
]


@pytest.mark.parametrize("system,loss,conv,oracle,must_fail", CASES)
def test_streamed_verdicts_equal_the_reference(broken, system, loss, conv, oracle, must_fail):
    game = make_game(system, loss, convention=conv)
    r = make_runner(oracle, "oracle")
    X, E = _draws(game)
    tr = run_batch(game, r, E, X, STEPS)
    fast = stream_failures(game, r, E, X, STEPS, STREAMED)
    cfg = Config(steps=STEPS)
    for p in STREAMED:
        ref = _evaluate(p, game, tr, cfg, r, False).fails
        assert np.array_equal(fast[p], ref), (p, int(fast[p].sum()), int(ref.sum()))
        if p in must_fail:  # the comparison is not vacuous
            assert ref.any(), p


def test_streamed_candidates_and_axes_equal_the_reference():
    game = make_game("dirac", "wgan", convention="thesis")
    r = make_runner("dirac")
    X, E = _draws(game, seed=2)
    tr = run_batch(game, r, E, X, STEPS)
    for V, excl in (("W", False), ("H", True), ("W", True)):
        fast = stream_failures(game, r, E, X, STEPS, ["lyapunov"], V=V, rtol=1e-12, exclude_axes=excl)
        ref = _evaluate("lyapunov", game, tr, Config(steps=STEPS, candidate=V, rtol=1e-12, exclude_axes=excl),
                        r, False).fails
        assert np.array_equal(fast["lyapunov"], ref), (V, excl)


def _failing(rep):
    return {p["name"] for p in rep["properties"] if p["holds"] is False}


FAST = dict(max_examples=120, steps=100, shrink_examples=15, certificate_etas=[0.1], compare=False)


@pytest.mark.parametrize("oracle,expect", [
    ("broken_oracles:WrongDirac", {"bounded", "lyapunov"}),
    ("broken_oracles:AlwaysV3Many", {"bounded", "lyapunov", "never_v3"}),
    ("broken_oracles:SignDependentMany", {"convention"}),
])
def test_numpy_and_hypothesis_search_find_the_same_planted_failures(broken, oracle, expect):
    props = ("bounded", "lyapunov", "never_v3", "convention")
    reps = {e: check_oracle(oracle, config=Config(properties=props, engine=e, **FAST)) for e in ("numpy", "hypothesis")}
    assert _failing(reps["numpy"]) == _failing(reps["hypothesis"])
    assert expect <= _failing(reps["numpy"])
    for rep in reps.values():
        for p in rep["properties"]:
            if p["holds"] is False:
                assert p["counterexample"] is not None and p["command"].startswith("stabcheck simulate")


def test_dirac_oracle_passes_where_the_thesis_says_on_both_engines():
    props = ("bounded", "never_v3", "convention", "lyapunov")
    for e in ("numpy", "hypothesis"):
        rep = check_oracle("dirac", config=Config(properties=props, engine=e, **FAST))
        st = {p["name"]: p["holds"] for p in rep["properties"]}
        # bounded for eta <= 0.5, never V3, convention-invariant; H is not a Lyapunov function (Lemma D.5)
        assert st == {"bounded": True, "never_v3": True, "convention": True, "lyapunov": False}, (e, st)


def test_numpy_draws_mirror_the_strategies():
    game = make_game("gaussian", "wgan", params={"mean": [1.0, 2.0]})
    rng = np.random.default_rng(0)
    X = S.draw_initial_conditions(rng, 4000, game)
    x_star = game.equilibrium_numeric
    assert X.shape == (4000, game.dim) and not np.any(np.all(X == x_star, axis=1))
    D = X - x_star
    scale = np.max(np.abs(D), axis=1)
    for s in (1e-3, 1e2, 1e-8, 1e6):  # every kind of start occurs
        assert np.any((scale >= 1e-3 * s) & (scale <= 10 * s))
    n = game.n_gen
    assert np.any(np.all(D[:, :n] == 0, axis=1)) and np.any(np.all(D[:, n:] == 0, axis=1))  # boundary
    E = S.draw_step_sizes(rng, 4000, 1e-3, 0.5, critical=[0.2])
    assert E.min() == 1e-3 and E.max() == 0.5 and np.any(E == 0.2)
    assert all(len(repr(float(e))) <= 8 for e in E)  # 3 significant digits print short
    u = S.round_sig_array(np.array([0.123456, -9.99996, 123456.0, 3.14159e-300]), 4)
    assert u.tolist() == [0.1235, -10.0, 123500.0, 3.142e-300]


def test_a_rare_failure_is_shrunk_from_the_search_draw(broken, capsys):
    """The numpy search finds a failure that a short Hypothesis run alone does not; the shrink
    starts from the search's draw, and the printed command reproduces it."""
    import json
    import shlex

    from stabcheck.cli import main

    rep = check_oracle("broken_oracles:RareV3", config=Config(properties=("never_v3",), max_examples=40000, steps=5,
                                                             shrink_examples=10, compare=False, seed=0))
    p = rep["properties"][0]
    assert p["holds"] is False and p["shrunk"] is True
    assert p["counterexample"]["steps"] <= 5
    capsys.readouterr()
    assert main(shlex.split(p["command"])[1:]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["choices"]["V3"] == 1  # reaches the region once
