"""Tests of stabcheck.switched: the switched linear model of oracle-driven training."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from stabcheck.errors import BadInput
from stabcheck.games import make_game
from stabcheck.simulate import simulate
from stabcheck.switched import switched_model


@pytest.fixture(scope="module")
def thesis():
    return make_game("dirac", "wgan", convention="thesis")


def test_dirac_wgan_modes_and_regions(thesis):
    m = switched_model(thesis, "dirac", 0.1)
    # thesis convention L = -psi*theta: V1 = (psi, 0), V2 = (0, -theta); A = I + eta J
    assert m.A_exact("V1") == sp.Matrix([[1, sp.Rational(1, 10)], [0, 1]])
    assert m.A_exact("V2") == sp.Matrix([[1, 0], [-sp.Rational(1, 10), 1]])
    S1, = m.regions_exact[0]
    S2, = m.regions_exact[1]
    th, ps = sp.symbols("th ps")
    x = sp.Matrix([th, ps])
    assert sp.expand((x.T * S1 * x)[0]) == -ps * th      # V1 where psi*theta <= 0
    assert sp.expand((x.T * S2 * x)[0]) == ps * th       # V2 where psi*theta >= 0
    assert m.exact_model and m.convention == "thesis" and m.conversion is None


def test_model_reproduces_simulation(thesis):
    m = switched_model(thesis, "dirac", 0.1)
    r = simulate(thesis, "dirac", 0.1, [0.7, 1.3], 600, record_states=True)
    for k in range(600):
        x = r.states[k]
        mode = f"V{int(r.codes[k])}"
        S = m.regions[[n for n, _, _ in m.modes].index(mode)][0]
        assert x @ S @ x >= 0                           # the chosen mode's cone contains x
        np.testing.assert_allclose(m.A(mode) @ x, r.states[k + 1], rtol=0, atol=1e-14 * np.linalg.norm(x))


def test_converted_regions_flip_sign():
    g = make_game("dirac", "wgan")
    with pytest.raises(BadInput, match="--convention thesis"):
        switched_model(g, "dirac", 0.1)
    m = switched_model(g, "dirac", 0.1, convert=True)
    assert m.conversion == "mescheder->thesis"
    # Mescheder: psi_m = -psi_t, so V1 (psi_t*theta <= 0) is psi_m*theta >= 0
    assert m.regions_exact[0][0] == sp.Matrix([[0, sp.Rational(1, 2)], [sp.Rational(1, 2), 0]])
    assert m.A_exact("V1") == sp.Matrix([[1, -sp.Rational(1, 10)], [0, 1]])


def test_boundary_v3_adds_a_mode(thesis):
    m = switched_model(thesis, "dirac:boundary=V3", 0.1)
    assert [n for n, _, _ in m.modes] == ["V1", "V2", "V3"]
    assert len(m.regions[2]) == 2                        # psi*theta = 0: both S and -S
    assert m.A_exact("V3") == sp.Matrix([[1, sp.Rational(1, 10)], [-sp.Rational(1, 10), 1]])


def test_sim_alt_single_mode():
    g = make_game("dirac", "wgan")
    m = switched_model(g, "sim", 0.1)
    assert len(m.modes) == 1 and m.regions == [[]]
    assert m.modes[0][2] == sp.Matrix([[1, -sp.Rational(1, 10)], [sp.Rational(1, 10), 1]])
    m = switched_model(g, "alt:n_d=1", 0.1)
    # discriminator first: psi' = psi + eta theta, then theta' = theta - eta psi'
    e = sp.Rational(1, 10)
    assert m.modes[0][2] == sp.Matrix([[1 - e**2, -e], [e, 1]]) and m.steps_per_mode == 2
    nl = switched_model(make_game("dirac", "bce"), "sim", 0.1)
    assert not nl.exact_model


@pytest.mark.parametrize("loss,oracle,match", [("bce", "dirac", "not linear"), ("wgan", "dyn-gda", "no switched"),
                                               ("hinge", "dirac", "not linear")])
def test_no_model(loss, oracle, match):
    with pytest.raises(BadInput, match=match):
        switched_model(make_game("dirac", loss, convention="thesis"), oracle, 0.1)


def test_piecewise_certifier_accepts_the_model(thesis):
    piecewise = pytest.importorskip("stabcheck.certify.piecewise")
    m = switched_model(thesis, "dirac", 0.1)
    names, mats, fr, Ss, Ss_fr = piecewise.parse_model(m.modes, m.regions)
    assert names == ["V1", "V2"] and len(Ss[0]) == 1
