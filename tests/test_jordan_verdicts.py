"""A defective unit-modulus eigenvalue (Jordan block on the unit circle) is unbounded
(polynomial) growth, not neutral: in analyze (exact and floating point), its step-size
statement, sweep, and a simulation that shows the growth.

By hand: Alt-GDA (n_d = n_g = 1) on the WGAN Dirac-GAN, field Jacobian [[0, -1], [1, 0]], has
the map's characteristic polynomial z^2 - (2 - eta^2) z + 1. At eta = 2 it is (z + 1)^2 and the
map is not -I, so -1 has a 2x2 Jordan block: iterates grow linearly. At eta = 1 it is
z^2 - z + 1 with the distinct roots exp(+-i pi/3): neutral (a rotation in a skewed basis).
"""

import json

import numpy as np

from stabcheck.analysis import analyze
from stabcheck.cli import main
from stabcheck.games import make_game
from stabcheck.linearize import exact_verdict, method_jacobian, numeric_verdict_matrix, verdict_of
from stabcheck.methods import make_method


def _alt(eta, **kw):
    return analyze(make_game("dirac", "wgan"), [make_method("alt")], eta, **kw)["methods"][0]


def test_alt_wgan_dirac_eta_2_is_unbounded_exactly_and_eta_1_neutral():
    m2 = _alt(2.0)
    assert m2["verdict"] == "unbounded" and m2["verdict_exact"] and m2["defective"]
    assert m2["spectral_radius"] == 1.0  # rho alone would call it neutral
    m1 = _alt(1.0)
    assert m1["verdict"] == "neutral" and m1["verdict_exact"] and m1["defective"] is False
    lam = np.array([complex(a, b) for a, b in m1["eigenvalues"]])
    assert np.allclose(sorted(lam, key=lambda z: z.imag), [np.exp(-1j * np.pi / 3), np.exp(1j * np.pi / 3)])


def test_floating_point_path_also_sees_the_jordan_block():
    assert _alt(2.0, exact_path=False)["verdict"] == "unbounded"
    assert _alt(1.0, exact_path=False)["verdict"] == "neutral"
    # -I (a double eigenvalue -1 with two eigenvectors) stays neutral; a shear does not
    assert numeric_verdict_matrix(-np.eye(2)).verdict == "neutral"
    assert numeric_verdict_matrix(np.array([[1.0, 1.0], [0.0, 1.0]])).verdict == "unbounded"
    assert exact_verdict(__import__("sympy").Matrix([[-1, 0], [0, -1]])).verdict == "neutral"


def test_step_size_statement_excludes_the_defective_point(capsys):
    st = _alt(0.1)["stable_eta"]
    assert st["neutral"] == [[0.0, 2.0]] and st["unbounded"] == [2.0]
    assert main(["analyze", "--system", "dirac", "--loss", "wgan", "--eta", "2", "--method", "alt"]) == 0
    out = capsys.readouterr().out
    assert "unbounded (polynomial growth) (exact)" in out
    assert "neutral for (0, 2);" in out and "(0, 2]" not in out and "JORDAN" not in out
    assert "unbounded (polynomial growth) at eta = 2" in out


def test_sweep_marks_the_jordan_point(capsys):
    assert main(["sweep", "--system", "dirac", "--loss", "wgan", "--method", "alt", "--grid", "eta=0.5:2.5:5",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["verdict"] == ["neutral", "neutral", "neutral", "unbounded", "diverges"]
    assert r["counts"]["unbounded"] == 1


def test_simulation_grows_at_eta_2_and_stays_bounded_at_eta_1(capsys):
    """stabcheck simulate (the engine's own map, not the linearization): linear growth at
    eta = 2 (4000x the start's distance after 1000 map steps, 2x from step 500 to 1000: not
    exponential), bounded at eta = 1."""
    sup = {}
    for eta, steps in (("2", 500), ("2", 1000), ("1", 1000)):
        assert main(["simulate", "--system", "dirac", "--loss", "wgan", "--eta", eta, "--method", "alt",
                     "--steps", str(steps), "--json"]) == 0
        sup[eta, steps] = json.loads(capsys.readouterr().out)["runs"][0]["sup_ratio"]
    assert 1000 < sup["2", 1000] < 10000
    assert 1.8 < sup["2", 1000] / sup["2", 500] < 2.2  # ~k: polynomial growth
    assert sup["1", 1000] < 10
    assert verdict_of(method_jacobian(make_game("dirac", "wgan"), make_method("alt"), 2.0)).verdict == "unbounded"
