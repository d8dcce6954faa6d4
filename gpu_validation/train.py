"""The training loop (thesis Algorithm 1 with neural networks) and the run driver.

Protocol (thesis section 6): for a given (data set, GAN class, seed) every method starts
from the **same initialization**, and iteration ``i`` of every method sees the **same
latent batch and real batch** (and the same instance-noise / interpolation draws): each
iteration draws exactly one of each from generators seeded by the run's seed, whatever the
oracle chooses. One *iteration* is one oracle decision (Algorithm 1), so Alt-GDA with
``n_d = 5`` makes ``iterations / 6`` generator steps.

Each iteration: draw the batch; ask the oracle (Dynamic-GDA gets the raw discriminator's
outputs on this iteration's real and generated batch); compute the chosen field part(s) at
the current point (V3: both from the same point); hand ``-v`` to the player's optimizer
(Adam for bounded, RMSProp for unbounded discriminators, thesis appendix F); apply
post-step pieces (weight clipping, spectral-norm power iteration).

Divergence (a non-finite parameter or loss, or a parameter norm above ``1e6``) is detected
at every logging step and recorded as the run's outcome; it is never raised.

Run ids and records (schema version 2)
--------------------------------------
A run is identified by ``DATASET__GAN__METHOD__sSEED__PROFILE__itITERATIONS__DEVICEKIND``
(:attr:`RunConfig.run_id`; device kind ``cpu`` or ``cuda``, never the index), and its
record is ``OUT/records/<run id>.json``, written atomically
(:func:`stabcheck.io.write_json_atomic`) as soon as the run ends. :func:`run_many` never
retrains a run whose record exists with the same configuration, and refuses (BadInput)
to touch one whose record holds a *different* configuration under the same id (e.g. another
``--lr``); records from another device kind have other ids, so they are never overwritten.
Each run is trained under its lock ``OUT/records/<run id>.lock`` (:func:`run_task`), so two
processes running grids on one folder train each configuration once (:func:`run_many`).
A record carries the run's per-iteration decisions (``trace.decisions``: one character per
iteration, ``1``/``2``/``3`` for V1/V2/V3) and, for Dynamic-GDA, the divergence ``w`` it
computed at each iteration and the order of the two projected batches (``trace.divergence``,
base64 of little-endian float64; ``trace.order``: ``r`` = every real projection below every
fake one, ``f`` = every fake below every real, ``o`` = overlapping), enough to replay
Algorithm 2 decision for decision (:func:`gpu_validation.predictions.replay_algorithm2`).
:func:`make_record` turns a finished run's state into a record; any trainer (sequential,
batched, fused) returns records through it.
"""

from __future__ import annotations

import base64
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.io import atomic_path, write_json_atomic

SCHEMA_VERSION = 2

PROFILES: dict[str, dict] = {
    # CI: every GAN class x method on one 2-D set in about a minute on 2 CPU cores
    "test": dict(iterations=30, batch=32, lr=1e-3, checkpoints=2, eval_n=64, final_eval_n=64,
                 fig_n=64, log_every=10, spectrum=False),
    # a CPU in minutes per configuration; the step is 5x the thesis's (documented deviation)
    "quick": dict(iterations=2000, batch=64, lr=1e-3, checkpoints=4, eval_n=256, final_eval_n=512,
                  fig_n=256, log_every=100, spectrum=True),
    # the thesis's protocol truncated for a CPU: batch 128, lr 2e-4
    "cpu": dict(iterations=4000, batch=128, lr=2e-4, checkpoints=4, eval_n=512, final_eval_n=1000,
                fig_n=512, log_every=200, spectrum=True),
    # the thesis (appendix F): 30k iterations, batch 128, lr 2e-4
    "paper": dict(iterations=30000, batch=128, lr=2e-4, checkpoints=6, eval_n=512, final_eval_n=1000,
                  fig_n=512, log_every=500, spectrum=True),
}


@dataclass
class RunConfig:
    """One run. Units: ``lr`` per optimizer step; ``iterations`` = oracle decisions."""

    dataset: str
    gan: str
    method: str
    seed: int = 0
    profile: str = "quick"
    iterations: int = 2000
    batch: int = 64
    lr: float = 1e-3
    optimizer: str = "auto"  # auto | adam | rmsprop | sgd
    model: str = "auto"  # auto | mlp | dcgan
    width: Optional[int] = None
    latent: Optional[int] = None
    checkpoints: int = 4
    eval_n: int = 256
    final_eval_n: int = 512
    fig_n: int = 256
    log_every: int = 100
    spectrum: bool = True
    spectrum_k: int = 6
    perturb: bool = False
    device: str = "cpu"
    data_root: Optional[str] = None

    @property
    def device_kind(self) -> str:
        return device_kind(self.device)

    @property
    def run_id(self) -> str:
        return run_id(self.dataset, self.gan, self.method, self.seed, self.profile, self.iterations, self.device)


def device_kind(device: str) -> str:
    """``cuda:1`` -> ``cuda``; ``cpu`` -> ``cpu`` (the kind, never the index)."""
    return str(device).split(":", 1)[0]


