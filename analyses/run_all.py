"""Run every analysis script: regenerate all figures in docs/figures/ (and docs/cli.md).

``python analyses/run_all.py [--quick] [--outdir DIR] [--only NAME ...] [--list]``

Discovers every ``analyses/*.py`` that defines ``main`` (files starting with ``_`` and this
runner are skipped), runs each as ``python analyses/NAME.py [--quick] [--outdir DIR]`` in its
own process, prints its wall time, and exits with status 1 if any script failed. Without
``--outdir`` each script writes to its own default (docs/figures/; docs/ for cli_reference).
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[Path]:
    """Scripts in analyses/ that define a top-level ``main`` function, sorted by name."""
    out = []
    for path in sorted(HERE.glob("*.py")):
        if path.name.startswith("_") or path.name == Path(__file__).name:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
            out.append(path)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small grids and few steps")
    p.add_argument("--outdir", default=None, help="write every output here (default: each script's own)")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these scripts (stem names)")
    p.add_argument("--list", action="store_true", help="list the scripts and exit")
    args = p.parse_args(argv)
    scripts = discover()
    if args.only:
        unknown = set(args.only) - {s.stem for s in scripts}
        if unknown:
            print(f"run_all: unknown script(s) {', '.join(sorted(unknown))}; valid: "
                  f"{', '.join(s.stem for s in scripts)}", file=sys.stderr)
            return 2
        scripts = [s for s in scripts if s.stem in args.only]
    if args.list:
        print("\n".join(s.stem for s in scripts))
        return 0
    failed = []
    for s in scripts:
        cmd = [sys.executable, str(s)] + (["--quick"] if args.quick else []) + \
              (["--outdir", args.outdir] if args.outdir else [])
        t = time.perf_counter()
        rc = subprocess.call(cmd)
        dt = time.perf_counter() - t
        print(f"[{'ok' if rc == 0 else f'FAILED ({rc})'}] {s.stem} ({dt:.1f} s)", flush=True)
        if rc != 0:
            failed.append(s.stem)
    if failed:
        print(f"run_all: {len(failed)} of {len(scripts)} failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"run_all: {len(scripts)} scripts ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
