"""Atomic output: a file is either written whole or not at all; and the files a process
holds only while it works (temporaries, locks) are removed on every exit path.

* :func:`atomic_path` writes to a temporary next to the target, named
  ``.<target name>.stabtmp-<host>-<pid>-<random><suffix>``, and renames it over the target.
  The temporary is removed on an exception, at interpreter exit (``atexit``) and on SIGTERM /
  SIGHUP (a handler removes the registered files, then the signal takes its default course:
  the process still dies of it). SIGINT raises KeyboardInterrupt, which the ``with`` block
  already handles. SIGKILL cannot be caught: each write therefore first removes the
  temporaries in its folder left by a dead process of this host (:func:`remove_stale_temporaries`).
* :func:`try_lock` / :func:`release_lock`: an exclusive lock file (``O_CREAT | O_EXCL``)
  holding ``{"pid", "host", "start", "created"}``, registered for the same cleanup; a lock of
  a dead process of this host (or of a reused pid: another start time) is stale and taken over.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import signal
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional


# ----------------------------------------------------------------------------------------
# files removed on every exit path

_REGISTERED: set = set()
_REG_LOCK = threading.RLock()  # re-entrant: the signal handler runs in the thread it interrupts
_HANDLERS_INSTALLED = False
_CAUGHT = (signal.SIGTERM,) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())


def _forget_in_child() -> None:
    """A forked child holds none of its parent's files: it must not remove them on its exit."""
    global _REG_LOCK
    _REG_LOCK = threading.RLock()
    _REGISTERED.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _remove_registered() -> None:
    with _REG_LOCK:
        paths = list(_REGISTERED)
        _REGISTERED.clear()
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


def _on_signal(signum, frame) -> None:  # pragma: no cover - exercised in a subprocess test
    _remove_registered()
    prev = _PREVIOUS.get(signum, signal.SIG_DFL)
    if callable(prev) and prev not in (signal.SIG_DFL, signal.SIG_IGN):
        prev(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)  # die of the signal, as without the handler


_PREVIOUS: dict = {}


def _install_handlers() -> None:
    """atexit always; the signal handlers only from the main thread and only over a handler
    that would not run Python code anyway (the default one), never replacing a program's own."""
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    _HANDLERS_INSTALLED = True
    atexit.register(_remove_registered)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _CAUGHT:
        try:
            prev = signal.getsignal(sig)
            if prev in (signal.SIG_DFL, None):
                _PREVIOUS[sig] = prev
                signal.signal(sig, _on_signal)
        except (ValueError, OSError):  # not the main thread of the main interpreter
            pass


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGTERM / SIGHUP back while a file is created and registered (delivered after)."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = mask(signal.SIG_BLOCK, _CAUGHT)
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)


def register_cleanup(path: str | os.PathLike) -> None:
    """Remove ``path`` at exit / on SIGTERM unless :func:`unregister_cleanup` is called first."""
    _install_handlers()
    with _REG_LOCK:
        _REGISTERED.add(os.path.abspath(path))


def unregister_cleanup(path: str | os.PathLike) -> None:
    with _REG_LOCK:
        _REGISTERED.discard(os.path.abspath(path))


# ----------------------------------------------------------------------------------------
# who holds a file: host, pid and the pid's start time


def _host() -> str:
    """This host's name with only ``[A-Za-z0-9._]`` (it sits between dashes in file names)."""
    return re.sub(r"[^A-Za-z0-9._]", "_", socket.gethostname() or "localhost")


def _process_start(pid: int) -> Optional[int]:
    """The start time of ``pid`` in clock ticks since boot (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _pid_alive(pid: int, start: Optional[int] = None) -> bool:
    """Is process ``pid`` of this host alive (and, when ``start`` is known, the same process,
    not a later one that reuses the pid)?"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    except OSError:
        return True
    if start is not None:
        now = _process_start(pid)
        if now is not None and now != start:
            return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat", "rb") as fh:
            if fh.read().decode("ascii", "replace").rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except (OSError, IndexError):
        pass
    return True


_TMP_TAG = ".stabtmp-"
_TMP_RE = re.compile(r"^\..*\.stabtmp-(?P<host>[A-Za-z0-9._]+)-(?P<pid>\d+)-")


def remove_stale_temporaries(directory: str | os.PathLike) -> list[str]:
    """Remove the :func:`atomic_path` temporaries in ``directory`` whose writer, a process of
    this host, is gone (killed with SIGKILL, say); return their names. Others are left alone."""
    host, removed = _host(), []
    try:
        entries = [e for e in os.scandir(directory) if e.name.startswith(".") and _TMP_TAG in e.name]
    except OSError:
        return removed
    for e in entries:
        m = _TMP_RE.match(e.name)
        if not m or m.group("host") != host:
            continue
        pid = int(m.group("pid"))
        if pid == os.getpid() or _pid_alive(pid):
            # a live pid could be a reused one: stale if that process started after the file
            st = _process_start(pid)
            try:
                if st is None or not _started_after(st, e.stat().st_mtime):
                    continue
            except OSError:
                continue
        try:
            os.unlink(e.path)
            removed.append(e.name)
        except OSError:
            pass
    return removed


