"""Run ids, resume, merging and auditable records (issue 12, point 3), and the executors
(point 7): a record from another device is never retrained or overwritten, two seeds are
two runs, a killed grid resumes without losing or duplicating a run, serial and Dask give
the same records."""

import json

import pytest

from gpu_validation import report, train
from gpu_validation.__main__ import main
from stabcheck.errors import BadInput

BASE = ["--dataset", "ring", "--gans", "bce", "--profile", "test", "--iterations", "12", "--batch", "16",
        "--width", "4", "--device", "cpu", "--no-progress", "--threads", "1", "--no-spectrum"]


def _recs(out):
    return {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}


def _cfg(method="sim", seed=0, device="cpu", **kw):
    return train.config_from_profile("test", dataset="ring", gan="bce", method=method, seed=seed, iterations=12,
                                     batch=16, width=4, device=device, spectrum=False, **kw)


def test_run_id_fields():
    a, b = _cfg(), _cfg(device="cuda:1")
    assert a.run_id == "ring__bce__sim__s0__test__it12__cpu"
    assert b.run_id == "ring__bce__sim__s0__test__it12__cuda"  # the kind, not the index
    assert _cfg(seed=1).run_id != a.run_id
    assert train.config_from_profile("test", dataset="ring", gan="bce", method="sim", iterations=13).run_id != a.run_id


def test_planted_record_from_another_device_is_kept(tmp_path):
    out = tmp_path / "runs"
    planted = train.make_record(
        _cfg(device="cuda:0"), decisions="3" * 12, history=[], checkpoints=[{"step": 12, "w1": 0.123, "eval_n": 64}],
        resolved=train.resolved_info("sim", "adam", True, "2d", 1, 1),
        environment={"device": "cuda:0", "device_kind": "cuda", "torch": "x", "threads": 1})
    train.write_record(out, planted)
    gpu_path = out / "records" / f"{planted['id']}.json"
    before = gpu_path.read_bytes()
    assert main(["run", *BASE, "--methods", "sim", "--out", str(out)]) == 0
    recs = _recs(out)
    assert set(recs) == {"ring__bce__sim__s0__test__it12__cuda", "ring__bce__sim__s0__test__it12__cpu"}
    assert gpu_path.read_bytes() == before  # neither retrained nor overwritten
    # the same grid on "the GPU" finds its record and trains nothing
    cfg = _cfg(device="cuda:3")
    assert train.existing_record(out, cfg) == planted
    # the report merges both only with a filter that separates them
    with pytest.raises(BadInput, match="device-kind"):
        report.load_records(out)
    assert [r["id"] for r in report.load_records(out, device_kind="cuda")] == [planted["id"]]


def test_same_id_other_config_is_refused(tmp_path):
    out = tmp_path / "runs"
    assert main(["run", *BASE, "--methods", "sim", "--out", str(out)]) == 0
    path = next((out / "records").glob("*.json"))
    before = path.read_bytes()
    assert main(["run", *BASE, "--methods", "sim", "--lr", "0.5", "--out", str(out)]) == 2
    assert path.read_bytes() == before


def test_two_seeds_are_two_runs_and_both_are_reported(tmp_path):
    out = tmp_path / "runs"
    assert main(["run", *BASE, "--methods", "sim,alt:n_d=1,dyn-gda", "--seeds", "0,1", "--out", str(out)]) == 0
    recs = _recs(out)
    assert len(recs) == 6 and {r["config"]["seed"] for r in recs.values()} == {0, 1}
    t = report.rank_table(report.load_records(out))
    assert t["seeds"] == [0, 1]
    assert all(c["n"] == 2 for c in t["cells"].values())
    assert t["paired"]["sim"]["n_pairs"] == 2
    md = report.write_report(out, tmp_path / "v.md", figures_dir=tmp_path / "fig")
    assert "seeds [0, 1]" in md and " ± " in md and "95% CI" in md


