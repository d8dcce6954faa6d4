"""The check-oracle engine (stabcheck/check_oracle.py): verdicts, shrinking, reproduction."""

import json
import shlex

import pytest

from stabcheck.check_oracle import Config, check_oracle
from stabcheck.cli import main
from stabcheck.errors import BadInput

FAST = dict(max_examples=60, steps=300, shrink_examples=60, certificate_etas=[0.1])


def _prop(rep, name):
    return next(p for p in rep["properties"] if p["name"] == name)


def _rerun(cmd, capsys):
    """Run the printed command through the CLI and return its JSON report."""
    capsys.readouterr()
    assert main(shlex.split(cmd)[1:]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("cls", ["AlwaysV3", "AlwaysV3Many"])
def test_always_v3_fails_bounded_and_the_command_reproduces(broken, cls, capsys):
    rep = check_oracle(f"broken_oracles:{cls}", config=Config(properties=("bounded", "never_v3"),
                                                             compare=False, **FAST))
    assert rep["verdict"] == "fail"
    assert rep["vectorised"] is (cls == "AlwaysV3Many")
    b = _prop(rep, "bounded")
    assert b["holds"] is False and b["failures"] > 0 and b["shrunk"]
    ce = b["counterexample"]
    run = _rerun(b["command"], capsys)["runs"][0]
    assert run["x0"] == ce["x0"] and run["steps_done"] == ce["steps"]
    assert run["sup_ratio"] > 10  # the failure reproduces
    assert _prop(rep, "never_v3")["holds"] is False


def test_sim_on_wgan_dirac_reports_unbounded_growth():
    rep = check_oracle("sim", config=Config(properties=("bounded",), **FAST))
    b = _prop(rep, "bounded")
    assert rep["verdict"] == "fail" and b["holds"] is False
    assert b["comparison"]["sim"]["failures"] == b["failures"]  # the same draws
    assert b["comparison"]["alt:n_d=1,n_g=1,first=discriminator"]["holds"] is True
    assert b["counterexample"]["sup_ratio"] > 10


def test_dirac_oracle_lemma_d5_potential(capsys):
    """The thesis's H = (theta^2 + psi^2)/2 under the Dirac oracle: the fuzz must find an
    increase, shrink it, and the printed command must show it (distance grows in the last step)."""
    rep = check_oracle("dirac", config=Config(properties=("bounded", "lyapunov", "never_v3", "potential"), **FAST))
    assert rep["convention"]["game"] == "thesis" and rep["convention"]["convert"] is False
    assert _prop(rep, "bounded")["holds"] is True and _prop(rep, "never_v3")["holds"] is True
    ly = _prop(rep, "lyapunov")
    assert ly["holds"] is False and ly["shrunk"]
    ce = ly["counterexample"]
    assert ce["V_after"] > ce["V_before"]
    # H = d^2/2 on the Dirac-GAN: the last step of the printed run increases the distance
    import numpy as np

    d_prev = np.hypot(*ce["state"])
    run = _rerun(ly["command"], capsys)["runs"][0]
    assert run["final_distance"] > d_prev
    # the exact check of H finds a growing state inside a mode's region
    pot = _prop(rep, "potential")
    assert pot["holds"] is False and pot["counterexample"]["growth_ratio"] > 1
    if ce["on_axes"]:
        inner = ly["interior"]
        assert inner["found"]
        st = inner["counterexample"]["state"]
        assert st[0] * st[1] != 0


def test_seed_reproducible():
    cfg = Config(properties=("bounded",), seed=3, compare=False, **FAST)
    a = check_oracle("sim", config=cfg)
    b = check_oracle("sim", config=cfg)
    assert _prop(a, "bounded")["counterexample"] == _prop(b, "bounded")["counterexample"]
    assert _prop(a, "bounded")["failures"] == _prop(b, "bounded")["failures"]


def test_convention_property_catches_a_sign_dependent_oracle(broken):
    rep = check_oracle("broken_oracles:SignDependent",
                       config=Config(properties=("convention",), compare=False, **FAST))
    c = _prop(rep, "convention")
    assert c["holds"] is False and c["counterexample"]["step"] == 0


def test_user_oracle_has_no_linear_model(broken):
    rep = check_oracle("broken_oracles:AlwaysV3Many",
                       config=Config(properties=("linearization", "certificate"), compare=False, **FAST))
    assert all(p["status"] == "skipped" for p in rep["properties"]) and rep["verdict"] == "pass"


def test_bad_input():
    with pytest.raises(BadInput, match="written in the thesis convention"):
        check_oracle("dirac", convention="mescheder", config=Config(**FAST))
    with pytest.raises(BadInput, match="unknown Lyapunov candidate"):
        check_oracle("dirac", config=Config(candidate="Q", **FAST))
    with pytest.raises(BadInput, match="eta range"):
        check_oracle("dirac", config=Config(eta_range=(0.5, 0.1)))
