import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.errors import InvalidArgument

from stabcheck.games import make_game
from stabcheck.testing import (KINDS, build_game, critical_step_sizes, game_specs, initial_conditions,
                               matrices_with_spectrum, seeds, step_sizes)

GAME = make_game("dirac", "wgan", convention="thesis")


@given(step_sizes(1e-3, 0.5, critical=[0.1, 7.0]))
def test_step_sizes_in_range(eta):
    assert 1e-3 <= eta <= 0.5
    assert float(repr(eta)) == eta and len(repr(eta)) <= 8  # a short decimal


def test_step_sizes_draw_the_ends_and_critical_values():
    seen = set()

    @settings(max_examples=200, derandomize=True, database=None)
    @given(step_sizes(1e-3, 0.5, critical=[0.1, 7.0]))
    def collect(eta):
        seen.add(eta)

    collect()
    assert {1e-3, 0.1, 0.5} <= seen and 7.0 not in seen
    logs = np.log10(sorted(seen))
    assert logs.min() == pytest.approx(-3) and len(seen) > 20


def test_step_sizes_validate():
    with pytest.raises(InvalidArgument, match="0 < lo <= hi"):
        step_sizes(0.5, 0.1)
    with pytest.raises(InvalidArgument):
        step_sizes(0, 1)


def test_critical_step_sizes_of_the_wgan_dirac_gan():
    # field Jacobian [[0, 1], [-1, 0]] (thesis convention): |lambda| = 1, not Hurwitz
    assert critical_step_sizes(GAME) == [1.0, 2.0]


@given(initial_conditions(GAME))
def test_initial_conditions_are_never_the_equilibrium(x0):
    assert len(x0) == 2 and all(math.isfinite(v) for v in x0)
    assert np.linalg.norm(x0) > 0


def test_initial_conditions_cover_every_kind():
    seen = {"boundary": 0, "tiny": 0, "huge": 0, "near": 0}

    @settings(max_examples=300, derandomize=True, database=None)
    @given(initial_conditions(GAME))
    def collect(x0):
        n = np.linalg.norm(x0)
        if x0[0] * x0[1] == 0:
            seen["boundary"] += 1
        if n < 1e-6:
            seen["tiny"] += 1
        if n > 1e4:
            seen["huge"] += 1
        if 1e-6 < n < 0.1:
            seen["near"] += 1

    collect()
    assert all(v > 0 for v in seen.values()), seen


@given(initial_conditions(GAME, kinds=("unit", "near", "far", "tiny", "huge")))
def test_only_boundary_starts_touch_the_axes(x0):
    assert x0[0] != 0 and x0[1] != 0


def test_initial_conditions_validate():
    with pytest.raises(InvalidArgument, match="unknown kinds"):
        initial_conditions(GAME, kinds=("sideways",))
    with pytest.raises(InvalidArgument):
        initial_conditions(dim=0)
    assert "extreme" not in KINDS


@settings(max_examples=10)
@given(game_specs(losses=("wgan", "bce")), seeds())
def test_games_build(spec, seed):
    system, loss, regs, conv = spec
    game = build_game(*spec)
    assert game.loss == loss and game.convention == conv and list(game.regs) == list(regs)
    assert 0 <= seed < 2 ** 32


@settings(max_examples=30)
@given(matrices_with_spectrum(3, max_modulus=1.5))
def test_matrices_have_the_prescribed_spectrum(pair):
    A, ev = pair
    assert A.shape == (3, 3) and np.isrealobj(A)
    got = np.sort_complex(np.linalg.eigvals(A))
    want = np.sort_complex(np.asarray(ev))
    # condition <= 100 bounds the eigenvalue error; defective (repeated) eigenvalues are
    # sensitive like sqrt(eps), so compare the spectral radius and the trace/determinant
    assert np.max(np.abs(got)) == pytest.approx(np.max(np.abs(want)), abs=1e-6)
    assert np.trace(A) == pytest.approx(np.sum(want).real, abs=1e-9)
    assert np.linalg.det(A) == pytest.approx(np.prod(want).real, abs=1e-9)


@settings(max_examples=8)
@given(matrices_with_spectrum(2, max_modulus=0.9))
def test_certify_linear_proves_every_drawn_contraction(pair):
    from stabcheck.certify import certify_linear

    A, ev = pair
    res = certify_linear(A)
    assert res.status == "certified", res.statement
