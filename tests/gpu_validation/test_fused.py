"""The fused trainer (gpu_validation/fused.py) reproduces the one-by-one Trainer.

Tolerances: float64 (both trainers run in float64; the only difference is batched vs single
matmuls and reductions) - parameters ``rtol=1e-9, atol=1e-12`` after N steps, decisions
identical, Dynamic-GDA's divergences ``rtol=1e-9``; float32 (as trained) - records from
``run_one`` and ``train_fused``: decisions identical, W1 and losses ``rel 1e-4``.
"""

import numpy as np
import pytest
import torch

from gpu_validation import gans
from gpu_validation.fused import FusedOpt, FusedTrainer, train_fused
from gpu_validation.models import flat
from gpu_validation.train import Trainer, config_from_profile, run_one
from stabcheck.errors import BadInput


class Trainer64(Trainer):
    """The one-by-one trainer in float64 (same draws, cast after drawing)."""

    def __init__(self, cfg, data=None):
        super().__init__(cfg, data)
        self.pair.gen.double()
        self.pair.disc.double()
        self.gp = {k: v.double() for k, v in self.gp.items()}
        self.dp = {k: v.double() for k, v in self.dp.items()}
        self.db = {k: v.double() for k, v in self.db.items()}
        self.opt_g = self._make_opt(self.optimizer_name, self.gp.values())
        self.opt_d = self._make_opt(self.optimizer_name, self.dp.values())

    def draw(self):
        return {k: v.double() for k, v in super().draw().items()}


def _steps_taken(opt, params) -> int:
    st = opt.state.get(next(iter(params.values())), {})
    return int(st["step"]) if "step" in st else 0


# every registered class, plus WGAN with an active weight clip
CLASSES = list(gans.NAMES) + ["wgan:clip=0.01"]
# (method, data set, seed): mixed data sets and seeds inside one fused program; alt:n_d=1,n_g=3
# leaves the discriminator idle three iterations in four
RUNS = [("sim", "ring", 0), ("alt:n_d=2", "circle", 1), ("dyn-gda", "circle", 1), ("alt:n_d=1,n_g=3", "ring", 0)]


def _compare(cfgs, n_steps, engine="auto", device="cpu", dtype=torch.float64, ref=Trainer64, rtol=1e-9,
             atol=1e-12):
    from gpu_validation import data as data_mod

    datas = {d: data_mod.load(d) for d in {c.dataset for c in cfgs}}  # once (digits: scikit-learn)
    ft = FusedTrainer(cfgs, device=device, dtype=dtype, engine=engine, datas=datas)
    seq = [ref(c, datas[c.dataset]) for c in cfgs]
    for i in range(n_steps):
        codes = ft.step()
        got = [t.step() for t in seq]
        assert [c.value for c in got] == [f"V{k}" for k in codes], f"iteration {i}"
        for r, t in enumerate(seq):
            if t.method.needs_batches:  # the divergence Dynamic-GDA computed, the same number
                w_f = ft.methods[r].oracle.last_w
                assert w_f == pytest.approx(t.method.oracle.last_w, rel=rtol, abs=atol)
    for r, t in enumerate(seq):
        gp, dp = ft.run_params(r)
        for k in t.gp:
            torch.testing.assert_close(gp[k].cpu(), t.gp[k].to(gp[k].dtype).cpu(), rtol=rtol, atol=atol)
        for k in t.dp:
            torch.testing.assert_close(dp[k].cpu(), t.dp[k].to(dp[k].dtype).cpu(), rtol=rtol, atol=atol)
        db = ft.run_buffers(r)
        assert sorted(db) == sorted(t.db)
        for k in t.db:
            torch.testing.assert_close(db[k].cpu(), t.db[k].to(dtype).cpu(), rtol=rtol, atol=atol)
        # per-run, per-player step counts = torch.optim's
        sc = ft.step_counts()
        assert int(sc[0, r]) == _steps_taken(t.opt_g, t.gp)
        assert int(sc[1, r]) == _steps_taken(t.opt_d, t.dp)
    return ft, seq


