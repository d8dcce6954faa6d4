import math
import shlex

import numpy as np
import pytest

from stabcheck.games import make_game
from stabcheck.simulate import simulate
from stabcheck.testing import (bounded_violations, check_bounded, check_convention_invariance, check_converges,
                               check_linearization, check_lyapunov_decrease, check_never_v3, lyapunov_violations,
                               run_batch, simulate_command)

WGAN = make_game("dirac", "wgan")
WGAN_TH = make_game("dirac", "wgan", convention="thesis")


@pytest.mark.parametrize("runner,game", [("sim", WGAN), ("alt", WGAN), ("dirac", WGAN_TH)])
def test_run_batch_matches_simulate_bit_for_bit(runner, game):
    rng = np.random.default_rng(0)
    X0 = rng.standard_normal((6, 2))
    etas = np.array([0.001, 0.01, 0.1, 0.3, 0.5, 0.9])
    tr = run_batch(game, runner, etas, X0, 300)
    for i in range(6):
        r = simulate(game, runner, etas[i], X0[i], 300, record_states=True)
        assert tr.steps_done[i] == r.steps_done
        n = r.steps_done
        np.testing.assert_array_equal(tr.states[i, : n + 1], np.array(r.states))
        np.testing.assert_array_equal(tr.codes[i, :n], r.codes)


def test_run_batch_method_and_stop():
    tr = run_batch(WGAN, "sim", [1.0], np.array([[1.0, 1.0]]), 200, kind="method")
    # ||x_k|| = sqrt(2) * 2^(k/2) passes 1e12 first at k = 79 (2^39.5 sqrt 2 = 1.1e12), the last step taken
    assert tr.stopped[0] == 1 and tr.steps_done[0] == 79
    assert simulate(WGAN, "sim", 1.0, [1.0, 1.0], 200, kind="method").steps_done == 79
    d = tr.distances()[0]
    assert d[79] == pytest.approx(math.sqrt(2) * 2 ** 39.5) and np.all(d[80:] == d[79])


def test_bounded_violations_sup_ratio():
    tr = run_batch(WGAN, "sim", [0.5], np.array([[1.0, 1.0]]), 30)
    v = bounded_violations(tr, C=10)
    # (1 + 0.25)^(k/2) > 10 first at k = 21
    assert v.fails[0] and v.step[0] == 21
    assert v.value[0] == pytest.approx(1.25 ** 15, rel=1e-12)


def test_check_bounded_message_has_a_command_that_reproduces():
    with pytest.raises(AssertionError) as exc:
        check_bounded(WGAN, "sim", 0.5, [1.0, 1.0], steps=100)
    msg = str(exc.value)
    assert "exceeded 10 ||x_0 - x*|| at step 21" in msg and "mescheder convention" in msg
    cmd = msg.split("reproduce: ")[1].strip()
    from stabcheck.cli import main

    assert cmd.startswith("stabcheck simulate ") and "--steps 21" in cmd
    assert main(shlex.split(cmd)[1:]) == 0


def test_check_bounded_passes_for_alt():
    assert check_bounded(WGAN, "alt", 0.5, [1.0, -2.0], steps=1000) < 10


def test_lyapunov_H_increases_in_one_dirac_step():
    # thesis convention, V1 region (psi*theta < 0): theta' = theta + eta psi = 0.1 - 0.5 = -0.4
    # H: (0.01 + 1)/2 = 0.505 -> (0.16 + 1)/2 = 0.58
    with pytest.raises(AssertionError, match=r"H increased at step 0 \(H\(x_0\) = 0.505 -> H\(x_1\) = 0.58"):
        check_lyapunov_decrease(WGAN_TH, "dirac", 0.5, [0.1, -1.0], steps=1)


def test_lyapunov_W_holds_and_exclude_axes():
    check_lyapunov_decrease(WGAN_TH, "dirac", 0.5, [0.1, -1.0], steps=500, V="W")
    tr = run_batch(WGAN_TH, "dirac", [0.5], np.array([[1.0, 0.0]]), 1)  # a boundary step: psi -> -0.5
    assert lyapunov_violations(tr).fails[0]
    assert not lyapunov_violations(tr, exclude_axes=True).fails[0]


def test_never_v3_and_convention_checks(broken):
    check_never_v3(WGAN_TH, "dirac", 0.3, [1.0, 2.0], steps=200)
    with pytest.raises(AssertionError, match="returned V3 at step 0"):
        check_never_v3(WGAN, broken.AlwaysV3(), 0.3, [1.0, 2.0], steps=5)
    check_convention_invariance(WGAN, "dirac", 0.3, [1.0, 2.0], steps=300, convert=True)
    with pytest.raises(AssertionError, match="convention: the run in the thesis convention differs"):
        check_convention_invariance(WGAN, broken.SignDependent(), 0.3, [1.0, 2.0], steps=10)


def test_converges_and_linearization():
    bce = make_game("dirac", "bce", None, ["noise:sigma=1"])
    assert check_converges(bce, "sim", 0.5, [0.01, 0.01], steps=3000) < 1e-6
    with pytest.raises(AssertionError, match="converges"):
        check_converges(WGAN, "alt", 0.5, [1.0, 1.0], steps=1000)
    rate, rho = check_linearization(WGAN, "sim", 0.5)
    assert rho == pytest.approx(math.sqrt(1.25), rel=1e-12) and rate == pytest.approx(rho, rel=1e-9)


def test_simulate_command_flags():
    game = make_game("dirac", "bce", None, ["noise:sigma=0.5"], "thesis")
    cmd = simulate_command(game, "pkg.mod:X", 0.1, [-1.5, 2.0], 7, convert=True)
    assert cmd == ("stabcheck simulate --system dirac --loss bce --reg noise:sigma=0.5 --convention thesis "
                   "--oracle pkg.mod:X --eta 0.1 --x0=-1.5,2.0 --steps 7 --convert --json")
