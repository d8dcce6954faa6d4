"""The Dyn-GDA checks can fail: the replay audit catches a changed decision, and the norm
bound is violated by Sim-GDA on the unregularized WGAN with plain SGD steps (the control)."""

import json

import numpy as np
import pytest

from gpu_validation import predictions, train
from gpu_validation.__main__ import main
from stabcheck.oracles import DynGDAOracle


def test_replay_matches_the_package_oracle_on_random_batches():
    rng = np.random.default_rng(0)
    o = DynGDAOracle(1.1, 0.75)
    dec, w, order = [], [], []
    for i in range(400):
        r = rng.normal(rng.normal(0, 1), 1, 16)
        f = rng.normal(rng.normal(0, 1), 1, 16)
        if i % 7 == 0:
            f = f - 10  # disjoint, fakes below
        if i % 11 == 0:
            f = f + 10  # disjoint, fakes above
        dec.append(o.decide(r, f).value[1])
        w.append(o.last_w)
        order.append("r" if r.max() < f.min() else ("f" if f.max() < r.min() else "o"))
    assert predictions.replay_algorithm2(w, "".join(order), 1.1, 0.75) == "".join(dec)
    assert predictions.replay_algorithm2([0.0, 0.0, 1.0], "ooo", 1.1, 0.75) == "212"  # w_last = 0 conventions


@pytest.fixture(scope="module")
def sgd_wgan(tmp_path_factory):
    """Sim-GDA vs Dyn-GDA on the unregularized WGAN, plain SGD steps of 0.2: Sim-GDA diverges."""
    out = tmp_path_factory.mktemp("sgd")
    assert main(["run", "--dataset", "ring", "--gan", "wgan", "--methods", "sim,dyn-gda", "--profile", "test",
                 "--optimizer", "sgd", "--lr", "0.2", "--iterations", "300", "--log-every", "10", "--no-spectrum",
                 "--threads", "1", "--device", "cpu", "--no-progress", "--out", str(out)]) == 0
    return [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]


def test_norm_bound_has_a_control_that_violates_it(sgd_wgan):
    by = {r["config"]["method"]: r for r in sgd_wgan}
    assert by["sim"]["outcome"]["diverged"]  # the control: Sim-GDA is unbounded here
    p = {x["id"]: x for x in predictions.check_all(sgd_wgan)}["dyn-bounded"]
    assert p["verdict"] == "confirmed" and "diverged" in p["evidence"]
    # the same check on a Dyn-GDA run that blew up: contradicted
    bad = json.loads(json.dumps(by["dyn-gda"]))
    bad["max_param_norm_ratio"] = predictions.NORM_BOUND * 2
    p = {x["id"]: x for x in predictions.check_all([by["sim"], bad])}["dyn-bounded"]
    assert p["verdict"] == "contradicted"
    # without the control the bound has no power: inconclusive, not confirmed
    p = {x["id"]: x for x in predictions.check_all([by["dyn-gda"]])}["dyn-bounded"]
    assert p["verdict"] == "inconclusive"


def test_replay_audit_catches_a_changed_decision(sgd_wgan):
    dyn = next(r for r in sgd_wgan if r["config"]["method"] == "dyn-gda")
    p = {x["id"]: x for x in predictions.check_all([dyn])}["dyn-decisions-replay"]
    assert p["verdict"] == "confirmed" and "300 decisions" in p["evidence"]
    for i, new in ((0, "1"), (150, None), (299, "3")):
        bad = json.loads(json.dumps(dyn))
        d = bad["trace"]["decisions"]
        new = new or ("1" if d[i] == "2" else "2")
        bad["trace"]["decisions"] = d[:i] + new + d[i + 1:]
        p = {x["id"]: x for x in predictions.check_all([bad])}["dyn-decisions-replay"]
        assert p["verdict"] == "contradicted" and f"iteration {i}" in p["evidence"]
    # a changed divergence changes the replay too (when it crosses a threshold)
    w = train.decode_floats(dyn["trace"]["divergence"]).copy()
    o = dyn["trace"]["order"]
    k = next(i for i in range(1, len(o)) if o[i] == "o" and o[i - 1] == "o")
    w[k] = w[k - 1] * (0.5 if dyn["trace"]["decisions"][k] == "2" else 2.0)
    bad = json.loads(json.dumps(dyn))
    bad["trace"]["divergence"] = train.encode_floats(w)
    assert {x["id"]: x for x in predictions.check_all([bad])}["dyn-decisions-replay"]["verdict"] == "contradicted"


def test_spectral_seam_reads_the_new_outcome():
    rec = {"config": {"method": "dyn-gda"}, "outcome": {"diverged": False}, "id": "x",
           "spectrum": [{"step": 5, "outcome": predictions.STABLE}, {"step": 9, "outcome": predictions.UNSTABLE}]}
    assert predictions.spectral_outcome(rec) == predictions.UNSTABLE
    rec2 = dict(rec, spectrum=[{"step": 9, "status": "ok", "mu": [[0.1, 0.0]]}])
    assert predictions.spectral_outcome(rec2) is None


