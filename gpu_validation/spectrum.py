"""Matrix-free spectra of the update map at a checkpoint: a caller of :mod:`stabcheck.nn`.

The map, its Jacobian-vector products and the eigen-solver are stabcheck's own
(:func:`stabcheck.nn.update_map_spectrum`: ``F(z) = rule.step(z, fns, eta)`` with the
package's rules and optimizers, ARPACK ``which="LM"`` on ``dF`` itself, residual checks).
This module only says *which* map a run's checkpoint has, for the checkpoint's batch held
fixed (``x = (theta, psi)`` float64 on the CPU):

* **rule**: Sim-GDA (and anything whose oracle is :class:`~stabcheck.oracles.SimOracle`, e.g.
  JARE) is ``sim``; Alt-GDA(n_d, n_g, first) is ``alt`` (one application = one *period* of
  ``n_d + n_g`` gradient steps; the per-step rate is ``rho ** (1 / (n_d + n_g))``); Dynamic-GDA
  and user oracles take one step of the choice the oracle made at the checkpoint
  (:class:`OneField`).
* **field**: the method's field, transforms (JARE) included (``method.field``).
* **optimizer**: for a live :class:`~gpu_validation.train.Trainer`
  (:func:`checkpoint_spectrum`, :func:`analyze_trainer`) the run's own ``opt_g`` / ``opt_d``
  (Adam for bounded, RMSProp for unbounded discriminators): the map *that trained*, with the
  run's state (frozen second moment, first moment ``m = -exp_avg`` or heavy-ball momentum, the
  run's per-player learning rates; see :mod:`stabcheck.nn`). The Jacobian is then w.r.t. the
  state ``(x, m)`` when the optimizer has a slot. For a saved snapshot
  (:func:`analyze_state`, :func:`analyze_runs`) the optimizer state is used when the snapshot
  carries it (key ``"optim"``: ``{"kind", "g": opt_g.state_dict(), "d": opt_d.state_dict()}``);
  otherwise the map is the *plain gradient map* with ``eta`` = the run's learning rate, and
  the entry says so (``"optimizer": {"kind": "sgd", ...}``, ``"analysed"``).

Entries keep the record format of ``schema.json`` (``status`` ok / partial / inconclusive,
``mu = (lambda - 1) / eta`` sorted by real part, ``map_eigenvalues``, ``spectral_radius`` = the
largest converged ``|lambda|``) and add stabcheck.nn's ``outcome``, ``tol``, ``optimizer`` and
the whole result under ``"nn"``.

The perturbation test iterates ``F`` from ``z`` and from ``z + eps * delta`` (``delta`` the
real part of the leading eigenvector, normalised) for ``K`` steps and compares the measured
growth ``||F^K(z + eps delta) - F^K(z)|| / eps`` with the linear prediction
``||Re(lambda^K v)|| / ||Re v||``; it also records the one-step growth and the growth under
the Jacobians along the base trajectory, which say why a test disagrees.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch

from stabcheck.errors import BadInput
from stabcheck.oracles import AltOracle, Choice, SimOracle
from stabcheck.rules import Alt, Sim, UpdateRule

DEFAULT_TOL = 1e-6

#: how window entries are computed; :func:`analyze_runs` recomputes entries of another method
#: (records before 2026-12-02 hold the Jacobian of the W-step composite along its trajectory)
WINDOW_METHOD = "product of one-step maps at the snapshot/1"


class OneField(UpdateRule):
    """One gradient step along ``V1``, ``V2`` or ``V3`` through the optimizer: the map of an
    oracle whose choice at the checkpoint was that field (Dynamic-GDA, user oracles)."""

    name = "choice"

    def __init__(self, field: str = "V3", **opt):
        if field not in ("V1", "V2", "V3"):
            raise BadInput(f"choice: field must be V1, V2 or V3, got {field!r}")
        self.field, self.code = field, int(field[1])
        super().__init__(**opt)

    @property
    def params(self):
        return {"field": self.field}

    def step(self, z, f, eta):
        x, mem, s = self.split(z, f.dim)
        x, s = self.move(x, s, f.by_code(self.code)(x), eta, f, f.mask_of(self.code))
        return self.join(f, x, mem, s)


def map_kind(method, choice: str) -> tuple[str, list[str]]:
    """The map's label and its sequence of fields for a method (see the module docstring)."""
    o = method.oracle
    if isinstance(o, SimOracle):
        return "V3", ["V3"]
    if isinstance(o, AltOracle):
        seq = (["V2"] * o.n_d + ["V1"] * o.n_g) if o.first == "discriminator" else (["V1"] * o.n_g + ["V2"] * o.n_d)
        return f"period {'+'.join(f'{n}x{c}' for n, c in ((o.n_d, 'V2'), (o.n_g, 'V1')))}", seq
    return f"{choice} (oracle's choice at the checkpoint)", [choice]


