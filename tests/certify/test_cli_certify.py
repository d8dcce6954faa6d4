import json

import numpy as np
import pytest

from stabcheck.cli import main


def _run(capsys, *argv):
    rc = main(["certify", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_matrices_npy_json_output(tmp_path, capsys):
    f = tmp_path / "a.npy"
    np.save(f, np.array([[0.5, 1.0], [0.0, 0.5]]))
    rc, out, _ = _run(capsys, "--matrices", str(f), "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["status"] == "certified" and d["exact_check"] is True and d["solver"] == "CLARABEL"
    assert d["margin"] > 0 and len(d["P"]) == 2
    assert d["rung"] == "lyapunov-equation"
    rc, out, _ = _run(capsys, "--matrices", str(f))
    assert rc == 0 and "  rung:    lyapunov-equation" in out


def test_rung_of_a_switched_set_in_json_and_text(tmp_path, capsys):
    f = tmp_path / "s.npy"
    np.save(f, np.stack([np.array([[0.5, 0.2], [0.0, 0.4]]), np.array([[0.3, 0.0], [0.1, 0.5]])]))
    rc, out, _ = _run(capsys, "--matrices", str(f), "--json")
    assert rc == 0 and json.loads(out)["rung"] == "stein"
    rc, out, _ = _run(capsys, "--matrices", str(f), "--nonstrict")
    assert rc == 0 and "rung:    stein" in out and out.startswith("Proven")


def test_matrices_json_exact_alt_gda_nonstrict(tmp_path, capsys):
    f = tmp_path / "alt.json"
    f.write_text(json.dumps([["99/100", "-1/10"], ["1/10", "1"]]))
    rc, out, _ = _run(capsys, "--matrices", str(f), "--nonstrict")
    assert rc == 0 and out.startswith("Proven") and "Lyapunov stable" in out
    rc, out, _ = _run(capsys, "--matrices", str(f), "--json", "--solver", "scs")
    d = json.loads(out)
    assert d["status"] == "not certified" and d["solver"] == "SCS"


def test_switched_with_jsr_and_lift(tmp_path, capsys):
    f = tmp_path / "s.npy"
    A = np.array([[1.0, 1.0], [0.0, 1.0]]) * 0.55
    np.save(f, np.stack([A, A.T]))
    rc, out, _ = _run(capsys, "--matrices", str(f), "--json", "--lift", "2")
    d = json.loads(out)
    assert rc == 0 and d["lift"] == 2 and d["jsr"]["lower"] <= d["jsr"]["upper"]
    assert d["status"] in ("certified", "not certified")


def test_piecewise_and_candidate_from_json(tmp_path, capsys):
    f = tmp_path / "dirac.json"
    S = [["0", "1/2"], ["1/2", "0"]]
    mS = [["0", "-1/2"], ["-1/2", "0"]]
    f.write_text(json.dumps({"matrices": [[["1", "-1/10"], ["0", "1"]], [["1", "0"], ["1/10", "1"]]],
                             "regions": [[S], [mS]]}))
    rc, out, _ = _run(capsys, "--matrices", str(f), "--nonstrict", "--json")
    assert rc == 0 and json.loads(out)["status"] == "certified"
    rc, out, _ = _run(capsys, "--matrices", str(f), "--candidate", "identity", "--json")
    d = json.loads(out)
    assert d["status"] == "not certified" and d["counterexample"]["mode"] == "A0"


def test_engine_path(capsys):
    pytest.importorskip("stabcheck.linearize")
    rc, out, _ = _run(capsys, "--system", "dirac", "--loss", "bce", "--reg", "r1:gamma=1", "--method", "sim",
                      "--eta", "0.1", "--json")
    assert rc == 0 and json.loads(out)["status"] == "certified"
    rc, out, _ = _run(capsys, "--system", "dirac", "--loss", "wgan", "--method", "sim", "--eta", "0.1")
    assert rc == 1 and out.startswith("No strict quadratic certificate")


@pytest.mark.parametrize("argv,needle", [
    (["--matrices", "/nonexistent.npy"], "does not exist"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "0"], "--eta"),
    (["--system", "dirac", "--loss", "wgan", "--eta", "nan"], "--eta"),
    (["--matrices", "x.npy", "--solver", "mosek"], "unknown solver"),
    ([], "exactly one of"),
])
def test_bad_input_exit_2(capsys, argv, needle):
    rc, _, err = _run(capsys, *argv)
    assert rc == 2 and needle in err and "Traceback" not in err


def test_bad_files(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.ones((2, 3)))
    rc, _, err = _run(capsys, "--matrices", str(bad))
    assert rc == 2 and "(n, n)" in err
    nan = tmp_path / "nan.npy"
    np.save(nan, np.array([[np.nan, 0], [0, 1]]))
    rc, _, err = _run(capsys, "--matrices", str(nan))
    assert rc == 2 and "non-finite" in err
    js = tmp_path / "bad.json"
    js.write_text("{not json")
    rc, _, err = _run(capsys, "--matrices", str(js))
    assert rc == 2 and "not valid JSON" in err
    txt = tmp_path / "m.txt"
    txt.write_text("1")
    rc, _, err = _run(capsys, "--matrices", str(txt))
    assert rc == 2 and ".npy or .json" in err


USER = '''
import sympy as sp
from stabcheck.games import custom_game
from stabcheck.oracles import AltOracle


def damped(a=1.0):
    """L = a psi theta - psi^2 / 2."""
    th, ps = sp.symbols("theta psi", real=True)
    return custom_game([th], [ps], L=sp.nsimplify(a) * ps * th - ps ** 2 / 2, equilibrium=[0, 0], name="damped")


def broken(**kw):
    raise RuntimeError("the factory is broken")


class TwoD(AltOracle):
    def __init__(self):
        super().__init__(n_d=2)


class Declared:
    method = "alt:n_d=2"
    name = "declared"

    def reset(self):
        pass

    def __call__(self, inp):
        return "V2"


class Greedy:
    name = "greedy"

    def reset(self):
        pass

    def __call__(self, inp):
        return "V1"
'''


def test_user_game_and_user_oracles(tmp_path, capsys):
    (tmp_path / "u15cert.py").write_text(USER)
    base = ["--system", "u15cert:damped", "--param", "a=1", "--path", str(tmp_path), "--eta", "0.1"]
    rc, out, _ = _run(capsys, *base, "--method", "alt:n_d=2", "--json")
    d = json.loads(out)
    assert rc == 0 and d["status"] == "certified" and d["rung"] == "lyapunov-equation"
    P_method = d["P_exact"]
    rc, out, _ = _run(capsys, *base, "--oracle", "u15cert:Declared", "--json")  # declares alt:n_d=2
    d = json.loads(out)
    assert rc == 0 and d["status"] == "certified" and d["P_exact"] == P_method
    rc, out, _ = _run(capsys, *base, "--oracle", "u15cert:TwoD", "--json")  # a subclass: the switched model
    d = json.loads(out)
    assert rc == 0 and d["status"] == "certified" and d["exact_check"] is True
    rc, _, err = _run(capsys, *base, "--oracle", "u15cert:Greedy")
    assert rc == 2 and "no linear pieces" in err and len(err.strip().splitlines()) == 1
    rc, _, err = _run(capsys, "--system", "u15cert:broken", "--path", str(tmp_path), "--eta", "0.1")
    assert rc == 2 and "the factory is broken" in err and "Traceback" not in err
