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
from typing import Callable, Optional, Sequence

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
    mutant: Optional[str] = None     # the mutant's name, for a run of a mutant

    def to_json(self) -> dict:
        out = self.claim.to_json()
        out.update(self.result.to_json())
        if self.mutant is not None:
            m = self.claim.mutant(self.mutant)
            out.update({"mutant": m.name, "mutant_statement": m.what, "caught": caught(self.result)})
        return out


def caught(result: Result) -> bool:
    """A mutant (a false statement) is caught when its check rejects the printed variant."""
    from stabcheck.claims.verdicts import CORRECTED, REFUTED

    return result.verdict in (REFUTED, CORRECTED) and not result.out_of_domain


class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - exercised through run_one
    raise _Timeout()


def run_one(c: Claim, timeout: Optional[float] = DEFAULT_TIMEOUT, mutant: Optional[str] = None) -> ClaimRun:
    """Run one check (or one of its mutants) in this process (the time limit uses SIGALRM
    where available)."""
    t0 = time.perf_counter()
    fn = c.check if mutant is None else c.mutant(mutant).check
    use_alarm = bool(timeout) and hasattr(signal, "SIGALRM")
    old = None
    try:
        if use_alarm:
            old = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, float(timeout))
        try:
            res = fn()
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
    return ClaimRun(c, res.with_domain(c.domain_json()), time.perf_counter() - t0, mutant)


def _worker(claim_id: str, plugins: tuple, timeout, mutant=None) -> tuple:
    c = get_claim(claim_id)
    if c is None:  # a fresh (spawned) interpreter: rebuild the registry
        all_claims(plugins=plugins)
        c = get_claim(claim_id)
    r = run_one(c, timeout, mutant)
    return r.result, r.seconds


#: checks known to take longest in the CI profile: started first so two workers finish together
SLOW_FIRST = ("deoliveira/fig2", "deoliveira/superlinear", "deoliveira/thm5.1", "deoliveira/thm3.1",
              "deoliveira/lemma-d6", "nie-patel/thm2", "mescheder/wgan-nonconvergence", "nie-patel/thm3")


def run_claims(claims: Sequence[Claim], *, jobs: int = 1, timeout: Optional[float] = DEFAULT_TIMEOUT,
               plugins: Sequence[str] = (), mutants: bool = False, progress: Optional[Callable] = None) -> list:
    """Run the checks (or, with ``mutants``, every mutant of every claim); results come back in
    the order of ``claims`` (mutants in each claim's order).

    ``jobs > 1`` runs them in that many worker processes (``concurrent.futures``); the
    longest checks are started first. ``progress(done, total, label)`` is called as each
    finishes (the CLI draws a progress bar on the terminal with it).
    """
    claims = list(claims)
    tasks = [(c, m.name) for c in claims for m in c.mutants] if mutants else [(c, None) for c in claims]
    total = len(tasks)

    def tick(k, c, m):
        if progress is not None:
            progress(k, total, c.id + (f" [{m}]" if m else ""))

    if jobs <= 1 or total <= 1:
        out = []
        for k, (c, m) in enumerate(tasks, 1):
            out.append(run_one(c, timeout, m))
            tick(k, c, m)
        return out
    import multiprocessing as mp
    from concurrent.futures import as_completed

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    rank = {cid: i for i, cid in enumerate(SLOW_FIRST)}
    order = sorted(range(total), key=lambda i: (rank.get(tasks[i][0].id, len(rank)), i))
    res: dict = {}
    with ProcessPoolExecutor(max_workers=min(jobs, total), mp_context=ctx) as ex:
        futs = {ex.submit(_worker, tasks[i][0].id, tuple(plugins), timeout, tasks[i][1]): i for i in order}
        for k, fut in enumerate(as_completed(futs), 1):
            i = futs[fut]
            c, m = tasks[i]
            try:
                r, secs = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker that died
                r, secs = inconclusive(f"the worker process failed: {type(exc).__name__}: {exc}"), 0.0
            res[i] = ClaimRun(c, r.with_domain(c.domain_json()), secs, m)
            tick(k, c, m)
    return [res[i] for i in range(total)]


def default_jobs() -> int:
    """Worker processes to use by default: the CPUs this process may run on (at most 8)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))
