"""Bad input across commands: one line on stderr, exit status 2, no output file, within seconds
(issue 16's table; each row was a traceback, a hang or an abort before)."""

import time

import numpy as np
import pytest

from stabcheck.cli import main


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "p.json").write_text("[[1, 0], [0, 1]]")
    (tmp_path / "q3.json").write_text("[[[1, 2], [3, 4]], [[1, 2], [3, 4]]]")
    (tmp_path / "rag.json").write_text("[[1, 2], [3]]")
    (tmp_path / "obj.json").write_text('[[1, {"a": 1}], [3, 4]]')
    np.save(tmp_path / "c.npy", np.eye(2) * (1 + 1j))
    (tmp_path / "adir").mkdir()
    return tmp_path


def D(*a):
    return ["--system", "dirac", "--loss", "wgan", *a]


ROWS = [
    (["analyze", *D("--eta", "1e308")], "overflows float64"),
    (["analyze", "--system", "general", "--P", "{p}/p.json", "--Q", "{p}/q3.json", "--eta", "0.1"], "2-D matrix"),
    (["analyze", "--system", "general", "--P", "{p}/p.json", "--Q", "{p}/rag.json", "--eta", "0.1"], "ragged"),
    (["analyze", "--system", "general", "--P", "{p}/p.json", "--Q", "{p}/obj.json", "--eta", "0.1"], "entry"),
    (["analyze", "--system", "general", "--P", "{p}/p.json", "--Q", "{p}/c.npy", "--eta", "0.1"], "entry"),
    (["analyze", *D("--eta", "0.1", "--method", "alt:n_d=99999999999999999999")], "limit"),
    (["simulate", *D("--eta", "0.1", "--oracle", "sim", "--precision", "100000000")], "limit"),
    (["sweep", *D("--method", "sim", "--grid", "eta=1e-3:2:1000000000")], "limit"),
    (["sweep", *D("--method", "sim", "--grid", "eta=1e-3:2:100000,gamma=0:1:100000")], "limit"),
    # certify above its size limit is not bad input but inconclusive, exit 3 (tests/cli/test_json_schemas.py)
    (["simulate", *D("--eta", "0.1", "--steps", "5", "--oracle", "sim", "--csv", "{p}/o.csv", "--plot", "{p}/o.xyz")],
     "figure format"),
    (["simulate", *D("--eta", "0.1", "--steps", "5", "--oracle", "sim", "--json", "{p}/adir")], "directory"),
    (["sweep", *D("--method", "sim", "--grid", "eta=0.1:1:3", "--out", "{p}/nodir/m.png")], "does not exist"),
    # mpmath never overflows: a boundary beyond float64 would never stop the run (it grew to 10^1500)
    (["simulate", *D("--eta", "3", "--oracle", "sim", "--precision", "50", "--max-distance", "1e400",
                     "--json", "{p}/s.json")], "must be finite"),
]


@pytest.mark.parametrize("argv,fragment", ROWS)
def test_bad_input_one_line_exit_2_no_file(capsys, files, argv, fragment):
    before = set(files.rglob("*"))
    t0 = time.perf_counter()
    code = main([a.replace("{p}", str(files)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("stabcheck: error:"), err
    assert fragment in err, err
    assert set(files.rglob("*")) == before  # no output file, no temporary left behind
    assert time.perf_counter() - t0 < 30


PARSER_ROWS = [
    (["analyze", *D()], "--eta is required (see stabcheck analyze --help)"),
    (["analyze", *D("--eta")], "--eta: expected one argument (see stabcheck analyze --help)"),
    (["analyze", *D("--eta", "0.1", "--bogus", "x")], "unrecognized arguments: --bogus x (see stabcheck analyze --help)"),
    (["sweep", *D("--executor", "slurm")], "--executor: invalid choice: 'slurm'"),
    (["nosuch"], "unknown command 'nosuch' (choose from 'analyze'"),
    ([], "give a command: analyze, simulate"),
]


@pytest.mark.parametrize("argv,fragment", PARSER_ROWS)
def test_parser_errors_are_one_line_naming_the_help(capsys, argv, fragment):
    code = main(argv)
    cap = capsys.readouterr()
    assert code == 2
    assert cap.err.count("\n") == 1 and cap.err.startswith("stabcheck: error:"), cap.err
    assert fragment in cap.err, cap.err
    assert "usage:" not in cap.err + cap.out


def test_parser_errors_one_line_in_a_real_process():
    """argparse's own exit path (usage + error, 2-11 lines) never runs: checked end to end."""
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "stabcheck", "simulate", "--eta"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "see stabcheck simulate --help" in p.stderr, p.stderr
    assert p.stdout == ""
