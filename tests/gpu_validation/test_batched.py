"""The batched trainer's entry points (now the fused trainer, gpu_validation/fused.py)
reproduce the sequential one (same oracles, same draws, masks). Equality in float64 (both
trainers; ``rtol=1e-9``); float32 WGAN runs differ at ~1e-3 whatever the summation order
(see tests/gpu_validation/test_fused.py)."""

import pytest
import torch

from gpu_validation.batched import BatchedTrainer
from gpu_validation.train import config_from_profile
from stabcheck.errors import BadInput
from test_fused import Trainer64


def test_batched_equals_sequential():
    ms = ["sim", "alt:n_d=2", "dyn-gda", "sim"]
    cfgs = [config_from_profile("test", dataset="ring", gan=gan, method=m, seed=s, width=8)
            for gan in ("bce", "wgan", "sn") for m, s in zip(ms, [0, 0, 0, 1])]
    bt = BatchedTrainer(cfgs, dtype=torch.float64)
    seq = [Trainer64(c) for c in cfgs]
    for _ in range(10):
        codes = bt.step()
        got = [t.step() for t in seq]
        assert [c.value for c in got] == [f"V{k}" for k in codes]
    counts = bt.step_counts()
    for r, t in enumerate(seq):
        gp, dp = bt.run_params(r)
        for k in gp:
            torch.testing.assert_close(gp[k], t.gp[k], rtol=1e-9, atol=1e-12)
        for k in dp:
            torch.testing.assert_close(dp[k], t.dp[k], rtol=1e-9, atol=1e-12)
        assert int(counts[1, r]) == int(bt.counts[r, 1] + bt.counts[r, 2])  # V2 + V3 steps of D
    assert bt.gan.spec == "bce" and bt.data.name == "ring"


def test_batched_rejects_mixed_setups():
    a = config_from_profile("test", dataset="ring", gan="bce", method="sim")
    with pytest.raises(BadInput, match="share batch"):
        BatchedTrainer([a, config_from_profile("test", dataset="ring", gan="wgan", method="sim", batch=8)])
    with pytest.raises(BadInput, match="share gan"):
        BatchedTrainer([a, config_from_profile("test", dataset="ring", gan="wgan", method="sim")], engine="vmap")


def test_run_batched_records_validate_and_match_sequential(tmp_path):
    import json

    from gpu_validation.__main__ import main

    common = ["run", "--dataset", "line", "--gans", "bce,sn", "--methods", "sim,alt:n_d=1,dyn-gda",
              "--profile", "test", "--iterations", "20", "--batch", "16", "--no-progress", "--threads", "1"]
    assert main(common + ["--out", str(tmp_path / "b"), "--batched", "8"]) == 0
    assert main(common + ["--out", str(tmp_path / "s")]) == 0
    from gpu_validation import schema

    for p in (tmp_path / "b" / "records").glob("*.json"):
        b = json.loads(p.read_text())
        s = json.loads((tmp_path / "s" / "records" / p.name).read_text())
        assert schema.errors(b) == []
        assert b["choices"] == s["choices"]
        assert b["final"]["w1"] == pytest.approx(s["final"]["w1"], rel=1e-3)
        assert b["environment"]["trainer"] == "fused" and b["environment"]["batched_runs"] >= 2  # sn fused too
        assert b["trace"] is not None and b["trace"]["decisions"] == s["trace"]["decisions"]
