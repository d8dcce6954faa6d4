"""Every command in README.md and docs/*.md runs as written on a fresh install.

The commands are read from the fenced code blocks of the docs (blocks tagged ``bash``/``sh`` or
untagged; ``python``, ``json`` and ``text`` blocks are not commands). A line is a command when
it starts with ``stabcheck``, ``python -m gpu_validation``, ``python benchmarks/...`` or an
environment assignment in front of one of those; a trailing ``\\`` continues it.

Files the docs tell a reader to write are written first: a ``python`` block whose first line
is a comment naming a file (``# mypkg/games.py``), or a data block introduced by a line ending
in ```name.json`:``, is saved under that name in the temporary folder where the commands run
(with ``__init__.py`` files for python packages), so
``PYTHONPATH=. stabcheck ... --method my_rules:TwoTimeScale`` runs as the reader runs it.

What is not run, and why, is listed in :data:`NOT_RUN` (set-up commands that the CI job runs
itself, and synopsis lines with placeholders); what is run smaller is listed in
:data:`REDUCED`: each entry is a literal substring replacement, so the command that runs is the
documented one with its size arguments turned down, and the docs say so next to the command
(``--profile quick`` etc. state their cost). A documented command that matches neither table
runs exactly as written and must exit 0.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

COMMAND = re.compile(r"^(?:[A-Z_]+=\S+\s+)*(?:stabcheck\b|python -m gpu_validation\b|python benchmarks/)")

#: substrings of commands that are not run here, with the reason
NOT_RUN = {
    "pip install": "installation: the CI job runs the README's install commands itself",
    "python -m pytest": "the test suite: the CI job runs it (this test is part of it)",
    "[--": "a synopsis with optional arguments in brackets, not a command",
    "...": "a synopsis with an elided argument list, not a command",
    "--scheduler tcp://": "needs a running Dask scheduler at that address",
    "mypkg.claims": "a placeholder for the reader's own claims package",
    "'mypaper/*'": "selects the reader's own claims (registered by their plugin package)",
    "mypkg.mod:MyOracle": "a placeholder for the reader's own oracle module",
    "--markdown docs/validation.md": "regenerates a committed report from the full grid's records",
    "--profile cpu": "the full CPU-profile grid (hours); the same command at the test profile runs in tests/gpu_validation",
    "--profile paper": "the thesis's 30,000-iteration grid (hours per seed; docs/validation.md is its report)",
    "validation_runs/paper": "reads or extends the committed paper-profile grid",
}

#: documented commands whose documented result is a non-zero exit status (the doc says so)
EXPECTED_EXIT = {
    # the thesis's Dirac oracle does not decrease H = ||x - x*||^2 / 2 on every step: check-oracle
    # prints FAIL for the lyapunov and potential properties with a counterexample (exit 1)
    "check-oracle dirac --system dirac --loss wgan": 1,
    "check-oracle myoracles:Dirac --system dirac --loss wgan": 1,
    # ||x||^2 is not a common Lyapunov function of the two shears: "not certified" (exit 1)
    "certify --matrices dirac.json --candidate identity": 1,
}

#: (substring of the command, replacement) applied in order: sizes turned down for CI
REDUCED = [
    # the neural-GAN tour line: the test profile at a handful of iterations instead of quick
    ("--profile quick --seeds 0,1,2 --batched 9",
     "--profile test --iterations 20 --seeds 0,1 --batched 6 --threads 1 --out runs/validation"),
    ("--methods sim,alt:n_d=5,dyn-gda\n", "--methods sim,alt:n_d=5,dyn-gda --profile test --iterations 20 --threads 1\n"),
    # a user oracle without choose_many is called one state at a time (about a minute; the guide
    # says so and names --max-examples for a quick look)
    ("check-oracle myoracles:Dirac --system dirac --loss wgan",
     "check-oracle myoracles:Dirac --system dirac --loss wgan --max-examples 60"),
    # grids: 40 points a side instead of 200-300 (same axes, same ranges)
    (":200:log", ":40:log"), (":300,", ":40,"), (":300 ", ":40 "), (":200 ", ":40 "),
    (":100,", ":40,"), (":100 ", ":40 "),
]


def _write_literate_files(tmp: Path, docs=DOCS) -> list[str]:
    """Save every ``python`` block of ``docs`` that starts with ``# some/file.py`` (and every
    data block introduced as a named file); return the names."""
    written = []
    for doc in docs:
        # a JSON (or other data) block introduced by a line ending in "`name.ext`:" is that file
        for name, block in re.findall(r"`([\w/]+\.(?:json|csv|txt))`:\s*\n\s*\n?```[a-z]*\n(.*?)```", doc.read_text(), re.S):
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(textwrap.dedent(block))
            written.append(name)
        for block in re.findall(r"```python\n(.*?)```", doc.read_text(), re.S):
            first = block.splitlines()[0].strip() if block.strip() else ""
            m = re.fullmatch(r"#\s*([\w/]+\.py)", first)
            if not m:
                continue
            path = tmp / m.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            for parent in path.relative_to(tmp).parents:
                if str(parent) != ".":
                    (tmp / parent / "__init__.py").touch()
            path.write_text(textwrap.dedent(block))
            written.append(m.group(1))
    return written


def _commands() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for lang, block in re.findall(r"```([a-z]*)\n(.*?)```", doc.read_text(), re.S):
            if lang not in ("", "bash", "sh", "shell", "console"):
                continue
            lines = block.splitlines()
            i = 0
            while i < len(lines):
                line = lines[i].strip().removeprefix("$ ")
                while line.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    line = line[:-1].rstrip() + " " + lines[i].strip()
                i += 1
                if COMMAND.match(line) or line.startswith("pip install") or line.startswith("python -m pytest"):
                    out.append((doc.relative_to(ROOT).as_posix(), line))
    return out


def _strip_comment(cmd: str) -> str:
    """Drop a trailing shell comment (``cmd   # note``), keeping ``#`` inside quotes."""
    lex = shlex.shlex(cmd, posix=True, punctuation_chars=False)
    lex.whitespace_split = True
    lex.commenters = "#"
    words = list(lex)
    # re-quote the words so that the command can run through a shell with its environment prefix
    # and its redirections
    return " ".join(w if re.fullmatch(r"[A-Z_]+=\S+|>|>>|\||&&|2>&1", w) else shlex.quote(w) for w in words)


def _runnable(cmd: str) -> tuple[str | None, str]:
    for key, why in NOT_RUN.items():
        if key in cmd:
            return None, why
    run = cmd + "\n"
    for old, new in REDUCED:
        run = run.replace(old, new)
    return _strip_comment(run.strip()), ""


CASES = _commands()


def test_the_docs_have_commands():
    assert len(CASES) >= 40, CASES
    assert any("gpu_validation run" in c for _, c in CASES)


def _prepare(tmp: Path, doc: str) -> Path:
    """The doc's own files (two docs may each define a ``myoracles.py`` of their own)."""
    _write_literate_files(tmp, [ROOT / doc])
    return tmp


def test_literate_files_are_found(tmp_path):
    written = _write_literate_files(tmp_path)
    assert {"my_rules.py", "myoracles.py", "src/mygames.py", "dirac.json"} <= set(written), written


def _run_one(cmd: str, workdir: Path) -> str | None:
    """Run one documented command in ``workdir``; None when it passed, else what went wrong."""
    run, why = _runnable(cmd)
    if run is None:
        return None
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", PYTHONPATH=str(workdir))
    # the docs' ``python`` and ``stabcheck`` are those of this environment
    run = re.sub(r"(^|\s)python(\s)", lambda m: f"{m.group(1)}{shlex.quote(sys.executable)}{m.group(2)}", run)
    exe = Path(sys.executable).parent / "stabcheck"
    if exe.exists():
        run = re.sub(r"(^|\s)stabcheck(\s)", lambda m: f"{m.group(1)}{exe}{m.group(2)}", run)
    run = run.replace(" benchmarks/", f" {ROOT}/benchmarks/")
    try:
        p = subprocess.run(run, shell=True, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return f"`{cmd}` did not finish in 300 s"
    want = next((code for key, code in EXPECTED_EXIT.items() if key in cmd), 0)
    if p.returncode != want:
        return f"`{cmd}` (expected exit {want})\n  ran: {run}\n  exit {p.returncode}: {p.stderr.strip()[-1500:]}"
    return None


DOC_NAMES = sorted({d for d, _ in CASES})


def _first_doc_of_each_command() -> dict:
    """A command that several docs print word for word (``stabcheck claims`` in the README and
    the guide) runs once, for the first doc (in README, docs/ order) that has it, unless it
    reads files the doc itself defines (``PYTHONPATH=.``, ``--path``)."""
    first: dict = {}
    for d, c in CASES:
        run, _ = _runnable(c)
        if run is not None and "PYTHONPATH" not in run and "--path" not in run:
            first.setdefault(run, d)
    return first


FIRST_DOC = _first_doc_of_each_command()


@pytest.mark.parametrize("doc", DOC_NAMES)
def test_documented_commands_run(doc, tmp_path):
    """The commands of one doc, in their order (a later one may read what an earlier wrote)."""
    workdir = _prepare(tmp_path, doc)
    mine = [c for d, c in CASES if d == doc and FIRST_DOC.get(_runnable(c)[0], doc) == doc]
    failures = [f for c in mine for f in [_run_one(c, workdir)] if f]
    assert not failures, f"{doc}: {len(failures)} documented command(s) failed:\n" + "\n".join(failures)


def test_the_not_run_table_is_used():
    """Every NOT_RUN and REDUCED entry matches some documented command (no stale entries)."""
    cmds = [c + "\n" for _, c in CASES]
    assert [k for k in NOT_RUN if not any(k in c for c in cmds)] == []
    assert [o for o, _ in REDUCED if not any(o in c for c in cmds)] == []
    assert [k for k in EXPECTED_EXIT if not any(k in c for c in cmds)] == []
