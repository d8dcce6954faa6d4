"""Progress bars for the slow commands (claims, sweep, check-oracle, certify, simulate).

One helper, :class:`Progress`, used by every command: a :mod:`rich.progress` bar with the
work done, the time elapsed and an estimate of the time remaining, drawn on **stderr** and
only when stderr is a terminal. Nothing is ever written to stdout (``--json`` output and
pipes stay clean), and nothing at all when stderr is a file or a pipe, or when the user
passes ``--no-progress``. ``rich`` is imported only when a bar is actually drawn, so the
command line stays fast to start.

The engine functions take an optional ``progress`` callback ``progress(done, total, label)``
(``done`` and ``total`` in the unit of the work: grid points, draws, claims; ``label`` a
short text or None); a :class:`Progress` object is such a callback::

    from stabcheck.progress import Progress

    with Progress("sweep", unit="points", enabled=not args.no_progress) as bar:
        result = sweep(..., progress=bar)

It also counts what it was told (``calls``, ``done``, ``total``) whether or not a bar is
shown, which the tests use.
"""

from __future__ import annotations

import sys
import time
from typing import Optional

#: help text of ``--no-progress`` (the same on every command)
NO_PROGRESS_HELP = ("no progress bar (a bar is drawn on stderr only when stderr is a terminal, never into "
                    "stdout or --json output)")


def add_progress_argument(parser) -> None:
    """Add ``--no-progress`` to a subcommand's parser."""
    parser.add_argument("--no-progress", action="store_true", help=NO_PROGRESS_HELP)


def progress_wanted(args) -> bool:
    """False when the command line asked for ``--no-progress``."""
    return not getattr(args, "no_progress", False)


class Progress:
    """A progress bar on ``stream`` (default stderr) when it is a terminal; otherwise silent.

    Parameters
    ----------
    what : str
        What is being done (shown on the left: ``sweep``, ``claims``, ``check-oracle``).
    total : int, optional
        Units of work; may be given (or changed) later by :meth:`update`.
    unit : str
        The unit's name, shown after the counts (``points``, ``draws``).
    enabled : bool
        False: never draw (``--no-progress``); the counts are still kept.
    stream : file, optional
        Where the bar goes (default ``sys.stderr``); drawn only if ``stream.isatty()``.
    transient : bool
        Remove the bar when done (default True: the command's own output follows).
    """

    def __init__(self, what: str, total: Optional[float] = None, *, unit: str = "", enabled: bool = True,
                 stream=None, transient: bool = True):
        self.what = what
        self.total = total
        self.unit = unit
        self.done = 0
        self.calls = 0
        self.label: Optional[str] = None
        self.stream = stream if stream is not None else sys.stderr
        self.transient = transient
        self.enabled = bool(enabled) and _isatty(self.stream)
        self._bar = None
        self._task = None
        self.started = None

    # ----------------------------------------------------------------- context manager
    def __enter__(self) -> "Progress":
        self.started = time.perf_counter()
        if self.enabled:
            self._start()
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    @property
    def shown(self) -> bool:
        """Whether a bar is being drawn."""
        return self._bar is not None

    # ----------------------------------------------------------------- updates
    def __call__(self, done: float, total: Optional[float] = None, label: Optional[str] = None) -> None:
        """The callback form: ``progress(done, total, label)`` (absolute counts)."""
        self.update(done, total, label)

    def update(self, done: float, total: Optional[float] = None, label: Optional[str] = None) -> None:
        """Set the work done so far (and the total, and a label, when given). A ``done`` below
        the previous one starts a new phase: the bar and its time estimate restart."""
        self.calls += 1
        restart = done < self.done  # counts going back: a new phase (its own total and estimate)
        self.done = done
        if total is not None:
            self.total = total
        if label is not None:
            self.label = label
        self._draw(restart)

    def advance(self, n: float = 1, label: Optional[str] = None) -> None:
        """Add ``n`` units to the work done."""
        self.update(self.done + n, None, label)

    # ----------------------------------------------------------------- drawing
    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        console = Console(file=self.stream, stderr=self.stream is sys.stderr)
        cols = [TextColumn(f"[bold]{self.what}"), BarColumn(), MofNCompleteColumn()]
        if self.unit:
            cols.append(TextColumn(self.unit))
        cols += [TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                 TextColumn("{task.description}")]
        self._bar = RichProgress(*cols, console=console, transient=self.transient, refresh_per_second=4,
                                 redirect_stdout=False, redirect_stderr=False)  # stdout stays the command's
        self._bar.start()
        self._task = self._bar.add_task("", total=self.total)

    def _draw(self, restart: bool = False) -> None:
        if self._bar is None:
            return
        if restart:
            self._bar.reset(self._task, total=self.total, completed=self.done, description=self.label or "")
            return
        kw = {"completed": self.done}
        if self.total is not None:
            kw["total"] = self.total
        if self.label is not None:
            kw["description"] = self.label
        self._bar.update(self._task, **kw)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


__all__ = ["Progress", "add_progress_argument", "progress_wanted", "NO_PROGRESS_HELP"]
