"""Ranks, Friedman test, predictions and the markdown report on hand-made records."""

import json

import pytest

from gpu_validation import predictions, report


def _rec(gan, method, ds, w1, diverged=False, choices=None, spectrum=(), seed=0):
    return {"schema_version": 2, "id": f"{ds}__{gan}__{method}__s{seed}__test__it10__cpu",
            "config": {"gan": gan, "method": method, "dataset": ds, "seed": seed, "profile": "test",
                       "iterations": 10, "batch": 4, "lr": 0.1, "device": "cpu", "optimizer": "auto"},
            "environment": {"device": "cpu", "device_kind": "cpu", "threads": 1, "cpu_count": 2, "torch": "x"},
            "resolved": {"data_kind": "2d"}, "metric": "w1", "wall_s": 1.0,
            "outcome": {"diverged": diverged, "diverged_at": 5 if diverged else None, "reason": None},
            "final": None if diverged else {"w1": w1, "w1_floor": 0.01, "eval_n": 8, "step": 10},
            "choices": choices or {"V1": 5, "V2": 5, "V3": 0}, "max_param_norm_ratio": 1.5,
            "checkpoints": [], "spectrum": list(spectrum), "trace": None}


def test_ranks_by_hand():
    recs = []
    # two blocks; in block 1 dyn best, sim diverged (last); in block 2 alt best
    for g, vals in (("bce", {"sim": None, "alt:n_d=1": 0.2, "dyn-gda": 0.1}),
                    ("wgan", {"sim": 0.3, "alt:n_d=1": 0.1, "dyn-gda": 0.2})):
        for m, v in vals.items():
            recs.append(_rec(g, m, "ring", v, diverged=v is None))
    t = report.rank_table(recs)
    assert t["ranks"][("bce", "dyn-gda", "ring")] == 1 and t["ranks"][("bce", "sim", "ring")] == 3
    assert t["overall_rank"] == {"sim": 3.0, "alt:n_d=1": 1.5, "dyn-gda": 1.5}
    # Friedman with k=3 treatments, n=2 blocks: chi2 = 12/(n k (k+1)) sum R_j^2 - 3 n (k+1)
    rsum = [6, 3, 3]
    chi2 = 12 / (2 * 3 * 4) * sum(r * r for r in rsum) - 3 * 2 * 4
    assert t["friedman"]["statistic"] == pytest.approx(chi2)
    md = report.table_markdown(t)
    assert "div." in md and "**0.1000**" in md


def test_predictions_verdicts():
    spec_grow = {"step": 10, "status": "ok", "eta": 0.1, "mu": [[0.5, 2.0], [0.0, 0.0]], "spectral_radius": 1.1,
                 "perturbation": {"agrees": True, "measured_growth": 1.01, "predicted_growth": 1.01}}
    spec_damp = {"step": 10, "status": "ok", "eta": 0.1, "mu": [[-1.0, 2.0]], "spectral_radius": 0.95,
                 "perturbation": None}
    recs = [_rec("wgan", "sim", "ring", 0.3, spectrum=[spec_grow]),
            _rec("r2", "sim", "ring", 0.3, spectrum=[spec_grow]),  # a counterexample to damping
            _rec("js-reg", "sim", "ring", 0.3, spectrum=[spec_damp]),
            _rec("bce", "dyn-gda", "ring", 0.3, choices={"V1": 3, "V2": 7, "V3": 0})]
    by = {p["id"]: p for p in predictions.check_all(recs)}
    assert by["wgan-sim-undamped"]["verdict"] == "confirmed"
    assert by["zero-centred-penalty-damps"]["verdict"] == "contradicted"
    assert "1 of 2" in by["zero-centred-penalty-damps"]["evidence"]
    assert by["wgan-gp-sim-undamped"]["verdict"] == "inconclusive"
    assert by["dyn-decisions-replay"]["verdict"] == "inconclusive"  # no trace in these records
    assert by["perturbation-rate"]["verdict"] == "confirmed"
    assert all(p.get("contradicted_by") for p in by.values())


def test_rotational_margin_is_neutral():
    """abs(lambda) - 1 within the tolerance counts neither way (a 1e-7 margin decides nothing)."""
    import math

    re = (math.sqrt(1 - 0.1 ** 2) - 1) / 0.1 + 1e-7  # abs(1 + 0.1 (re + i)) - 1 is about +1e-8
    near = {"step": 10, "status": "ok", "eta": 0.1, "mu": [[re, 1.0]], "spectral_radius": 1.0}
    assert 0 < predictions.rotational_growth(near) - 1 < 1e-7
    by = {p["id"]: p for p in predictions.check_all([_rec("r2", "sim", "ring", 0.3, spectrum=[near])])}
    assert by["zero-centred-penalty-damps"]["verdict"] == "inconclusive"
    assert "1 neutral" in by["zero-centred-penalty-damps"]["evidence"]


def test_write_report(tmp_path):
    (tmp_path / "runs" / "records").mkdir(parents=True)
    for m, v in (("sim", 0.3), ("alt:n_d=1", 0.2), ("dyn-gda", 0.1)):
        r = _rec("bce", m, "ring", v)
        (tmp_path / "runs" / "records" / f"{r['id']}.json").write_text(json.dumps(r))
    text = report.write_report(tmp_path / "runs", tmp_path / "docs" / "v.md", figures_dir=tmp_path / "docs" / "fig")
    assert (tmp_path / "docs" / "v.md").read_text() == text
    assert "10 iterations" in text and "device **cpu**" in text and "Theory checks" in text
    assert "Contradicted by" in text and "inconclusive** (underpowered)" in text


def test_merge_two_folders_and_conflicts(tmp_path):
    """Records from two machines' folders merge; the same id with other contents is an error."""
    for d, seed in (("a", 0), ("b", 1)):
        (tmp_path / d / "records").mkdir(parents=True)
        for m, v in (("sim", 0.3), ("alt:n_d=1", 0.2), ("dyn-gda", 0.1)):
            r = _rec("bce", m, "ring", v + seed / 100, seed=seed)
            (tmp_path / d / "records" / f"{r['id']}.json").write_text(json.dumps(r))
    recs = report.load_records([tmp_path / "a", tmp_path / "b"])
    assert len(recs) == 6
    t = report.rank_table(recs)
    assert t["cells"][("bce", "sim", "ring")]["n"] == 2 and t["seeds"] == [0, 1]
    assert t["cells"][("bce", "sim", "ring")]["mean"] == pytest.approx(0.305)
    # an identical copy counts once
    r = _rec("bce", "sim", "ring", 0.3, seed=0)
    (tmp_path / "b" / "records" / f"{r['id']}.json").write_text(json.dumps(r))
    assert len(report.load_records([tmp_path / "a", tmp_path / "b"])) == 6
    # ... a different one is refused
    r["final"]["w1"] = 0.9
    (tmp_path / "b" / "records" / f"{r['id']}.json").write_text(json.dumps(r))
    from stabcheck.errors import BadInput

    with pytest.raises(BadInput, match="different contents"):
        report.load_records([tmp_path / "a", tmp_path / "b"])
    # an atomic-write temporary left by a kill is not a record
    (tmp_path / "a" / "records" / f".{r['id']}.json.abc123.json").write_text('{"trunc')
    assert len(report.load_records(tmp_path / "a")) == 3
