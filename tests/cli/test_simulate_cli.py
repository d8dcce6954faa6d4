"""Tests of ``stabcheck simulate`` (exit statuses, JSON contract, files)."""

from __future__ import annotations

import csv
import json
import textwrap

import pytest

from stabcheck.cli import main

BASE = ["simulate", "--system", "dirac", "--loss", "wgan", "--eta", "0.1"]


def run_json(capsys, *args):
    rc = main([*BASE, *args, "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


def test_json_contract(capsys):
    rep = run_json(capsys, "--convention", "thesis", "--x0", "0.7,1.3", "--steps", "300",
                   "--compare", "sim,alt:n_d=5,dirac,dyn-gda,eg")
    assert rep["eta"] == 0.1 and rep["system"]["convention"] == "thesis"
    assert [r["name"] for r in rep["runs"]][:2] == ["sim", "alt:n_d=5,n_g=1,first=discriminator"]
    keys = {"name", "x0", "steps", "precision", "final_distance", "final_distance_log10", "min_distance",
            "min_distance_log10", "first_below_1e-6", "sup_ratio", "choices", "diverged", "stopped"}
    for r in rep["runs"]:
        assert keys <= set(r)
        assert r["precision"] == "float64" and r["x0"] == [0.7, 1.3] and r["steps"] == 300
    dirac = rep["runs"][2]
    assert sum(dirac["choices"].values()) == 300 and dirac["choices"]["V3"] == 0
    assert rep["runs"][4]["kind"] == "method" and rep["runs"][4]["choices"] is None


def test_mpmath_precision_in_json(capsys):
    rep = run_json(capsys, "--method", "eg", "--eta", "0.5", "--steps", "8000", "--precision", "30")
    r = rep["runs"][0]
    assert r["precision"] == 30
    assert r["final_distance"] == 0.0 and r["final_distance_log10"] < -350


def test_convention_error_and_convert(capsys):
    # no --convention: the game is built in the oracle's convention, and the report says so
    rep = run_json(capsys, "--oracle", "dirac", "--steps", "5")
    assert rep["system"]["convention"] == "thesis" and "thesis convention" in rep["convention_note"]
    # an explicit other convention without --convert is an error, never silent
    assert main([*BASE, "--convention", "mescheder", "--oracle", "dirac", "--steps", "5"]) == 2
    err = capsys.readouterr().err
    assert "--convention thesis" in err and "--convert" in err and "Traceback" not in err
    rep = run_json(capsys, "--oracle", "dirac", "--convert", "--steps", "5")
    assert rep["runs"][0]["conversion"] == "mescheder->thesis"
    assert rep["system"]["convention"] == "mescheder"


def test_human_output(capsys):
    assert main([*BASE, "--convention", "thesis", "--compare", "sim,dirac", "--steps", "100"]) == 0
    out = capsys.readouterr().out
    assert "thesis convention" in out and "sim" in out and "dirac" in out and "V1/V2/V3" in out
    # the table is stabcheck.tables.text_table's: header, a rule, one row per run, numbers right-aligned
    lines = out.splitlines()
    header, rule, rows = lines[1], lines[2], lines[3:5]
    assert header.split()[:3] == ["run", "steps", "final"] and set(rule) == {"-"} and len(rule) >= len(header)
    assert [r.split()[0] for r in rows] == ["sim", "dirac"]
    end = header.index("steps") + len("steps")
    assert all(r[:end].rstrip().endswith("100") and r[end:end + 1] == " " for r in rows)


@pytest.mark.parametrize("args,msg", [
    (["--oracle", "nosuch"], "unknown oracle"),
    (["--oracle", "nosuchpkg_xyz.mod:Thing"], "could not be imported"),
    (["--oracle", "json:NoSuchAttr"], "not found"),
    (["--oracle", "sim", "--x0", "1,nan"], "finite"),
    (["--oracle", "sim", "--x0", "1,2,3"], "3 components"),
    (["--oracle", "sim", "--eta", "-1"], "eta"),
    (["--oracle", "sim", "--precision", "2"], "precision"),
    (["--oracle", "alt:n_d=0"], "n_d"),
    ([], "nothing to simulate"),
])
def test_bad_input_exit_2(capsys, args, msg):
    assert main([*BASE, "--steps", "3", *args]) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err and err.count("\n") == 1


@pytest.fixture
def user_oracles(tmp_path, monkeypatch):
    (tmp_path / "my_oracles_sc.py").write_text(textwrap.dedent("""
        from stabcheck.oracles import Choice

        class EveryThird:
            name = "every-third"
            convention = None
            def __init__(self, period=3):
                self.period = period
            def reset(self):
                pass
            def __call__(self, inp):
                return Choice.V1 if inp.step % self.period == self.period - 1 else Choice.V2

        class ReturnsJunk:
            convention = None
            def reset(self):
                pass
            def __call__(self, inp):
                return 42
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_oracles_sc"


def test_user_oracle(capsys, user_oracles):
    rep = run_json(capsys, "--oracle", f"{user_oracles}:EveryThird:period=4", "--steps", "40")
    assert rep["runs"][0]["choices"] == {"V1": 10, "V2": 30, "V3": 0}
    assert main([*BASE, "--oracle", f"{user_oracles}:ReturnsJunk", "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert "42" in err and "V1, V2 or V3" in err


def test_csv_plot_phase(tmp_path, capsys):
    c, p, ph, js = (tmp_path / n for n in ("t.csv", "d.png", "p.png", "r.json"))
    rc = main([*BASE, "--convention", "thesis", "--compare", "sim,dirac", "--steps", "50", "--csv", str(c),
               "--plot", str(p), "--phase", str(ph), "--json", str(js)])
    assert rc == 0
    rows = list(csv.DictReader(c.open()))
    assert len(rows) == 2 * 51 and rows[0]["run"] == "sim" and rows[1]["choice"] == "V3"
    assert p.stat().st_size > 1000 and ph.stat().st_size > 1000
    assert json.loads(js.read_text())["runs"][1]["name"] == "dirac"
    assert "dirac" in capsys.readouterr().out            # human table still printed
