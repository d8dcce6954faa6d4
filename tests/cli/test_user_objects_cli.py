"""User games and user oracles through the command line (issue 15, scope 2).

The user's modules are written to a temporary directory that is *not* on ``sys.path``: the
commands get it with ``--path DIR``, and the reproduce commands they print carry it, so that
they run as printed (one of them is run in a fresh process from another directory).
"""

import json
import os
import shlex
import subprocess
import sys
import textwrap

import pytest

from stabcheck.cli import main

GAMES = '''
import sympy as sp
from stabcheck.games import custom_game
from stabcheck.games.torchgame import TorchGame


def bilinear(a=1.0):
    """L = a psi theta (the WGAN Dirac-GAN for a = 1), symbolic."""
    th, ps = sp.symbols("theta psi", real=True)
    return custom_game([th], [ps], L=sp.nsimplify(a) * ps * th, equilibrium=[0, 0], name="bilinear")


def torch_bilinear(a=1.0):
    L = lambda t, p: a * (p * t).sum()
    return TorchGame(name="torch-bilinear", n_gen=1, n_disc=1, L_G=L, L_D=L, equilibrium=[0.0, 0.0])


def damped(a=1.0):
    """L = a psi theta - psi^2 / 2: Alt-GDA converges for small step sizes."""
    th, ps = sp.symbols("theta psi", real=True)
    return custom_game([th], [ps], L=sp.nsimplify(a) * ps * th - ps ** 2 / 2, equilibrium=[0, 0], name="damped")


def broken(**kw):
    raise RuntimeError("the factory is broken")
'''

ORACLES = '''
import numpy as np
from stabcheck.oracles import AltOracle


class Greedy:
    """Moves the player with the larger coordinate (never V3)."""
    name = "greedy"
    convention = None
    never_v3 = True

    def reset(self):
        pass

    def __call__(self, inp):
        return "V1" if abs(inp.theta[0]) >= abs(inp.psi[0]) else "V2"

    def choose_many(self, step, X, n_gen):
        return np.where(np.abs(X[:, 0]) >= np.abs(X[:, 1]), 1, 2).astype(np.int8)


class TwoD(AltOracle):
    """Alt-GDA with two discriminator steps, as a user oracle."""
    def __init__(self):
        super().__init__(n_d=2)


class BadInit:
    def __init__(self):
        raise ValueError("the constructor is broken")

    def reset(self):
        pass

    def __call__(self, inp):
        return "V1"


class BadCall(Greedy):
    def __call__(self, inp):
        raise ZeroDivisionError("the oracle is broken")

    choose_many = None
'''


@pytest.fixture(scope="module")
def user_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("user")
    (d / "u15games.py").write_text(textwrap.dedent(GAMES))
    (d / "u15oracles.py").write_text(textwrap.dedent(ORACLES))
    return str(d)


FAST = ["--max-examples", "200", "--steps", "100", "--shrink-examples", "20"]


def test_check_oracle_user_game_and_oracle_and_the_command_runs_as_printed(user_dir, capsys, tmp_path):
    rc = main(["check-oracle", "u15oracles:Greedy", "--system", "u15games:bilinear", "--param", "a=1",
               "--path", user_dir, "--properties", "bounded,never_v3,convention", "--eta-range", "0.1,0.5",
               "--json", *FAST])
    rep = json.loads(capsys.readouterr().out)
    assert rc == 1 and rep["verdict"] == "fail" and rep["system"]["name"] == "bilinear"
    st = {p["name"]: p for p in rep["properties"]}
    assert st["never_v3"]["holds"] is True and st["convention"]["holds"] is True
    b = st["bounded"]
    assert b["holds"] is False
    cmd = b["command"]
    assert "--system u15games:bilinear" in cmd and "--param a=1" in cmd and f"--path {user_dir}" in cmd
    # as printed, in a fresh process, from another directory
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-m", "stabcheck", *shlex.split(cmd)[1:]], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)["runs"][0]
    assert run["x0"] == b["counterexample"]["x0"] and run["sup_ratio"] > 10


def test_check_oracle_oracle_option_and_default_loss_for_user_games(user_dir, capsys):
    # --oracle as an option; no --loss reaches the factory (it takes none)
    rc = main(["check-oracle", "--oracle", "u15oracles:TwoD", "--system", "u15games:bilinear", "--path", user_dir,
               "--properties", "bounded", "--eta-range", "0.01,0.2", "--no-compare", *FAST])
    text = capsys.readouterr().out
    assert rc == 0 and "[PASS] bounded" in text


