"""``stabcheck analyze`` end to end: output, JSON contract, bad input."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from stabcheck.cli import main

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "stabcheck" / "schemas" / "analyze.json").read_text())


def run_cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_main_job_human_output(capsys):
    code, out, err = run_cli(capsys, "analyze", "--system", "dirac", "--loss", "wgan", "--eta", "0.1")
    assert code == 0, err
    assert "sim" in out and "diverges (exact)" in out
    assert "alt:n_d=1,n_g=1,first=discriminator" in out and "neutral (exact)" in out
    assert "Mescheder convention" in out


@pytest.mark.parametrize("argv", [
    ["--system", "dirac", "--loss", "wgan", "--eta", "0.1"],
    ["--system", "dirac", "--loss", "bce", "--reg", "noise:sigma=0.3", "--eta", "0.5", "--method", "sim", "--method", "alt:n_d=5"],
    ["--system", "gaussian", "--loss", "bce", "--mean", "1,2", "--sigma2", "0.5", "--eta", "0.2", "--method", "jare:gamma=2"],
    ["--system", "dirac", "--loss", "nsgan", "--reg", "r1:gamma=1", "--eta", "0.1", "--method", "ogda", "--no-exact"],
])
def test_json_validates_against_contract(capsys, argv):
    code, out, err = run_cli(capsys, "analyze", *argv, "--json")
    assert code == 0, err
    report = json.loads(out)
    jsonschema.validate(report, SCHEMA)
    for m in report["methods"]:
        ev = np.array([complex(a, b) for a, b in m["eigenvalues"]])
        assert m["spectral_radius"] == pytest.approx(np.max(np.abs(ev)), rel=1e-12)
        keys = [(a, b) for a, b in m["eigenvalues"]]
        assert keys == sorted(keys)


def test_json_example_values(capsys):
    code, out, _ = run_cli(capsys, "analyze", "--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--method", "sim", "--json")
    r = json.loads(out)
    assert r["system"] == {**r["system"], "name": "dirac", "loss": "wgan", "dim": 2}
    m = r["methods"][0]
    assert m["spectral_radius"] == pytest.approx(np.sqrt(1.01), rel=1e-14)
    assert m["verdict"] == "diverges" and m["stable_eta"]["intervals"] == []
    assert r["field"]["hurwitz"] is False


def test_general_system_from_files(capsys, tmp_path):
    P = tmp_path / "P.json"
    Q = tmp_path / "Q.npy"
    P.write_text(json.dumps([["1/2", 0], [0, 1]]))
    np.save(Q, -np.eye(2))
    code, out, err = run_cli(capsys, "analyze", "--system", "general", "--P", str(P), "--Q", str(Q), "--eta", "0.1",
                             "--method", "sim", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["field"]["hurwitz"] is True and r["methods"][0]["verdict"] == "converges"


def test_latex(capsys):
    code, out, _ = run_cli(capsys, "analyze", "--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--method", "sim", "--latex")
    assert code == 0 and "\\frac{1}{10}" in out


BAD = [
    (["--system", "dirac", "--loss", "lsgan", "--eta", "0.1"], "unknown loss"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "0"], "--eta"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "-1"], "--eta"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "nan"], "--eta"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "abc"], "--eta"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--method", "alt:n_d"], "malformed"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--method", "newton"], "unknown method"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--method", "alt:n_d=0"], "n_d"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--method", "jare:beta=1"], "no parameter"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--reg", "dropout:p=1"], "unknown regularizer"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--reg", "r1"], "needs gamma"),
    (["--system", "mars", "--loss", "wgan", "--eta", "0.1"], "unknown system"),
    (["--system", "dirac", "--eta", "0.1"], "--loss"),
    (["--system", "gaussian", "--loss", "bce", "--mean", "1,x", "--eta", "0.1"], "--mean"),
    (["--system", "gaussian", "--loss", "bce", "--mean", "1,2", "--dim", "3", "--eta", "0.1"], "--dim"),
    (["--system", "gaussian", "--loss", "bce", "--sigma2", "-1", "--eta", "0.1"], "sigma2"),
    (["--system", "dirac", "--loss", "wgan", "--mean", "1", "--eta", "0.1"], "gaussian only"),
    (["--system", "general", "--eta", "0.1"], "--P"),
    (["--system", "nosuchpkg.mod:make", "--eta", "0.1"], "could not be imported"),
    (["--system", "dirac", "--loss", "wgan"], "--eta"),
]


@pytest.mark.parametrize("argv,fragment", BAD)
def test_bad_input_exit_2_one_line(capsys, argv, fragment):
    code, out, err = run_cli(capsys, "analyze", *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("stabcheck: error:"), err
    assert fragment in err
    assert "Traceback" not in err


def test_general_shape_mismatch(capsys, tmp_path):
    P, Q = tmp_path / "P.npy", tmp_path / "Q.npy"
    np.save(P, np.ones((2, 3)))
    np.save(Q, -np.eye(2))
    code, _, err = run_cli(capsys, "analyze", "--system", "general", "--P", str(P), "--Q", str(Q), "--eta", "0.1")
    assert code == 2 and "--Q must be 3x3" in err
    np.save(Q, np.array([[0.0, 1.0, 0], [0, 0, 0], [0, 0, 0]]))
    code, _, err = run_cli(capsys, "analyze", "--system", "general", "--P", str(P), "--Q", str(Q), "--eta", "0.1")
    assert code == 2 and "symmetric" in err


def test_console_script_and_module_entry_point():
    res = subprocess.run([sys.executable, "-m", "stabcheck", "analyze", "--system", "dirac", "--loss", "wgan",
                          "--eta", "0.1", "--method", "sim"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "diverges" in res.stdout
    res = subprocess.run([sys.executable, "-m", "stabcheck", "analyze", "--loss", "wgan", "--eta", "-3"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_startup_does_not_import_torch_or_cvxpy():
    code = ("import sys; from stabcheck.cli import main; main(['analyze','--system','dirac','--loss','wgan','--eta','0.1']);"
            "bad=[m for m in ('torch','cvxpy','matplotlib','dask') if m in sys.modules]; print('HEAVY', bad)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in res.stdout, res.stdout + res.stderr


def test_certificate_column(capsys):
    code, out, err = run_cli(capsys, "analyze", "--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--certify",
                             "--method", "sim", "--method", "alt", "--json")
    assert code == 0, err
    sim, alt = json.loads(out)["methods"]
    assert sim["certificate"]["status"] == "not certified"
    assert alt["certificate"]["status"] == "certified" and alt["certificate"]["strict"] is False