def test_kill_mid_grid_resumes_without_loss_or_duplicates(tmp_path, monkeypatch):
    out = tmp_path / "runs"
    cfgs = [_cfg(m) for m in ("sim", "alt:n_d=1", "dyn-gda", "alt:n_d=2")]
    real = train.run_one
    calls = []

    def dying(cfg, *a, **k):
        calls.append(cfg.run_id)
        if len(calls) == 3:
            raise KeyboardInterrupt  # a kill while the third run trains
        return real(cfg, *a, **k)

    monkeypatch.setattr(train, "run_one", dying)
    with pytest.raises(KeyboardInterrupt):
        train.run_many(cfgs, out, progress=False, log=None)
    first = _recs(out)
    assert set(first) == {c.run_id for c in cfgs[:2]}  # the finished runs are on disk, complete
    assert not list((out / "records").glob("*.tmp*")) and not list((out / "records").glob(".*"))
    monkeypatch.setattr(train, "run_one", real)
    calls.clear()
    recs = train.run_many(cfgs, out, progress=False, log=None)
    assert [r["id"] for r in recs] == [c.run_id for c in cfgs]
    after = _recs(out)
    assert set(after) == {c.run_id for c in cfgs}
    for rid in first:
        assert after[rid] == first[rid]  # not retrained


def test_make_record_counts_and_trace_roundtrip():
    import numpy as np

    cfg = _cfg("dyn-gda")
    w = [0.5, 0.25, float("nan"), 1e-300]
    rec = train.make_record(cfg, decisions=np.array([2, 1, 1, 2, 2], dtype=np.int8), divergences=w + [9.0],
                            orders="oofoo", history=[], checkpoints=[],
                            resolved=train.resolved_info("dyn-gda:c1=1.1,c2=0.75", "adam", True, "2d", 1, 1),
                            outcome={"diverged": True, "diverged_at": 4, "reason": "x"})
    assert rec["choices"] == {"V1": 2, "V2": 3, "V3": 0} and rec["iterations_done"] == 5
    got = train.decode_floats(rec["trace"]["divergence"])
    assert got.shape == (5,) and got[0] == 0.5 and np.isnan(got[2]) and got[3] == 1e-300
    assert rec["final"] is None and rec["status"] == "diverged"
    with pytest.raises(ValueError):
        train.encode_decisions("124")


def test_schema1_records_are_read_through_upgrade(tmp_path):
    from gpu_validation import schema

    cfg = _cfg()
    rec = train.make_record(cfg, decisions="3" * 12, history=[], checkpoints=[{"step": 12, "w1": 0.2, "eval_n": 64}],
                            resolved=train.resolved_info("sim", "adam", True, "2d", 1, 1))
    old = {k: v for k, v in rec.items() if k != "trace"}
    old.update(schema_version=1, id="ring__bce__sim__s0")
    old["environment"] = {k: v for k, v in old["environment"].items() if k != "device_kind"}
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "ring__bce__sim__s0.json").write_text(json.dumps(old))
    got = report.load_records(tmp_path)
    assert got[0]["id"] == cfg.run_id and got[0]["upgraded_from"] == 1 and got[0]["trace"] is None
    assert schema.errors(got[0]) == []
    # a schema-1 file under a run's new id is retrained, never trusted
    assert train.existing_record(tmp_path, cfg) is None


@pytest.mark.parametrize("executor", [["--executor", "serial"],
                                      ["--executor", "dask", "--workers", "1"]])
def test_executors_give_the_same_records(tmp_path, executor):
    grid = ["--methods", "sim,dyn-gda"]
    ref = tmp_path / "ref"
    train.run_many([_cfg("sim"), _cfg("dyn-gda")], ref, progress=False, log=None)
    out = tmp_path / "out"
    assert main(["run", *BASE, *grid, *executor, "--out", str(out)]) == 0
    a, b = _recs(ref), _recs(out)
    assert set(a) == set(b) and len(a) == 2
    for k in a:
        for field in ("final", "checkpoints", "history", "trace", "choices", "config"):
            assert a[k][field] == b[k][field], (k, field)