def test_one_stacked_program_for_every_class_equals_one_by_one_float64():
    """All GAN classes (Adam and RMSProp runs, SN, penalties, GraN, noise, clipping) in one
    fused program, interleaved in the input order."""
    cfgs = [config_from_profile("test", dataset=d, gan=g, method=m, seed=s, width=8, batch=16)
            for m, d, s in RUNS for g in CLASSES]
    ft, _ = _compare(cfgs, 6)
    assert ft.engine == "stacked" and len(ft.segments) == len(CLASSES)
    sc = ft.step_counts()
    n_g3 = [j for j, c in enumerate(cfgs) if c.method == "alt:n_d=1,n_g=3"]
    assert all(sc[1, j] < sc[0, j] for j in n_g3)  # those discriminators sat out iterations
    assert sc.device == ft.gflat.device and sc.dtype == torch.float64


@pytest.mark.parametrize("gan", ["bce", "sn", "gran", "wgan:clip=0.01", "js-reg"])
def test_vmap_engine_equals_one_by_one_float64(gan):
    cfgs = [config_from_profile("test", dataset=d, gan=gan, method=m, seed=s, width=8, batch=16)
            for m, d, s in RUNS]
    ft, _ = _compare(cfgs, 6, engine="vmap")
    assert ft.engine == "vmap"


@pytest.mark.parametrize("gan", ["bce", "sn", "wgan-gp"])
def test_fused_jare_equals_one_by_one_float64(gan):
    cfgs = [config_from_profile("test", dataset=d, gan=gan, method=m, seed=s, width=8, batch=16)
            for m, d, s in [("jare:gamma=0.5", "ring", 0), ("alt:n_d=1+jare:gamma=0.5", "line", 1)]]
    ft, _ = _compare(cfgs, 5)
    assert ft.engine == "vmap"  # field transforms: vmap over the package's torch.func code


def test_image_models_equal_one_by_one_float64():
    """Image data: the MLP pair (tanh generator) through the stacked engine, the DCGAN pair
    through the vmap engine."""
    mlp = [config_from_profile("test", dataset="digits", gan=g, method=m, width=8, latent=8, batch=8)
           for g in ("bce", "wgan-gp", "gran") for m in ("sim", "dyn-gda")]
    ft, _ = _compare(mlp, 3)
    assert ft.engine == "stacked"
    dc = [config_from_profile("test", dataset="digits", gan="sn", method=m, model="dcgan", width=4, latent=8,
                              batch=8) for m in ("sim", "dyn-gda")]
    ft, _ = _compare(dc, 3)
    assert ft.engine == "vmap"


def test_masked_adam_counts_only_real_steps():
    """Against torch.optim.Adam called only on the iterations a run's mask is true: an idle
    iteration must leave parameters, moments and the step count untouched (bit for bit)."""
    torch.manual_seed(0)
    R, P, T = 3, 7, 12
    p0 = torch.randn(R, P, dtype=torch.float64)
    grads = torch.randn(T, R, P, dtype=torch.float64)
    masks = torch.tensor([[True] * T, [i % 3 == 0 for i in range(T)], [False] * 5 + [True] * 7])
    for kind, make in (("adam", lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.5, 0.999))),
                       ("rmsprop", lambda ps: torch.optim.RMSprop(ps, lr=1e-2))):
        flatp = p0.clone()
        opt = FusedOpt(kind, flatp, 1e-2)
        refs = [p0[r].clone().requires_grad_(True) for r in range(R)]
        ropts = [make([q]) for q in refs]
        for i in range(T):
            before = flatp.clone()
            opt.step(flatp, grads[i].clone(), masks[:, i])
            for r in range(R):
                if masks[r, i]:
                    refs[r].grad = grads[i, r].clone()
                    ropts[r].step()
                else:
                    assert torch.equal(flatp[r], before[r])
        for r in range(R):
            torch.testing.assert_close(flatp[r], refs[r].detach(), rtol=1e-12, atol=1e-14)
            assert int(opt.t[r]) == int(masks[r].sum())