@pytest.fixture(scope="module")
def sim_wgan_spectrum():
    """A real Sim-GDA run on the unregularized WGAN (plain SGD steps), with its final spectrum
    from stabcheck.nn: the theory (Mescheder et al.: eigenvalues 1 +- i eta on the bilinear
    Dirac-GAN) says its rotational modes grow."""
    cfg = train.config_from_profile("test", dataset="ring", gan="wgan", method="sim", optimizer="sgd", lr=0.05,
                                    iterations=40, log_every=10, spectrum=True, spectrum_k=6)
    return train.run_one(cfg)


def test_a_false_spectral_prediction_comes_out_contradicted(sim_wgan_spectrum):
    rec = sim_wgan_spectrum
    s = rec["spectrum"][0]
    assert s["outcome"] == predictions.UNSTABLE and s["spectral_radius"] > 1 + s["tol"]
    true_claim = {x["id"]: x for x in predictions.check_all([rec])}["wgan-sim-map-unstable"]
    assert true_claim["verdict"] == "confirmed" and true_claim["n"] == 1
    false_claim = predictions.outcome_check([rec], "sim", ["wgan"], False, "f", "stable (false)", "mutant")
    assert false_claim["verdict"] == "contradicted"


def test_a_margin_below_the_tolerance_is_inconclusive(sim_wgan_spectrum):
    rec = sim_wgan_spectrum
    # the same map judged with a tolerance above its margin: stabcheck.nn says inconclusive
    from gpu_validation import spectrum
    from gpu_validation.train import Trainer

    tr = Trainer(train.config_from_profile("test", dataset="ring", gan="wgan", method="sim", optimizer="sgd",
                                           lr=0.05, iterations=40, spectrum=True))
    for _ in range(40):
        d = tr.draw()
        tr.step(d)
    tight = spectrum.checkpoint_spectrum(tr, d, k=6, tol=1e-6, field_k=1)
    loose = spectrum.checkpoint_spectrum(tr, d, k=6, tol=0.5, field_k=1)
    assert tight["outcome"] == predictions.UNSTABLE
    assert loose["outcome"] == predictions.UNDECIDED and "within tol" in loose["outcome_reason"]
    wide = dict(rec, spectrum=[dict(rec["spectrum"][0], outcome=loose["outcome"])])
    p = predictions.outcome_check([wide], "sim", ["wgan"], True, "t", "grows", "theory")
    assert p["verdict"] == "inconclusive" and p["n"] == 0
    # a Dyn-GDA record whose window spectrum did not converge is inconclusive, never a verdict
    dyn = {"config": {"method": "dyn-gda", "gan": "wgan", "dataset": "ring"}, "outcome": {"diverged": False},
           "id": "d", "spectrum": [{"step": 40, "kind": "window", "outcome": predictions.UNDECIDED}]}
    assert predictions._dyn_spectral([dyn])["verdict"] == "inconclusive"
    dyn["spectrum"][0]["outcome"] = predictions.UNSTABLE
    assert predictions._dyn_spectral([dyn])["verdict"] == "contradicted"


def test_dyn_window_evidence_reads_against_the_controls_per_gradient_step():
    """The window's growth per step is reported beside Sim / Alt's one-step maps per gradient
    step (rho ** (1 / period)) at their own final checkpoints."""
    def rec(method, spectrum):
        return {"config": {"method": method, "gan": "wgan", "dataset": "ring"}, "outcome": {"diverged": False},
                "id": method, "spectrum": spectrum}
    dyn = rec("dyn-gda", [{"step": 40, "kind": "window", "outcome": predictions.UNSTABLE, "growth_per_step": 1.01}])
    alt = rec("alt:n_d=5", [{"step": 40, "status": "ok", "spectral_radius": 1.06, "period": 6,
                             "outcome": predictions.UNSTABLE}])
    sim = rec("sim", [{"step": 40, "status": "ok", "spectral_radius": 1.02, "period": 1,
                       "outcome": predictions.UNSTABLE}])
    ev = predictions._dyn_spectral([dyn, alt, sim])["evidence"]
    assert "Dyn-GDA windows 1.010000 (1 runs)" in ev
    assert f"Alt-GDA n_d=5 {1.06 ** (1 / 6):.6f} (1 runs)" in ev and "Sim-GDA 1.020000 (1 runs)" in ev


def test_perturbation_evidence_says_why_a_test_disagrees():
    base = {"predicted_growth": 1.2, "measured_growth": 0.6, "agrees": False, "one_step_log_error": 1e-7}
    moving = dict(base, trajectory_log_error=1e-7)
    nonlinear = dict(base, trajectory_log_error=0.4)
    ev = predictions._perturbation_diagnosis([("a", moving), ("b", nonlinear)])
    assert "of the 2 disagreeing with the diagnosis measured, 1 agree after one step" in ev
    assert predictions._perturbation_diagnosis([("a", base)]) == ""  # records before the diagnosis
