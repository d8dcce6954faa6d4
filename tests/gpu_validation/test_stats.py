"""The statistics and the thesis's verdicts on synthetic tables whose answer is known."""

import math

import numpy as np
import pytest

from gpu_validation import stats

MS = ["sim", "alt:n_d=1", "alt:n_d=5", "dyn-gda"]


def _table(rng, dyn_shift, gans=8, datasets=4, seeds=3, noise=0.3):
    """W1-like values: a block level times log-normal noise; Dyn-GDA's multiplied by exp(shift)."""
    obs = {}
    for g in range(gans):
        for d in range(datasets):
            base = rng.uniform(0.1, 1.0)
            for s in range(seeds):
                for m in MS:
                    v = base * math.exp(rng.normal(0, noise)) * (math.exp(dyn_shift) if m == "dyn-gda" else 1.0)
                    obs[(f"g{g}", f"d{d}", m, s)] = v
    return obs


def _verdicts(a):
    return {v["id"]: v["verdict"] for v in a["verdicts"]}


def test_dyn_clearly_best_holds():
    a = stats.analyze(_table(np.random.default_rng(1), -0.6), methods=MS)
    assert _verdicts(a) == {"dyn-best": "holds", "friedman-p02": "holds"}
    assert min(a["overall_rank"], key=a["overall_rank"].get) == "dyn-gda"
    assert a["friedman"]["p"] < 1e-6 and a["n_blocks"] == 32 and a["n_pairs"] == 96
    assert all(p["effect_r"] > 0.5 for p in a["paired"].values())


def test_dyn_clearly_worst_is_refuted():
    a = stats.analyze(_table(np.random.default_rng(2), +0.6), methods=MS)
    assert _verdicts(a) == {"dyn-best": "refuted", "friedman-p02": "refuted"}
    assert all(p["effect_r"] < -0.5 for p in a["paired"].values())


def test_pure_noise_is_inconclusive():
    """No method is better: the verdict is inconclusive (false "holds"/"refuted" at most at the test's level)."""
    rng = np.random.default_rng(3)
    got = [_verdicts(stats.analyze(_table(rng, 0.0), methods=MS))["dyn-best"] for _ in range(20)]
    assert got.count("holds") == 0
    assert got.count("refuted") <= 3  # Holm keeps this near alpha = 0.05; 3 of 20 has probability < 2%
    assert got.count("inconclusive") >= 17


def test_too_few_blocks_is_flagged_underpowered():
    a = stats.analyze(_table(np.random.default_rng(4), -3.0, gans=1, datasets=2, seeds=1), methods=MS)
    v = a["verdicts"][0]
    assert v["verdict"] == "inconclusive" and v["underpowered"]
    assert "cannot reach" in v["evidence"]
    assert a["friedman"]["p_min"] > 0.05  # 2 blocks x 4 methods: chi2 <= 6


def test_divergence_ranks_last_and_summaries():
    obs = {}
    for g in ("a", "b", "c", "d", "e", "f"):
        for s in (0, 1):
            obs[(g, "ring", "sim", s)] = 0.5
            obs[(g, "ring", "alt:n_d=1", s)] = 0.4
            obs[(g, "ring", "dyn-gda", s)] = math.inf if s == 0 else 0.1
    a = stats.analyze(obs, methods=["sim", "alt:n_d=1", "dyn-gda"])
    c = a["cells"][("a", "ring", "dyn-gda")]
    assert c["n"] == 2 and c["n_div"] == 1 and c["mean"] == 0.1 and c["sd"] is None
    assert a["overall_rank"]["dyn-gda"] == 3.0  # seed-average is inf when a seed diverged
    p = a["paired"]["sim"]
    assert p["n_pairs"] == 12 and p["dyn_wins"] == 6 and p["other_wins"] == 6


def test_incomplete_blocks_are_left_out():
    obs = {("a", "ring", m, 0): v for m, v in zip(MS, (0.4, 0.3, 0.2, 0.1))}
    obs[("b", "ring", "sim", 0)] = 0.2  # block b has one method only
    a = stats.analyze(obs, methods=MS)
    assert a["blocks"] == [("a", "ring")] and a["n_pairs"] == 1


def test_cell_ci_and_holm():
    c = stats.cell_summary([1.0, 2.0, 3.0])
    assert c["mean"] == 2.0 and c["sd"] == 1.0
    from scipy.stats import t

    h = t.ppf(0.975, 2) / math.sqrt(3)
    assert c["ci95"] == pytest.approx([2 - h, 2 + h])
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
