"""`gpu_validation analyze` back-fills the switched-system entry of an oracle run's record."""
import json
import subprocess
import sys

import pytest

from gpu_validation.predictions import check_all
from gpu_validation.spectrum import WINDOW_METHOD, analyze_runs
from gpu_validation.train import SPECTRUM_WINDOW


def _tiny_run(out, method):
    """A 12-iteration run on ring / WGAN with no spectra computed in the run."""
    subprocess.run([sys.executable, "-m", "gpu_validation", "run", "--dataset", "ring", "--gans", "wgan",
                    "--methods", method, "--profile", "test", "--iterations", "12", "--batch", "16",
                    "--width", "4", "--device", "cpu", "--threads", "1", "--no-progress", "--no-spectrum",
                    "--out", str(out)], check=True, capture_output=True, text=True)


def test_analyze_adds_the_window_entry_of_a_dyn_gda_record(tmp_path):
    out = tmp_path / "runs"
    _tiny_run(out, "dyn-gda")
    (rp,) = (out / "records").glob("*.json")
    before = json.loads(rp.read_text())
    assert not [s for s in before.get("spectrum", []) if s.get("kind") == "window"]
    preds = {p["id"]: p for p in check_all([before])}
    assert preds["dyn-spectrally-stable"]["verdict"] == "inconclusive"
    assert "without a window entry" in preds["dyn-spectrally-stable"]["evidence"]

    assert analyze_runs(out, k=2) >= 1
    rec = json.loads(rp.read_text())
    (win,) = [s for s in rec["spectrum"] if s.get("kind") == "window"]
    # the window is the run's own last decisions before the final snapshot
    assert win["decisions"] == rec["trace"]["decisions"][-SPECTRUM_WINDOW:]
    assert win["status"] in ("ok", "inconclusive")
    if win["status"] == "ok":
        assert abs(win["growth_per_step"] ** len(win["decisions"]) - win["spectral_radius"]) < 1e-9
    # a second pass finds nothing left to do, and an atomic-write temporary left by a killed
    # writer (a dot-named .json) is not read as a record
    (out / "records" / f".{rp.name}.stabtmp-host-1-x.json").write_text("{trunc")
    assert analyze_runs(out, k=2) == 0
    # an entry of an older window method (or none stated) is recomputed, and replaced, once
    rec = json.loads(rp.read_text())
    for s in rec["spectrum"]:
        if s.get("kind") == "window":
            s.pop("window_method")
    rp.write_text(json.dumps(rec))
    assert analyze_runs(out, k=2) == 1
    wins = [s for s in json.loads(rp.read_text())["spectrum"] if s.get("kind") == "window"]
    assert len(wins) == 1 and wins[0]["window_method"] == WINDOW_METHOD
    assert analyze_runs(out, k=2) == 0
    # redoing the one-step entry (with the perturbation test) keeps the window entry of that step
    assert analyze_runs(out, k=2, perturb=True) == 1
    after = json.loads(rp.read_text())["spectrum"]
    assert [s for s in after if s.get("kind") == "window"] == wins
    assert [s.get("perturbation") is not None for s in after if s.get("kind") is None] == [True]


@pytest.mark.parametrize("defer", [True, False])
def test_a_run_can_defer_its_window_entry_to_analyze(tmp_path, defer):
    import os

    out = tmp_path / "runs"
    env = {k: v for k, v in os.environ.items() if k != "GPU_VALIDATION_SKIP_WINDOW"}
    if defer:
        env["GPU_VALIDATION_SKIP_WINDOW"] = "1"
    subprocess.run([sys.executable, "-m", "gpu_validation", "run", "--dataset", "ring", "--gans", "wgan",
                    "--methods", "dyn-gda", "--profile", "quick", "--iterations", "12", "--batch", "16",
                    "--width", "4", "--device", "cpu", "--threads", "1", "--no-progress", "--batched", "2",
                    "--out", str(out)], check=True, capture_output=True, text=True, env=env)
    (rp,) = (out / "records").glob("*.json")
    kinds = [s.get("kind") for s in json.loads(rp.read_text())["spectrum"]]
    assert None in kinds  # the one-step entry is computed in the run either way
    assert ("window" in kinds) is (not defer)
    assert analyze_runs(out, k=2) == (1 if defer else 0)  # analyze adds exactly what was deferred
    assert [s.get("kind") for s in json.loads(rp.read_text())["spectrum"]].count("window") == 1


def test_window_entry_is_the_dense_product_of_the_chosen_one_step_maps(tmp_path):
    """The window's rho is the spectral radius of A_{c_W} ... A_{c_1}, each one-step Jacobian
    (the run's RMSProp state, its batch) taken densely at the snapshot by jacrev."""
    import numpy as np
    import torch

    from gpu_validation import gans, methods, models
    from gpu_validation.spectrum import OneField, _optimizers_from_snapshot, _to64, analyze_window
    from gpu_validation.train import RunConfig
    from stabcheck.nn import prepare_map

    out = tmp_path / "runs"
    _tiny_run(out, "dyn-gda")
    (rp,) = (out / "records").glob("*.json")
    rec = json.loads(rp.read_text())
    states = torch.load(out / "states" / f"{rec['id']}.pt", weights_only=False)
    st = states[max(states)]
    cfg = RunConfig(**rec["config"])
    gan = gans.make_gan(cfg.gan)
    method = methods.make_method(cfg.method, "2d", bounded=gan.bounded)
    pair = models.build("mlp", (2,), sn=False, width=cfg.width, latent=cfg.latent, seed=cfg.seed)
    codes = [int(c) for c in rec["trace"]["decisions"][-SPECTRUM_WINDOW:]]
    assert set(codes) == {1, 2}  # both maps occur in the window
    win = analyze_window(gan, pair, method, st, codes, eta=cfg.lr, k=2)
    assert win["status"] == "ok"

    gp, dp = _to64(st["gp"]), _to64(st["dp"])
    db, draws = _to64(st["db"]), _to64(st["draws"])
    vg, vd = method.field(gan, pair, db, draws)
    J = {}
    for c in (1, 2):
        pm = prepare_map(pair.gen, pair.disc, rule=OneField(f"V{c}"), params=(gp, dp), buffers=(None, db),
                         field_fns=(vg, vd), optimizer=_optimizers_from_snapshot(st, gp, dp))
        J[c] = torch.func.jacrev(pm.step)(pm.z).numpy()
    P = np.eye(J[1].shape[0])
    for c in codes:
        P = J[c] @ P
    rho = np.max(np.abs(np.linalg.eigvals(P)))
    assert win["spectral_radius"] == pytest.approx(rho, abs=1e-8)
    assert win["decisions"] == "".join(map(str, codes)) and win["window"] == win["period"] == len(codes)


def test_a_fixed_schedule_gets_no_window_entry(tmp_path):
    """Alt-GDA records its decisions too, but they are its schedule (the one-step entry is its
    period map already): analyze adds no switched-window entry to it."""
    out = tmp_path / "runs"
    _tiny_run(out, "alt")
    (rp,) = (out / "records").glob("*.json")
    assert json.loads(rp.read_text())["trace"]["decisions"]
    analyze_runs(out, k=2)
    assert not [s for s in json.loads(rp.read_text())["spectrum"] if s.get("kind") == "window"]
