"""Fused training: many runs as one stacked-weight program (issue 12, point 4).

R runs are trained as one program: each player's parameters of all R runs live in one
``(R, P)`` tensor (run axis first, the parameters of one run flattened in
``named_parameters`` order, exactly :func:`gpu_validation.models.flat`), every linear layer
of every run is evaluated by one batched matmul, and every run's oracle decision becomes a
per-run mask of a fused, in-place optimizer step. Two engines compute the fields:

* ``stacked`` (MLP pairs without field transforms - the thesis's 2-D grid): explicit
  ``torch.baddbmm`` MLPs; all GAN classes and both optimizers in **one** program. The runs of
  one GAN class occupy contiguous rows (a *segment*); the generator pass is shared by all rows,
  each segment evaluates its class's discriminator, loss and pieces on its rows, read from the
  :mod:`gpu_validation.gans` objects (instance noise, spectral norm with its ``u`` buffers,
  GraN's input-gradient normalisation, the WGAN-GP / R1 / R2 / Roth penalties by double
  back-propagation, weight clipping by the class's own ``after_d_step``);
* ``vmap`` (anything else: JARE and other field transforms, DCGAN pairs): :func:`torch.func.vmap`
  of the package's own :mod:`gpu_validation.gans` / :mod:`gpu_validation.methods` code over
  the stacked parameters; one GAN class (and one transform chain) per program.

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

Grouping (:func:`group_key`): ``stacked`` runs are fused when they share the learning rate,
batch size, model, width, latent size, data shape and schedule - data set, GAN class,
optimizer, oracle and seed may differ; ``vmap`` runs also share the GAN class, the optimizer
and the field transforms. :func:`train_fused` trains one program per group, one after another.

Syncs: one device->host copy per iteration when some alive run's oracle needs batches
(Dynamic-GDA's projections); the step masks go host->device (pinned, asynchronous on CUDA);
everything else that needs the host (norms, losses, samples) happens at logging/checkpoint
steps only.

Units and conventions: ``lr`` per optimizer step; an iteration is one oracle decision;
decision codes ``1 = V1`` (generator only), ``2 = V2`` (discriminator only), ``3 = V3`` (both);
Dynamic-GDA's divergence is :func:`stabcheck.oracles.wasserstein1_1d` between the projected
batches (the oracle's ``last_w`` after its decision), NaN for iterations without one.
Parameters are float32 unless ``dtype`` says otherwise (float64 is for tests).

The result equals the one-by-one trainer's up to floating-point reassociation (batched vs
single matmuls, one discriminator pass on the concatenated real and generated batch):
tested in ``tests/gpu_validation/test_fused.py`` against :class:`gpu_validation.train.Trainer`
in float64 (``rtol=1e-9``: parameters, SN buffers, step counts, decisions, divergences) for
every GAN class, both engines, JARE, image MLPs and DCGAN, and in float32 (as trained: records,
W1, losses ``rel 1e-4``) for Adam classes. Float32 WGAN runs are ill-conditioned against any
reordering: the critic's output bias has an exactly-zero gradient (``mean(1) - mean(1)``) and
RMSProp divides its rounding noise by its own size (~1e-3 apart after one step).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import torch

from stabcheck.errors import BadInput

#: fields every run of one fused program must share (vmap engine)
GROUP_FIELDS = ("gan", "batch", "lr", "optimizer", "model", "width", "latent")
#: fields every run of one fused program must share (stacked engine: GAN class and optimizer may differ)
STACKED_FIELDS = ("batch", "lr", "model", "width", "latent")
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

    ``kind`` is one optimizer name for every row, or a list of ``(name, first_row, end_row)``
    covering the rows (a fused program holds Adam runs and RMSProp runs side by side).
    """

    B1, B2, ALPHA, EPS = 0.5, 0.999, 0.99, 1e-8

    def __init__(self, kind, flat: torch.Tensor, lr: float):
        R = flat.shape[0]
        self.ranges = [(kind, 0, R)] if isinstance(kind, str) else [tuple(k) for k in kind]
        for name, _, _ in self.ranges:
            if name not in ("adam", "rmsprop", "sgd"):
                raise BadInput(f"unknown optimizer {name!r}; choose auto, adam, rmsprop or sgd")
        self.kind = self.ranges[0][0] if len(self.ranges) == 1 else "mixed"
        self.lr = float(lr)
        names = {n for n, _, _ in self.ranges}
        self.m = torch.zeros_like(flat) if "adam" in names else None
        self.v = torch.zeros_like(flat) if names & {"adam", "rmsprop"} else None
        self.t = torch.zeros(R, dtype=torch.float64, device=flat.device)

    @torch.no_grad()
    def step(self, p: torch.Tensor, g: torch.Tensor, mask: torch.Tensor) -> None:
        """``p -= lr * update(g)`` for the runs where ``mask`` (bool, ``(R,)``) is true.

        ``g`` is the gradient of the minimized objective (``-v``); it is overwritten."""
        dt = p.dtype
        m64 = mask.to(torch.float64)
        self.t.add_(m64)
        g.masked_fill_(~mask.view(-1, 1), 0.0)  # a non-stepping player's (wasted) part cannot leak in
        whole = len(self.ranges) == 1
        for kind, a, b in self.ranges:
            if whole:
                pp, gg, mm, tt, mb = p, g, m64, self.t, mask
                m_, v_ = self.m, self.v
            else:
                pp, gg, mm, tt, mb = p[a:b], g[a:b], m64[a:b], self.t[a:b], mask[a:b]
                m_ = self.m[a:b] if self.m is not None else None
                v_ = self.v[a:b] if self.v is not None else None
            self._update(kind, pp, gg, mm, tt, mb, m_, v_, dt)

    def _update(self, kind, p, g, m64, t, mask, m, v, dt) -> None:
        col = (-1, 1)
        mk = mask.view(col).to(dt)
        if kind == "adam":
            b1, b2 = self.B1, self.B2
            tc = t.clamp(min=1.0)
            step_size = ((self.lr / (1.0 - b1 ** tc)) * m64).to(dt).view(col)
            bc2_sqrt = (1.0 - b2 ** tc).sqrt().to(dt).view(col)
            m.lerp_(g, mk * (1.0 - b1))
            v.mul_((m64 * b2 + (1.0 - m64)).to(dt).view(col)).addcmul_(g * (mk * (1.0 - b2)), g)
            denom = (v.sqrt() / bc2_sqrt).add_(self.EPS)
            p.sub_((m / denom).mul_(step_size))
        elif kind == "rmsprop":
            a = self.ALPHA
            v.mul_((m64 * a + (1.0 - m64)).to(dt).view(col)).addcmul_(g * (mk * (1.0 - a)), g)
            denom = v.sqrt().add_(self.EPS)
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