def _started_after(start_ticks: int, when: float) -> bool:
    """Did a process that started ``start_ticks`` after boot start after time ``when`` (+1 s)?"""
    try:
        with open("/proc/stat", "rb") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith(b"btime"))
        return btime + start_ticks / os.sysconf("SC_CLK_TCK") > when + 1.0
    except (OSError, StopIteration, ValueError):
        return False


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
    remove_stale_temporaries(directory)
    _install_handlers()
    with _signals_deferred(), _REG_LOCK:  # created and registered with no gap a signal could fall into
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}{_TMP_TAG}{_host()}-{os.getpid()}-",
                                       suffix=suffix or target.suffix, dir=directory)
        except OSError as exc:
            from stabcheck.errors import BadInput

            raise BadInput(f"cannot write {target}: {exc.strerror or exc}") from None
        _REGISTERED.add(os.path.abspath(tmp))
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
    finally:
        unregister_cleanup(tmp)


def json_clean(o: Any) -> Any:
    """JSON-ready form of ``o``: :func:`stabcheck.jsonout.encode_json` (non-finite floats as
    ``"inf"``, ``"-inf"``, ``"nan"``; one encoding for every output)."""
    from stabcheck.jsonout import encode_json

    return encode_json(o)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2) + "\n")


# ----------------------------------------------------------------------------------------
# lock files

#: a lock file still empty (being written) after this many seconds is stale
_EMPTY_LOCK_GRACE_S = 30.0


def lock_holder(path: str | os.PathLike) -> Optional[dict]:
    """The contents of lock file ``path`` (``{"pid", "host", "start", "created"}``), ``{}``
    when it exists but is empty or unreadable, None when there is no lock."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return {}
    try:
        info = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return info if isinstance(info, dict) else {}


def lock_is_stale(path: str | os.PathLike) -> bool:
    """Is the lock at ``path`` held by nobody alive? True for a lock of a dead process of this
    host (or of a reused pid), and for one left empty for longer than a writer needs. A lock
    of another host is never stale (its process cannot be checked from here)."""
    info = lock_holder(path)
    if info is None:
        return False
    if not info or not isinstance(info.get("pid"), int):
        try:
            return time.time() - os.stat(path).st_mtime > _EMPTY_LOCK_GRACE_S
        except OSError:
            return False
    if info.get("host") != _host():
        return False
    if info["pid"] == os.getpid():  # this process: held only while registered (try_lock .. release_lock)
        with _REG_LOCK:
            return os.path.abspath(path) not in _REGISTERED
    return not _pid_alive(info["pid"], info.get("start"))


def try_lock(path: str | os.PathLike) -> bool:
    """Take the lock file ``path`` (created with ``O_CREAT | O_EXCL``): True if this process
    now holds it, False if a live process does. A stale lock (:func:`lock_is_stale`) is
    removed and taken. The lock is removed at exit / on SIGTERM if :func:`release_lock` is
    not called first."""
    path = os.path.abspath(path)
    _install_handlers()
    for _ in range(3):
        with _signals_deferred(), _REG_LOCK:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                fd = None
            else:
                _REGISTERED.add(path)
        if fd is not None:
            info = {"pid": os.getpid(), "host": _host(), "start": _process_start(os.getpid()),
                    "created": time.time()}
            try:
                os.write(fd, (json.dumps(info) + "\n").encode())
            finally:
                os.close(fd)
            return True
        if not lock_is_stale(path):
            return False
        # stale: take it over. Rename it aside first and look again at what was renamed: of two
        # processes that both saw it stale, the second may have renamed the first's fresh lock,
        # which it then puts back (os.link never replaces an existing file).
        grave = f"{path}.stale-{_host()}-{os.getpid()}"
        try:
            os.rename(path, grave)
        except OSError:
            continue
        try:
            if not lock_is_stale(grave):
                try:
                    os.link(grave, path)
                except OSError:
                    pass
            os.unlink(grave)
        except OSError:
            pass
    return False


def release_lock(path: str | os.PathLike) -> None:
    """Remove the lock file ``path`` if this process holds it."""
    path = os.path.abspath(path)
    info = lock_holder(path)
    if info and info.get("pid") == os.getpid() and info.get("host") == _host():
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    unregister_cleanup(path)
