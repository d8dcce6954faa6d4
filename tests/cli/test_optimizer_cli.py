"""Optimizers and user rules through the command line: analyze, simulate, sweep, certify,
check-oracle; bad input is one line and exit 2."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from stabcheck.cli import main

USER_RULE = textwrap.dedent('''
    """A user's two-time-scale Alt-GDA: the discriminator steps `fast` times faster."""
    from stabcheck.rules import UpdateRule


    class TwoTimeScale(UpdateRule):
        name = "two-time-scale"

        def __init__(self, fast: float = 4.0, **opt):
            self.fast = float(fast)
            super().__init__(**opt)

        @property
        def params(self):
            return {"fast": self.fast}

        def step(self, z, f, eta):
            x, mem, s = self.split(z, f.dim)
            x, s = self.move(x, s, f.V2(x), f.number(self.fast) * eta, f, f.disc_mask)
            x, s = self.move(x, s, f.V1(x), eta, f, f.gen_mask)
            return self.join(f, x, mem, s)

        def gradient_evaluations(self):
            return 2


    class NoStep:
        pass


    class Raises(TwoTimeScale):
        def __init__(self, **kw):
            raise RuntimeError("boom")
''')


@pytest.fixture()
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_rules_mod.py").write_text(USER_RULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def run_cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_user_rule_through_the_cli_equals_alt_with_ratio(capsys, user_module):
    code, out, err = run_cli(capsys, "analyze", "--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--json",
                             "--method", "my_rules_mod:TwoTimeScale:fast=4", "--method", "alt:ratio=4")
    assert code == 0, err
    user, alt = json.loads(out)["methods"]
    assert user["spec"] == "my_rules_mod:TwoTimeScale:fast=4.0"
    assert np.allclose(user["jacobian"], alt["jacobian"], atol=0, rtol=1e-15)
    assert user["verdict"] == alt["verdict"] == "neutral" and user["verdict_exact"]


def test_user_rule_in_a_subprocess(user_module):
    env = dict(os.environ, PYTHONPATH=str(user_module) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-m", "stabcheck", "analyze", "--system", "dirac", "--loss", "wgan",
                        "--eta", "0.1", "--method", "my_rules_mod:TwoTimeScale:fast=4,momentum=-0.3"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "my_rules_mod:TwoTimeScale:fast=4.0,momentum=-0.3" in p.stdout and "converges (exact)" in p.stdout


@pytest.mark.parametrize("method,fragment", [
    ("sim:momentum=1", "(-1, 1)"), ("alt:momentum=-1", "(-1, 1)"), ("alt:ratio=0", "> 0"), ("sim:ratio=-1", "> 0"),
    ("sim:opt=adam,precond=1;2;3", "3 entries"), ("sim:opt=adam,precond=0", "> 0"),
    ("sim:opt=rmsprop,precond=-2;1", "> 0"), ("no_such_module_xyz:Rule", "could not be imported"),
    ("my_rules_mod:Missing", "not found"), ("my_rules_mod:NoStep", "breaks the rule protocol"),
    ("my_rules_mod:Raises", "constructing it failed"),
])
def test_bad_optimizer_and_rule_input_one_line_exit_2(capsys, user_module, method, fragment):
    code, out, err = run_cli(capsys, "analyze", "--system", "dirac", "--loss", "wgan", "--eta", "0.1",
                             "--method", method)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("stabcheck: error:"), err
    assert fragment in err


def test_simulate_oracle_with_optimizer_matches_the_method(capsys):
    # Alt-GDA as an oracle (one gradient update per step) with momentum = Alt-GDA as a method
    # with the same momentum (one period per step): the same iterates at matching counts
    code, out, err = run_cli(capsys, "simulate", "--system", "dirac", "--loss", "wgan", "--eta", "0.2",
                             "--x0", "0.7,1.3", "--steps", "400", "--oracle", "alt", "--optimizer", "momentum=-0.3",
                             "--json")
    assert code == 0, err
    oracle_run = json.loads(out)["runs"][0]
    code, out, err = run_cli(capsys, "simulate", "--system", "dirac", "--loss", "wgan", "--eta", "0.2",
                             "--x0", "0.7,1.3", "--steps", "200", "--method", "alt:momentum=-0.3", "--json")
    method_run = json.loads(out)["runs"][0]
    assert oracle_run["optimizer"]["momentum"] == -0.3 == method_run["optimizer"]["momentum"]
    assert oracle_run["final_distance_log10"] == pytest.approx(method_run["final_distance_log10"], abs=1e-12)


def test_simulate_optimizer_on_a_method_is_bad_input(capsys):
    code, out, err = run_cli(capsys, "simulate", "--system", "dirac", "--loss", "wgan", "--eta", "0.2",
                             "--method", "alt", "--optimizer", "momentum=-0.3")
    assert code == 2 and "applies to oracles" in err and err.count("\n") == 1


def test_sweep_over_eta_and_momentum_matches_analyze(capsys):
    from stabcheck.analysis import analyze_method
    from stabcheck.games import make_game
    from stabcheck.methods import make_method
    from stabcheck.sweep import sweep

    r = sweep("dirac", "wgan", "alt", ["eta=0.05:2.5:12,momentum=-0.9:0.6:11"])
    etas, moms = r.axes[0].values, r.axes[1].values
    game = make_game("dirac", "wgan")
    for i in (0, 3, 7, 11):
        for j in (0, 4, 6, 10):
            e = analyze_method(game, make_method(f"alt:momentum={float(moms[j])!r}"), float(etas[i]))
            assert r.spectral_radius[i, j] == pytest.approx(e["spectral_radius"], rel=1e-12)
    # the converging region is momentum < 0 and eta < 2 (1 + momentum) (docs/optimizers.md)
    E, B = np.meshgrid(etas, moms, indexing="ij")
    inside = (B < -1e-9) & (E < 2 * (1 + B) * (1 - 1e-6))  # the grid puts -1.1e-16 in place of 0
    outside = (B > 1e-9) | (E > 2 * (1 + B) * (1 + 1e-6))
    assert np.all(r.codes[inside] == 0) and np.all(r.codes[outside] == 2)


def test_sweep_momentum_out_of_range_is_bad_input(capsys):
    code, out, err = run_cli(capsys, "sweep", "--system", "dirac", "--loss", "wgan", "--method", "sim",
                             "--grid", "eta=0.1:1:4,momentum=-0.5:1:4")
    assert code == 2 and "momentum" in err and err.count("\n") == 1


def test_certify_with_negative_momentum(capsys):
    code, out, err = run_cli(capsys, "certify", "--system", "dirac", "--loss", "wgan", "--method",
                             "alt:momentum=-0.5", "--eta", "0.5", "--json")
    report = json.loads(out)
    assert report["status"] == "certified" and report["exact_check"] is True, err
    code, out, err = run_cli(capsys, "certify", "--system", "dirac", "--loss", "wgan", "--method",
                             "sim:momentum=-0.5", "--eta", "0.5", "--json")
    assert json.loads(out)["status"] != "certified"


def test_check_oracle_with_optimizer(capsys):
    code, out, err = run_cli(capsys, "check-oracle", "dirac", "--optimizer", "momentum=-0.3", "--max-examples", "40",
                             "--steps", "300", "--json", "-")
    report = json.loads(out)
    assert report["optimizer"] == {"kind": "sgd", "ratio": 1.0, "momentum": -0.3}
    skipped = {p["name"] for p in report["properties"] if p.get("status") == "skipped" or
               str(p.get("message", "")).startswith("skipped")}
    assert {"lyapunov", "certificate"} <= skipped


def test_analyze_json_with_optimizers_validates_against_the_schema(capsys):
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "stabcheck" / "schemas" / "analyze.json").read_text())
    code, out, err = run_cli(capsys, "analyze", "--system", "dirac", "--loss", "bce", "--eta", "0.3", "--json",
                             "--method", "alt:momentum=-0.5", "--method", "sim:opt=adam,beta1=0.5,precond=2;3",
                             "--method", "jare:gamma=2,rule=alt,ratio=2")
    assert code == 0, err
    report = json.loads(out)
    jsonschema.validate(report, schema)
    kinds = [m["optimizer"]["kind"] for m in report["methods"]]
    assert kinds == ["sgd", "adam", "sgd"] and report["methods"][1]["optimizer"]["precond"] == [2.0, 3.0]