def rule_for(method, choice: str) -> UpdateRule:
    """The update rule of a method's map (no optimizer yet)."""
    o = method.oracle
    if isinstance(o, SimOracle):
        return Sim()
    if isinstance(o, AltOracle):
        return Alt(n_d=o.n_d, n_g=o.n_g, first=o.first)
    return OneField(choice.value if isinstance(choice, Choice) else str(choice))


def _to64(d: dict, device="cpu") -> dict:
    return {k: (v.detach().to(device, torch.float64) if v.is_floating_point() else v.detach().to(device))
            for k, v in d.items()}


def _optimizers_from_snapshot(state: dict, gp: dict, dp: dict):
    """Rebuild ``(opt_g, opt_d)`` over ``gp`` / ``dp`` from a snapshot's ``"optim"`` entry (or None)."""
    o = state.get("optim")
    if not o:
        return None
    cls = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}.get(o.get("kind"))
    if cls is None:
        raise BadInput(f"snapshot optimizer kind {o.get('kind')!r} is not adam, rmsprop or sgd")
    og, od = cls(list(gp.values()), lr=1.0), cls(list(dp.values()), lr=1.0)
    og.load_state_dict(o["g"])
    od.load_state_dict(o["d"])
    return og, od


def _map_args(gan, pair, method, gp: dict, dp: dict, db: dict, draws: dict, rule: UpdateRule, *,
              optimizers=None, eta: Optional[float] = None, device: Any = "cpu") -> dict:
    """The keyword arguments of :func:`stabcheck.nn.prepare_map` / ``update_map_spectrum`` for
    the method's field at a point (float64, the batch ``db`` / ``draws`` held fixed): the
    ``rule``, through the torch ``optimizers`` when given (their learning rate is the step),
    else plain steps of size ``eta``."""
    db64, draws64 = _to64(db, device), _to64(draws, device)
    vg, vd = method.field(gan, pair, db64, draws64)
    args = dict(rule=rule, params=(gp, dp), buffers=(None, db64), field_fns=(vg, vd), device=device)
    if optimizers is not None:
        args["optimizer"] = tuple(optimizers)
    if optimizers is None or eta is not None:
        args["eta"] = eta
    return args


def _spectrum(gan, pair, method, gp: dict, dp: dict, db: dict, draws: dict, choice, *, optimizers=None,
              eta: Optional[float] = None, k: int = 6, tol: float = DEFAULT_TOL, field_k: int = 2,
              device: Any = "cpu", keep_vectors: bool = False, **kw):
    """``(result, prepared map, label)`` through :func:`stabcheck.nn.update_map_spectrum`."""
    from stabcheck import nn as snn

    args = _map_args(gan, pair, method, gp, dp, db, draws, rule_for(method, choice), optimizers=optimizers,
                     eta=eta, device=device)
    pm = snn.prepare_map(pair.gen, pair.disc, **args)
    res = snn.update_map_spectrum(pair.gen, pair.disc, k=k, tol=tol, field_k=field_k, keep_vectors=keep_vectors,
                                  **args, **kw)
    label, _ = map_kind(method, choice.value if isinstance(choice, Choice) else str(choice))
    return res, pm, label


def _analysed(res, source: str) -> str:
    o = res.optimizer
    return (f"the update map {res.rule!r} with optimizer {o['kind']} ({source}); eta = {res.eta:g}, "
            f"ratio = {o['ratio']:g}; Jacobian w.r.t. the state of {res.state_dim} components "
            f"(x{' and the optimizer slot' if res.state_dim > res.dim else ''}); batch held fixed")