def test_train_fused_matches_run_one_records_float32():
    """float32, as trained. Not WGAN here: its critic's output bias has an exactly-zero
    gradient (mean(1) - mean(1)), RMSProp divides that gradient's rounding noise by its own
    size, so two float32 WGAN runs differ at ~1e-3 after one step whatever the summation order
    (the float64 tests above cover WGAN)."""
    cfgs = [config_from_profile("test", dataset=d, gan=g, method=m, seed=s, iterations=20, batch=16, width=8)
            for g in ("bce", "r2") for m, d, s in [("sim", "ring", 0), ("dyn-gda", "circle", 1),
                                                     ("alt:n_d=1", "ring", 1)]]
    pieces = train_fused(cfgs)
    assert {p["fused_runs"] for p in pieces} == {6}  # one program for both GAN classes
    for cfg, p in zip(cfgs, pieces):
        rec = run_one(cfg)
        assert p["cfg"] is cfg and p["status"] == rec["status"] == "finished"
        assert p["iterations_done"] == rec["iterations_done"] == 20
        assert p["choices"] == rec["choices"]
        assert p["codes"].dtype == np.int8 and p["codes"].shape == (20,)
        assert p["divergence"].shape == (20,)
        if cfg.method == "dyn-gda":
            assert np.all(np.isfinite(p["divergence"]))
        else:
            assert np.all(np.isnan(p["divergence"]))
        assert [c["step"] for c in p["checkpoints"]] == [c["step"] for c in rec["checkpoints"]]
        for a, b in zip(p["checkpoints"], rec["checkpoints"]):
            assert a["w1"] == pytest.approx(b["w1"], rel=1e-4)
            assert a["w1_floor"] == b["w1_floor"]
        for a, b in zip(p["history"], rec["history"]):
            assert a["choices"] == b["choices"]
            for k in ("loss_g", "loss_d", "param_norm_g", "param_norm_d", "grad_norm_g", "grad_norm_d"):
                assert a[k] == pytest.approx(b[k], rel=1e-4, abs=1e-6), k  # WGAN L_D: a difference of means
        assert p["final"]["w1"] == pytest.approx(rec["final"]["w1"], rel=1e-4)
        assert p["resolved"]["optimizer"] == rec["resolved"]["optimizer"]
        assert p["max_param_norm_ratio"] == pytest.approx(rec["max_param_norm_ratio"], rel=1e-4)
        assert sorted(p["states"]) == sorted(p["samples"]) == [10, 20]


def test_pieces_make_valid_records():
    from gpu_validation import schema
    from gpu_validation.fused import record_kwargs
    from gpu_validation.train import make_record

    cfgs = [config_from_profile("test", dataset="ring", gan=g, method=m, iterations=12, batch=16, width=8)
            for g, m in [("bce", "dyn-gda"), ("sn", "alt:n_d=1")]]
    for cfg, p in zip(cfgs, train_fused(cfgs)):
        rec = make_record(cfg, **record_kwargs(p))
        assert schema.errors(rec) == []
        assert rec["choices"] == p["choices"] and rec["iterations_done"] == 12
        assert rec["trace"]["decisions"] == "".join(map(str, p["codes"].tolist()))
        assert (rec["trace"]["divergence"] is not None) == (cfg.method == "dyn-gda")


def test_divergence_freezes_only_that_run():
    """A huge step makes the Sim run blow up; the other run of the program is unaffected and
    the diverged run's pieces are those at the divergence (as run_one stops there)."""
    cfgs = [config_from_profile("test", dataset="ring", gan="wgan", method=m, iterations=30, batch=16, width=8,
                                lr=lr, optimizer="sgd", log_every=5)
            for m, lr in [("sim", 1e3), ("alt:n_d=1", 1e3)]]
    a = train_fused(cfgs)
    b = [run_one(c) for c in cfgs]
    for p, rec in zip(a, b):
        assert p["status"] == rec["status"]
        assert p["outcome"] == rec["outcome"]
        assert p["iterations_done"] == rec["iterations_done"] == len(p["codes"])
    assert any(p["status"] == "diverged" for p in a)