def stacked_ok(gan, method, model_kind: str) -> bool:
    """Whether the hand-fused engine (explicit batched matmuls, every GAN class side by side)
    covers this run: an MLP pair, no field transform, the loss and every piece one of
    :mod:`gpu_validation.gans`'s own (the engine reads their parameters). Otherwise the run
    goes to the ``vmap`` engine (one GAN class / transform set per program)."""
    from gpu_validation import gans as G

    known = (G.InstanceNoise, G.GradientPenalty, G.RothJS, G.SpectralNorm, G.GradNorm, G.WeightClip)
    return (model_kind == "mlp" and not method.transforms
            and type(gan.loss) in (G.NonSaturating, G.Wasserstein)
            and all(type(p) in known for p in gan.pieces))


def group_key(cfg, data_kind: str, data_shape: tuple) -> tuple:
    """Runs with equal keys can be trained in one fused program: with the ``stacked`` engine
    they may differ in GAN class, optimizer, data set, method and seed; with ``vmap`` in data
    set, method and seed."""
    from gpu_validation import gans

    gan = gans.make_gan(cfg.gan)
    m = make_method(cfg.method, data_kind, gan.bounded)
    kind = cfg.model if cfg.model != "auto" else "mlp"
    if stacked_ok(gan, m, kind):
        return ("stacked",) + tuple(getattr(cfg, f) for f in STACKED_FIELDS) + (data_kind, tuple(data_shape))
    return (("vmap",) + tuple(getattr(cfg, f) for f in GROUP_FIELDS) + (data_kind, tuple(data_shape))
            + (tuple(t.name for t in m.transforms),))


def _act(x):
    """LeakyReLU(0.2) in place on a fresh matmul output (autograd keeps the result, whose sign
    is the input's for a positive slope): the same values and gradients as
    ``F.leaky_relu(x, 0.2)``, one allocation and one memory pass fewer per layer."""
    return torch.nn.functional.leaky_relu_(x, 0.2)


def _mlp(Ws: list, bs: list, x: torch.Tensor, out_act: Optional[str] = None) -> torch.Tensor:
    """Stacked MLP: ``x`` ``(n, N, in)``, weights ``(n, out, in)`` (torch's Linear layout),
    biases ``(n, out)``; LeakyReLU(0.2) between layers (as :mod:`gpu_validation.models`)."""
    last = len(Ws) - 1
    for i, (w, b) in enumerate(zip(Ws, bs)):
        x = torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))
        if i < last:
            x = _act(x)
    return torch.tanh(x) if out_act == "tanh" else x


