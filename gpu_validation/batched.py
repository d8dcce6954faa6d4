"""Many runs in one process: stacked parameters, ``torch.func.vmap``, per-run masks.

R configurations that share the data set, the GAN class, the model and the field transforms
(but may differ in oracle and seed) are trained together: their parameters are stacked along
a leading run axis, one ``vmap``-ed gradient call computes every run's field, and each run's
oracle choice becomes a mask (``V1``: generator only, ``V2``: discriminator only, ``V3``:
both) applied inside a functional Adam / RMSProp that keeps a per-run step count. The
oracles are the same :mod:`stabcheck.oracles` objects as in :class:`gpu_validation.train.Trainer`
(Dynamic-GDA gets its run's projections from one ``vmap``-ed forward pass).

The result equals the sequential trainer's up to floating-point reassociation (tested in
``tests/gpu_validation/test_batched.py``). Not supported: spectral normalisation (its
power-iteration buffers are per-layer state updated in place) - a clear error says so.

Cost: every run's generator *and* discriminator gradients are computed each iteration and
masked afterwards (a V1 run wastes its discriminator gradient); on small networks the saved
per-call overhead is worth far more than that (see ``benchmarks/bench_gpu_validation.py``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from stabcheck.errors import BadInput


def _stack(ds: list[dict]) -> dict:
    return {k: torch.stack([d[k] for d in ds]) for k in ds[0]}


class _MaskedOpt:
    """Functional Adam (betas (0.5, 0.999), eps 1e-8) or RMSProp (alpha 0.99, eps 1e-8), as
    torch.optim's, on stacked parameters with a per-run step count and a per-run mask."""

    def __init__(self, kind: str, params: dict, lr: float, n_runs: int):
        self.kind, self.lr = kind, lr
        self.m = {k: torch.zeros_like(v) for k, v in params.items()}
        self.v = {k: torch.zeros_like(v) for k, v in params.items()}
        self.t = torch.zeros(n_runs, dtype=torch.float64)

    @torch.no_grad()
    def step(self, params: dict, grads: dict, mask: torch.Tensor) -> None:
        if not bool(mask.any()):
            return
        self.t += mask.double()
        for k, p in params.items():
            shape = (-1,) + (1,) * (p.dim() - 1)
            mk = mask.view(shape)
            g = grads[k]
            if self.kind == "adam":
                b1, b2 = 0.5, 0.999
                m = torch.where(mk, b1 * self.m[k] + (1 - b1) * g, self.m[k])
                v = torch.where(mk, b2 * self.v[k] + (1 - b2) * g * g, self.v[k])
                t = self.t.clamp(min=1).to(p.dtype).view(shape)
                upd = (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + 1e-8)
                self.m[k], self.v[k] = m, v
            elif self.kind == "rmsprop":
                a = 0.99
                v = torch.where(mk, a * self.v[k] + (1 - a) * g * g, self.v[k])
                upd = g / (v.sqrt() + 1e-8)
                self.v[k] = v
            else:
                upd = g
            p.sub_(torch.where(mk, self.lr * upd, torch.zeros_like(upd)))


