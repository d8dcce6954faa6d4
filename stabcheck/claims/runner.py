"""Run claims: all or a selection, in parallel worker processes, each with a time limit.

Any exception raised by a check, a check that returns something other than a
:class:`~stabcheck.claims.verdicts.Result`, and a check that runs past its time limit all
end in ``inconclusive`` with the error - never in a verdict the check did not derive.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Optional, Sequence

from stabcheck.claims.registry import Claim, all_claims, get_claim
from stabcheck.claims.verdicts import Result, inconclusive

#: default time limit of one check, in seconds
DEFAULT_TIMEOUT = 90.0


@dataclass
class ClaimRun:
    """A claim, its result, and how long the check took (seconds; not written to docs)."""

    claim: Claim
    result: Result
    seconds: float

    def to_json(self) -> dict:
        out = self.claim.to_json()
        out.update(self.result.to_json())
        return out


class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - exercised through run_one
    raise _Timeout()


def run_one(c: Claim, timeout: Optional[float] = DEFAULT_TIMEOUT) -> ClaimRun:
    """Run one check in this process (the time limit uses SIGALRM where available)."""
    t0 = time.perf_counter()
    use_alarm = bool(timeout) and hasattr(signal, "SIGALRM")
    old = None
    try:
        if use_alarm:
            old = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, float(timeout))
        try:
            res = c.check()
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
        if not isinstance(res, Result):
            res = inconclusive(f"the check returned {type(res).__name__}, not a Result; nothing was decided")
    except _Timeout:
        res = inconclusive(f"the check did not finish within its time limit of {timeout:g} s")
    except Exception as exc:  # noqa: BLE001 - a failing check is reported, never raised
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else ""
        res = inconclusive(f"the check raised {type(exc).__name__}: {exc}{where}")
    return ClaimRun(c, res, time.perf_counter() - t0)


def _worker(claim_id: str, plugins: tuple, timeout) -> tuple:
    c = get_claim(claim_id)
    if c is None:  # a fresh (spawned) interpreter: rebuild the registry
        all_claims(plugins=plugins)
        c = get_claim(claim_id)
    r = run_one(c, timeout)
    return r.result, r.seconds


def run_claims(claims: Sequence[Claim], *, jobs: int = 1, timeout: Optional[float] = DEFAULT_TIMEOUT,
               plugins: Sequence[str] = ()) -> list:
    """Run the checks; results come back in the order of ``claims``.

    ``jobs > 1`` runs them in that many worker processes (``concurrent.futures``); the
    longest checks are started first.
    """
    claims = list(claims)
    if jobs <= 1 or len(claims) <= 1:
        return [run_one(c, timeout) for c in claims]
    import multiprocessing as mp

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    out: dict = {}
    with ProcessPoolExecutor(max_workers=min(jobs, len(claims)), mp_context=ctx) as ex:
        futs = {c.id: ex.submit(_worker, c.id, tuple(plugins), timeout) for c in claims}
        for c in claims:
            try:
                res, secs = futs[c.id].result()
            except Exception as exc:  # noqa: BLE001 - a worker that died
                res, secs = inconclusive(f"the worker process failed: {type(exc).__name__}: {exc}"), 0.0
            out[c.id] = ClaimRun(c, res, secs)
    return [out[c.id] for c in claims]


def default_jobs() -> int:
    """Worker processes to use by default: the CPUs this process may run on (at most 8)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))