def checkpoint_spectrum(trainer, draws: dict, *, k: int = 6, tol: float = DEFAULT_TOL, field_k: int = 2,
                        device: Any = "cpu", **kw) -> dict:
    """The :mod:`stabcheck.nn` result (``UpdateMapSpectrum.to_dict()``) of a live
    :class:`~gpu_validation.train.Trainer` at its current point: the map that trained (the
    method's rule and field, the run's ``opt_g`` / ``opt_d`` with their state), for the batch
    ``draws`` held fixed. Adds ``step``, ``map`` (label) and ``analysed`` (one sentence).
    ``kw`` goes to :func:`stabcheck.nn.update_map_spectrum` (``residual_tol``, ``ncv``, ...)."""
    res, _, label = _spectrum(trainer.gan, trainer.pair, trainer.method, trainer.gp, trainer.dp, trainer.db,
                              draws, _last_choice(trainer), optimizers=(trainer.opt_g, trainer.opt_d),
                              k=k, tol=tol, field_k=field_k, device=device, **kw)
    out = res.to_dict()
    out.update({"step": int(trainer.step_i), "map": label,
                "analysed": _analysed(res, f"the run's torch.optim state at step {trainer.step_i}")})
    return out


def _entry(res, pm, label: str, step: int, analysed: str, perturb: bool, t0: float) -> dict:
    """A record entry (schema.json's spectrum format) from a stabcheck.nn result."""
    conv = res.converged
    lam = res.eigenvalues[conv]
    out = {"step": int(step), "map": label, "eta": res.eta, "n_params": int(res.dim), "state_dim": int(res.state_dim),
           "period": int(pm.rule.gradient_evaluations()), "optimizer": res.optimizer, "analysed": analysed,
           "tol": res.tol, "k": res.k, "n_converged": res.n_converged, "outcome": res.outcome,
           "matvecs": int(res.matvecs)}
    if lam.size == 0:
        out.update({"status": "inconclusive", "reason": f"no eigenpair converged ({res.arpack_status})"})
    else:
        mu = (lam - 1) / res.eta
        order = np.lexsort((-mu.imag, -mu.real))
        full = res.arpack_status.startswith("converged") and res.n_converged >= res.k
        out.update({"status": "ok" if full else "partial",
                    "mu": [[float(mu[i].real), float(mu[i].imag)] for i in order],
                    "map_eigenvalues": [[float(lam[i].real), float(lam[i].imag)] for i in order],
                    "spectral_radius": res.spectral_radius})
        out["perturbation"] = None
        if perturb and res.vectors is not None:
            idx = np.flatnonzero(conv)
            i = int(idx[np.argmax(np.abs(res.eigenvalues[idx]))])
            out["perturbation"] = perturbation_test(pm.step, pm.z, complex(res.eigenvalues[i]), res.vectors[:, i])
    d = res.to_dict()
    d.pop("schema", None)
    out["nn"] = d
    out["seconds"] = round(time.time() - t0, 3)
    return out


def analyze_trainer(tr, draws: dict, *, k: int = 6, perturb: bool = False, eta: Optional[float] = None,
                    tol: float = DEFAULT_TOL) -> dict:
    """Spectrum entry (record format) of a live :class:`~gpu_validation.train.Trainer` at its
    current point: the map that trained, with the run's optimizer state (module docstring).
    ``eta`` defaults to the generator optimizer's learning rate (must agree when given)."""
    t0 = time.time()
    res, pm, label = _spectrum(tr.gan, tr.pair, tr.method, tr.gp, tr.dp, tr.db, draws, _last_choice(tr),
                               optimizers=(tr.opt_g, tr.opt_d), eta=eta, k=k, tol=tol, keep_vectors=perturb,
                               **_budget(tr.gp, tr.dp))
    return _entry(res, pm, label, tr.step_i, _analysed(res, f"the run's torch.optim state at step {tr.step_i}"),
                  perturb, t0)


