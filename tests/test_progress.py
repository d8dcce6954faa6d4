"""The shared progress helper (stabcheck.progress) and the engines' progress callbacks."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from stabcheck.executors import SerialExecutor, map_with_progress
from stabcheck.progress import Progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_non_tty_stream_gets_nothing_but_counts_are_kept():
    out = io.StringIO()
    with Progress("work", total=10, unit="items", stream=out) as bar:
        assert not bar.shown
        for _ in range(10):
            bar.advance()
        bar(10, 10, "done")
    assert out.getvalue() == ""
    assert (bar.calls, bar.done, bar.total, bar.label) == (11, 10, 10, "done")


def test_disabled_never_draws_even_on_a_terminal():
    out = _Tty()
    with Progress("work", total=3, stream=out, enabled=False) as bar:
        bar.advance(3)
    assert out.getvalue() == "" and not bar.shown and bar.done == 3


def test_terminal_gets_a_bar_with_an_estimate():
    out = _Tty()
    with Progress("work", total=4, unit="items", stream=out) as bar:
        assert bar.shown
        bar(2, 4, "half")
        bar(0, 1, "phase two")  # counts going back: a new phase
        bar(1, 1, None)
    assert "work" in out.getvalue()
    assert not bar.shown  # closed on exit


def test_map_with_progress_counts_in_weights():
    calls = []
    items = [(0, 5), (5, 10), (10, 12)]
    res = map_with_progress(SerialExecutor(), lambda ab: ab[1] - ab[0], items,
                            lambda d, t, _l: calls.append((d, t)), [b - a for a, b in items])
    assert res == [5, 5, 2]
    assert calls == [(0, 12), (5, 12), (10, 12), (12, 12)]
    assert map_with_progress(SerialExecutor(), abs, [-1, 2]) == [1, 2]  # no callback: plain map


def test_map_with_progress_user_executor_without_map_each():
    class Mine:
        def map(self, fn, items):
            return [fn(x) for x in items]

    calls = []
    assert map_with_progress(Mine(), abs, [-1, -2], lambda d, t, _l: calls.append((d, t))) == [1, 2]
    assert calls == [(0, 2), (2, 2)]


def test_sweep_progress_reaches_the_grid_size():
    from stabcheck.sweep import sweep

    calls = []
    r = sweep("dirac", "wgan", "sim", "eta=1e-2:1:7,r1.gamma=0:2:5", regs=["r1"], chunk=8,
              progress=lambda d, t, _l: calls.append((d, t)))
    assert calls[0] == (0, r.size) and calls[-1] == (r.size, r.size)
    assert len(calls) == 1 + -(-r.size // 8)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_check_oracle_progress_counts_draws():
    from stabcheck.check_oracle import Config, check_oracle

    calls = []
    cfg = Config(max_examples=40, steps=50, properties=("bounded",), compare=False)
    check_oracle("dirac", config=cfg, progress=lambda d, t, lab: calls.append((d, t, lab)))
    search = [c for c in calls if c[2] == "search"]
    assert search[-1][:2] == (40, 40)


def test_run_batch_one_by_one_reports_each_start():
    import numpy as np

    from stabcheck.games import make_game
    from stabcheck.testing import run_batch

    calls = []
    g = make_game("dirac", "wgan")
    run_batch(g, "sim", 0.1, np.ones((3, 2)), 5, kind="oracle", vectorised=False,
              progress=lambda d, t, _l: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("argv", [
    ["sweep", "--system", "dirac", "--loss", "wgan", "--method", "sim", "--grid", "eta=1e-2:1:5", "--json"],
    ["sweep", "--system", "dirac", "--loss", "wgan", "--method", "sim", "--grid", "eta=1e-2:1:5", "--no-progress"],
])
def test_cli_prints_no_progress_when_stderr_is_not_a_terminal(argv, capsys):
    from stabcheck.cli import main

    assert main(argv) == 0
    cap = capsys.readouterr()
    assert cap.err == ""
    if "--json" in argv:
        json.loads(cap.out)


@pytest.mark.parametrize("cmd", ["claims", "sweep", "check-oracle", "certify", "simulate"])
def test_every_slow_command_has_no_progress(cmd):
    from stabcheck.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices[cmd]
    assert any("--no-progress" in a.option_strings for a in sub._actions)


def test_sweep_map_separates_slow_convergence_from_neutral(tmp_path):
    """A map where almost everything converges slowly is coloured (blue), not white like neutral."""
    import matplotlib

    from stabcheck.plots import NEUTRAL_COLOUR, draw_sweep_map, sweep_layers
    from stabcheck.sweep import sweep

    r = sweep("dirac", "wgan", "sim", "eta=1e-4:1e-3:6:log,r1.gamma=0.5:1:5", regs=["r1"])
    L = sweep_layers(r)
    assert r.counts()["converges"] == r.size and np.nanmax(L["conv"]) < -2  # slow everywhere
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    drawn = draw_sweep_map(ax, r)
    rgba = drawn["conv"].to_rgba(L["conv"].ravel())
    assert (rgba[:, :3].min(axis=1) < 0.85).all()  # no near-white cell
    assert not np.allclose(rgba[0, :3], matplotlib.colors.to_rgb(NEUTRAL_COLOUR))
    r.plot(tmp_path / "m.png", title="slow")
    w = matplotlib.image.imread(tmp_path / "m.png").shape[1]
    assert w >= 800


def test_distance_plot_counts_gradient_evaluations(tmp_path):
    import matplotlib.pyplot as plt

    from stabcheck.games import make_game
    from stabcheck.plots import distance_plot
    from stabcheck.simulate import make_runner, simulate

    g = make_game("dirac", "wgan")
    runs = [simulate(g, make_runner("sim", "oracle"), 0.1, [1.0, 1.0], 20),
            simulate(g, make_runner("eg", "method"), 0.1, [1.0, 1.0], 20)]
    fig, ax = plt.subplots()
    distance_plot(runs, None, ax=ax)
    xs = [line.get_xdata()[-1] for line in ax.get_lines()]
    assert xs == [20, 40] and "gradient evaluations" in ax.get_xlabel()
    plt.close(fig)