def test_simulate_phase_on_a_torch_game_with_compare_without_dots(user_dir, capsys, tmp_path):
    png = tmp_path / "phase.png"
    rc = main(["simulate", "--system", "u15games:torch_bilinear", "--path", user_dir, "--eta", "0.1", "--steps", "20",
               "--compare", "sim,alt,eg,u15oracles:Greedy", "--compare", "u15oracles:TwoD", "--phase", str(png)])
    text = capsys.readouterr().out
    assert rc == 0 and png.stat().st_size > 1000
    for name in ("sim", "eg (method)", "greedy", "alt:n_d=2"):
        assert name in text  # the results table is printed
    # a user oracle in --compare is an oracle (counts gradient updates, reports V1/V2/V3)
    rc = main(["simulate", "--system", "u15games:torch_bilinear", "--path", user_dir, "--eta", "0.1", "--steps", "10",
               "--compare", "u15oracles:Greedy", "--json"])
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert rc == 0 and run["kind"] == "oracle" and sum(run["choices"].values()) == 10


def test_sweep_user_game_with_a_user_oracle_equals_the_method(user_dir, capsys):
    base = ["sweep", "--system", "u15games:damped", "--path", user_dir, "--grid", "eta=0.01:3:7:log", "--json"]
    assert main(base + ["--oracle", "u15oracles:TwoD"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(base + ["--method", "alt:n_d=2"]) == 0
    b = json.loads(capsys.readouterr().out)
    assert a["spectral_radius"] == b["spectral_radius"] and a["verdict"] == b["verdict"]
    assert {"converges", "diverges"} <= set(a["verdict"])  # the grid crosses the stability bound
    assert main(base[:-1] + ["--oracle", "u15oracles:TwoD"]) == 0
    text = capsys.readouterr().out
    cmd = next(line for line in text.splitlines() if line.startswith("check a point: ")).split(": ", 1)[1]
    assert f"--path {user_dir}" in cmd
    assert main(shlex.split(cmd)[1:]) == 0


def test_sweep_check_command_has_an_integer_dim(capsys):
    assert main(["sweep", "--system", "gaussian", "--loss", "wgan", "--dim", "2", "--grid", "eta=0.01:0.1:2"]) == 0
    cmd = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("check a point: ")).split(": ", 1)[1]
    assert "--dim 2 " in cmd and "--dim 2.0" not in cmd
    assert main(shlex.split(cmd)[1:]) == 0


@pytest.mark.parametrize("argv,msg", [
    (["check-oracle", "sim", "--system", "u15games:broken"], "could not be built: RuntimeError: the factory is broken"),
    (["simulate", "--system", "u15games:broken", "--eta", "0.1", "--oracle", "sim"], "the factory is broken"),
    (["sweep", "--system", "u15games:broken", "--grid", "eta=0.1:0.2:2"], "the factory is broken"),
    (["check-oracle", "u15oracles:BadInit", "--max-examples", "5"], "ValueError: the constructor is broken"),
    (["simulate", "--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--compare", "u15oracles:BadInit"],
     "the constructor is broken"),
    (["check-oracle", "u15oracles:BadCall", "--max-examples", "5", "--steps", "5"], "the oracle is broken"),
    (["simulate", "--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--oracle", "u15oracles:BadCall"],
     "ZeroDivisionError: the oracle is broken"),
    (["sweep", "--system", "dirac", "--loss", "wgan", "--oracle", "u15oracles:Greedy", "--grid", "eta=0.1:0.2:2"],
     "no spectral radius"),
    (["check-oracle", "sim", "--system", "mars"], "--system must be dirac, gaussian or a user game"),
    (["check-oracle", "--oracle", "sim", "dirac"], "give the oracle once"),
])
def test_user_code_that_raises_gives_one_line_and_status_2(user_dir, argv, msg, capsys):
    assert main(argv + ["--path", user_dir]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1, err


def test_testing_checks_print_an_import_path(user_dir, monkeypatch):
    monkeypatch.syspath_prepend(user_dir)
    import u15oracles

    from stabcheck.games import make_game
    from stabcheck.testing import check_bounded

    game = make_game("dirac", "wgan")

    class Wrapped(u15oracles.Greedy):  # defined here: not importable, its base's name is not an import path
        pass

    with pytest.raises(AssertionError) as e:
        check_bounded(game, u15oracles.Greedy(), 0.5, [3.0, 4.0], steps=200)
    msg = str(e.value)
    assert "--oracle u15oracles:Greedy" in msg and f"--path {user_dir}" in msg
    assert "--oracle greedy" not in msg