def _budget(gp: dict, dp: dict) -> dict:
    n = sum(v.numel() for v in gp.values()) + sum(v.numel() for v in dp.values())
    # image models: a looser residual tolerance and a smaller JVP budget
    return {"max_matvecs": 600, "residual_tol": 1e-5} if n > 20000 else {"max_matvecs": 4000}


def analyze_state(gan, pair, method, state: dict, *, eta: float, k: int = 6, perturb: bool = False,
                  tol: float = DEFAULT_TOL) -> dict:
    """Spectrum entry of a snapshot (:meth:`gpu_validation.train.Trainer.snapshot`): the run's
    optimizer when the snapshot holds its state (``"optim"``), else the plain gradient map
    with step ``eta`` (stated in ``analysed``)."""
    t0 = time.time()
    gp, dp = _to64(state["gp"]), _to64(state["dp"])
    opts = _optimizers_from_snapshot(state, gp, dp)
    choice = state.get("choice", "V3")
    res, pm, label = _spectrum(gan, pair, method, gp, dp, state["db"], state["draws"], choice, optimizers=opts,
                               eta=None if opts is not None else eta, k=k, tol=tol, keep_vectors=perturb,
                               **_budget(gp, dp))
    src = ("the snapshot's torch.optim state" if opts is not None else
           "plain gradient map: the snapshot holds no optimizer state, so not the optimizer that trained")
    return _entry(res, pm, label, state["step"], _analysed(res, src), perturb, t0)


def analyze_window(gan, pair, method, state: dict, codes, *, eta: float, k: int = 6,
                   tol: float = DEFAULT_TOL) -> dict:
    """The switched system over a window: the product ``A_{c_W} ... A_{c_1}`` of the one-step
    maps a run actually chose (``codes``: its last recorded decisions, 1 = V1, 2 = V2, 3 = V3),
    each linearized at the snapshot's point through the snapshot's optimizer, with the
    snapshot's batch held fixed (a simplification: in training every step saw a new batch).
    That is the theory's switched linear system ``u_{t+1} = A_{sigma(t)} u_t`` near the point
    (:func:`stabcheck.nn.product_map_spectrum`; one graph per distinct choice, so a window costs
    ``W`` backward passes per product). Its spectral radius ``rho_W`` is the growth rate of the
    window repeated; ``growth_per_step = rho_W ** (1 / W)`` is comparable with a one-step map's
    radius. The outcome is decided on ``rho_W`` with the tolerance ``tol``
    (``|lambda| > 1 + tol``), as for one step."""
    from stabcheck import nn as snn

    t0 = time.time()
    codes = [int(c) for c in codes]
    if not codes or any(c not in (1, 2, 3) for c in codes):
        raise BadInput("window: codes must be a non-empty sequence of 1, 2, 3 (V1, V2, V3)")
    gp, dp = _to64(state["gp"]), _to64(state["dp"])
    opts = _optimizers_from_snapshot(state, gp, dp)
    pms = {c: snn.prepare_map(pair.gen, pair.disc, **_map_args(
               gan, pair, method, gp, dp, state["db"], state["draws"], OneField(f"V{c}"), optimizers=opts,
               eta=None if opts is not None else eta)) for c in sorted(set(codes))}
    W = len(codes)
    res = snn.product_map_spectrum([pms[c] for c in codes], k=k, tol=tol, label=f"product of {W} one-step maps "
                                   f"({''.join(str(c) for c in codes)}, first applied first)",
                                   **_budget(gp, dp))
    src = ("the snapshot's torch.optim state" if opts is not None else "plain gradient steps (no optimizer state)")
    pm = pms[codes[0]]
    out = _entry(res, pm, f"window of the last {W} decisions", state["step"],
                 _analysed(res, src) + f"; the product of the {W} one-step maps the oracle chose, each linearized "
                 "at the snapshot (the switched linear system)", False, t0)
    out["period"] = W
    out["kind"] = "window"
    out["window_method"] = WINDOW_METHOD
    out["window"] = W
    out["decisions"] = "".join(str(c) for c in codes)
    if out.get("spectral_radius") is not None:
        out["growth_per_step"] = float(out["spectral_radius"]) ** (1.0 / W)
    return out


