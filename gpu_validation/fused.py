"""Fused training: many runs as one stacked-weight program (issue 12, point 4).

R runs are trained as one program: each player's parameters of all R runs live in one
``(R, P)`` tensor (run axis first, the parameters of one run flattened in
``named_parameters`` order, exactly :func:`gpu_validation.models.flat`), the losses of
:mod:`gpu_validation.gans` are evaluated for every run at once with :func:`torch.func.vmap`
over the stacked parameters (so every linear layer is one batched matmul), and every run's
oracle decision becomes a per-run mask of a fused, in-place optimizer step.

What one iteration does is exactly what :class:`gpu_validation.train.Trainer.step` does for
each run, in the same order (thesis Algorithm 1):

1. draw this iteration's latent batch, real batch and piece draws (instance noise,
   interpolation weights) from the run's own CPU generators seeded ``seed*1000+1/2/3`` - the
   same streams, the same draw order, the same draws whatever the oracle chooses (runs that
   share a stream, e.g. the methods of one (data set, seed), share one draw);
2. compute both field parts ``v_theta = -grad_theta L_G`` and ``v_psi = grad_psi L_D`` at the
   current point for every run (a run that steps only one player wastes the other part);
3. ask each run's oracle - the package's own :class:`~stabcheck.oracles` objects through
   :meth:`gpu_validation.methods.Method.choose`; Dynamic-GDA gets the raw discriminator's
   outputs on this iteration's real and generated batch, computed for all runs in one pass and
   copied to the host once (the only per-iteration device->host transfer, and only when some
   run's oracle needs batches);
4. a masked Adam (bounded discriminators) / RMSProp (unbounded) step per player, with
   torch.optim's hyperparameters (Adam betas (0.5, 0.999), eps 1e-8; RMSProp alpha 0.99,
   eps 1e-8; no momentum, no weight decay) and a **per-run, per-player step counter** (an
   ``(R,)`` float64 tensor on the run's device) that advances only when that player steps, so
   Adam's bias correction is that of the one-by-one trainer; a player that does not step keeps
   its parameters and moments bit for bit;
5. after a discriminator step: the GAN's ``after_d_step`` (weight clipping) and the spectral
   norm's power iteration, applied only to the runs whose discriminator stepped.

Grouping: runs are fused when they share the GAN class, the field transforms (JARE), the
optimizer, learning rate, batch size, model, width, latent size and the data shape; data set,
oracle and seed may differ. Different GAN classes are *not* fused into one program (their loss
code differs: penalties need input gradients, GraN wraps the discriminator, SN changes the
weights); :func:`train_fused` trains one fused program per group, one after another.

Units and conventions: ``lr`` per optimizer step; an iteration is one oracle decision;
decision codes ``1 = V1`` (generator only), ``2 = V2`` (discriminator only), ``3 = V3`` (both);
Dynamic-GDA's divergence is :func:`stabcheck.oracles.wasserstein1_1d` between the projected
batches (the oracle's ``last_w`` after its decision), NaN for iterations without one.
Parameters are float32 unless ``dtype`` says otherwise (float64 is for tests).

The result equals the one-by-one trainer's up to floating-point reassociation (batched vs
single matmuls): tested in ``tests/gpu_validation/test_fused.py`` (float64: 1e-9 relative;
float32: 1e-4 relative after a few steps) for every GAN class and method.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import torch

from stabcheck.errors import BadInput

#: fields every run of one fused program must share
GROUP_FIELDS = ("gan", "batch", "lr", "optimizer", "model", "width", "latent")
#: fields every run of one :func:`train_fused` group must share as well (the loop's schedule)
SCHEDULE_FIELDS = ("iterations", "checkpoints", "log_every", "eval_n", "final_eval_n", "fig_n")
CODE_OF = {"V1": 1, "V2": 2, "V3": 3}


def _num(v: float) -> Optional[float]:
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass
class _Layout:
    """Where each named parameter of one run lives in the flat ``(R, P)`` tensor."""

    names: list
    shapes: list
    offsets: list
    sizes: list
    total: int = 0

    @classmethod
    def of(cls, params: dict) -> "_Layout":
        names, shapes, offs, sizes, o = [], [], [], [], 0
        for k, v in params.items():
            names.append(k)
            shapes.append(tuple(v.shape))
            offs.append(o)
            sizes.append(v.numel())
            o += v.numel()
        return cls(names, shapes, offs, sizes, o)

    def views(self, flat: torch.Tensor) -> dict:
        """Per-parameter views ``(R, *shape)`` of ``flat`` (differentiable; no copies)."""
        R = flat.shape[0]
        return {k: flat[:, o:o + n].view(R, *s)
                for k, s, o, n in zip(self.names, self.shapes, self.offsets, self.sizes)}

    def cat(self, d: dict) -> torch.Tensor:
        R = next(iter(d.values())).shape[0]
        return torch.cat([d[k].reshape(R, -1) for k in self.names], 1)


class FusedOpt:
    """Masked, in-place Adam / RMSProp / SGD on a stacked ``(R, P)`` parameter tensor.

    Same update as ``torch.optim.Adam(lr, betas=(0.5, 0.999), eps=1e-8)``,
    ``torch.optim.RMSprop(lr)`` (alpha 0.99, eps 1e-8) and ``torch.optim.SGD(lr)`` for each run
    whose mask is true; a run whose mask is false keeps its parameters, moments and step count
    exactly. ``t`` is the per-run step count (float64, on the parameters' device): Adam's bias
    corrections use ``1 - beta ** t`` with that run's own ``t``.
    """

    B1, B2, ALPHA, EPS = 0.5, 0.999, 0.99, 1e-8

    def __init__(self, kind: str, flat: torch.Tensor, lr: float):
        if kind not in ("adam", "rmsprop", "sgd"):
            raise BadInput(f"unknown optimizer {kind!r}; choose auto, adam, rmsprop or sgd")
        self.kind, self.lr = kind, float(lr)
        R = flat.shape[0]
        self.m = torch.zeros_like(flat) if kind == "adam" else None
        self.v = torch.zeros_like(flat) if kind in ("adam", "rmsprop") else None
        self.t = torch.zeros(R, dtype=torch.float64, device=flat.device)

    @torch.no_grad()
    def step(self, p: torch.Tensor, g: torch.Tensor, mask: torch.Tensor) -> None:
        """``p -= lr * update(g)`` for the runs where ``mask`` (bool, ``(R,)``) is true.

        ``g`` is the gradient of the minimized objective (``-v``); it is overwritten."""
        dt = p.dtype
        m64 = mask.to(torch.float64)
        self.t.add_(m64)
        col = (-1, 1)
        g.masked_fill_(~mask.view(col), 0.0)  # a non-stepping player's (wasted) part cannot leak in
        mk = mask.view(col).to(dt)
        if self.kind == "adam":
            b1, b2 = self.B1, self.B2
            tc = self.t.clamp(min=1.0)
            step_size = ((self.lr / (1.0 - b1 ** tc)) * m64).to(dt).view(col)
            bc2_sqrt = (1.0 - b2 ** tc).sqrt().to(dt).view(col)
            self.m.lerp_(g, mk * (1.0 - b1))
            self.v.mul_((m64 * b2 + (1.0 - m64)).to(dt).view(col)).addcmul_(g * (mk * (1.0 - b2)), g)
            denom = (self.v.sqrt() / bc2_sqrt).add_(self.EPS)
            p.sub_((self.m / denom).mul_(step_size))
        elif self.kind == "rmsprop":
            a = self.ALPHA
            self.v.mul_((m64 * a + (1.0 - m64)).to(dt).view(col)).addcmul_(g * (mk * (1.0 - a)), g)
            denom = self.v.sqrt().add_(self.EPS)
            p.sub_((g / denom).mul_(mk * self.lr))
        else:
            p.sub_(g.mul_(mk * self.lr))


def make_method(spec: str, data_kind: str, bounded: bool):
    """:func:`gpu_validation.methods.make_method`, passing the GAN's boundedness where that
    function takes it (Dynamic-GDA's ``decide_on=prob``)."""
    import inspect

    from gpu_validation import methods

    if "bounded" in inspect.signature(methods.make_method).parameters:
        return methods.make_method(spec, data_kind, bounded=bounded)
    return methods.make_method(spec, data_kind)


def _opt_name(cfg, gan) -> str:
    return cfg.optimizer if cfg.optimizer != "auto" else ("adam" if gan.bounded else "rmsprop")


def group_key(cfg, data_kind: str, data_shape: tuple) -> tuple:
    """Runs with equal keys can be trained in one fused program."""
    from gpu_validation import gans

    tr = tuple(t.name for t in make_method(cfg.method, data_kind, gans.make_gan(cfg.gan).bounded).transforms)
    return tuple(getattr(cfg, f) for f in GROUP_FIELDS) + (data_kind, tuple(data_shape), tr)


class FusedTrainer:
    """State and one fused iteration of ``len(cfgs)`` runs (see the module docstring).

    Parameters
    ----------
    cfgs : list of :class:`gpu_validation.train.RunConfig`
        Must share :data:`GROUP_FIELDS`, the data shape and the field transforms.
    device : str or None
        ``cpu``, ``cuda``, ``cuda:N``; ``None`` takes the configurations' (common) device.
    dtype : torch.dtype
        Parameter / computation dtype (float32 as the one-by-one trainer; float64 for tests).
    datas : dict, optional
        Already loaded data sets by spec.

    Attributes
    ----------
    gflat, dflat : torch.Tensor
        ``(R, P_g)``, ``(R, P_d)`` stacked parameters (run ``r``'s generator is
        ``gflat[r]`` in :func:`gpu_validation.models.flat` order; :meth:`run_params` unflattens).
    db : dict
        Stacked discriminator buffers (spectral norm's ``u`` vectors, ``(R, n)`` each).
    opt_g, opt_d : :class:`FusedOpt`
        ``opt_g.t[r]`` / ``opt_d.t[r]``: run ``r``'s generator / discriminator step counts.
    counts : numpy.ndarray
        ``(R, 3)`` decisions so far (V1, V2, V3).
    alive : numpy.ndarray
        ``(R,)`` bool; a run that is not alive (diverged) is frozen: no oracle call, no step.
    """

    def __init__(self, cfgs: list, *, device: Optional[str] = None, dtype: torch.dtype = torch.float32,
                 datas: Optional[dict] = None):
        from gpu_validation import data as data_mod
        from gpu_validation import gans, models

        if not cfgs:
            raise BadInput("fused training needs at least one configuration")
        c0 = cfgs[0]
        for c in cfgs:
            for f in GROUP_FIELDS:
                if getattr(c, f) != getattr(c0, f):
                    raise BadInput(f"fused runs must share {f}: {getattr(c0, f)!r} vs {getattr(c, f)!r}")
        if device is None:
            devs = {c.device for c in cfgs}
            if len(devs) > 1:
                raise BadInput(f"fused runs must share the device, got {sorted(devs)}")
            device = devs.pop()
        self.cfgs, self.R = list(cfgs), len(cfgs)
        self.device, self.dtype = torch.device(device), dtype
        datas = dict(datas or {})
        for c in cfgs:
            if c.dataset not in datas:
                datas[c.dataset] = data_mod.load(c.dataset, c.data_root)
        self.datas = datas
        self.run_data = [datas[c.dataset] for c in cfgs]
        shapes = {(d.kind, tuple(d.shape)) for d in self.run_data}
        if len(shapes) > 1:
            raise BadInput(f"fused runs must share the data kind and shape, got {sorted(shapes)}")
        self.data_kind, self.data_shape = shapes.pop()
        self.gan = gans.make_gan(c0.gan)
        self.methods = [make_method(c.method, self.data_kind, self.gan.bounded) for c in cfgs]
        names = {tuple(t.name for t in m.transforms) for m in self.methods}
        if len(names) > 1:
            raise BadInput(f"fused runs must share field transforms, got {sorted(names)}")
        for m in self.methods:
            m.reset()
        self.optimizer_name = _opt_name(c0, self.gan)
        kind = c0.model if c0.model != "auto" else "mlp"
        sn = bool(self.gan.arch.get("sn", False))
        pairs = {}
        for s in sorted({c.seed for c in cfgs}):  # one build per seed: same seed -> same initialization
            pairs[s] = models.build(kind, self.data_shape, sn=sn, width=c0.width, latent=c0.latent, seed=s)
        self.pair = pairs[c0.seed]
        self.pair.gen.to(self.device, dtype)
        self.pair.disc.to(self.device, dtype)
        gps = {s: models.params_of(p.gen) for s, p in pairs.items()}
        dps = {s: models.params_of(p.disc) for s, p in pairs.items()}
        self.glay, self.dlay = _Layout.of(gps[c0.seed]), _Layout.of(dps[c0.seed])
        dev = self.device
        self.gflat = torch.stack([models.flat(gps[c.seed]) for c in cfgs]).to(dev, dtype).contiguous()
        self.dflat = torch.stack([models.flat(dps[c.seed]) for c in cfgs]).to(dev, dtype).contiguous()
        self.db = {k: torch.stack([models.buffers_of(pairs[c.seed].disc)[k] for c in cfgs]).to(dev, dtype)
                   for k in models.buffers_of(self.pair.disc)}
        self.n_gen = self.glay.total
        self.opt_g = FusedOpt(self.optimizer_name, self.gflat, c0.lr)
        self.opt_d = FusedOpt(self.optimizer_name, self.dflat, c0.lr)
        self.last_grad = torch.full((2, self.R), float("nan"), dtype=torch.float64, device=dev)
        self.step_i = 0
        self.counts = np.zeros((self.R, 3), dtype=np.int64)
        self.alive = np.ones(self.R, dtype=bool)
        self.need = np.array([m.needs_batches for m in self.methods])
        self.need_idx = torch.as_tensor(np.flatnonzero(self.need), device=dev)
        self._user = [type(m.oracle).__module__ != "stabcheck.oracles" for m in self.methods]
        self._clip = any(type(p).after_d_step is not gans.Piece.after_d_step and getattr(p, "clip", 1.0) != 0
                         for p in self.gan.pieces)
        self._sn = sn
        self._setup_streams()
        self._setup_functions()

    # ------------------------------------------------------------------ random draws
    def _setup_streams(self) -> None:
        """One CPU generator per distinct stream (the one-by-one trainer's seeds); runs that
        would draw identical numbers from identical streams share one."""
        c0 = self.cfgs[0]
        self.batch, self.latent = c0.batch, self.pair.latent
        zk, rk, ek = {}, {}, {}
        self.z_idx, self.r_idx, self.e_idx = [], [], []
        for c in self.cfgs:
            self.z_idx.append(zk.setdefault(c.seed, len(zk)))
            self.r_idx.append(rk.setdefault((c.dataset, c.seed), len(rk)))
            self.e_idx.append(ek.setdefault(c.seed, len(ek)))
        self.g_latent = [torch.Generator().manual_seed(s * 1000 + 1) for s in zk]
        self.g_real = [(self.datas[d], torch.Generator().manual_seed(s * 1000 + 2)) for d, s in rk]
        self.g_extra = [torch.Generator().manual_seed(s * 1000 + 3) for s in ek]
        self._ident = {name: idx == list(range(self.R)) for name, idx in
                       (("z", self.z_idx), ("real", self.r_idx), ("extra", self.e_idx))}
        self._t_idx = {name: torch.as_tensor(idx) for name, idx in
                       (("z", self.z_idx), ("real", self.r_idx), ("extra", self.e_idx))}
        self._prefetch: list = []
        self._chunk = 1 if self.device.type == "cpu" else 64

    def _pick(self, name: str, parts: list) -> torch.Tensor:
        u = torch.stack(parts)
        return u if self._ident[name] else u.index_select(0, self._t_idx[name])

    def draw_cpu(self) -> dict:
        """This iteration's draws for every run, stacked ``(R, batch, ...)``, on the CPU."""
        n = self.batch
        out = {"z": self._pick("z", [torch.randn(n, self.latent, generator=g) for g in self.g_latent]),
               "real": self._pick("real", [d.sample(n, g) for d, g in self.g_real])}
        ex = [self.gan.draw(n, self.data_shape, g) for g in self.g_extra]
        for k in ex[0]:
            out[k] = self._pick("extra", [e[k] for e in ex])
        return out

    def draw(self) -> dict:
        """This iteration's draws on the device, in ``dtype`` (on CUDA drawn ahead in chunks of
        64 iterations and copied in one transfer; the draws never depend on the training)."""
        if self.device.type == "cpu":
            return {k: v.to(self.dtype) for k, v in self.draw_cpu().items()}
        if not self._prefetch:
            chunk = [self.draw_cpu() for _ in range(self._chunk)]
            st = {k: torch.stack([c[k] for c in chunk]).to(self.device, self.dtype, non_blocking=True)
                  for k in chunk[0]}
            self._prefetch = [{k: v[j] for k, v in st.items()} for j in range(self._chunk)][::-1]
        return self._prefetch.pop()

    # ------------------------------------------------------------------ fields
    def _setup_functions(self) -> None:
        gan, pair = self.gan, self.pair
        template = self.methods[0]
        vm = torch.func.vmap

        def objectives(gp, dp, db, dr):
            return gan.objectives(pair, gp, dp, db, dr)

        def proj(gp, dp, db, dr):
            d = gan.decision_fn(pair, dp, db)
            return d(dr["real"].to(dr["z"])), d(pair.gen_forward(gp, dr["z"]))

        def fields(gp, dp, db, dr):
            vg, vd = template.field(gan, pair, db, dr)
            return vg(gp, dp), vd(gp, dp)

        self._objs = vm(objectives)
        self._proj = vm(proj)
        self._vfields = vm(fields)
        self._gen = vm(lambda gp, z: pair.gen_forward(gp, z))
        self._transforms = bool(template.transforms)
        self._proj_from_objs = (not self._transforms) and gan.decides_on_training_output
        if self._sn:
            disc = pair.disc
            self._sn_update = vm(lambda dp, db: disc.sn_buffers({**dp, **db}))

    def fields(self, draws: dict) -> tuple[torch.Tensor, torch.Tensor, Optional[tuple]]:
        """``(v_theta, v_psi, projections)`` for every run: ``(R, P_g)``, ``(R, P_d)`` and, when
        they come for free from the same forward pass, the raw outputs on the real / generated
        batch (``(R, batch)`` each), else ``None``."""
        if self._transforms:
            vg, vd = self._vfields(self.glay.views(self.gflat), self.dlay.views(self.dflat), self.db, draws)
            return self.glay.cat(vg), self.dlay.cat(vd), None
        g = self.gflat.detach().requires_grad_(True)
        d = self.dflat.detach().requires_grad_(True)
        lg, ld, dr, df = self._objs(self.glay.views(g), self.dlay.views(d), self.db, draws)
        # the runs are independent: d(sum of losses)/d(run r's parameters) = run r's gradient
        (gg,) = torch.autograd.grad(lg.sum(), g, retain_graph=True)
        (gd,) = torch.autograd.grad(ld.sum(), d)
        return gg.neg_(), gd, ((dr.detach(), df.detach()) if self._proj_from_objs else None)

    def projections(self, draws: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw discriminator outputs ``(R, batch)`` on the real and the generated batch."""
        with torch.no_grad():
            return self._proj(self.glay.views(self.gflat), self.dlay.views(self.dflat), self.db, draws)

    # ------------------------------------------------------------------ one iteration
    def step(self, draws: Optional[dict] = None, *, record: Optional[tuple] = None) -> np.ndarray:
        """One iteration for every alive run. Returns the decision codes ``(R,)`` int8
        (1 = V1, 2 = V2, 3 = V3, 0 = no decision: the run is frozen).

        ``record = (codes_array, div_array, errors)`` stores this iteration's codes and
        Dynamic-GDA divergences in column ``step_i`` and oracle exceptions by run."""
        draws = draws if draws is not None else self.draw()
        R, i = self.R, self.step_i
        vg, vd, pr = self.fields(draws)
        host = None
        alive_need = self.need & self.alive
        if alive_need.any():
            if pr is None:
                pr = self.projections(draws)
            host = torch.stack([pr[0].index_select(0, self.need_idx), pr[1].index_select(0, self.need_idx)], 1)
            host = host.double().cpu().numpy()  # the one device->host sync of an iteration
        codes = np.zeros(R, dtype=np.int8)
        j = 0
        for r in range(R):
            m = self.methods[r]
            jr = j
            if self.need[r]:
                j += 1
            if not self.alive[r]:
                continue
            proj = (lambda jr=jr: (host[jr, 0], host[jr, 1])) if self.need[r] else None
            x = None
            if self._user[r]:
                def x(r=r):
                    return (np.concatenate([self.gflat[r].double().cpu().numpy(),
                                            self.dflat[r].double().cpu().numpy()]), self.n_gen)
            try:
                c = m.choose(i, proj, x)
            except (RuntimeError, ValueError) as exc:  # a numerical failure: this run diverged
                if isinstance(exc, BadInput):
                    raise
                self.alive[r] = False
                if record is not None:
                    record[2][r] = f"{type(exc).__name__}: {exc}"[:200]
                continue
            codes[r] = CODE_OF[c.value]
            if record is not None:
                record[0][r, i] = codes[r]
                if self.need[r]:
                    record[1][r, i] = getattr(m.oracle, "last_w", float("nan"))
        self.counts[np.arange(R), np.maximum(codes, 1) - 1] += codes > 0
        mask = torch.from_numpy(np.stack([(codes & 1) == 1, (codes & 2) == 2])).to(self.device)
        mg, md = mask[0], mask[1]
        with torch.no_grad():
            self.last_grad[0] = torch.where(mg, vg.double().square().sum(1).sqrt(), self.last_grad[0])
            self.last_grad[1] = torch.where(md, vd.double().square().sum(1).sqrt(), self.last_grad[1])
            self.opt_g.step(self.gflat, vg.neg_(), mg)
            self.opt_d.step(self.dflat, vd.neg_(), md)
            if self._clip:
                new = self.dflat.clone()
                self.gan.after_d_step(self.dlay.views(new))
                self.dflat.copy_(torch.where(md.view(-1, 1), new, self.dflat))
            if self._sn:
                new = self._sn_update(self.dlay.views(self.dflat), self.db)
                col = md.view(-1, 1)
                self.db = {k: torch.where(col, new[k], v) for k, v in self.db.items()}
        self.step_i += 1
        return codes

    # ------------------------------------------------------------------ per-run views
    def run_params(self, r: int) -> tuple[dict, dict]:
        """Run ``r``'s generator and discriminator parameters (views, as Trainer's ``gp``/``dp``)."""
        g = {k: v[r] for k, v in self.glay.views(self.gflat).items()}
        d = {k: v[r] for k, v in self.dlay.views(self.dflat).items()}
        return g, d

    def run_buffers(self, r: int) -> dict:
        return {k: v[r] for k, v in self.db.items()}

    def norms(self) -> np.ndarray:
        """``(2, R)`` float64 parameter norms (generator, discriminator), on the host."""
        with torch.no_grad():
            return torch.stack([self.gflat.double().square().sum(1).sqrt(),
                                self.dflat.double().square().sum(1).sqrt()]).cpu().numpy()

    def losses(self, draws: dict) -> np.ndarray:
        """``(2, R)`` ``L_G`` and ``L_D`` at the current point for ``draws``, on the host."""
        with torch.no_grad():
            lg, ld, _, _ = self._objs(self.glay.views(self.gflat), self.dlay.views(self.dflat), self.db, draws)
            return torch.stack([lg, ld]).double().cpu().numpy()

    def generate(self, n: int) -> torch.Tensor:
        """``(R, n, *data_shape)`` samples of every run from its evaluation latents (seeded
        ``seed*1000+7``, as :meth:`gpu_validation.train.Trainer.generate`), on the CPU."""
        zs = {}
        for c in self.cfgs:
            if c.seed not in zs:
                zs[c.seed] = torch.randn(n, self.latent, generator=torch.Generator().manual_seed(c.seed * 1000 + 7))
        z = torch.stack([zs[c.seed] for c in self.cfgs]).to(self.device, self.dtype)
        with torch.no_grad():
            return self._gen(self.glay.views(self.gflat), z).cpu()


def _cpu(d: dict) -> dict:
    return {k: v.detach().cpu().clone() for k, v in d.items()}


def train_fused(cfgs: list, *, device: Optional[str] = None, dtype: torch.dtype = torch.float32,
                progress: bool = False, cache: Optional[dict] = None, out_dir=None,
                max_runs: int = 0, states: bool = True, samples: bool = True) -> list[dict]:
    """Train ``cfgs`` as fused programs and return, per configuration (input order), the
    pieces of :func:`gpu_validation.train.run_one`'s record.

    Configurations are grouped by :func:`group_key` and :data:`SCHEDULE_FIELDS`; each group
    (at most ``max_runs`` runs when ``max_runs > 0``) is one :class:`FusedTrainer`. Divergence
    is checked at the same steps and with the same rules as ``run_one`` (non-finite parameter
    or loss, parameter norm above 1e6; an oracle's RuntimeError / ValueError); a diverged run
    is frozen and its pieces are those at the divergence.

    Each returned dict has:

    ``cfg``                 the configuration;
    ``status``              ``"finished"`` or ``"diverged"``; ``outcome`` as in run_one;
    ``iterations_done``     int; ``choices``: ``{"V1", "V2", "V3"}`` counts;
    ``codes``               int8 ``(iterations_done,)``: 1 = V1, 2 = V2, 3 = V3 per iteration;
    ``divergence``          float64 ``(iterations_done,)``: Dynamic-GDA's W1 between the projected
                            batches at each iteration (``oracle.last_w``), NaN where the oracle
                            computes none;
    ``orders``              the batch orders ``r``/``f``/``o`` per decision where the method keeps
                            them (:attr:`gpu_validation.methods.Method.orders`), else None;
    ``gp``, ``dp``, ``db``  final parameters / buffers (CPU tensors, float as trained; at the
                            divergence for a diverged run);
    ``checkpoints``         ``[{"step", **metrics (w1, w1_floor, eval_n | fd ...), "param_norm_g",
                            "param_norm_d"}]`` via :func:`gpu_validation.metrics.evaluator`;
    ``final``               the last checkpoint if it is at ``iterations`` and the run finished;
    ``history``             run_one's history entries (losses, norms, grad norms, choice windows);
    ``max_param_norm_ratio``, ``x0_norm``;
    ``samples``             ``{step: (fig_n, *shape) ndarray}``; ``states``: ``{step: snapshot}``
                            (:meth:`gpu_validation.train.Trainer.snapshot`'s format);
    ``resolved``            method spec, optimizer, bounded, data_kind, n_params_g, n_params_d;
    ``device``, ``fused_runs`` (the group's size), ``wall_s`` (group wall time / group size).
    """
    from gpu_validation import data as data_mod

    if not cfgs:
        return []
    cache = cache if cache is not None else {}
    datas: dict = {}
    groups: dict = {}
    for j, c in enumerate(cfgs):
        if c.dataset not in datas:
            datas[c.dataset] = data_mod.load(c.dataset, c.data_root)
        d = datas[c.dataset]
        key = group_key(c, d.kind, d.shape) + tuple(getattr(c, f) for f in SCHEDULE_FIELDS) + \
            ((device or c.device),)
        groups.setdefault(key, []).append(j)
    out: list = [None] * len(cfgs)
    for idx in groups.values():
        size = max_runs if max_runs > 0 else len(idx)
        for a in range(0, len(idx), size):
            part = idx[a:a + size]
            for j, piece in zip(part, _train_group([cfgs[j] for j in part], device=device, dtype=dtype,
                                                   progress=progress, cache=cache, out_dir=out_dir,
                                                   datas=datas, states=states, samples=samples)):
                out[j] = piece
    return out


def _train_group(cfgs, *, device, dtype, progress, cache, out_dir, datas, states, samples) -> list[dict]:
    from gpu_validation import metrics

    t0 = time.time()
    ft = FusedTrainer(cfgs, device=device, dtype=dtype, datas=datas)
    c0, R, n_iter = cfgs[0], ft.R, cfgs[0].iterations
    ck = sorted({max(1, round(n_iter * (j + 1) / c0.checkpoints)) for j in range(c0.checkpoints)})
    ck_set = set(ck)
    evals = {ds: metrics.evaluator(d, c0, cache, out_dir) for ds, d in ft.datas.items()}
    codes = np.zeros((R, n_iter), dtype=np.int8)
    div = np.full((R, n_iter), np.nan)
    errors: dict = {}
    outcome = [{"diverged": False, "diverged_at": None, "reason": None} for _ in range(R)]
    done = np.zeros(R, dtype=np.int64)
    window = np.zeros((R, 3), dtype=np.int64)
    hist, cks = [[] for _ in range(R)], [[] for _ in range(R)]
    smp, sts = [{} for _ in range(R)], [{} for _ in range(R)]
    final_state: list = [None] * R
    x0 = np.hypot(*ft.norms())
    max_norm = x0.copy()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_iter, desc=f"fused x{R} {c0.gan}", leave=False, mininterval=1.0)

    def freeze(r, info):
        outcome[r] = info
        ft.alive[r] = False
        g, d = ft.run_params(r)
        final_state[r] = (_cpu(g), _cpu(d), _cpu(ft.run_buffers(r)))

    for i in range(n_iter):
        draws = ft.draw()
        before = ft.counts.copy()
        was = ft.alive.copy()
        c = ft.step(draws, record=(codes, div, errors))
        for r in list(errors):
            done[r] = i
            freeze(r, {"diverged": True, "diverged_at": i, "reason": errors.pop(r)})
        window += ft.counts - before
        step = i + 1
        done[ft.alive] = step
        if bar is not None:
            bar.update(1)
        is_log = step % c0.log_every == 0 or step == n_iter
        if not (is_log or step in ck_set) or not ft.alive.any():
            if not ft.alive.any():
                break
            continue
        nrm = ft.norms()
        lo = ft.losses(draws) if is_log else None
        is_ck = step in ck_set
        gen = ft.generate(c0.eval_n if step != n_iter else c0.final_eval_n) if is_ck else None
        lgn = ft.last_grad.cpu().numpy() if is_log else None
        for r in np.flatnonzero(ft.alive & was):
            ng, nd = float(nrm[0, r]), float(nrm[1, r])
            ok, reason = True, None
            if not (math.isfinite(ng) and math.isfinite(nd)):
                ok, reason = False, "non-finite parameters"
            elif max(ng, nd) > 1e6:
                ok, reason = False, "parameter norm above 1e6"
            if is_log:
                lg, ld = float(lo[0, r]), float(lo[1, r])
                gn = lgn[:, r]
                hist[r].append({"step": step, "choices": dict(zip(("V1", "V2", "V3"), map(int, window[r]))),
                                "loss_g": _num(lg), "loss_d": _num(ld), "param_norm_g": _num(ng),
                                "param_norm_d": _num(nd), "grad_norm_g": _num(gn[0]), "grad_norm_d": _num(gn[1])})
                window[r] = 0
                if ok and not (math.isfinite(lg) and math.isfinite(ld)):
                    ok, reason = False, "non-finite loss"
            if not ok:
                freeze(r, {"diverged": True, "diverged_at": step, "reason": reason})
                continue
            max_norm[r] = max(max_norm[r], math.hypot(ng, nd))
            if is_ck:
                m = evals[cfgs[r].dataset](gen[r])
                cks[r].append({"step": step, **m, "param_norm_g": ng, "param_norm_d": nd})
                if samples:
                    smp[r][step] = gen[r][: c0.fig_n].numpy()
                if states:
                    g, d = ft.run_params(r)
                    sts[r][step] = {"gp": _cpu(g), "dp": _cpu(d), "db": _cpu(ft.run_buffers(r)),
                                    "draws": _cpu({k: v[r] for k, v in draws.items()}),
                                    "choice": f"V{int(c[r])}", "step": step}
    if bar is not None:
        bar.close()
    wall = time.time() - t0
    out = []
    for r, cfg in enumerate(cfgs):
        if final_state[r] is None:
            g, d = ft.run_params(r)
            final_state[r] = (_cpu(g), _cpu(d), _cpu(ft.run_buffers(r)))
        gp, dp, db = final_state[r]
        n = int(done[r])
        counts = np.bincount(codes[r, :n], minlength=4)[1:]
        fin = cks[r][-1] if cks[r] and not outcome[r]["diverged"] and cks[r][-1]["step"] == n_iter else None
        out.append({
            "cfg": cfg, "status": "diverged" if outcome[r]["diverged"] else "finished", "outcome": outcome[r],
            "iterations_done": n, "choices": dict(zip(("V1", "V2", "V3"), map(int, counts))),
            "codes": codes[r, :n].copy(), "divergence": div[r, :n].copy(),
            "orders": ("".join(getattr(ft.methods[r], "orders", None) or [])[:n] or None),
            "gp": gp, "dp": dp, "db": db,
            "checkpoints": cks[r], "final": dict(fin) if fin is not None else None, "history": hist[r],
            "max_param_norm_ratio": _num(max_norm[r] / x0[r]) if x0[r] > 0 else None,
            "x0_norm": float(x0[r]), "samples": smp[r], "states": sts[r],
            "resolved": {"method": ft.methods[r].spec, "optimizer": ft.optimizer_name, "bounded": ft.gan.bounded,
                         "data_kind": ft.data_kind, "n_params_g": int(ft.glay.total),
                         "n_params_d": int(ft.dlay.total)},
            "device": str(ft.device), "fused_runs": R, "wall_s": round(wall / R, 3),
        })
    return out


__all__ = ["FusedTrainer", "FusedOpt", "train_fused", "group_key", "GROUP_FIELDS", "SCHEDULE_FIELDS"]