def run_id(dataset: str, gan: str, method: str, seed: int, profile: str, iterations: int, device: str) -> str:
    """The run id (module docstring): every field that makes two records different runs."""
    raw = f"{dataset}__{gan}__{method}__s{seed}__{profile}__it{iterations}__{device_kind(device)}"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in raw)


#: configuration fields that do not make a run different (the machine's paths, the device index)
_NOT_COMPARED = ("device", "data_root")


def comparable(config: dict) -> dict:
    """A record's configuration without the fields that may differ between machines for the
    same run (``device`` index - its kind is in the id - and ``data_root``)."""
    out = {k: v for k, v in config.items() if k not in _NOT_COMPARED}
    out["device_kind"] = device_kind(config.get("device", "cpu"))
    return out


def config_from_profile(profile: str, **kw: Any) -> RunConfig:
    if profile not in PROFILES:
        raise BadInput(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    base = dict(PROFILES[profile])
    base.update({k: v for k, v in kw.items() if v is not None})
    return RunConfig(profile=profile, **base)


def resolve_device(text: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; ``cpu``/``cuda``/``cuda:N`` as given."""
    import torch

    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu" or text.startswith("cuda"):
        if text.startswith("cuda") and not torch.cuda.is_available():
            raise BadInput(f"--device {text}: CUDA is not available here; use --device cpu or auto")
        return text
    raise BadInput(f"unknown device {text!r}; choose auto, cpu, cuda or cuda:N")


class Trainer:
    """State and one-iteration step of a single run (used by :func:`run_one`, the spectrum
    and the benchmark)."""

    def __init__(self, cfg: RunConfig, data=None):
        import torch

        from gpu_validation import data as data_mod
        from gpu_validation import gans, methods, models

        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.data = data if data is not None else data_mod.load(cfg.dataset, cfg.data_root)
        self.gan = gans.make_gan(cfg.gan)
        self.method = methods.make_method(cfg.method, self.data.kind, bounded=self.gan.bounded)
        kind = cfg.model if cfg.model != "auto" else "mlp"
        self.pair = models.build(kind, self.data.shape, sn=self.gan.arch.get("sn", False),
                                 width=cfg.width, latent=cfg.latent, seed=cfg.seed)
        self.pair.gen.to(self.device)
        self.pair.disc.to(self.device)
        self.gp = models.params_of(self.pair.gen)
        self.dp = models.params_of(self.pair.disc)
        self.db = models.buffers_of(self.pair.disc)
        self.x0_norm = math.hypot(models.norm(self.gp), models.norm(self.dp))
        opt = cfg.optimizer
        if opt == "auto":
            opt = "adam" if self.gan.bounded else "rmsprop"
        self.optimizer_name = opt
        self.opt_g = self._make_opt(opt, self.gp.values())
        self.opt_d = self._make_opt(opt, self.dp.values())
        # same seeds across methods: latent / real / piece draws each from their own stream
        self.g_latent = torch.Generator().manual_seed(cfg.seed * 1000 + 1)
        self.g_real = torch.Generator().manual_seed(cfg.seed * 1000 + 2)
        self.g_extra = torch.Generator().manual_seed(cfg.seed * 1000 + 3)
        self.method.reset()
        self.step_i = 0
        self.decisions: list[str] = []  # "1"/"2"/"3" per completed iteration
        self.last_grad = {"g": float("nan"), "d": float("nan")}

    def _make_opt(self, name: str, params: Iterable):
        import torch

        params = list(params)
        if name == "adam":
            return torch.optim.Adam(params, lr=self.cfg.lr, betas=(0.5, 0.999))
        if name == "rmsprop":
            return torch.optim.RMSprop(params, lr=self.cfg.lr)
        if name == "sgd":
            return torch.optim.SGD(params, lr=self.cfg.lr)
        raise BadInput(f"unknown optimizer {name!r}; choose auto, adam, rmsprop or sgd")

    def draw(self) -> dict:
        """This iteration's random inputs (one latent batch, one real batch, piece draws)."""
        import torch

        n = self.cfg.batch
        z = torch.randn(n, self.pair.latent, generator=self.g_latent)
        real = self.data.sample(n, self.g_real)
        out = {"z": z, "real": real, **self.gan.draw(n, self.data.shape, self.g_extra)}
        return {k: v.to(self.device) for k, v in out.items()}

    def projections(self, draws: dict) -> tuple[np.ndarray, np.ndarray]:
        """Raw discriminator outputs on the real and the generated batch (real scores high)."""
        import torch

        with torch.no_grad():
            d = self.gan.decision_fn(self.pair, self.dp, self.db)
            fake = self.pair.gen_forward(self.gp, draws["z"])
            return (d(draws["real"]).double().cpu().numpy(), d(fake).double().cpu().numpy())

    def flat_x(self) -> tuple[np.ndarray, int]:
        from gpu_validation.models import flat

        g = flat(self.gp).double().cpu().numpy()
        return np.concatenate([g, flat(self.dp).double().cpu().numpy()]), g.size

    def step(self, draws: Optional[dict] = None):
        """One iteration of Algorithm 1; returns the oracle's :class:`Choice`."""
        import torch

        from stabcheck.oracles import Choice

        draws = draws if draws is not None else self.draw()
        choice = self.method.choose(self.step_i, lambda: self.projections(draws), self.flat_x)
        vg_fn, vd_fn = self.method.field(self.gan, self.pair, self.db, draws)
        vg = vg_fn(self.gp, self.dp) if choice in (Choice.V1, Choice.V3) else None
        vd = vd_fn(self.gp, self.dp) if choice in (Choice.V2, Choice.V3) else None
        if vg is not None:
            for k, p in self.gp.items():
                p.grad = -vg[k]
            self.opt_g.step()
            self.last_grad["g"] = float(torch.sqrt(sum((v.double() ** 2).sum() for v in vg.values())))
        if vd is not None:
            for k, p in self.dp.items():
                p.grad = -vd[k]
            self.opt_d.step()
            self.last_grad["d"] = float(torch.sqrt(sum((v.double() ** 2).sum() for v in vd.values())))
            with torch.no_grad():
                self.gan.after_d_step(self.dp)
                if self.gan.arch.get("sn"):
                    self.db = self.pair.disc.sn_buffers({**self.dp, **self.db})
        self.step_i += 1
        self.decisions.append(choice.value[1])
        return choice

    def losses(self, draws: dict) -> tuple[float, float]:

        lg = self.gan.g_loss(self.pair, self.gp, self.dp, self.db, draws)
        ld = self.gan.d_objective(self.pair, self.gp, self.dp, self.db, draws)
        return float(lg.detach()), float(ld.detach())

    def snapshot(self, draws: dict, choice) -> dict:
        """Parameters, buffers, this iteration's draws and the oracle's last choice (CPU
        copies): enough to rebuild the one-step update map for :mod:`gpu_validation.spectrum`."""
        cpu = lambda d: {k: v.detach().cpu().clone() for k, v in d.items()}  # noqa: E731
        return {"gp": cpu(self.gp), "dp": cpu(self.dp), "db": cpu(self.db), "draws": cpu(draws),
                "optim": {"kind": self.optimizer_name, "g": _cpu_state_dict(self.opt_g.state_dict()),
                          "d": _cpu_state_dict(self.opt_d.state_dict())},
                "choice": choice.value, "step": self.step_i}

    def generate(self, n: int, seed: int) -> Any:
        import torch

        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.pair.latent, generator=g).to(self.device)
        with torch.no_grad():
            return self.pair.gen_forward(self.gp, z).cpu()


def _cpu_state_dict(sd: dict) -> dict:
    """A ``torch.optim`` state dict with every tensor copied to the CPU (a snapshot, not a view)."""
    import copy

    import torch

    out = copy.deepcopy({k: v for k, v in sd.items() if k != "state"})
    out["state"] = {i: {k: (v.detach().cpu().clone() if torch.is_tensor(v) else v) for k, v in st.items()}
                    for i, st in sd["state"].items()}
    return out


def _finite_and_bounded(tr: Trainer) -> tuple[bool, str | None, float, float]:
    from gpu_validation.models import norm

    ng, nd = norm(tr.gp), norm(tr.dp)
    if not (math.isfinite(ng) and math.isfinite(nd)):
        return False, "non-finite parameters", ng, nd
    if max(ng, nd) > 1e6:
        return False, "parameter norm above 1e6", ng, nd
    return True, None, ng, nd


def environment_info(device: str, **extra: Any) -> dict:
    """The ``environment`` block of a record (``extra`` keys are added, e.g. ``batched_runs``)."""
    import torch

    return {"device": str(device), "device_kind": device_kind(device), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "python": platform.python_version(),
            "machine": platform.machine(), "host": platform.node(), "cpu_count": os.cpu_count(), **extra}


CONVENTION = ("theta=generator minimizes L_G; psi=discriminator maximizes L_D; "
              "raw discriminator output scores real data high (thesis)")


def resolved_info(method_spec: str, optimizer: str, bounded: bool, data_kind: str, n_params_g: int,
                  n_params_d: int) -> dict:
    """The ``resolved`` block of a record (what the configuration resolved to)."""
    return {"method": method_spec, "optimizer": optimizer, "bounded": bool(bounded), "data_kind": data_kind,
            "n_params_g": int(n_params_g), "n_params_d": int(n_params_d), "convention": CONVENTION}


def encode_decisions(decisions: Any) -> str:
    """Per-iteration decisions -> ``"2112..."``. Accepts that string, a sequence of ``Choice``
    / ``"V1"`` / ints 1..3, or an integer numpy array."""
    if isinstance(decisions, str):
        out = decisions
    else:
        out = "".join(str(getattr(c, "value", c))[-1] for c in (decisions.tolist() if hasattr(decisions, "tolist")
                                                                 else decisions))
    if out.strip("123"):
        raise ValueError(f"decisions must be V1/V2/V3 (1/2/3), got {out[:20]!r}")
    return out


def encode_floats(values: Optional[Sequence[float]]) -> Optional[dict]:
    """float64 values -> ``{"dtype": "<f8", "n", "base64"}`` (exact; NaN/inf survive)."""
    if values is None:
        return None
    a = np.asarray(values, dtype="<f8").ravel()
    return {"dtype": "<f8", "n": int(a.size), "base64": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_floats(block: Optional[dict]) -> Optional[np.ndarray]:
    if block is None:
        return None
    a = np.frombuffer(base64.b64decode(block["base64"]), dtype=block.get("dtype", "<f8"))
    if a.size != block["n"]:
        raise ValueError(f"trace: {a.size} values decoded, {block['n']} recorded")
    return a.astype(np.float64)


def make_record(cfg: RunConfig, *, decisions: Any, history: list, checkpoints: list, resolved: dict,
                outcome: Optional[dict] = None, divergences: Optional[Sequence[float]] = None,
                orders: Optional[str] = None, environment: Optional[dict] = None,
                max_param_norm_ratio: Optional[float] = None, spectrum: Sequence[dict] = (),
                wall_s: float = 0.0, trace_note: Optional[str] = None) -> dict:
    """A finished (or diverged) run's state -> its record (schema ``schema.json``, version 2).

    Every trainer (sequential :func:`run_one`, batched, fused) builds its records here.

    Parameters
    ----------
    cfg : the run's :class:`RunConfig` (its ``run_id`` is the record's id).
    decisions : the oracle's choice at every *completed* iteration, in order: a string of
        ``1``/``2``/``3``, a sequence of :class:`~stabcheck.oracles.Choice` / ``"V1"`` / ints,
        or an int array. ``iterations_done`` and ``choices`` (the counts) come from it.
    history : logged rows ``{"step", "choices" (window counts), "loss_g", "loss_d",
        "param_norm_g", "param_norm_d", "grad_norm_g", "grad_norm_d"}``.
    checkpoints : evaluated rows ``{"step", "w1"|"fd", "eval_n", ..., "param_norm_g", "param_norm_d"}``;
        ``final`` is the last one if the run did not diverge and it is at ``cfg.iterations``.
    resolved : :func:`resolved_info`'s dict.
    outcome : ``{"diverged", "diverged_at", "reason"}`` (default: not diverged).
    divergences, orders : Dynamic-GDA's ``w`` and batch order (``r``/``f``/``o``) at each
        decision (:attr:`gpu_validation.methods.Method.divergences` / ``orders``); truncated
        to ``len(decisions)``; None for other methods or trainers that do not keep them.
    environment : :func:`environment_info`'s dict (default: this process, ``cfg.device``).
    max_param_norm_ratio : ``max_k ||x_k|| / ||x_0||`` over the logged steps.
    spectrum : spectrum entries (``gpu_validation.spectrum``), possibly empty.
    trace_note : why a trace is missing or partial (e.g. "batched trainer keeps no per-iteration decisions").
    """
    outcome = dict(outcome or {"diverged": False, "diverged_at": None, "reason": None})
    dec = encode_decisions(decisions) if decisions is not None else None
    n_done = len(dec) if dec is not None else None
    div = list(divergences)[:n_done] if divergences is not None and n_done is not None else divergences
    ords = ("".join(orders)[:n_done] if n_done is not None else "".join(orders)) if orders is not None else None
    counts = {f"V{k}": (dec.count(str(k)) if dec is not None else 0) for k in (1, 2, 3)}
    final = (dict(checkpoints[-1]) if checkpoints and not outcome["diverged"]
             and checkpoints[-1]["step"] == cfg.iterations else None)
    env = dict(environment) if environment is not None else environment_info(cfg.device)
    env.setdefault("device_kind", device_kind(env.get("device", cfg.device)))
    trace = None
    if dec is not None:
        trace = {"decisions": dec, "divergence": encode_floats(div), "order": ords}
        if trace_note:
            trace["note"] = trace_note
    return {
        "schema_version": SCHEMA_VERSION,
        "id": cfg.run_id,
        "status": "diverged" if outcome["diverged"] else "finished",
        "config": asdict(cfg),
        "resolved": dict(resolved),
        "environment": env,
        "outcome": outcome,
        "iterations_done": n_done if n_done is not None else (outcome.get("diverged_at") or cfg.iterations),
        "choices": counts,
        "final": final,
        "metric": "w1" if resolved["data_kind"] == "2d" else "fd",
        "max_param_norm_ratio": None if max_param_norm_ratio is None else _num(max_param_norm_ratio),
        "checkpoints": list(checkpoints),
        "history": list(history),
        "spectrum": list(spectrum),
        "trace": trace,
        **({"trace_note": trace_note} if trace is None and trace_note else {}),
        "wall_s": round(float(wall_s), 3),
    }


class _Bar:
    """A rich progress bar (rich is a declared dependency), or nothing."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self.p = None
        if enabled and total > 0:
            import sys

            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeRemainingColumn(), console=Console(file=sys.stderr), transient=True,
                              disable=not sys.stderr.isatty())
            self.p.start()
            self.task = self.p.add_task(desc[:60], total=total)

    def advance(self, n: int = 1) -> None:
        if self.p is not None:
            self.p.advance(self.task, n)

    def close(self) -> None:
        if self.p is not None:
            self.p.stop()
            self.p = None


def run_one(cfg: RunConfig, out_dir: Optional[Path] = None, *, progress: bool = False,
            cache: Optional[dict] = None) -> dict:
    """Train one configuration and return its record (see ``schema.json`` and :func:`make_record`).

    If ``out_dir`` is given the generated samples at each checkpoint are saved to
    ``out_dir/samples/<run_id>.npz`` (atomically).
    """
    from gpu_validation import metrics

    cache = cache if cache is not None else {}
    t0 = time.time()
    tr = Trainer(cfg)
    n_iter = cfg.iterations
    ck_steps = sorted({max(1, round(n_iter * (j + 1) / cfg.checkpoints)) for j in range(cfg.checkpoints)})
    evaluator = metrics.evaluator(tr.data, cfg, cache, out_dir)
    window = {"V1": 0, "V2": 0, "V3": 0}
    history, checkpoints, samples, states = [], [], {}, {}
    outcome = {"diverged": False, "diverged_at": None, "reason": None}
    max_norm = tr.x0_norm
    bar = _Bar(n_iter, cfg.run_id, progress)
    last_draws = None
    try:
        for i in range(n_iter):
            draws = tr.draw()
            try:
                c = tr.step(draws)
            except (RuntimeError, ValueError) as exc:  # numerical failure inside the step
                if isinstance(exc, BadInput):
                    raise
                outcome = {"diverged": True, "diverged_at": i, "reason": f"{type(exc).__name__}: {exc}"[:200]}
                break
            window[c.value] += 1
            last_draws = draws
            step = i + 1
            bar.advance()
            if step % cfg.log_every == 0 or step == n_iter or step in ck_steps:
                ok, reason, ng, nd = _finite_and_bounded(tr)
                if step % cfg.log_every == 0 or step == n_iter:
                    try:
                        lg, ld = tr.losses(draws)
                    except RuntimeError:
                        lg = ld = float("nan")
                    history.append({"step": step, "choices": dict(window), "loss_g": _num(lg), "loss_d": _num(ld),
                                    "param_norm_g": _num(ng), "param_norm_d": _num(nd),
                                    "grad_norm_g": _num(tr.last_grad["g"]), "grad_norm_d": _num(tr.last_grad["d"])})
                    window = {"V1": 0, "V2": 0, "V3": 0}
                    if ok and not (math.isfinite(lg) and math.isfinite(ld)):
                        ok, reason = False, "non-finite loss"
                if not ok:
                    outcome = {"diverged": True, "diverged_at": step, "reason": reason}
                    break
                max_norm = max(max_norm, math.hypot(ng, nd))
                if step in ck_steps:
                    gen = tr.generate(cfg.eval_n if step != n_iter else cfg.final_eval_n, seed=cfg.seed * 1000 + 7)
                    m = evaluator(gen)
                    checkpoints.append({"step": step, **m, "param_norm_g": ng, "param_norm_d": nd})
                    samples[step] = gen[: cfg.fig_n].numpy()
                    states[step] = tr.snapshot(draws, c)
    finally:
        bar.close()
    done = not outcome["diverged"] and checkpoints and checkpoints[-1]["step"] == n_iter
    spectrum = []
    if cfg.spectrum and done and last_draws is not None:
        spectrum.append(final_spectrum(tr, last_draws, cfg))
        if tr.method.is_dyn and states and window_in_run():
            spectrum.append(window_spectrum(cfg, states[max(states)], [int(str(getattr(c, "value", c))[-1])
                                                                       for c in tr.decisions],
                                            tr.data.kind, tuple(tr.data.shape)))
    if out_dir is not None:
        save_samples_states(out_dir, cfg, samples, states)
    dyn = tr.method.is_dyn
    return make_record(
        cfg, decisions=tr.decisions, history=history, checkpoints=checkpoints, outcome=outcome,
        divergences=tr.method.divergences if dyn else None, orders="".join(tr.method.orders) if dyn else None,
        resolved=resolved_info(tr.method.spec, tr.optimizer_name, tr.gan.bounded, tr.data.kind,
                               sum(v.numel() for v in tr.gp.values()), sum(v.numel() for v in tr.dp.values())),
        environment=environment_info(tr.device, trainer="sequential"),
        max_param_norm_ratio=max_norm / tr.x0_norm if tr.x0_norm > 0 else float("nan"),
        spectrum=spectrum, wall_s=time.time() - t0)


def save_samples_states(out_dir, cfg: RunConfig, samples: dict, states: dict) -> None:
    """Checkpoint samples to ``out_dir/samples/<id>.npz`` and snapshots to ``out_dir/states/<id>.pt``
    (atomically; nothing is written for an empty dict)."""
    import torch

    if samples:
        sd = Path(out_dir) / "samples"
        sd.mkdir(parents=True, exist_ok=True)
        with atomic_path(sd / f"{cfg.run_id}.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, steps=np.array(sorted(samples)), **{f"s{k}": v for k, v in samples.items()})
    if states:
        sd = Path(out_dir) / "states"
        sd.mkdir(parents=True, exist_ok=True)
        with atomic_path(sd / f"{cfg.run_id}.pt") as tmp:
            torch.save(states, tmp)


#: decisions in the switched-system window analysed at a Dyn-GDA run's final checkpoint, and
#: the eigenpairs asked for there (its spectral radius is what the prediction needs; each JVP
#: of the product costs SPECTRUM_WINDOW steps)
SPECTRUM_WINDOW = 10
WINDOW_K = 2


def window_in_run() -> bool:
    """Whether a run computes its switched-window entry itself (default) or leaves it to a later
    ``python -m gpu_validation analyze`` (environment ``GPU_VALIDATION_SKIP_WINDOW=1``; the
    window costs about 13 CPU-seconds per Dyn-GDA run at the paper profile on a CPU core). The record is
    the same either way once ``analyze`` has run; the setting is not part of the run's id."""
    return os.environ.get("GPU_VALIDATION_SKIP_WINDOW", "") != "1"


def window_spectrum(cfg: RunConfig, state: dict, codes, data_kind: str, data_shape: tuple) -> dict:
    """The switched-system entry of an oracle run: :func:`gpu_validation.spectrum.analyze_window`
    over its last :data:`SPECTRUM_WINDOW` recorded decisions. Failures are inconclusive."""
    from gpu_validation import gans, methods, models
    from gpu_validation import spectrum as spec_mod

    try:
        gan = gans.make_gan(cfg.gan)
        pair = models.build(cfg.model if cfg.model != "auto" else "mlp", data_shape, sn=gan.arch.get("sn", False),
                            width=cfg.width, latent=cfg.latent, seed=cfg.seed)
        step = int(state.get("step", len(codes)))
        window = [int(c) for c in list(codes)[max(0, step - SPECTRUM_WINDOW):step]]
        return spec_mod.analyze_window(gan, pair, methods.make_method(cfg.method, data_kind, bounded=gan.bounded),
                                       state, window, eta=cfg.lr, k=min(WINDOW_K, cfg.spectrum_k))
    except Exception as exc:  # noqa: BLE001 - inconclusive, never a result
        return {"step": int(state.get("step", cfg.iterations)), "kind": "window", "status": "inconclusive",
                "reason": f"{type(exc).__name__}: {exc}"[:300]}


def state_spectrum(cfg: RunConfig, state: dict, data_kind: str, data_shape: tuple) -> dict:
    """The spectrum entry of a checkpoint snapshot: the map that trained when the snapshot holds
    the optimizer's state (every snapshot of this harness does), via
    :func:`gpu_validation.spectrum.analyze_state`. Failures are ``inconclusive`` entries."""
    from gpu_validation import gans, methods, models
    from gpu_validation import spectrum as spec_mod

    try:
        gan = gans.make_gan(cfg.gan)
        pair = models.build(cfg.model if cfg.model != "auto" else "mlp", data_shape, sn=gan.arch.get("sn", False),
                            width=cfg.width, latent=cfg.latent, seed=cfg.seed)
        return spec_mod.analyze_state(gan, pair, methods.make_method(cfg.method, data_kind, bounded=gan.bounded),
                                      state, eta=cfg.lr, k=cfg.spectrum_k, perturb=cfg.perturb)
    except Exception as exc:  # noqa: BLE001 - inconclusive, never a result
        return {"step": int(state.get("step", cfg.iterations)), "status": "inconclusive",
                "reason": f"{type(exc).__name__}: {exc}"[:300]}


def final_spectrum(tr: Trainer, draws: dict, cfg: RunConfig) -> dict:
    """SEAM (spectrum): the spectrum entry stored with a run at its final checkpoint.

    Today: :func:`gpu_validation.spectrum.analyze_trainer` (top eigenvalues, old format).
    The rewritten spectrum exposes ``checkpoint_spectrum(trainer, draws, k, tol)``; wiring it
    in means replacing this body (and :func:`_finish`'s batched call). Failures are
    ``inconclusive`` entries, never results.
    """
    from gpu_validation import spectrum as spec_mod

    try:
        return spec_mod.analyze_trainer(tr, draws, k=cfg.spectrum_k, perturb=cfg.perturb)
    except Exception as exc:  # noqa: BLE001 - the run's result stands; the analysis is inconclusive
        return {"step": cfg.iterations, "status": "inconclusive", "reason": f"{type(exc).__name__}: {exc}"[:300]}


def _num(v: float) -> Optional[float]:
    v = float(v)
    return v if math.isfinite(v) else None


def write_record(out_dir: str | Path, rec: dict) -> Path:
    """Validate ``rec`` (when jsonschema is installed) and write it atomically to
    ``out_dir/records/<id>.json``; return the path."""
    from gpu_validation import schema

    schema.validate(rec)
    path = Path(out_dir) / "records" / f"{rec['id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, rec)
    return path


def record_path(out_dir: Path, cfg: RunConfig) -> Path:
    return Path(out_dir) / "records" / f"{cfg.run_id}.json"


def lock_path(out_dir: Path, cfg: RunConfig) -> Path:
    """``out_dir/records/<run id>.lock``: held (:func:`stabcheck.io.try_lock`) by the process
    that trains the run, from before training until its record is written."""
    return Path(out_dir) / "records" / f"{cfg.run_id}.lock"


def _batch_key(cfg: RunConfig, data_kind: str):
    """Configurations with equal keys go to one fused task: the fused trainer
    (:func:`gpu_validation.fused.train_fused`) takes data sets, GAN classes, methods and seeds
    in one program and sub-groups what it cannot stack (field transforms, DCGAN)."""
    d = asdict(cfg)
    for f in ("dataset", "gan", "method", "seed", "spectrum", "perturb", "spectrum_k"):
        d.pop(f)
    return (tuple(sorted((k, str(v)) for k, v in d.items())), data_kind)


@dataclass
class Task:
    """One unit of work for an executor: one run, or a group trained by the batched trainer.
    Picklable (plain dataclasses); the task function is :func:`run_task`."""

    cfgs: list
    out_dir: str
    batched: bool = False
    threads: int = 0


def run_task(task: Task) -> list[dict]:
    """Train a :class:`Task` and write each record atomically as soon as it exists; return the
    records it trained. The same function runs in this process (serial executor) and on Dask
    workers.

    Each run is trained under its lock (:func:`lock_path`): a configuration locked by another
    live process, or recorded by one meanwhile, is skipped here (:func:`run_many` picks it up
    when that process is done); the lock is released once the record is written, and on every
    exit path (an exception, SIGTERM; a SIGKILLed holder's lock is stale and taken over)."""
    from stabcheck.io import release_lock, try_lock

    out = Path(task.out_dir)
    (out / "records").mkdir(parents=True, exist_ok=True)
    held: list = []
    try:
        mine = []
        for cfg in task.cfgs:
            if not try_lock(lock_path(out, cfg)):
                continue  # another process trains it
            held.append(lock_path(out, cfg))
            if existing_record(out, cfg) is not None:  # finished by another process meanwhile
                release_lock(held.pop())
                continue
            mine.append(cfg)
        if not mine:
            return []
        return _train_task(Task(mine, task.out_dir, task.batched, task.threads), held)
    finally:
        for lock in held:
            release_lock(lock)


def _train_task(task: Task, held: list) -> list[dict]:
    """Train the configurations of ``task`` (their locks are held), write each record and
    release its lock (removing it from ``held``) as soon as the record is on disk."""
    import torch

    from stabcheck.io import release_lock

    def _written(cfg) -> None:
        lock = lock_path(out, cfg)
        if lock in held:
            held.remove(lock)
            release_lock(lock)

    if task.threads:
        torch.set_num_threads(task.threads)
    out = Path(task.out_dir)
    recs = []
    if task.batched:
        from gpu_validation import fused

        pieces = fused.train_fused(task.cfgs, device=task.cfgs[0].device, cache={}, out_dir=out, progress=False)
        for piece in pieces:
            cfg = piece["cfg"]
            save_samples_states(out, cfg, piece["samples"], piece["states"])
            spectrum = []
            if cfg.spectrum and piece["status"] == "finished" and piece["states"]:
                last = piece["states"][max(piece["states"])]
                res = piece["resolved"]
                shape = tuple(piece.get("data_shape") or (2,))
                spectrum = [state_spectrum(cfg, last, res["data_kind"], shape)]
                if "dyn-gda" in cfg.method and window_in_run():
                    spectrum.append(window_spectrum(cfg, last, piece["codes"], res["data_kind"], shape))
            rec = make_record(cfg, **fused.record_kwargs(piece), spectrum=spectrum)
            write_record(out, rec)
            _written(cfg)
            recs.append(rec)
    else:
        cache: dict = {}
        for cfg in task.cfgs:
            rec = run_one(cfg, out, progress=False, cache=cache)
            write_record(out, rec)
            _written(cfg)
            recs.append(rec)
    return recs


def existing_record(out_dir: Path, cfg: RunConfig, log: Optional[Callable] = None) -> Optional[dict]:
    """The finished record of ``cfg`` under ``out_dir``, or None if it must be trained.

    Raises BadInput when a readable record with the same id holds another configuration (it
    is never overwritten). An unreadable file (not JSON, or an older schema) is retrained."""
    path = record_path(out_dir, cfg)
    if not path.exists():
        return None
    try:
        rec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        if log:
            log(f"{path.name}: unreadable record, retraining it")
        return None
    if not isinstance(rec, dict) or rec.get("schema_version") != SCHEMA_VERSION or "config" not in rec:
        if log:
            log(f"{path.name}: record of another schema version, retraining it")
        return None
    if comparable(rec["config"]) != comparable(asdict(cfg)):
        a, b = comparable(rec["config"]), comparable(asdict(cfg))
        diff = ", ".join(f"{k} {a.get(k)!r} (recorded) vs {b.get(k)!r}" for k in sorted(set(a) | set(b))
                         if a.get(k) != b.get(k))
        raise BadInput(f"{path} holds run {cfg.run_id} with another configuration ({diff}); "
                       "it is never overwritten: use another --out")
    if rec.get("status") not in ("finished", "diverged"):
        return None
    return rec


def run_many(configs: list[RunConfig], out_dir: str | Path, *, progress: bool = True,
             log=print, batched: int = 0, executor=None, threads: int = 0,
             poll_s: float = 0.5) -> list[dict]:
    """Run each configuration not already recorded under ``out_dir``; each record is written
    atomically to ``out_dir/records/<run_id>.json`` as soon as its run ends (so an
    interrupted grid resumes where it stopped, losing only the runs in flight). Returns all
    records (old and new), in the order of ``configs``.

    Several processes may run grids on one folder at once: each run is trained under its lock
    (:func:`run_task`), so each configuration is trained once. A process skips what another
    trains, and at the end waits for those runs (checking every ``poll_s`` seconds) and takes
    over any whose holder died without a record, so none is left untrained. A run this process
    trains is logged as ``<id>: <status>, <metric>=..., choices ..., <wall> s``; one another
    process trained as ``<id>: recorded by another process``.

    ``executor``: a :class:`stabcheck.executors.Executor` (serial or Dask); None = serial in
    this process with a progress bar. Every executor runs the same :func:`run_task` on the
    same tasks, so the records are the same. On a Dask cluster the workers write records,
    samples and states under ``out_dir`` (a shared file system); the records also come back
    to this process, which writes any that are missing here.
    """
    from stabcheck.io import lock_holder, lock_is_stale

    out = Path(out_dir)
    (out / "records").mkdir(parents=True, exist_ok=True)
    ids = [c.run_id for c in configs]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise BadInput(f"the grid names run {dup[0]} more than once")
    done: dict = {}
    pending = []
    for cfg in configs:
        rec = existing_record(out, cfg, log)
        if rec is not None:
            done[cfg.run_id] = rec
        else:
            pending.append(cfg)

    def _tasks(cfgs: list) -> list[Task]:
        tasks: list[Task] = []
        if batched > 1 and cfgs:
            from gpu_validation import data as data_mod

            groups: dict = {}
            rest = []
            for cfg in cfgs:
                key = _batch_key(cfg, data_mod.load(cfg.dataset, cfg.data_root).kind)
                (groups.setdefault(key, []) if key is not None else rest).append(cfg)
            tasks += [Task(g[i:i + batched], str(out), True, threads) for g in groups.values()
                      for i in range(0, len(g), batched)]
            cfgs = rest
        return tasks + [Task([cfg], str(out), False, threads) for cfg in cfgs]

    def _note(recs: list[dict]) -> None:
        for rec in recs:
            path = out / "records" / f"{rec['id']}.json"
            if not path.exists() or json.loads(path.read_text()) != json.loads(json.dumps(rec)):
                write_record(out, rec)
            done[rec["id"]] = rec
            if log:
                f = rec["final"]
                log(f"{rec['id']}: {rec['status']}, {rec['metric']}={(f or {}).get(rec['metric'])}, "
                    f"choices {rec['choices']}, {rec['wall_s']} s")

    def _run(tasks: list[Task]) -> None:
        if executor is None or getattr(executor, "kind", "serial") == "serial":
            bar = _Bar(sum(len(t.cfgs) for t in tasks), "runs", progress and len(tasks) > 1)
            try:
                for t in tasks:
                    _note(run_task(t))
                    bar.advance(len(t.cfgs))
            finally:
                bar.close()
        elif tasks:
            for recs in executor.map(run_task, tasks):
                _note(recs)

    waiting_logged: set = set()
    wait = poll_s
    while pending:
        n_before = len(done)
        _run(_tasks(pending))
        left = []
        for cfg in pending:
            if cfg.run_id in done:
                continue
            rec = existing_record(out, cfg, log)
            if rec is not None:
                done[cfg.run_id] = rec
                if log:
                    log(f"{cfg.run_id}: recorded by another process")
            else:
                left.append(cfg)
        pending = left
        if not pending or len(done) > n_before:
            wait = poll_s
            continue
        # everything left is locked by other live processes: wait for them
        for cfg in pending:
            lock = lock_path(out, cfg)
            if log and cfg.run_id not in waiting_logged and not lock_is_stale(lock):
                h = lock_holder(lock) or {}
                log(f"{cfg.run_id}: waiting for pid {h.get('pid')} on {h.get('host')} to train it "
                    f"(remove {lock} if that process is gone)")
                waiting_logged.add(cfg.run_id)
        time.sleep(wait)
        wait = min(5.0, wait * 1.5)
    return [done[i] for i in ids if i in done]


def expand(datasets: list[str], gans: list[str], methods: list[str], seeds: list[int],
           profile: str, **kw: Any) -> list[RunConfig]:
    """The cross product of data sets x GAN classes x methods x seeds."""
    return [config_from_profile(profile, dataset=d, gan=g, method=m, seed=s, **kw)
            for d in datasets for g in gans for s in seeds for m in methods]


__all__ = ["RunConfig", "PROFILES", "Trainer", "run_one", "run_many", "run_task", "Task", "expand",
           "config_from_profile", "resolve_device", "make_record", "write_record", "environment_info",
           "resolved_info", "encode_decisions", "encode_floats", "decode_floats", "run_id", "device_kind",
           "comparable", "existing_record", "final_spectrum", "lock_path", "SCHEMA_VERSION"]