def perturbation_test(F: Callable, x: torch.Tensor, lam: complex, vec: np.ndarray, *,
                      eps: float = 1e-6, K: int = 20) -> dict:
    """Grow a perturbation along ``Re(vec)`` for ``K`` steps of ``F``; compare with the
    linear prediction ``||Re(lam^K vec)|| / ||Re vec||`` (see the module docstring).

    Also measured, to say *why* a test disagrees: ``one_step_growth`` (the same after one step,
    where the linearization at ``x`` is exact up to ``O(eps)``), and ``trajectory_growth``, the
    tangent ``delta`` carried by the Jacobians ``dF(x_k)`` at the base trajectory's own points
    ``x_0 = x, x_{k+1} = F(x_k)`` (:func:`torch.func.jvp` along the base run, which also steps it).
    ``measured`` close to ``trajectory`` but far from ``predicted`` means the perturbation is
    still linear and the Jacobian changed along the trajectory (the point is not a fixed point);
    ``measured`` far from ``trajectory`` means ``eps`` is too large for the map's nonlinearity.

    The horizon is short (default 20 steps) on purpose: the networks are piecewise linear
    (LeakyReLU), and over longer horizons the base and the perturbed trajectories cross
    activation kinks at different steps, after which the linearization at the checkpoint no
    longer describes the difference (seen in practice from about 50 steps at lr 1e-3)."""
    v = np.asarray(vec, dtype=complex)
    if np.linalg.norm(v.real) <= 1e-3 * np.linalg.norm(v):
        v = -1j * v  # Re(-i v) = Im(v): use the imaginary part instead
    d = v.real
    dn = np.linalg.norm(d)
    rho = abs(lam)
    delta = torch.from_numpy(d / dn).to(x)
    xa, xb = x.clone(), x + eps * delta
    u = delta.clone()
    one = None
    for k in range(K):
        xa, u = torch.func.jvp(F, (xa,), (u,))  # the base step and the tangent dF(x_k) u in one pass
        xa, u = xa.detach(), u.detach()
        with torch.no_grad():
            xb = F(xb)
        if k == 0:
            one = float(torch.linalg.norm(xb - xa)) / eps
    measured = float(torch.linalg.norm(xb - xa)) / eps
    trajectory = float(torch.linalg.norm(u))
    predicted = float(np.linalg.norm((lam ** K * v).real) / np.linalg.norm(v.real))
    one_pred = float(np.linalg.norm((lam * v).real) / np.linalg.norm(v.real))

    def logerr(a, b):
        return abs(math.log(max(a, 1e-300)) - math.log(max(b, 1e-300)))

    lm, lp = math.log(max(measured, 1e-300)), math.log(max(predicted, 1e-300))
    agrees = abs(lm - lp) <= 0.2 * abs(lp) + 1e-5
    return {"K": K, "eps": eps, "lambda": [lam.real, lam.imag], "rho": rho,
            "predicted_growth": predicted, "measured_growth": measured,
            "predicted_rate": predicted ** (1 / K), "measured_rate": measured ** (1 / K),
            "agrees": bool(agrees), "criterion": "|log measured - log predicted| <= 0.2 |log predicted| + 1e-5",
            "one_step_growth": one, "one_step_predicted": one_pred, "one_step_log_error": logerr(one, one_pred),
            "trajectory_growth": trajectory, "trajectory_log_error": logerr(measured, trajectory)}


def _last_choice(tr):
    o = tr.method.oracle
    return getattr(o, "last_choice", None) or Choice.V3


