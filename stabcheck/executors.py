"""Executors: run independent tasks serially or on a Dask cluster, with the same results.

An executor has one job: ``map(fn, items) -> list`` that returns ``[fn(item) for item in
items]`` in the order of ``items``. Commands that fan out independent work (``stabcheck
sweep``, ``claims``, ``check-oracle``, the grids of ``gpu_validation``) split it into tasks
and hand them to an executor, so the serial path and the distributed path run the *same*
task function on the *same* inputs: with the same chunking, their results are identical
(bitwise; each task runs the same float64 code on the same data).

Kinds
-----
``serial``
    ``[fn(x) for x in items]`` in this process. The default; no extra dependency.
``dask``
    ``dask.distributed``: with ``scheduler=None`` a :class:`distributed.LocalCluster` is
    started on this machine (``processes=True``, ``threads_per_worker=1``, ``workers``
    worker processes, default: the number of CPU cores, its HTTP server on a free port) and closed with the
    executor; with ``scheduler="tcp://host:8786"`` the executor connects to a running
    scheduler (a cluster started with ``dask scheduler`` / ``dask worker``, or with
    dask-jobqueue on SLURM; see docs/scale-out.md) and leaves it running on close.
    Dask is imported only when this kind is requested.

Task functions and their arguments must be picklable (module-level functions, dataclasses,
numpy arrays, sympy expressions; Dask uses cloudpickle, so ``functools.partial`` of a
module-level function is fine). Workers must be able to import ``stabcheck``: on a remote
cluster install the same version of the package on every worker.

Example
-------
>>> from stabcheck.executors import get_executor
>>> with get_executor("serial") as ex:
...     ex.map(abs, [-1, 2, -3])
[1, 2, 3]

On the command line (the helpers :func:`add_executor_arguments` and
:func:`executor_from_args` give every command the same flags)::

    stabcheck sweep ... --executor dask                       # local cluster, one worker per core
    stabcheck sweep ... --executor dask --workers 2
    stabcheck sweep ... --executor dask --scheduler tcp://10.0.0.5:8786
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, List, Optional, Sequence

from stabcheck.errors import BadInput

#: executor kinds accepted by :func:`get_executor` and ``--executor``
EXECUTORS = ("serial", "dask")


class Executor:
    """Base class: ``map`` preserves order; usable as a context manager (closes on exit)."""

    kind = "executor"

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> List[Any]:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        """Release resources (a local cluster is shut down; a remote one is left running)."""

    def describe(self) -> dict:
        """What ran the work, for reports (``{"kind": ..., ...}``)."""
        return {"kind": self.kind}

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialExecutor(Executor):
    """Run every task in this process, in order."""

    kind = "serial"

    def map(self, fn, items):
        return [fn(x) for x in items]

    def map_each(self, fn, items, on_done):
        """:meth:`map`, calling ``on_done(i)`` as task ``i`` finishes (in order here)."""
        out = []
        for i, x in enumerate(items):
            out.append(fn(x))
            on_done(i)
        return out


class DaskExecutor(Executor):
    """Run tasks on a Dask cluster (a local one by default); see the module docstring.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); None starts a
        ``LocalCluster(processes=True, threads_per_worker=1)`` here.
    workers : int, optional
        Worker processes of the local cluster (default ``os.cpu_count()``). Ignored, with an
        error, when ``scheduler`` is given: the remote cluster decides its size.
    timeout : str
        How long to keep trying to reach a remote scheduler (a Dask time string).
    """

    kind = "dask"

    def __init__(self, scheduler: Optional[str] = None, workers: Optional[int] = None, timeout: str = "30s"):
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is a declared dependency
            raise BadInput("--executor dask needs the 'distributed' package: pip install 'dask[distributed]'") from None
        self.scheduler = scheduler
        self._cluster = None
        if scheduler is not None:
            if workers is not None:
                raise BadInput("--workers applies to the local cluster only; a remote scheduler "
                               "(--scheduler) has the workers its cluster started")
            try:
                self.client = Client(scheduler, timeout=timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                raise BadInput(f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}") from None
        else:
            n = workers if workers is not None else (os.cpu_count() or 1)
            self._cluster = LocalCluster(n_workers=n, processes=True, threads_per_worker=1,
                                         dashboard_address=":0", silence_logs=40)
            try:
                self.client = Client(self._cluster)
            except BaseException:
                self._cluster.close()
                raise
        self.workers = len(self.client.scheduler_info().get("workers", {}))

    def map(self, fn, items):
        items = list(items)
        if not items:
            return []
        futures = self.client.map(fn, items, pure=False)
        return self.client.gather(futures)

    def map_each(self, fn, items, on_done):
        """:meth:`map`, calling ``on_done(i)`` as task ``i`` finishes (in any order)."""
        from distributed import as_completed

        items = list(items)
        if not items:
            return []
        futures = self.client.map(fn, items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for f in as_completed(futures):
            on_done(index[f.key])
        return self.client.gather(futures)

    def describe(self) -> dict:
        return {"kind": "dask", "scheduler": self.scheduler or "local",
                "workers": len(self.client.scheduler_info().get("workers", {}))}

    def close(self) -> None:
        client, cluster = getattr(self, "client", None), self._cluster
        self.client = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
            self._cluster = None


def map_with_progress(executor: Executor, fn: Callable[[Any], Any], items: Iterable[Any],
                      progress: Optional[Callable] = None, weights: Optional[Sequence[float]] = None) -> List[Any]:
    """``executor.map(fn, items)``, calling ``progress(done, total, None)`` as tasks finish
    (``done``/``total`` in the units of ``weights``, one per item, default 1 each). An executor
    without ``map_each`` (a user's) reports once, at the end. Same results as ``map``."""
    if progress is None:
        return executor.map(fn, items)
    items = list(items)
    w = [1] * len(items) if weights is None else list(weights)
    total = sum(w)
    each = getattr(executor, "map_each", None)
    progress(0, total, None)
    if each is None:
        out = executor.map(fn, items)
        progress(total, total, None)
        return out
    done = [0]

    def on_done(i):
        done[0] += w[i]
        progress(done[0], total, None)

    return each(fn, items, on_done)


def get_executor(kind: str = "serial", scheduler: Optional[str] = None,
                 workers: Optional[int] = None) -> Executor:
    """Build an executor by name.

    Parameters
    ----------
    kind : {"serial", "dask"}
    scheduler : str, optional
        Dask scheduler address; None with ``kind="dask"`` starts a local cluster.
    workers : int, optional
        Local-cluster worker processes (``kind="dask"`` without ``scheduler`` only).

    Raises
    ------
    BadInput
        Unknown kind, ``workers < 1``, options that do not apply to the kind, or an
        unreachable scheduler.
    """
    if kind not in EXECUTORS:
        raise BadInput(f"unknown executor {kind!r}; valid: {', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise BadInput(f"--workers must be an integer >= 1, got {workers!r}")
    if kind == "serial":
        if scheduler is not None or workers is not None:
            raise BadInput("--scheduler and --workers apply to --executor dask only")
        return SerialExecutor()
    return DaskExecutor(scheduler=scheduler, workers=workers)


def add_executor_arguments(p) -> None:
    """Add ``--executor``, ``--scheduler`` and ``--workers`` to an argparse parser."""
    g = p.add_argument_group("execution")
    g.add_argument("--executor", choices=EXECUTORS, default="serial",
                   help="serial (default) or dask (a local cluster unless --scheduler is given)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://host:8786 (default: start a local cluster)")
    g.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local Dask cluster (default: one per CPU core)")


def executor_from_args(args) -> Executor:
    """The executor the ``--executor/--scheduler/--workers`` arguments describe."""
    return get_executor(getattr(args, "executor", "serial") or "serial",
                        scheduler=getattr(args, "scheduler", None), workers=getattr(args, "workers", None))
