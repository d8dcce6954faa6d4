import json
import os
import shlex

import pytest

from stabcheck.cli import main

FAST = ["--max-examples", "40", "--steps", "200", "--shrink-examples", "40"]
HERE = os.path.join(os.path.dirname(__file__), "..", "testing")


def test_sim_fails_with_status_1_and_json(capsys):
    rc = main(["check-oracle", "sim", "--loss", "wgan", "--properties", "bounded,lyapunov", "--json", *FAST])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert out["oracle"] == "sim" and out["verdict"] == "fail"
    b = out["properties"][0]
    assert b["name"] == "bounded" and b["holds"] is False and b["examples"] == 40
    assert set(b["counterexample"]) >= {"x0", "eta"} and b["command"].startswith("stabcheck simulate ")


def test_alt_passes_bounded_with_status_0(capsys):
    rc = main(["check-oracle", "alt", "--properties", "bounded,never_v3,convention", "--no-compare", *FAST])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "[PASS] bounded" in text and "[PASS] never_v3" in text


def test_dirac_text_report_names_the_convention(capsys):
    rc = main(["check-oracle", "dirac", "--properties", "lyapunov", "--no-compare", *FAST])
    text = capsys.readouterr().out
    assert rc == 1
    assert "thesis convention (the oracle's own convention)" in text
    assert "[FAIL] lyapunov" in text and "reproduce: stabcheck simulate" in text and "--convention thesis" in text


def test_broken_oracle_command_reproduces(monkeypatch, capsys):
    monkeypatch.syspath_prepend(HERE)
    rc = main(["check-oracle", "broken_oracles:AlwaysV3Many", "--properties", "bounded", "--json",
               "--no-compare", "--seed", "1", *FAST])
    rep = json.loads(capsys.readouterr().out)
    assert rc == 1
    cmd = rep["properties"][0]["command"]
    assert main(shlex.split(cmd)[1:]) == 0
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert run["sup_ratio"] > 10


@pytest.mark.parametrize("argv,msg", [
    (["check-oracle", "dirac", "--eta-range", "0.5"], "--eta-range"),
    (["check-oracle", "dirac", "--properties", "bounded,teleport"], "unknown properties"),
    (["check-oracle", "dirac", "--starts", "sideways"], "--starts"),
    (["check-oracle", "no_such_module_xyz:Oracle"], "could not be imported"),
    (["check-oracle", "dirac", "--convention", "mescheder"], "--convert"),
    (["check-oracle", "dirac", "--loss", "nope"], "loss"),
])
def test_bad_input_exits_2(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_undecided_potential_check_is_inconclusive_with_status_3(monkeypatch, capsys):
    # the exact candidate check cannot decide (as when the S-procedure's solver fails): nothing
    # failed, so the verdict is neither pass nor fail
    import stabcheck.certify as C
    from stabcheck.certify.lyapunov import CertificateResult
    from stabcheck.jsonout import validate

    calls = []

    def undecided(P, modes, regions=None, **kw):
        calls.append(kw.get("eta"))
        return CertificateResult(status="inconclusive", strict=False, dynamics="candidate",
                                 statement="the solver failed")

    monkeypatch.setattr(C, "check_candidate", undecided)
    rc = main(["check-oracle", "alt", "--loss", "wgan", "--properties", "potential", "--no-compare", "--json", *FAST])
    rep = json.loads(capsys.readouterr().out)
    assert calls, "the potential check did not run"
    (pot,) = [p for p in rep["properties"] if p["name"] == "potential"]
    assert pot["status"] == "inconclusive" and pot["holds"] is None
    assert rep["verdict"] == "inconclusive" and rc == 3
    validate(rep)