class BatchedTrainer:
    """Train ``len(cfgs)`` runs at once (see the module docstring)."""

    def __init__(self, cfgs: list, data=None):
        from gpu_validation import data as data_mod
        from gpu_validation import gans, methods, models

        if not cfgs:
            raise BadInput("batched training needs at least one configuration")
        c0 = cfgs[0]
        for c in cfgs:
            for f in ("dataset", "gan", "batch", "lr", "optimizer", "model", "width", "latent", "device"):
                if getattr(c, f) != getattr(c0, f):
                    raise BadInput(f"batched runs must share {f}: {getattr(c0, f)!r} vs {getattr(c, f)!r}")
        self.cfgs = cfgs
        self.device = torch.device(c0.device)
        self.data = data if data is not None else data_mod.load(c0.dataset, c0.data_root)
        self.gan = gans.make_gan(c0.gan)
        if self.gan.arch.get("sn"):
            raise BadInput("batched training does not support spectral normalisation (sn); run it sequentially")
        self.methods = [methods.make_method(c.method, self.data.kind) for c in cfgs]
        names = {tuple(t.name for t in m.transforms) for m in self.methods}
        if len(names) > 1:
            raise BadInput(f"batched runs must share field transforms, got {sorted(names)}")
        kind = c0.model if c0.model != "auto" else "mlp"
        pairs = [models.build(kind, self.data.shape, width=c.width, latent=c.latent, seed=c.seed) for c in cfgs]
        self.pair = pairs[0]
        self.pair.gen.to(self.device)
        self.pair.disc.to(self.device)
        self.gp = {k: v.to(self.device) for k, v in _stack([models.params_of(p.gen) for p in pairs]).items()}
        self.dp = {k: v.to(self.device) for k, v in _stack([models.params_of(p.disc) for p in pairs]).items()}
        self.db = {k: v.to(self.device) for k, v in models.buffers_of(self.pair.disc).items()}
        opt = c0.optimizer if c0.optimizer != "auto" else ("adam" if self.gan.bounded else "rmsprop")
        self.opt_g = _MaskedOpt(opt, self.gp, c0.lr, len(cfgs))
        self.opt_d = _MaskedOpt(opt, self.dp, c0.lr, len(cfgs))
        seeds = [c.seed for c in cfgs]
        self.shared = len(set(seeds)) == 1
        uniq = sorted(set(seeds))
        self.gens = {s: (torch.Generator().manual_seed(s * 1000 + 1), torch.Generator().manual_seed(s * 1000 + 2),
                         torch.Generator().manual_seed(s * 1000 + 3)) for s in uniq}
        self.seed_index = [uniq.index(s) for s in seeds]
        for m in self.methods:
            m.reset()
        self.step_i = 0
        self.counts = np.zeros((len(cfgs), 3), dtype=np.int64)
        template = self.methods[0]
        gan, pair, db = self.gan, self.pair, self.db

        def fields(gp, dp, draws):
            vg, vd = template.field(gan, pair, db, draws)
            return vg(gp, dp), vd(gp, dp)

        def proj(gp, dp, draws):
            d = gan.decision_fn(pair, dp, db)
            return d(draws["real"]), d(pair.gen_forward(gp, draws["z"]))

        in_d = None if self.shared else 0
        self._proj = torch.func.vmap(proj, in_dims=(0, 0, in_d))
        if template.transforms:
            # field transforms are written with torch.func: vmap the whole field
            self._fields = torch.func.vmap(fields, in_dims=(0, 0, in_d))
        else:
            # faster: vmap only the forward (one loss per run), then one reverse pass of the
            # summed losses - the runs are independent, so d(sum)/d(run r's params) = run r's gradient
            # one generator forward per run gives L_G, L_D and the discriminator's outputs
            objs = torch.func.vmap(lambda gp, dp, dr: gan.objectives(pair, gp, dp, db, dr), in_dims=(0, 0, in_d))

            def sum_trick(gp, dp, draws):
                g = {k: v.detach().requires_grad_(True) for k, v in gp.items()}
                d = {k: v.detach().requires_grad_(True) for k, v in dp.items()}
                lg, ld, dr_, df_ = objs(g, d, draws)
                gg = torch.autograd.grad(lg.sum(), list(g.values()), retain_graph=True)
                gd = torch.autograd.grad(ld.sum(), list(d.values()))
                self._last_proj = (dr_.detach(), df_.detach())
                return ({k: -v for k, v in zip(g, gg)}, dict(zip(d, gd)))

            self._fields = sum_trick
        # Dynamic-GDA's projections can come from the fields' own forward pass when the
        # training discriminator is the raw one and the batches are unchanged
        self._proj_from_fields = (not template.transforms) and self.gan.decides_on_training_output

    def draw(self) -> dict:
        n = self.cfgs[0].batch
        per = []
        for s, (gl, gr, ge) in self.gens.items():
            z = torch.randn(n, self.pair.latent, generator=gl)
            real = self.data.sample(n, gr)
            per.append({"z": z, "real": real, **self.gan.draw(n, self.data.shape, ge)})
        if self.shared:
            return {k: v.to(self.device) for k, v in per[0].items()}
        return {k: torch.stack([per[i][k] for i in self.seed_index]).to(self.device) for k in per[0]}

    def step(self, draws: Optional[dict] = None) -> np.ndarray:
        """One iteration for every run; returns the choice codes (1 = V1, 2 = V2, 3 = V3)."""
        draws = draws if draws is not None else self.draw()
        R = len(self.cfgs)
        codes = np.empty(R, dtype=np.int8)
        need = [m.needs_batches for m in self.methods]
        rp = fp = None
        # the fields do not depend on the choice: compute them first (both players, every run)
        vg, vd = self._fields(self.gp, self.dp, draws)
        if any(need):
            if self._proj_from_fields:
                rp, fp = self._last_proj
            else:
                with torch.no_grad():
                    rp, fp = self._proj(self.gp, self.dp, draws)
            rp, fp = rp.double().cpu().numpy(), fp.double().cpu().numpy()
        for r, m in enumerate(self.methods):
            c = m.choose(self.step_i, (lambda r=r: (rp[r], fp[r])) if need[r] else None)
            codes[r] = {"V1": 1, "V2": 2, "V3": 3}[c.value]
        ct = torch.from_numpy(codes).to(self.device)
        mg, md = (ct == 1) | (ct == 3), (ct == 2) | (ct == 3)
        self.opt_g.step(self.gp, {k: -v for k, v in vg.items()}, mg)
        self.opt_d.step(self.dp, {k: -v for k, v in vd.items()}, md)
        with torch.no_grad():
            self.gan.after_d_step(self.dp)
        self.counts[np.arange(R), codes - 1] += 1
        self.step_i += 1
        return codes

    def run_params(self, r: int) -> tuple[dict, dict]:
        """Run ``r``'s generator and discriminator parameters."""
        return {k: v[r] for k, v in self.gp.items()}, {k: v[r] for k, v in self.dp.items()}


