"""Two runs on one folder share the work (issue 16): a lock per run record, so each
configuration is trained once; a live holder is waited for, a dead one's lock is taken over,
and no lock is left behind."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from gpu_validation import train
from stabcheck import io

ARGS = ["--dataset", "ring", "--gans", "bce", "--profile", "test", "--iterations", "12", "--batch", "16",
        "--width", "4", "--device", "cpu", "--no-progress", "--threads", "1", "--no-spectrum"]
METHODS = ["sim", "alt:n_d=1", "alt:n_d=2"]
SEEDS = [0, 1]


def _cfg(method, seed=0):
    return train.config_from_profile("test", dataset="ring", gan="bce", method=method, seed=seed, iterations=12,
                                     batch=16, width=4, device="cpu", spectrum=False)


def _trained(stdout: str) -> list[str]:
    """The run ids a process trained itself (its ``<id>: finished|diverged, ...`` lines)."""
    return [ln.split(":")[0] for ln in stdout.splitlines() if ln.split(": ", 1)[-1].startswith(("finished,", "diverged,"))]


def test_two_concurrent_processes_train_each_configuration_once(tmp_path):
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "gpu_validation", "run", *ARGS, "--methods", ",".join(METHODS),
           "--seeds", ",".join(map(str, SEEDS)), "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (so, se) in zip(procs, outs):
        assert p.returncode == 0, se[-2000:]
    ids = {_cfg(m, s).run_id for m in METHODS for s in SEEDS}
    a, b = (_trained(so) for so, _ in outs)
    assert sorted(a + b) == sorted(ids), (a, b)  # each configuration trained exactly once, none lost
    assert a and b, (a, b)  # the two really ran at the same time and shared the grid
    for so, _ in outs:  # each process reports every run: trained here, or by the other one
        others = {ln.split(":")[0] for ln in so.splitlines() if ln.endswith(": recorded by another process")}
        assert set(_trained(so)) | others == ids
    recs = sorted((out / "records").iterdir())
    assert [p.name for p in recs] == sorted(f"{i}.json" for i in ids)  # no lock, no temporary left
    for p in recs:
        assert json.loads(p.read_text())["status"] in ("finished", "diverged")


def test_a_live_lock_is_waited_for_and_a_dead_ones_is_taken_over(tmp_path):
    out = tmp_path / "runs"
    (out / "records").mkdir(parents=True)
    live, dead = _cfg("sim"), _cfg("alt:n_d=1")
    # a live holder (this process, through the lock API) that gives up without writing a record
    assert io.try_lock(train.lock_path(out, live))

    def holder():  # gives the lock up 1.5 s after the other run's record is on disk
        while not train.record_path(out, dead).exists():
            time.sleep(0.05)
        time.sleep(1.5)
        io.release_lock(train.lock_path(out, live))

    th = threading.Thread(target=holder, daemon=True)
    th.start()
    # a holder killed with SIGKILL: its lock stays, naming a pid that is gone
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    train.lock_path(out, dead).write_text(json.dumps({"pid": int(gone), "host": io._host(), "start": None,
                                                      "created": time.time()}))
    lines = []
    t0 = time.time()
    recs = train.run_many([live, dead], out, progress=False, log=lines.append, poll_s=0.1)
    th.join(timeout=60)
    assert [r["id"] for r in recs] == [live.run_id, dead.run_id]
    assert time.time() - t0 >= 1.5  # it waited for the live holder ...
    assert [ln for ln in lines if "waiting for pid" in ln] == [
        ln for ln in lines if ln.startswith(live.run_id + ": waiting for pid")]  # ... and only for it
    assert len([ln for ln in lines if "waiting for pid" in ln]) == 1
    assert sorted(_trained("\n".join(lines))) == sorted([live.run_id, dead.run_id])  # then trained both itself
    assert sorted(p.name for p in (out / "records").iterdir()) == sorted(
        [f"{live.run_id}.json", f"{dead.run_id}.json"])


def test_lock_released_when_a_run_fails(tmp_path, monkeypatch):
    out = tmp_path / "runs"
    cfg = _cfg("sim")

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(train, "run_one", boom)
    try:
        train.run_many([cfg], out, progress=False, log=None)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the failure was swallowed")
    assert list(Path(out / "records").iterdir()) == []
