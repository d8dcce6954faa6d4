"""Atomic output: a file is either written whole or not at all."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


#: figure formats the plots accept (matplotlib's, without importing it)
PLOT_FORMATS = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def check_output_path(path: str | os.PathLike | None, what: str, *, plot: bool = False) -> None:
    """Refuse an output path before any work is done: one clear :class:`BadInput` line.

    The path must not be a directory, its directory must exist and be writable, and a figure
    path must end in a format matplotlib writes (:data:`PLOT_FORMATS`). ``-`` (stdout) and
    None pass.
    """
    from stabcheck.errors import BadInput

    if path is None or str(path) == "-":
        return
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise BadInput(f"{what} {target}: is a directory; give a file path")
    if not directory.is_dir():
        raise BadInput(f"{what} {target}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BadInput(f"{what} {target}: directory {directory} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise BadInput(f"{what} {target}: the file is not writable")
    if plot and target.suffix.lower() not in PLOT_FORMATS:
        raise BadInput(f"{what} {target}: unknown figure format {target.suffix or '(none)'!r}; "
                       f"use one of {', '.join(PLOT_FORMATS)}")


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched.
    ``suffix`` defaults to the target's suffix (matplotlib picks the format from it).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.exists():
        from stabcheck.errors import BadInput

        raise BadInput(f"cannot write {target}: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix, dir=directory)
    except OSError as exc:
        from stabcheck.errors import BadInput

        raise BadInput(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        try:
            os.replace(tmp, target)
        except OSError as exc:
            from stabcheck.errors import BadInput

            raise BadInput(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def json_clean(o: Any) -> Any:
    """Replace non-finite floats (not valid JSON) by None, recursively."""
    import math

    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: json_clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [json_clean(v) for v in o]
    return o


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2) + "\n")
