"""Property-based testing of GAN training dynamics: Hypothesis strategies and property checks.

Use these in your own test suite to check that a new oracle, regularizer or method is stable
where the theory says it must be, before spending GPU-days on it. ``stabcheck check-oracle``
runs the same properties against an oracle from the command line.

Strategies (:mod:`stabcheck.testing.strategies`): :func:`step_sizes` (log-uniform, with the
range ends and the theory's critical values as explicit examples), :func:`initial_conditions`
(near / far from ``x*``, on the oracle boundary ``psi . theta = 0``, tiny and huge scales),
:func:`games` / :func:`game_specs` (built-in losses and regularizers with parameters),
:func:`seeds`, :func:`matrices_with_spectrum` (random real matrices with a prescribed
spectrum, for the linear tools).

Checks (:mod:`stabcheck.testing.properties`), each a plain function that raises
``AssertionError`` with a readable message and a ``stabcheck simulate ...`` command that
reproduces the run: :func:`check_bounded`, :func:`check_lyapunov_decrease`,
:func:`check_linearization`, :func:`check_never_v3`, :func:`check_converges`,
:func:`check_convention_invariance`.

Sign conventions: a state is ``x = (theta, psi)`` in the convention of the game it belongs
to; an oracle that declares ``convention = "thesis"`` must run on a game built with
``convention="thesis"`` (or pass ``convert=True``).

Example: a user's pytest file (``tests/test_my_oracle.py``)::

    from hypothesis import given, settings
    from stabcheck.games import make_game
    from stabcheck.testing import (check_bounded, check_lyapunov_decrease, check_never_v3,
                                   initial_conditions, step_sizes)

    from mypkg.oracles import MyOracle          # convention = "thesis", never_v3 = True

    GAME = make_game("dirac", "wgan", convention="thesis")   # the oracle's convention

    @settings(max_examples=200, deadline=None)
    @given(x0=initial_conditions(GAME), eta=step_sizes(1e-3, 0.5))
    def test_bounded(x0, eta):
        check_bounded(GAME, MyOracle(), eta, x0, steps=1000, C=10)

    @given(x0=initial_conditions(GAME), eta=step_sizes(1e-3, 0.5))
    def test_never_v3(x0, eta):
        check_never_v3(GAME, MyOracle(), eta, x0, steps=200)

    @given(x0=initial_conditions(GAME, kinds=("unit", "boundary")), eta=step_sizes(1e-3, 1.0))
    def test_sup_norm_never_grows(x0, eta):
        check_lyapunov_decrease(GAME, MyOracle(), eta, x0, steps=200, V="W")

A failure shrinks to a small example and prints, e.g.::

    AssertionError: bounded: ||x_k - x*|| exceeded 10 ||x_0 - x*|| at step 24 of 1000: ...
      reproduce: stabcheck simulate --system dirac --loss wgan --convention thesis
                 --oracle mypkg.oracles:MyOracle --eta 0.5 --x0=1.0,1.0 --steps 24 --json

See docs/testing.md for the properties, their tolerances and what they found on the thesis's
Dirac oracle.
"""

from stabcheck.testing.properties import (CANDIDATES, DEFAULT_C, DEFAULT_RTOL, Trajectories,  # noqa: F401
                                          Violations, bounded_violations, check_bounded,
                                          check_convention_invariance, check_converges,
                                          check_linearization, check_lyapunov_decrease, check_never_v3,
                                          convention_violations, convergence_failures, lyapunov_violations,
                                          never_v3_violations, potential_H, run_batch, simulate_command,
                                          sup_norm_W)
from stabcheck.testing.strategies import (KINDS, SCALES, build_game, critical_step_sizes,  # noqa: F401
                                          game_specs, games, initial_conditions, matrices_with_spectrum,
                                          real_matrix_with_spectrum, seeds, spectra, step_sizes)

__all__ = [
    "step_sizes", "critical_step_sizes", "initial_conditions", "games", "game_specs", "build_game", "seeds",
    "spectra", "matrices_with_spectrum", "real_matrix_with_spectrum", "KINDS", "SCALES",
    "check_bounded", "check_lyapunov_decrease", "check_linearization", "check_never_v3", "check_converges",
    "check_convention_invariance", "run_batch", "Trajectories", "Violations", "bounded_violations",
    "lyapunov_violations", "never_v3_violations", "convergence_failures", "convention_violations",
    "simulate_command", "potential_H", "sup_norm_W", "CANDIDATES", "DEFAULT_C", "DEFAULT_RTOL",
]