def analyze_runs(runs_dir: str | Path, *, k: int = 6, perturb: bool = False, steps: str = "final",
                 only: Optional[str] = None, log: Any = None) -> int:
    """Add spectra of the saved checkpoints (``states/<id>.pt``) to each record in a runs
    directory (records rewritten atomically). Already analysed checkpoints are skipped. A run
    with a recorded decision trace (an oracle run such as Dyn-GDA) also gets its switched-system
    entry (``kind="window"``, :func:`gpu_validation.train.window_spectrum`) at the final snapshot
    when it lacks one, e.g. records written before those entries existed, or holds one of an
    older ``window_method`` (:data:`WINDOW_METHOD`), which is replaced."""
    import json

    from gpu_validation import gans, methods, models, schema
    from gpu_validation.train import RunConfig
    from stabcheck.io import write_json_atomic

    root = Path(runs_dir)
    n = 0
    for rp in sorted(q for q in (root / "records").glob("*.json") if not q.name.startswith(".")):  # not temporaries
        rec = json.loads(rp.read_text())
        if only and only not in rec["id"]:
            continue
        sp = root / "states" / f"{rec['id']}.pt"
        if not sp.exists():
            continue
        states = torch.load(sp, weights_only=False)
        cfg = RunConfig(**rec["config"])
        gan = gans.make_gan(cfg.gan)
        method = methods.make_method(cfg.method, rec["resolved"]["data_kind"])
        want = sorted(states) if steps == "all" else [max(states)]
        done = {(s["step"]) for s in rec.get("spectrum", []) if s.get("status") != "inconclusive"
                and s.get("kind") != "window"
                and (not perturb or s.get("perturbation"))}
        changed = False
        for st in want:
            if int(states[st]["step"]) in done:
                continue
            shape = (2,) if rec["resolved"]["data_kind"] == "2d" else None
            if shape is None:
                from gpu_validation.data import load

                shape = load(cfg.dataset, cfg.data_root).shape
            pair = models.build(cfg.model if cfg.model != "auto" else "mlp", shape, sn=gan.arch.get("sn", False),
                                width=cfg.width, latent=cfg.latent, seed=cfg.seed)
            try:
                res = analyze_state(gan, pair, method, states[st], eta=cfg.lr, k=k, perturb=perturb)
            except Exception as exc:  # noqa: BLE001 - recorded as inconclusive, never as a result
                res = {"step": int(states[st]["step"]), "status": "inconclusive",
                       "reason": f"{type(exc).__name__}: {exc}"[:300]}
            rec["spectrum"] = [s for s in rec.get("spectrum", [])  # a window entry at this step stays
                               if s["step"] != res["step"] or s.get("kind") == "window"] + [res]
            changed = True
            n += 1
            if log:
                log(f"{rec['id']} step {res['step']}: {res['status']} rho={res.get('spectral_radius')} "
                    f"({res.get('matvecs')} matvecs, {res.get('seconds')} s)")
        # an oracle run (a recorded decision trace) is also judged on its switched system: the
        # product of the maps it chose over its last decisions before the final snapshot
        final = max(states)
        dec = (rec.get("trace") or {}).get("decisions")
        has_window = any(s.get("kind") == "window" and s.get("step") == int(states[final]["step"])
                         and s.get("status") != "inconclusive" and s.get("window_method") == WINDOW_METHOD
                         for s in rec.get("spectrum", []))
        if dec and method.is_dyn and not has_window:  # Sim / Alt decisions are a fixed schedule, not a switch
            from gpu_validation.train import window_spectrum

            shape = (2,) if rec["resolved"]["data_kind"] == "2d" else tuple(load_shape(cfg))
            res = window_spectrum(cfg, states[final], [int(c) for c in dec], rec["resolved"]["data_kind"], shape)
            rec["spectrum"] = [s for s in rec.get("spectrum", [])
                               if not (s.get("kind") == "window" and s["step"] == res["step"])] + [res]
            changed = True
            n += 1
            if log:
                log(f"{rec['id']} step {res['step']} (switched window): {res.get('status')} "
                    f"rho={res.get('spectral_radius')} ({res.get('seconds')} s)")
        if changed:
            schema.validate(rec)
            write_json_atomic(rp, rec)
    return n


def load_shape(cfg: Any) -> tuple:
    """The sample shape of a run's data set (image data sets are read from ``cfg.data_root``)."""
    from gpu_validation.data import load

    return tuple(load(cfg.dataset, cfg.data_root).shape)


__all__ = ["checkpoint_spectrum", "analyze_trainer", "analyze_state", "analyze_runs", "perturbation_test",
           "map_kind", "rule_for", "OneField", "DEFAULT_TOL", "WINDOW_METHOD"]
