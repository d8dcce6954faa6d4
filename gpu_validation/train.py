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
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.io import atomic_path, write_json_atomic

SCHEMA_VERSION = 1

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
    def run_id(self) -> str:
        raw = f"{self.dataset}__{self.gan}__{self.method}__s{self.seed}"
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in raw)


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
        self.method = methods.make_method(cfg.method, self.data.kind)
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
                "choice": choice.value, "step": self.step_i}

    def generate(self, n: int, seed: int) -> Any:
        import torch

        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.pair.latent, generator=g).to(self.device)
        with torch.no_grad():
            return self.pair.gen_forward(self.gp, z).cpu()


def _finite_and_bounded(tr: Trainer) -> tuple[bool, str | None, float, float]:
    from gpu_validation.models import norm

    ng, nd = norm(tr.gp), norm(tr.dp)
    if not (math.isfinite(ng) and math.isfinite(nd)):
        return False, "non-finite parameters", ng, nd
    if max(ng, nd) > 1e6:
        return False, "parameter norm above 1e6", ng, nd
    return True, None, ng, nd


def run_one(cfg: RunConfig, out_dir: Optional[Path] = None, *, progress: bool = False,
            cache: Optional[dict] = None) -> dict:
    """Train one configuration and return its record (see ``schema.json``).

    If ``out_dir`` is given the generated samples at each checkpoint are saved to
    ``out_dir/samples/<run_id>.npz`` (atomically).
    """
    import torch

    from gpu_validation import metrics

    cache = cache if cache is not None else {}
    t0 = time.time()
    tr = Trainer(cfg)
    n_iter = cfg.iterations
    ck_steps = sorted({max(1, round(n_iter * (j + 1) / cfg.checkpoints)) for j in range(cfg.checkpoints)})
    evaluator = metrics.evaluator(tr.data, cfg, cache, out_dir)
    counts = {"V1": 0, "V2": 0, "V3": 0}
    window = {"V1": 0, "V2": 0, "V3": 0}
    history, checkpoints, samples, states = [], [], {}, {}
    outcome = {"diverged": False, "diverged_at": None, "reason": None}
    max_norm = tr.x0_norm
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_iter, desc=cfg.run_id[:60], leave=False, mininterval=1.0)
    last_draws = None
    for i in range(n_iter):
        draws = tr.draw()
        try:
            c = tr.step(draws)
        except (RuntimeError, ValueError) as exc:  # numerical failure inside the step
            if isinstance(exc, BadInput):
                raise
            outcome = {"diverged": True, "diverged_at": i, "reason": f"{type(exc).__name__}: {exc}"[:200]}
            break
        counts[c.value] += 1
        window[c.value] += 1
        last_draws = draws
        step = i + 1
        if bar is not None:
            bar.update(1)
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
    if bar is not None:
        bar.close()
    final = dict(checkpoints[-1]) if checkpoints and not outcome["diverged"] and checkpoints[-1]["step"] == n_iter else None
    spectrum = []
    if cfg.spectrum and final is not None and last_draws is not None:
        from gpu_validation import spectrum as spec_mod

        try:
            spectrum.append(spec_mod.analyze_trainer(tr, last_draws, k=cfg.spectrum_k, perturb=cfg.perturb))
        except Exception as exc:  # noqa: BLE001 - the run's result stands; the analysis is inconclusive
            spectrum.append({"step": n_iter, "status": "inconclusive", "reason": f"{type(exc).__name__}: {exc}"[:300]})
    if out_dir is not None and samples:
        sd = Path(out_dir) / "samples"
        sd.mkdir(parents=True, exist_ok=True)
        with atomic_path(sd / f"{cfg.run_id}.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, steps=np.array(sorted(samples)),
                                    **{f"s{k}": v for k, v in samples.items()})
    if out_dir is not None and states:
        sd = Path(out_dir) / "states"
        sd.mkdir(parents=True, exist_ok=True)
        with atomic_path(sd / f"{cfg.run_id}.pt") as tmp:
            torch.save(states, tmp)
    return {
        "schema_version": SCHEMA_VERSION,
        "id": cfg.run_id,
        "status": "diverged" if outcome["diverged"] else "finished",
        "config": asdict(cfg),
        "resolved": {"method": tr.method.spec, "optimizer": tr.optimizer_name, "bounded": tr.gan.bounded,
                     "data_kind": tr.data.kind, "n_params_g": int(sum(v.numel() for v in tr.gp.values())),
                     "n_params_d": int(sum(v.numel() for v in tr.dp.values())),
                     "convention": "theta=generator minimizes L_G; psi=discriminator maximizes L_D; "
                                   "raw discriminator output scores real data high (thesis)"},
        "environment": {"device": str(tr.device), "torch": torch.__version__, "threads": torch.get_num_threads(),
                        "python": platform.python_version(), "machine": platform.machine(),
                        "cpu_count": __import__("os").cpu_count()},
        "outcome": outcome,
        "iterations_done": tr.step_i,
        "choices": counts,
        "final": final,
        "metric": "w1" if tr.data.kind == "2d" else "fd",
        "max_param_norm_ratio": _num(max_norm / tr.x0_norm if tr.x0_norm > 0 else float("nan")),
        "checkpoints": checkpoints,
        "history": history,
        "spectrum": spectrum,
        "wall_s": round(time.time() - t0, 3),
    }