__all__ = ["BatchedTrainer"]


def run_batched(cfgs: list, out_dir=None, *, cache: Optional[dict] = None, progress: bool = False) -> list[dict]:
    """Train ``cfgs`` together and return one record per run, in the same schema (and with
    the same samples / states files) as :func:`gpu_validation.train.run_one`.

    All runs must share the iteration count, checkpoints and logging interval as well as
    everything :class:`BatchedTrainer` requires. A run that diverges is recorded as such
    and frozen (masked out) for the rest of the batch.
    """
    import math
    import platform
    import time
    from dataclasses import asdict
    from pathlib import Path

    from gpu_validation import metrics
    from gpu_validation.models import norm
    from gpu_validation.train import SCHEMA_VERSION, _num
    from stabcheck.io import atomic_path

    c0 = cfgs[0]
    for c in cfgs:
        for f in ("iterations", "checkpoints", "log_every", "eval_n", "final_eval_n", "fig_n"):
            if getattr(c, f) != getattr(c0, f):
                raise BadInput(f"batched runs must share {f}")
    cache = cache if cache is not None else {}
    t0 = time.time()
    bt = BatchedTrainer(cfgs)
    R, n_iter = len(cfgs), c0.iterations
    ck = sorted({max(1, round(n_iter * (j + 1) / c0.checkpoints)) for j in range(c0.checkpoints)})
    ev = metrics.evaluator(bt.data, c0, cache, out_dir)
    alive = np.ones(R, dtype=bool)
    outcome = [{"diverged": False, "diverged_at": None, "reason": None} for _ in range(R)]
    window = np.zeros((R, 3), dtype=np.int64)
    hist, cks = [[] for _ in range(R)], [[] for _ in range(R)]
    samples, states = [{} for _ in range(R)], [{} for _ in range(R)]
    x0 = [math.hypot(*(norm(p) for p in bt.run_params(r))) for r in range(R)]
    max_norm = list(x0)
    frozen_counts: dict = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_iter, desc=f"batched x{R}", leave=False, mininterval=1.0)
    for i in range(n_iter):
        draws = bt.draw()
        before = bt.counts.copy()
        codes = bt.step(draws)
        window += bt.counts - before
        step = i + 1
        if bar is not None:
            bar.update(1)
        if not (step % c0.log_every == 0 or step == n_iter or step in ck):
            continue
        for r in np.flatnonzero(alive):
            gp, dp = bt.run_params(r)
            ng, nd = norm(gp), norm(dp)
            ok = math.isfinite(ng) and math.isfinite(nd) and max(ng, nd) <= 1e6
            if step % c0.log_every == 0 or step == n_iter:
                dr = draws if bt.shared else {k: v[r] for k, v in draws.items()}
                with torch.no_grad():
                    lg = float(bt.gan.g_loss(bt.pair, gp, dp, bt.db, dr))
                    ld = float(bt.gan.d_objective(bt.pair, gp, dp, bt.db, dr))  # torch.func.grad ignores no_grad
                hist[r].append({"step": step, "choices": dict(zip(("V1", "V2", "V3"), map(int, window[r]))),
                                "loss_g": _num(lg), "loss_d": _num(ld), "param_norm_g": _num(ng),
                                "param_norm_d": _num(nd), "grad_norm_g": None, "grad_norm_d": None})
                window[r] = 0
            if not ok:
                alive[r] = False
                outcome[r] = {"diverged": True, "diverged_at": step,
                              "reason": "non-finite parameters" if not (math.isfinite(ng) and math.isfinite(nd))
                              else "parameter norm above 1e6"}
                bt.methods[r].oracle = _Frozen()
                frozen_counts[r] = bt.counts[r].copy()
                continue
            max_norm[r] = max(max_norm[r], math.hypot(ng, nd))
            if step in ck:
                z = torch.randn(c0.eval_n if step != n_iter else c0.final_eval_n, bt.pair.latent,
                                generator=torch.Generator().manual_seed(cfgs[r].seed * 1000 + 7)).to(bt.device)
                with torch.no_grad():
                    gen = bt.pair.gen_forward(gp, z).cpu()
                cks[r].append({"step": step, **ev(gen), "param_norm_g": ng, "param_norm_d": nd})
                samples[r][step] = gen[: c0.fig_n].numpy()
                dr = draws if bt.shared else {k: v[r] for k, v in draws.items()}
                cpu = lambda d: {k: v.detach().cpu().clone() for k, v in d.items()}  # noqa: E731
                states[r][step] = {"gp": cpu(gp), "dp": cpu(dp), "db": cpu(bt.db), "draws": cpu(dr),
                                   "choice": f"V{codes[r]}", "step": step}
    if bar is not None:
        bar.close()
    wall = time.time() - t0
    recs = []
    for r, cfg in enumerate(cfgs):
        if out_dir is not None and samples[r]:
            for sub, obj, ext in (("samples", samples[r], "npz"), ("states", states[r], "pt")):
                d = Path(out_dir) / sub
                d.mkdir(parents=True, exist_ok=True)
                with atomic_path(d / f"{cfg.run_id}.{ext}") as tmp:
                    if ext == "npz":
                        with open(tmp, "wb") as fh:
                            np.savez_compressed(fh, steps=np.array(sorted(obj)), **{f"s{k}": v for k, v in obj.items()})
                    else:
                        torch.save(obj, tmp)
        final = dict(cks[r][-1]) if cks[r] and alive[r] and cks[r][-1]["step"] == n_iter else None
        gp, dp = bt.run_params(r)
        recs.append({
            "schema_version": SCHEMA_VERSION, "id": cfg.run_id,
            "status": "diverged" if outcome[r]["diverged"] else "finished", "config": asdict(cfg),
            "resolved": {"method": bt.methods[r].spec if alive[r] else cfg.method, "optimizer": bt.opt_g.kind,
                         "bounded": bt.gan.bounded, "data_kind": bt.data.kind,
                         "n_params_g": int(sum(v.numel() for v in gp.values())),
                         "n_params_d": int(sum(v.numel() for v in dp.values())),
                         "convention": "theta=generator minimizes L_G; psi=discriminator maximizes L_D; "
                                       "raw discriminator output scores real data high (thesis); trained batched"},
            "environment": {"device": str(bt.device), "torch": torch.__version__, "threads": torch.get_num_threads(),
                            "python": platform.python_version(), "machine": platform.machine(),
                            "cpu_count": __import__("os").cpu_count(), "batched_runs": R},
            "outcome": outcome[r],
            "iterations_done": int(frozen_counts.get(r, bt.counts[r]).sum()),
            "choices": dict(zip(("V1", "V2", "V3"), map(int, frozen_counts.get(r, bt.counts[r])))),
            "final": final, "metric": "w1" if bt.data.kind == "2d" else "fd",
            "max_param_norm_ratio": _num(max_norm[r] / x0[r]) if x0[r] > 0 else None,
            "checkpoints": cks[r], "history": hist[r], "spectrum": [], "wall_s": round(wall / R, 3),
        })
    return recs


class _Frozen:
    """Oracle stand-in for a diverged run: its slice keeps being computed (the batch's
    shape is fixed) but nothing about it is recorded after the divergence."""

    name = "frozen"
    needs_batches = False

    def reset(self):
        pass

    def __call__(self, inp):
        from stabcheck.oracles import Choice

        return Choice.V1