def _sn_weight(w: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Stacked :func:`gpu_validation.models._sn_weight`: ``w / sigma``, ``sigma = u^T W v``,
    ``v = normalize(W^T u)``; ``w`` ``(n, out, in)``, ``u`` ``(n, out)``."""
    F = torch.nn.functional
    v = F.normalize(torch.bmm(w.transpose(1, 2), u.unsqueeze(2)).squeeze(2), dim=1, eps=1e-12)
    sigma = (u * torch.bmm(w, v.unsqueeze(2)).squeeze(2)).sum(1)
    return w / sigma.view(-1, 1, 1)


def _input_grad(f, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(f(x), grad_x sum f(x))`` per sample, differentiable (stacked
    :func:`gpu_validation.gans.value_and_input_grad`); ``x`` ``(n, N, dim)``."""
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    o = f(x)
    (g,) = torch.autograd.grad(o.sum(), x, create_graph=True)
    return o, g


@dataclass
class _Segment:
    """Rows ``[a, b)`` of the stacked runs that share one GAN class."""

    spec: str
    gan: Any
    a: int
    b: int
    db: dict = field(default_factory=dict)
    sn_pair: Any = None
    clip: bool = False
    need_rows: list = field(default_factory=list)  # local rows whose oracle needs batches
    need_index: Any = None  # the same, as an index tensor on the device

    @property
    def n(self) -> int:
        return self.b - self.a


class FusedTrainer:
    """State and one fused iteration of ``len(cfgs)`` runs (see the module docstring).

    Parameters
    ----------
    cfgs : list of :class:`gpu_validation.train.RunConfig`
        ``stacked`` engine: must share :data:`STACKED_FIELDS` and the data shape; ``vmap``
        engine: :data:`GROUP_FIELDS`, the data shape and the field transforms.
    device : str or None
        ``cpu``, ``cuda``, ``cuda:N``; ``None`` takes the configurations' (common) device.
    dtype : torch.dtype
        Parameter / computation dtype (float32 as the one-by-one trainer; float64 for tests).
    datas : dict, optional
        Already loaded data sets by spec.
    engine : ``"auto"`` | ``"stacked"`` | ``"vmap"``
        ``stacked``: hand-fused batched matmuls, every GAN class in one program (MLP pairs
        without field transforms); ``vmap``: :func:`torch.func.vmap` over
        :mod:`gpu_validation.gans` / :mod:`gpu_validation.methods` code (any model, JARE;
        one GAN class per program). ``auto`` takes ``stacked`` where it applies.

    Run indices in every method are the positions in ``cfgs``. Internally the runs are
    reordered so that each GAN class and each optimizer occupies contiguous rows
    (``perm[k]`` is the configuration in row ``k``).

    Attributes
    ----------
    gflat, dflat : torch.Tensor
        ``(R, P_g)``, ``(R, P_d)`` stacked parameters, internal row order (run ``r``'s
        generator is ``gflat[pos[r]]``, in :func:`gpu_validation.models.flat` order).
    opt_g, opt_d : :class:`FusedOpt`
        Step counts: :meth:`step_counts`.
    counts : numpy.ndarray
        ``(R, 3)`` decisions so far (V1, V2, V3).
    alive : numpy.ndarray
        ``(R,)`` bool; a run that is not alive (diverged) is frozen: no oracle call, no step.
    """

    def __init__(self, cfgs: list, *, device: Optional[str] = None, dtype: torch.dtype = torch.float32,
                 datas: Optional[dict] = None, engine: str = "auto"):
        from gpu_validation import data as data_mod
        from gpu_validation import gans, models

        if not cfgs:
            raise BadInput("fused training needs at least one configuration")
        if engine not in ("auto", "stacked", "vmap"):
            raise BadInput(f"unknown engine {engine!r}; choose auto, stacked or vmap")
        c0 = cfgs[0]
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
        shapes = {(datas[c.dataset].kind, tuple(datas[c.dataset].shape)) for c in cfgs}
        if len(shapes) > 1:
            raise BadInput(f"fused runs must share the data kind and shape, got {sorted(shapes)}")
        self.data_kind, self.data_shape = shapes.pop()
        gan_of = {c.gan: gans.make_gan(c.gan) for c in cfgs}
        self.methods = [make_method(c.method, self.data_kind, gan_of[c.gan].bounded) for c in cfgs]
        for m in self.methods:
            m.reset()
        kind = c0.model if c0.model != "auto" else "mlp"
        ok = all(stacked_ok(gan_of[c.gan], m, kind) for c, m in zip(cfgs, self.methods))
        if engine == "auto":
            engine = "stacked" if ok else "vmap"
        if engine == "stacked" and not ok:
            raise BadInput("the stacked engine needs MLP pairs, no field transforms and gpu_validation.gans pieces")
        self.engine = engine
        shared = STACKED_FIELDS if engine == "stacked" else GROUP_FIELDS
        for c in cfgs:
            for f in shared:
                if getattr(c, f) != getattr(c0, f):
                    raise BadInput(f"fused runs must share {f}: {getattr(c0, f)!r} vs {getattr(c, f)!r}")
        if engine == "vmap":
            names = {tuple(t.name for t in m.transforms) for m in self.methods}
            if len(names) > 1:
                raise BadInput(f"fused runs must share field transforms, got {sorted(names)}")
        opt_of = [_opt_name(c, gan_of[c.gan]) for c in cfgs]
        # internal order: optimizer, then GAN class, contiguous; stable within
        first = {}
        for j, c in enumerate(cfgs):
            first.setdefault((opt_of[j], c.gan), j)
        self.perm = np.array(sorted(range(self.R), key=lambda j: (opt_of[j], first[(opt_of[j], cfgs[j].gan)], j)))
        self.pos = np.empty(self.R, dtype=np.int64)
        self.pos[self.perm] = np.arange(self.R)
        icfg = [cfgs[k] for k in self.perm]
        self.optimizer_names = opt_of
        ranges = []
        for k, c in enumerate(icfg):
            o = opt_of[self.perm[k]]
            if ranges and ranges[-1][0] == o:
                ranges[-1][2] = k + 1
            else:
                ranges.append([o, k, k + 1])
        # models: one build per (seed, sn) - same seed, same initialization
        built = {}

        def pair_for(seed, sn):
            if (seed, sn) not in built:
                built[(seed, sn)] = models.build(kind, self.data_shape, sn=sn, width=c0.width,
                                                 latent=c0.latent, seed=seed)
            return built[(seed, sn)]

        self.pair = pair_for(c0.seed, bool(gan_of[c0.gan].arch.get("sn", False)))
        self.pair.gen.to(self.device, dtype)
        self.pair.disc.to(self.device, dtype)
        gps = [models.params_of(pair_for(c.seed, False).gen) for c in icfg]
        dps = [models.params_of(pair_for(c.seed, False).disc) for c in icfg]
        self.glay, self.dlay = _Layout.of(gps[0]), _Layout.of(dps[0])
        dev = self.device
        self.gflat = torch.stack([models.flat(p) for p in gps]).to(dev, dtype).contiguous()
        self.dflat = torch.stack([models.flat(p) for p in dps]).to(dev, dtype).contiguous()
        self.n_gen = self.glay.total
        # segments: contiguous rows of one GAN class
        self.segments: list = []
        for k, c in enumerate(icfg):
            if self.segments and self.segments[-1].spec == c.gan:
                self.segments[-1].b = k + 1
            else:
                self.segments.append(_Segment(c.gan, gan_of[c.gan], k, k + 1))
        if engine == "vmap" and len(self.segments) > 1:
            raise BadInput("the vmap engine trains one GAN class per program; got "
                           + ", ".join(s.spec for s in self.segments))
        for seg in self.segments:
            g = seg.gan
            if g.arch.get("sn"):
                seg.sn_pair = pair_for(icfg[seg.a].seed, True)
                seg.sn_pair.disc.to(dev, dtype)
                seg.db = {k: torch.stack([models.buffers_of(pair_for(icfg[j].seed, True).disc)[k]
                                          for j in range(seg.a, seg.b)]).to(dev, dtype)
                          for k in models.buffers_of(seg.sn_pair.disc)}
            seg.clip = any(type(p).after_d_step is not gans.Piece.after_d_step and getattr(p, "clip", 1.0) != 0
                           for p in g.pieces)
            seg.need_rows = [k - seg.a for k in range(seg.a, seg.b) if self.methods[self.perm[k]].needs_batches]
            seg.need_index = torch.as_tensor(seg.need_rows, dtype=torch.long, device=dev)
        self.opt_g = FusedOpt(ranges, self.gflat, c0.lr)
        self.opt_d = FusedOpt(ranges, self.dflat, c0.lr)
        self.last_grad = torch.full((2, self.R), float("nan"), dtype=torch.float64, device=dev)
        self.step_i = 0
        self.counts = np.zeros((self.R, 3), dtype=np.int64)
        self.alive = np.ones(self.R, dtype=bool)
        self.need = np.array([m.needs_batches for m in self.methods])
        # host row of each run's projections: need runs in internal order
        need_int = [k for k in range(self.R) if self.need[self.perm[k]]]
        self._host_row = {int(self.perm[k]): j for j, k in enumerate(need_int)}
        self._user = [type(m.oracle).__module__ != "stabcheck.oracles" for m in self.methods]
        self.latent, self.batch = self.pair.latent, c0.batch
        self._g_out_act = getattr(self.pair.gen, "out_act", None)
        self._n_layers = (len(self.pair.gen.layers), len(self.pair.disc.layers))
        self._setup_streams(icfg)
        if engine == "vmap":
            self._setup_vmap()

    # ------------------------------------------------------------------ random draws
    def _setup_streams(self, icfg) -> None:
        """One CPU generator per distinct stream (the one-by-one trainer's seeds); runs that
        would draw identical numbers from identical streams share one draw."""
        zk, rk, ek = {}, {}, {}
        z_idx, r_idx = [], []
        for c in icfg:
            z_idx.append(zk.setdefault(c.seed, len(zk)))
            r_idx.append(rk.setdefault((c.dataset, c.seed), len(rk)))
        self.g_latent = [torch.Generator().manual_seed(s * 1000 + 1) for s in zk]
        self.g_real = [(self.datas[d], torch.Generator().manual_seed(s * 1000 + 2)) for d, s in rk]
        self._idx = {"z": z_idx, "real": r_idx}
        self._seg_extra = []  # per segment: (stream indices of its rows, draw keys)
        for seg in self.segments:
            idx = [ek.setdefault((icfg[k].seed, seg.spec), len(ek)) for k in range(seg.a, seg.b)]
            self._seg_extra.append(idx)
        self.g_extra = [(self.segments[[s.spec for s in self.segments].index(spec)].gan,
                         torch.Generator().manual_seed(seed * 1000 + 3)) for seed, spec in ek]
        self._t_idx = {k: torch.as_tensor(v) for k, v in self._idx.items()}
        self._t_seg = [torch.as_tensor(v) for v in self._seg_extra]
        self._prefetch: list = []
        self._chunk = 1 if self.device.type == "cpu" else 64

    @staticmethod
    def _pick(parts: list, idx: list, tidx: torch.Tensor) -> torch.Tensor:
        u = torch.stack(parts)
        return u if idx == list(range(len(parts))) else u.index_select(0, tidx)

    def _extra_key(self, k: str, si: int) -> str:
        return k if self.engine == "vmap" else f"{k}@{si}"

    def draw_cpu(self) -> dict:
        """This iteration's draws, stacked in internal row order, on the CPU: ``z``
        ``(R, batch, latent)``, ``real`` ``(R, batch, *shape)``, and each GAN class's piece
        draws for its rows (``key@segment``; plain ``key`` with the vmap engine)."""
        n = self.batch
        out = {"z": self._pick([torch.randn(n, self.latent, generator=g) for g in self.g_latent],
                               self._idx["z"], self._t_idx["z"]),
               "real": self._pick([d.sample(n, g) for d, g in self.g_real], self._idx["real"], self._t_idx["real"])}
        ex = [gan.draw(n, self.data_shape, g) for gan, g in self.g_extra]
        for si, idx in enumerate(self._seg_extra):
            keys = ex[idx[0]].keys()
            for k in keys:
                parts = [ex[j][k] for j in idx]
                out[self._extra_key(k, si)] = torch.stack(parts)
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

    def run_draws(self, draws: dict, r: int) -> dict:
        """Run ``r``'s own draws (the one-by-one trainer's ``draws`` dict), CPU copies."""
        k = int(self.pos[r])
        out = {"z": draws["z"][k], "real": draws["real"][k]}
        for si, seg in enumerate(self.segments):
            if seg.a <= k < seg.b:
                for key in [x for x in draws if x not in ("z", "real")]:
                    if self.engine == "vmap":
                        out[key] = draws[key][k - seg.a]
                    elif key.endswith(f"@{si}"):
                        out[key.rsplit("@", 1)[0]] = draws[key][k - seg.a]
        return _cpu(out)

    # ------------------------------------------------------------------ vmap engine
    def _setup_vmap(self) -> None:
        gan, pair = self.segments[0].gan, self.pair
        template = self.methods[0]
        if self.segments[0].sn_pair is not None:
            pair = self.segments[0].sn_pair
        self._vpair = pair
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
        self._transforms = bool(template.transforms)
        self._proj_from_objs = (not self._transforms) and gan.decides_on_training_output

    # ------------------------------------------------------------------ stacked engine
    def _layers(self, flat: torch.Tensor, lay: "_Layout", n_layers: int, leaf: bool = False) -> tuple[list, list]:
        """Per-layer weight ``(n, out, in)`` and bias ``(n, out)`` views of ``flat``; with
        ``leaf`` each is a fresh contiguous autograd leaf (a copy: gradients per layer and
        segment, no full-size zero-filled slice gradients, and BLAS-friendly strides - the
        views' batch stride is the whole row, which slows the batched matmuls down)."""
        v = lay.views(flat)
        if leaf:
            v = {k: t.detach().contiguous().requires_grad_(True) for k, t in v.items()}
        return [v[f"layers.{i}.weight"] for i in range(n_layers)], [v[f"layers.{i}.bias"] for i in range(n_layers)]

    def _leaves(self, requires_grad: bool):
        G = self._layers(self.gflat, self.glay, self._n_layers[0], leaf=requires_grad)
        D = [self._layers(self.dflat[s.a:s.b], self.dlay, self._n_layers[1], leaf=requires_grad)
             for s in self.segments]
        return G, D

    def _flat_grad(self, Ws: list, bs: list, lay: "_Layout") -> torch.Tensor:
        by = {}
        for i, (w, b) in enumerate(zip(Ws, bs)):
            by[f"layers.{i}.weight"], by[f"layers.{i}.bias"] = w, b
        return lay.cat(by)

    def _stacked_objectives(self, Gl: tuple, Dl: list, draws: dict, want_proj: bool):
        """``(L_G, L_D)`` per run ``(R,)`` (internal order) and per segment the raw
        projections ``(real, fake)`` for its ``need_rows`` (or None). ``Gl = (weights, biases)``
        of the generator (all rows), ``Dl[s]`` the discriminator's for segment ``s``'s rows."""
        from gpu_validation import gans as G

        F = torch.nn.functional
        R, B = self.R, self.batch
        fake = _mlp(Gl[0], Gl[1], draws["z"], self._g_out_act)  # (R, B, dim)
        real = draws["real"].reshape(R, B, -1).to(fake)
        lgs, lds, projs = [], [], []
        for si, seg in enumerate(self.segments):
            a, b, n = seg.a, seg.b, seg.n
            W, bb = Dl[si]
            Wt = [_sn_weight(w, seg.db[f"u{i}"]) for i, w in enumerate(W)] if seg.sn_pair is not None else W
            r_, f_ = real[a:b], fake[a:b]
            rc, fc = r_, f_

            def base(x, Wt=Wt, bb=bb):
                return _mlp(Wt, bb, x).squeeze(-1)

            dfn = base
            for p in seg.gan.pieces:
                if isinstance(p, G.InstanceNoise):
                    r_ = r_ + p.std * draws[f"noise_real@{si}"].reshape(n, B, -1).to(r_)
                    f_ = f_ + p.std * draws[f"noise_fake@{si}"].reshape(n, B, -1).to(f_)
                elif isinstance(p, G.GradNorm):
                    def dfn(x, f=dfn, K=p.K, eps=p.eps):
                        o, gx = _input_grad(f, x)
                        return K * o / (torch.sqrt((gx ** 2).sum(-1) + 1e-12) + eps)
            out = dfn(torch.cat([r_, f_], 1))
            dr, df = out[:, :B], out[:, B:]
            if isinstance(seg.gan.loss, G.NonSaturating):
                lg = F.softplus(-df).mean(1)
                ld = F.logsigmoid(dr).mean(1) + F.logsigmoid(-df).mean(1)
            else:
                lg = -df.mean(1)
                ld = dr.mean(1) - df.mean(1)
            for p in seg.gan.pieces:
                pen = None
                if isinstance(p, G.GradientPenalty):
                    if p.at == "interp":
                        e = draws[f"eps@{si}"].reshape(n, B, 1).to(r_)
                        x = e * r_ + (1 - e) * f_
                    else:
                        x = r_ if p.at == "real" else f_
                    _, gx = _input_grad(dfn, x.detach())
                    if p.center == 0.0:
                        pen = 0.5 * p.gamma * (gx ** 2).sum(-1).mean(1)
                    else:
                        gn = torch.sqrt((gx ** 2).sum(-1) + 1e-12)
                        pen = p.gamma * ((gn - p.center) ** 2).mean(1)
                elif isinstance(p, G.RothJS):
                    o, gx = _input_grad(dfn, torch.cat([r_, f_], 1).detach())
                    s = (gx ** 2).sum(-1)
                    om = ((1 - torch.sigmoid(o[:, :B])) ** 2 * s[:, :B]).mean(1) + \
                         (torch.sigmoid(o[:, B:]) ** 2 * s[:, B:]).mean(1)
                    pen = 0.5 * p.gamma * om
                if pen is not None:
                    ld = ld - pen
            lgs.append(lg)
            lds.append(ld)
            pr = None
            if want_proj and seg.need_rows:
                rows = seg.need_index
                if seg.gan.decides_on_training_output:
                    pr = (dr.detach().index_select(0, rows), df.detach().index_select(0, rows))
                else:  # the raw discriminator on the clean batches (no SN, no wrap, no noise)
                    with torch.no_grad():
                        o = _mlp([W[i].index_select(0, rows) for i in range(len(W))],
                                 [bb[i].index_select(0, rows) for i in range(len(bb))],
                                 torch.cat([rc, fc], 1).index_select(0, rows)).squeeze(-1)
                    pr = (o[:, :B], o[:, B:])
            projs.append(pr)
        lg = lgs[0] if len(lgs) == 1 else torch.cat(lgs)
        ld = lds[0] if len(lds) == 1 else torch.cat(lds)
        return lg, ld, projs

    # ------------------------------------------------------------------ fields
    def fields(self, draws: dict, want_proj: bool = True) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """``(v_theta, v_psi, projections)``: ``(R, P_g)``, ``(R, P_d)`` (internal row order)
        and the raw discriminator outputs on the real / generated batch of the runs whose
        oracle needs them, ``(n_need, 2, batch)`` in host-row order (None if none or not asked)."""
        if self.engine == "stacked":
            Gl, Dl = self._leaves(True)
            lg, ld, projs = self._stacked_objectives(Gl, Dl, draws, want_proj)
            gl = Gl[0] + Gl[1]
            gg = torch.autograd.grad(lg.sum(), gl, retain_graph=True)
            dl = [t for W, b in Dl for t in W + b]
            gd = torch.autograd.grad(ld.sum(), dl)
            L = self._n_layers[0]
            vg = self._flat_grad(gg[:L], gg[L:], self.glay).neg_()
            L, parts, j = self._n_layers[1], [], 0
            for _ in self.segments:
                parts.append(self._flat_grad(gd[j:j + L], gd[j + L:j + 2 * L], self.dlay))
                j += 2 * L
            vd = parts[0] if len(parts) == 1 else torch.cat(parts)
            prs = [torch.stack(p, 1) for p in projs if p is not None]
            pr = (prs[0] if len(prs) == 1 else torch.cat(prs)) if prs else None
            return vg, vd, pr
        g = self.gflat.detach().requires_grad_(True)
        d = self.dflat.detach().requires_grad_(True)
        seg = self.segments[0]
        if self._transforms:
            vg, vd = self._vfields(self.glay.views(self.gflat), self.dlay.views(self.dflat), seg.db, draws)
            vg, vd, pr = self.glay.cat(vg), self.dlay.cat(vd), None
        else:
            # the runs are independent: d(sum of losses)/d(run r's parameters) = run r's gradient
            lg, ld, dr, df = self._objs(self.glay.views(g), self.dlay.views(d), seg.db, draws)
            (gg,) = torch.autograd.grad(lg.sum(), g, retain_graph=True)
            (gd,) = torch.autograd.grad(ld.sum(), d)
            vg, vd = gg.neg_(), gd
            pr = (dr.detach(), df.detach()) if self._proj_from_objs else None
        if not (want_proj and seg.need_rows):
            return vg, vd, None
        if pr is None:
            with torch.no_grad():
                pr = self._proj(self.glay.views(self.gflat), self.dlay.views(self.dflat), seg.db, draws)
        rows = seg.need_index
        return vg, vd, torch.stack([pr[0].index_select(0, rows), pr[1].index_select(0, rows)], 1)

    # ------------------------------------------------------------------ one iteration
    def step(self, draws: Optional[dict] = None, *, record: Optional[tuple] = None) -> np.ndarray:
        """One iteration for every alive run. Returns the decision codes ``(R,)`` int8 in
        ``cfgs`` order (1 = V1, 2 = V2, 3 = V3, 0 = no decision: the run is frozen).

        ``record = (codes_array, div_array, errors)`` stores this iteration's codes and
        Dynamic-GDA divergences in column ``step_i`` and oracle exceptions by run."""
        draws = draws if draws is not None else self.draw()
        R, i = self.R, self.step_i
        alive_need = bool((self.need & self.alive).any())
        vg, vd, pr = self.fields(draws, want_proj=alive_need)
        host = pr.double().cpu().numpy() if pr is not None else None  # the one device->host sync
        codes = np.zeros(R, dtype=np.int8)
        for r in range(R):
            if not self.alive[r]:
                continue
            m = self.methods[r]
            proj = None
            if self.need[r]:
                def proj(j=self._host_row[r]):
                    return host[j, 0], host[j, 1]
            x = None
            if self._user[r]:
                def x(k=int(self.pos[r])):
                    return (np.concatenate([self.gflat[k].double().cpu().numpy(),
                                            self.dflat[k].double().cpu().numpy()]), self.n_gen)
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
        ci = codes[self.perm]
        mask = self._to_device_mask(np.stack([(ci & 1) == 1, (ci & 2) == 2]))
        mg, md = mask[0], mask[1]
        with torch.no_grad():
            self.last_grad[0] = torch.where(mg, vg.double().square().sum(1).sqrt(), self.last_grad[0])
            self.last_grad[1] = torch.where(md, vd.double().square().sum(1).sqrt(), self.last_grad[1])
            self.opt_g.step(self.gflat, vg.neg_(), mg)
            self.opt_d.step(self.dflat, vd.neg_(), md)
            for seg in self.segments:
                col = md[seg.a:seg.b].view(-1, 1)
                if seg.clip:
                    rows = self.dflat[seg.a:seg.b]
                    new = rows.clone()
                    seg.gan.after_d_step(self.dlay.views(new))  # the package's (in-place) clipping
                    rows.copy_(torch.where(col, new, rows))
                if seg.sn_pair is not None:  # the package's power iteration, one step per D step
                    new = _sn_update(seg.sn_pair.disc, self.dlay.views(self.dflat[seg.a:seg.b]), seg.db)
                    seg.db = {k: torch.where(col, new[k], v) for k, v in seg.db.items()}
        self.step_i += 1
        return codes

    def _to_device_mask(self, m: np.ndarray) -> torch.Tensor:
        """The ``(2, R)`` step masks on the device. On CUDA through a ring of pinned host
        buffers and an asynchronous copy (a plain ``.to("cuda")`` of pageable memory waits for
        the stream); a buffer is reused only after the event recorded behind its last copy."""
        if self.device.type != "cuda":
            return torch.from_numpy(m).to(self.device)
        if not hasattr(self, "_pin"):
            self._pin = [torch.empty(m.shape, dtype=torch.bool).pin_memory() for _ in range(8)]
            self._pin_ev = [None] * 8
        k = self.step_i % 8
        if self._pin_ev[k] is not None:
            self._pin_ev[k].synchronize()
        self._pin[k].numpy()[...] = m
        out = self._pin[k].to(self.device, non_blocking=True)
        ev = torch.cuda.Event()
        ev.record()
        self._pin_ev[k] = ev
        return out

    # ------------------------------------------------------------------ per-run views (cfgs order)
    def run_params(self, r: int) -> tuple[dict, dict]:
        """Run ``r``'s generator and discriminator parameters (views, as Trainer's ``gp``/``dp``)."""
        k = int(self.pos[r])
        g = {n: v[k] for n, v in self.glay.views(self.gflat).items()}
        d = {n: v[k] for n, v in self.dlay.views(self.dflat).items()}
        return g, d

    def run_optim_state(self, r: int) -> dict:
        """Run ``r``'s optimizer state as ``torch.optim`` state dicts (CPU copies), in the format
        of :meth:`gpu_validation.train.Trainer.snapshot`'s ``"optim"`` entry, so that
        :mod:`gpu_validation.spectrum` analyses the map that trained (Adam's / RMSProp's
        moments and step count, the run's own learning rate)."""
        k = int(self.pos[r])
        out = {}
        kind = None
        for who, opt, lay, flat in (("g", self.opt_g, self.glay, self.gflat), ("d", self.opt_d, self.dlay, self.dflat)):
            kind = next(n for n, a, b in opt.ranges if a <= k < b)
            params = [v[k].detach().cpu().clone() for v in lay.views(flat).values()]
            if kind == "adam":
                t_opt = torch.optim.Adam(params, lr=opt.lr, betas=(FusedOpt.B1, FusedOpt.B2), eps=FusedOpt.EPS)
            elif kind == "rmsprop":
                t_opt = torch.optim.RMSprop(params, lr=opt.lr, alpha=FusedOpt.ALPHA, eps=FusedOpt.EPS)
            else:
                t_opt = torch.optim.SGD(params, lr=opt.lr)
            step = float(opt.t[k])
            if kind != "sgd" and step > 0:
                mv = {n: v[k].detach().cpu().clone() for n, v in lay.views(opt.m).items()} if opt.m is not None else None
                vv = {n: v[k].detach().cpu().clone() for n, v in lay.views(opt.v).items()}
                for p_, name in zip(params, lay.names):
                    st = {"step": torch.tensor(step)}
                    if kind == "adam":
                        st.update(exp_avg=mv[name].to(p_.dtype), exp_avg_sq=vv[name].to(p_.dtype))
                    else:
                        st.update(square_avg=vv[name].to(p_.dtype))
                    t_opt.state[p_] = st
            out[who] = t_opt.state_dict()
        out["kind"] = kind
        return out

    def run_buffers(self, r: int) -> dict:
        """Run ``r``'s discriminator buffers (spectral norm's ``u`` vectors; empty without SN)."""
        k = int(self.pos[r])
        for seg in self.segments:
            if seg.a <= k < seg.b:
                return {n: v[k - seg.a] for n, v in seg.db.items()}
        return {}

    def step_counts(self) -> torch.Tensor:
        """``(2, R)`` float64 on the device: each run's generator and discriminator optimizer
        step counts (``cfgs`` order)."""
        idx = torch.as_tensor(self.pos, device=self.device)
        return torch.stack([self.opt_g.t, self.opt_d.t]).index_select(1, idx)

    def grad_norms(self) -> np.ndarray:
        """``(2, R)`` norms of the last field part each player stepped along (NaN before its
        first step), ``cfgs`` order, on the host."""
        return self.last_grad.cpu().numpy()[:, self.pos]

    def norms(self) -> np.ndarray:
        """``(2, R)`` float64 parameter norms (generator, discriminator), ``cfgs`` order, on the host."""
        with torch.no_grad():
            n = torch.stack([self.gflat.double().square().sum(1).sqrt(),
                             self.dflat.double().square().sum(1).sqrt()]).cpu().numpy()
        return n[:, self.pos]

    def losses(self, draws: dict) -> np.ndarray:
        """``(2, R)`` ``L_G`` and ``L_D`` at the current point for ``draws``, ``cfgs`` order, on the host."""
        if self.engine == "stacked":
            Gl, Dl = self._leaves(False)
            lg, ld, _ = self._stacked_objectives(Gl, Dl, draws, False)
        else:
            lg, ld, _, _ = self._objs(self.glay.views(self.gflat), self.dlay.views(self.dflat),
                                      self.segments[0].db, draws)
        return torch.stack([lg, ld]).detach().double().cpu().numpy()[:, self.pos]

    def generate(self, n: int) -> torch.Tensor:
        """``(R, n, *data_shape)`` samples of every run (``cfgs`` order) from its evaluation
        latents (seeded ``seed*1000+7``, as :meth:`gpu_validation.train.Trainer.generate`), CPU."""
        zs = {}
        for c in self.cfgs:
            if c.seed not in zs:
                zs[c.seed] = torch.randn(n, self.latent, generator=torch.Generator().manual_seed(c.seed * 1000 + 7))
        z = torch.stack([zs[self.cfgs[k].seed] for k in self.perm]).to(self.device, self.dtype)
        with torch.no_grad():
            if self.engine == "stacked":
                W, b = self._layers(self.gflat, self.glay, self._n_layers[0])
                out = _mlp(W, b, z, self._g_out_act)
            else:
                out = torch.func.vmap(lambda gp, zz: self.pair.gen_forward(gp, zz))(self.glay.views(self.gflat), z)
        out = out.reshape(self.R, n, *self.data_shape).cpu()
        return out[torch.as_tensor(self.pos)]


def _sn_update(disc, dviews: dict, db: dict) -> dict:
    """:meth:`gpu_validation.models._Net.sn_buffers` for every row (vmapped)."""
    return torch.func.vmap(lambda dp, b: disc.sn_buffers({**dp, **b}))(dviews, db)


def _cpu(d: dict) -> dict:
    return {k: v.detach().cpu().clone() for k, v in d.items()}


def train_fused(cfgs: list, *, device: Optional[str] = None, dtype: torch.dtype = torch.float32,
                progress: bool = False, cache: Optional[dict] = None, out_dir=None,
                max_runs: int = 0, states: bool = True, samples: bool = True, engine: str = "auto") -> list[dict]:
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
        if engine == "vmap" and key[0] == "stacked":
            key = ("vmap", c.gan, c.optimizer) + key[1:]
        groups.setdefault(key, []).append(j)
    out: list = [None] * len(cfgs)
    for idx in groups.values():
        size = max_runs if max_runs > 0 else len(idx)
        for a in range(0, len(idx), size):
            part = idx[a:a + size]
            for j, piece in zip(part, _train_group([cfgs[j] for j in part], device=device, dtype=dtype,
                                                   progress=progress, cache=cache, out_dir=out_dir,
                                                   datas=datas, states=states, samples=samples,
                                                   engine=engine)):
                out[j] = piece
    return out


def record_kwargs(piece: dict) -> dict:
    """Keyword arguments of :func:`gpu_validation.train.make_record` for one piece of
    :func:`train_fused` (``make_record(piece["cfg"], **record_kwargs(piece))``). The spectrum
    is not computed here (``piece["states"]`` holds the checkpoint snapshots it needs)."""
    from gpu_validation import train

    res = piece["resolved"]
    dyn = bool(np.any(np.isfinite(piece["divergence"]))) or piece.get("orders") is not None
    return {
        "decisions": piece["codes"], "history": piece["history"], "checkpoints": piece["checkpoints"],
        "resolved": train.resolved_info(res["method"], res["optimizer"], res["bounded"], res["data_kind"],
                                        res["n_params_g"], res["n_params_d"]),
        "outcome": piece["outcome"], "divergences": piece["divergence"].tolist() if dyn else None,
        "orders": piece.get("orders") if dyn else None,
        "environment": train.environment_info(piece["device"], trainer="fused", engine=piece["engine"],
                                              batched_runs=piece["fused_runs"]),
        "max_param_norm_ratio": piece["max_param_norm_ratio"], "wall_s": piece["wall_s"],
    }


def _train_group(cfgs, *, device, dtype, progress, cache, out_dir, datas, states, samples, engine) -> list[dict]:
    from gpu_validation import metrics

    t0 = time.time()
    ft = FusedTrainer(cfgs, device=device, dtype=dtype, datas=datas, engine=engine)
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
    from gpu_validation.train import _Bar  # rich (a declared dependency), one progress bar for the harness

    bar = _Bar(n_iter, f"fused x{R} ({ft.engine})", progress)

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
        bar.advance(1)
        is_log = step % c0.log_every == 0 or step == n_iter
        if not (is_log or step in ck_set) or not ft.alive.any():
            if not ft.alive.any():
                break
            continue
        nrm = ft.norms()
        lo = None
        if is_log:
            try:
                lo = ft.losses(draws)
            except RuntimeError:  # as run_one: a failed loss evaluation reads as non-finite
                lo = np.full((2, R), np.nan)
        is_ck = step in ck_set
        gen = ft.generate(c0.eval_n if step != n_iter else c0.final_eval_n) if is_ck else None
        lgn = ft.grad_norms() if is_log else None
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
                                    "draws": ft.run_draws(draws, r), "optim": ft.run_optim_state(r),
                                    "choice": f"V{int(c[r])}", "step": step}
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
            "resolved": {"method": ft.methods[r].spec, "optimizer": ft.optimizer_names[r],
                         "bounded": next(sg.gan.bounded for sg in ft.segments if sg.spec == cfg.gan),
                         "data_kind": ft.data_kind, "n_params_g": int(ft.glay.total),
                         "n_params_d": int(ft.dlay.total)},
            "device": str(ft.device), "fused_runs": R, "engine": ft.engine, "wall_s": round(wall / R, 3),
            "data_shape": tuple(ft.data_shape),
        })
    return out


__all__ = ["FusedTrainer", "FusedOpt", "train_fused", "record_kwargs", "group_key", "stacked_ok", "GROUP_FIELDS",
           "STACKED_FIELDS",
           "SCHEDULE_FIELDS"]