def _num(v: float) -> Optional[float]:
    v = float(v)
    return v if math.isfinite(v) else None


def _finish(cfg: RunConfig, rec: dict, out: Path, schema, records: list, log, spectrum: bool = True) -> None:
    """Spectrum of a batched run's final state (if asked), validate, write atomically."""
    if spectrum and cfg.spectrum and rec["final"] is not None:
        import torch

        from gpu_validation import gans, methods, models
        from gpu_validation import spectrum as spec_mod

        sp = out / "states" / f"{cfg.run_id}.pt"
        states = torch.load(sp, weights_only=False)
        gan = gans.make_gan(cfg.gan)
        pair = models.build(cfg.model if cfg.model != "auto" else "mlp",
                            (2,) if rec["resolved"]["data_kind"] == "2d" else
                            __import__("gpu_validation.data", fromlist=["load"]).load(cfg.dataset, cfg.data_root).shape,
                            sn=gan.arch.get("sn", False), width=cfg.width, latent=cfg.latent, seed=cfg.seed)
        try:
            rec["spectrum"] = [spec_mod.analyze_state(gan, pair, methods.make_method(cfg.method, rec["resolved"]["data_kind"]),
                                                      states[max(states)], eta=cfg.lr, k=cfg.spectrum_k,
                                                      perturb=cfg.perturb)]
        except Exception as exc:  # noqa: BLE001 - inconclusive, never a result
            rec["spectrum"] = [{"step": int(max(states)), "status": "inconclusive",
                                "reason": f"{type(exc).__name__}: {exc}"[:300]}]
    schema.validate(rec)
    write_json_atomic(record_path(out, cfg), rec)
    records.append(rec)
    if log:
        f = rec["final"]
        log(f"{cfg.run_id}: {rec['status']}, {rec['metric']}={(f or {}).get(rec['metric'])}, "
            f"choices {rec['choices']}, {rec['wall_s']} s")


def record_path(out_dir: Path, cfg: RunConfig) -> Path:
    return Path(out_dir) / "records" / f"{cfg.run_id}.json"


def _batch_key(cfg: RunConfig, data_kind: str):
    from gpu_validation import gans, methods

    if gans.make_gan(cfg.gan).arch.get("sn"):
        return None
    tr = tuple(t.name for t in methods.make_method(cfg.method, data_kind).transforms)
    d = asdict(cfg)
    for f in ("method", "seed", "spectrum", "perturb", "spectrum_k"):
        d.pop(f)
    return (tuple(sorted((k, str(v)) for k, v in d.items())), tr)


def run_many(configs: list[RunConfig], out_dir: str | Path, *, progress: bool = True,
             log=print, batched: int = 0) -> list[dict]:
    """Run each configuration not already finished under ``out_dir``; write each record
    atomically to ``out_dir/records/<run_id>.json`` as soon as it is done (so an interrupted
    sweep resumes where it stopped). Returns all records (old and new)."""
    from gpu_validation import schema

    out = Path(out_dir)
    (out / "records").mkdir(parents=True, exist_ok=True)
    cache: dict = {}
    records: list = []
    pending = []
    for cfg in configs:
        path = record_path(out, cfg)
        if path.exists():
            try:
                rec = json.loads(path.read_text())
                if rec.get("status") in ("finished", "diverged") and rec.get("config") == asdict(cfg):
                    records.append(rec)
                    continue
            except (OSError, json.JSONDecodeError):
                pass
        pending.append(cfg)
    if batched > 1 and pending:
        from gpu_validation import batched as bmod
        from gpu_validation import data as data_mod

        groups: dict = {}
        rest = []
        for cfg in pending:
            key = _batch_key(cfg, data_mod.load(cfg.dataset, cfg.data_root).kind)
            (groups.setdefault(key, []) if key is not None else rest).append(cfg)
        chunks = [g[i:i + batched] for g in groups.values() for i in range(0, len(g), batched)]
        cbar = chunks
        if progress:
            from tqdm import tqdm

            cbar = tqdm(chunks, desc="batched groups", mininterval=1.0)
        for chunk in cbar:
            for cfg, rec in zip(chunk, bmod.run_batched(chunk, out, cache=cache, progress=progress)):
                _finish(cfg, rec, out, schema, records, log if not progress else None)
        pending = rest
    it = pending
    bar = None
    if progress and len(pending) > 1:
        from tqdm import tqdm

        bar = tqdm(pending, desc="runs", mininterval=1.0)
        it = bar
    for cfg in it:
        rec = run_one(cfg, out, progress=progress, cache=cache)
        _finish(cfg, rec, out, schema, records, log if bar is None else None, spectrum=False)
    return records


def expand(datasets: list[str], gans: list[str], methods: list[str], seeds: list[int],
           profile: str, **kw: Any) -> list[RunConfig]:
    """The cross product of data sets x GAN classes x methods x seeds."""
    return [config_from_profile(profile, dataset=d, gan=g, method=m, seed=s, **kw)
            for d in datasets for g in gans for s in seeds for m in methods]


__all__ = ["RunConfig", "PROFILES", "Trainer", "run_one", "run_many", "expand", "config_from_profile",
           "resolve_device", "SCHEMA_VERSION"]