def test_rejects_mixed_setups():
    a = config_from_profile("test", dataset="ring", gan="bce", method="sim")
    with pytest.raises(BadInput, match="share batch"):
        FusedTrainer([a, config_from_profile("test", dataset="ring", gan="wgan", method="sim", batch=7)])
    with pytest.raises(BadInput, match="share gan"):
        FusedTrainer([a, config_from_profile("test", dataset="ring", gan="wgan", method="sim")], engine="vmap")
    with pytest.raises(BadInput, match="transforms"):
        FusedTrainer([a, config_from_profile("test", dataset="ring", gan="bce", method="jare")])
    with pytest.raises(BadInput, match="stacked engine"):
        FusedTrainer([config_from_profile("test", dataset="ring", gan="bce", method="jare")], engine="stacked")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (torch.cuda.is_available() is False)")
def test_fused_on_cuda_equals_cpu():
    cfgs = [config_from_profile("test", dataset=d, gan=g, method=m, seed=s, width=8, batch=16)
            for g in ("bce", "sn", "wgan-gp") for m, d, s in RUNS]
    for g in ("bce", "sn", "wgan-gp"):
        part = [c for c in cfgs if c.gan == g]
        cpu = FusedTrainer(part, device="cpu", dtype=torch.float64)
        gpu = FusedTrainer(part, device="cuda", dtype=torch.float64)
        for _ in range(8):
            assert np.array_equal(cpu.step(), gpu.step())
        assert gpu.step_counts().device.type == "cuda"
        torch.testing.assert_close(gpu.gflat.cpu(), cpu.gflat, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(gpu.dflat.cpu(), cpu.dflat, rtol=1e-9, atol=1e-12)
        assert torch.equal(gpu.step_counts().cpu(), cpu.step_counts())
    # float32 records on CUDA against the one-by-one trainer on the CPU
    small = [c for c in cfgs if c.gan == "bce"][:3]
    pc = train_fused(small, device="cuda")
    for cfg, p in zip(small, pc):
        rec = run_one(cfg)
        assert p["choices"] == rec["choices"] and p["device"].startswith("cuda")
        assert p["final"]["w1"] == pytest.approx(rec["final"]["w1"], rel=1e-3)


def test_run_optim_state_equals_the_one_by_one_optimizers_float64():
    """A fused run's optimizer snapshot (what the spectrum analyses) is the one-by-one run's
    torch.optim state: moments, step counts and hyperparameters, for Adam and RMSProp runs and
    a player left idle (alt:n_d=1,n_g=3)."""
    cfgs = [config_from_profile("test", dataset=d, gan=g, method=m, seed=s)
            for g in ("bce", "wgan-gp") for m, d, s in RUNS]
    ft, seq = _compare(cfgs, 7)
    for r, t in enumerate(seq):
        snap = ft.run_optim_state(r)
        assert snap["kind"] == t.optimizer_name
        for who, opt, params in (("g", t.opt_g, t.gp), ("d", t.opt_d, t.dp)):
            ref = opt.state_dict()
            got = snap[who]
            for key in ("lr", "eps") + (("betas",) if t.optimizer_name == "adam" else ("alpha",)):
                assert got["param_groups"][0][key] == pytest.approx(ref["param_groups"][0][key])
            assert sorted(got["state"]) == sorted(ref["state"])
            for i, st in ref["state"].items():
                for k, v in st.items():
                    torch.testing.assert_close(torch.as_tensor(got["state"][i][k]).double(),
                                               torch.as_tensor(v).double(), rtol=1e-9, atol=1e-12)
