"""Shared helpers of the analyses/ scripts (not a script itself: it has no ``main``).

Every script in analyses/ regenerates its outputs from the installed ``stabcheck`` package in
one command, ``python analyses/NAME.py [--quick] [--outdir DIR]``: ``--quick`` uses small grids
and few steps (the test suite runs every script that way), ``--outdir`` defaults to
docs/figures/. ``python analyses/run_all.py`` runs them all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))


def parse_args(description: str, argv=None, default_outdir: Path = FIGURES) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small grids and few steps (for tests)")
    p.add_argument("--outdir", default=str(default_outdir), help=f"output folder (default {default_outdir})")
    args = p.parse_args(argv)
    Path(args.outdir).mkdir(parents=True, exist_ok=True)
    return args


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 8, "figure.dpi": 100})
    return plt


def save(fig, path: Path, dpi: int = 100) -> Path:
    """Save a figure atomically (PNG; kept small: dpi 100, rasterized meshes)."""
    from stabcheck.io import atomic_path

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    import matplotlib.pyplot as plt

    plt.close(fig)
    readable(path)
    print(f"wrote {path} ({Path(path).stat().st_size // 1024} KB)")
    return Path(path)


def readable(path) -> None:
    """Make an output world-readable (atomic writes create files with mode 0600)."""
    import os

    os.chmod(path, 0o644)


def trajectory(game, method: str, eta: float, x0, steps: int):
    """States ``x_0 .. x_steps`` (array (steps+1, d)) of a method's map on a game.

    Uses :func:`stabcheck.simulate.simulate` (one step = one application of the method's map);
    if that module is missing, iterates ``method.rule.step`` on the float64 field directly,
    which is the same engine.
    """
    import numpy as np

    try:
        from stabcheck.simulate import simulate
    except ImportError:
        simulate = None
    if simulate is not None:
        r = simulate(game, method, eta, list(map(float, x0)), steps, record_states=True, kind="method")
        X = np.asarray(r.states_float(), dtype=float)
        return X[:, : game.dim]
    from stabcheck.methods import make_method
    from stabcheck.rules import FieldFns

    m = make_method(method)
    f = m.field(game)
    fns = FieldFns(f.numpy, game.n_gen, game.dim)
    z = m.rule.init(np.asarray(x0, dtype=float), fns)
    out = [np.array(z[: game.dim])]
    for _ in range(steps):
        z = m.rule.step(z, fns, eta)
        out.append(np.array(z[: game.dim]))
    return np.array(out)
