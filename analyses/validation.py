"""The neural-GAN validation report: docs/validation.md and its figures, via gpu_validation.

Figures written (``--outdir``, default docs/figures/): ``validation_samples_bce_ring.png``,
``validation_samples_bce_circle.png``, ``validation_samples_bce_spiral.png``,
``validation_samples_bce_line.png`` (generated samples over iterations, like the thesis's
Figure 3) and ``validation_w1_curves.png`` (W1 over iterations), plus the report markdown.

Full run: regenerates the committed docs/validation.md from the committed paper-profile grid
(``validation_runs/paper``: the thesis's 30,000 iterations; trained by
``validation_runs/run_paper_grid.sh``, about 2 hours per seed on a free core, resumable). This
script only reports; it never trains the paper grid::

    python analyses/validation.py [--runs validation_runs/paper]

Reduced run (tests): ``python analyses/validation.py --quick --outdir build/val`` trains the
tiny ``test`` profile of the BCE GAN on the four 2-D sets with the thesis's four methods into
``OUTDIR/runs`` and writes the report and figures into ``OUTDIR``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FIGURES, ROOT, parse_args  # noqa: E402

QUICK = ["--datasets", "all2d", "--gans", "bce", "--methods", "thesis", "--profile", "test",
         "--threads", "1", "--no-progress", "--no-spectrum"]


def _gv(*argv: str) -> None:
    subprocess.run([sys.executable, "-m", "gpu_validation", *argv], check=True, cwd=ROOT)


def main(argv=None) -> None:
    import argparse

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--runs", default=str(ROOT / "validation_runs" / "paper"))
    known, rest = pre.parse_known_args(argv)
    args = parse_args(__doc__.splitlines()[0], rest)
    outdir = Path(args.outdir)
    if args.quick:
        runs = outdir / "runs"
        _gv("run", *QUICK, "--out", str(runs))
        _gv("report", str(runs), "--markdown", str(outdir / "validation.md"), "--figures-dir", str(outdir),
            "--title", "Neural-GAN validation (reduced test run)")
        return
    runs = Path(known.runs)
    if not any(runs.glob("records/*.json")):
        raise SystemExit(f"no run records under {runs}: train the grid first (validation_runs/run_paper_grid.sh)")
    md = ROOT / "docs" / "validation.md" if outdir.resolve() == FIGURES.resolve() else outdir / "validation.md"
    bench = ROOT / "runs" / "bench_gv.json"
    extra = ["--bench", str(bench)] if bench.exists() else []
    import os

    rel = os.path.relpath(runs.resolve(), ROOT)  # the report names its runs directory: keep it relative
    _gv("report", rel, "--markdown", str(md), "--figures-dir", str(outdir),
        "--title", "Neural-GAN validation: the thesis's 2-D grid at the paper profile (30,000 iterations; CPU)",
        "--notes", str(runs / "NOTES.md"), *extra)


if __name__ == "__main__":
    main()
