"""Parser errors of ``python -m gpu_validation``: one line ``gpu_validation: error: ... (see
... --help)``, exit status 2, no usage block, nothing trained (issue 16)."""

import subprocess
import sys

import pytest

from gpu_validation.__main__ import main


@pytest.mark.parametrize("argv, fragment", [
    ([], "a command is required (see python -m gpu_validation --help)"),
    (["nosuch"], "unknown command 'nosuch' (choose from 'run', 'analyze', 'report')"),
    (["run", "--model", "nosuch"], "--model: invalid choice: 'nosuch'"),
    (["run", "--bogus"], "unrecognized arguments: --bogus (see python -m gpu_validation run --help)"),
    (["analyze"], "runs_dir is required (see python -m gpu_validation analyze --help)"),
    (["analyze", "--k", "0", "x"], "--k: expected an integer >= 1, got 0"),
    (["report", "--alpha", "2", "x"], "(0, 1)"),
])
def test_parser_errors_one_line(argv, fragment, capsys, tmp_path):
    assert main(argv) == 2
    cap = capsys.readouterr()
    assert cap.err.count("\n") == 1 and cap.err.startswith("gpu_validation: error: "), cap.err
    assert fragment in cap.err, cap.err
    assert "usage:" not in cap.err + cap.out


def test_parser_error_in_a_real_process(tmp_path):
    p = subprocess.run([sys.executable, "-m", "gpu_validation", "run", "--lr", "nan", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "--lr: expected a positive finite number" in p.stderr, p.stderr
    assert list(tmp_path.iterdir()) == []
