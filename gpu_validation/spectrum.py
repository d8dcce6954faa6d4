"""Matrix-free top eigenvalues of the update map's Jacobian at a trained network.

The map analysed at a checkpoint is the method's *plain gradient* map with step ``eta``
(default: the run's learning rate), for the checkpoint's batch held fixed (so the map is a
deterministic function of the parameters ``x = (theta, psi)``, float64):

* Sim-GDA (and anything whose oracle is :class:`~stabcheck.oracles.SimOracle`, e.g. JARE):
  one V3 step ``F(x) = x + eta * v(x)``;
* Alt-GDA(n_d, n_g, first): one *period* - ``n_d`` V2 steps and ``n_g`` V1 steps in the
  oracle's order (the per-iteration rate is ``rho ** (1 / (n_d + n_g))``);
* Dynamic-GDA and user oracles: one step with the choice the oracle made at the checkpoint.

Field transforms (JARE) are part of ``v``. The adaptive optimizers (Adam, RMSProp) used in
training are **not** part of this map: their preconditioner is state, and the theory's
statements (Mescheder et al. 2017/2018, the thesis's section 5) are about gradient maps.

How: ``u -> (dF(x) u - u) / eta`` is a :class:`scipy.sparse.linalg.LinearOperator` whose
matvec is one :func:`torch.func.jvp` through ``F`` (forward-over-reverse; the Jacobian is
never formed). Its eigenvalues ``mu`` give the map's eigenvalues ``lambda = 1 + eta * mu``
exactly; the shift-and-scale only separates eigenvalues that would all crowd around 1 for a
small ``eta``, which Arnoldi (ARPACK, :func:`scipy.sparse.linalg.eigs`) needs. Two Arnoldi
runs: the ``k`` eigenvalues of largest real part (``LR``, the ones that decide stability
for small ``eta``) and of largest modulus (``LM``, the fast rotations). ``spectral_radius``
is ``max |lambda|`` over the computed eigenvalues: a lower bound of the true spectral
radius, equal to it when the maximiser is in one of the two sets (for small ``eta``,
``|1 + eta mu|^2 = 1 + 2 eta Re(mu) + eta^2 |mu|^2``, so it is).

The perturbation test iterates ``F`` from ``x`` and from ``x + eps * delta`` (``delta``
the real part of the leading eigenvector, normalised) for ``K`` steps and compares the
measured growth ``||F^K(x + eps delta) - F^K(x)|| / eps`` with the linear prediction
``||Re(lambda^K v)|| / ||Re v||``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch

from stabcheck.oracles import AltOracle, SimOracle


def _to64(d: dict) -> dict:
    return {k: v.detach().to("cpu", torch.float64) for k, v in d.items()}


def map_kind(method, choice: str) -> tuple[str, list[str]]:
    """The map's label and its sequence of fields for a method (see the module docstring)."""
    o = method.oracle
    if isinstance(o, SimOracle):
        return "V3", ["V3"]
    if isinstance(o, AltOracle):
        seq = (["V2"] * o.n_d + ["V1"] * o.n_g) if o.first == "discriminator" else (["V1"] * o.n_g + ["V2"] * o.n_d)
        return f"period {'+'.join(f'{n}x{c}' for n, c in ((o.n_d, 'V2'), (o.n_g, 'V1')))}", seq
    return f"{choice} (oracle's choice at the checkpoint)", [choice]


def build_map(gan, pair, method, db: dict, draws: dict, gp_like: dict, dp_like: dict, eta: float,
              seq: list[str]) -> Callable[[torch.Tensor], torch.Tensor]:
    """``F: R^n -> R^n`` on the flat parameter vector (generator first), pure and differentiable."""
    from gpu_validation.models import unflat

    n_g = sum(v.numel() for v in gp_like.values())
    vg_fn, vd_fn = method.field(gan, pair, db, draws)

    def flat(d):
        return torch.cat([v.reshape(-1) for v in d.values()])

    def F(x):
        gp = unflat(x[:n_g], gp_like)
        dp = unflat(x[n_g:], dp_like)
        for c in seq:
            vg = vg_fn(gp, dp) if c in ("V1", "V3") else None
            vd = vd_fn(gp, dp) if c in ("V2", "V3") else None
            if vg is not None:
                gp = {k: gp[k] + eta * vg[k] for k in gp}
            if vd is not None:
                dp = {k: dp[k] + eta * vd[k] for k in dp}
        return torch.cat([flat(gp), flat(dp)])

    return F


def top_eigs(F: Callable, x: torch.Tensor, eta: float, k: int = 6, *, tol: float = 1e-8,
             max_matvecs: int = 4000, vectors: bool = False) -> dict:
    """Top eigenvalues of ``(dF(x) - I) / eta`` by Arnoldi on JVPs (``LR`` and ``LM`` sets).

    Returns ``{"mu", "map_eigenvalues", "spectral_radius", "matvecs", "status", "lead_vec"}``
    where ``status`` is ``ok`` (both sets converged) or ``partial`` (ARPACK stopped early; the
    converged eigenvalues are kept), ``lead_vec`` the eigenvector of ``max |1 + eta mu|``.
    """
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs

    n = x.numel()
    count = [0]

    def mv(u):
        count[0] += 1
        if count[0] > max_matvecs:
            raise RuntimeError("matvec budget exhausted")
        t = torch.from_numpy(np.ascontiguousarray(u, dtype=np.float64).reshape(-1))
        _, jt = torch.func.jvp(F, (x,), (t,))
        return ((jt - t) / eta).numpy()

    op = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    if n <= 2 * k + 2:
        raise ValueError(f"spectrum: need more than {2 * k + 2} parameters for k={k}, got {n}")
    mus, vecs, status = [], [], "ok"
    for which in ("LR", "LM"):
        try:
            w, v = eigs(op, k=k, which=which, tol=tol, ncv=min(n - 1, max(2 * k + 1, 24)),
                        maxiter=max(10, max_matvecs // 24))
        except ArpackNoConvergence as exc:
            w, v, status = exc.eigenvalues, exc.eigenvectors, "partial"
        except RuntimeError:
            w, v, status = np.zeros(0, complex), np.zeros((n, 0), complex), "partial"
        mus.extend(list(w))
        vecs.extend(list(np.asarray(v).T))
    if not mus:
        return {"status": "inconclusive", "reason": "Arnoldi converged to no eigenvalue", "matvecs": count[0]}
    mus_a = np.array(mus)
    # de-duplicate (the two sets overlap)
    keep: list[int] = []
    for i, m in enumerate(mus_a):
        if all(abs(m - mus_a[j]) > 1e-9 * max(1.0, abs(m)) for j in keep):
            keep.append(i)
    mus_a = mus_a[keep]
    vecs_a = [vecs[i] for i in keep]
    lam = 1 + eta * mus_a
    order = np.lexsort((-mus_a.imag, -mus_a.real))
    i_max = int(np.argmax(np.abs(lam)))
    out = {"status": status, "matvecs": count[0],
           "mu": [[float(mus_a[i].real), float(mus_a[i].imag)] for i in order],
           "map_eigenvalues": [[float(lam[i].real), float(lam[i].imag)] for i in order],
           "spectral_radius": float(np.abs(lam[i_max]))}
    if vectors:
        out["lead_vec"] = vecs_a[i_max]
        out["lead_lambda"] = complex(lam[i_max])
    return out


def perturbation_test(F: Callable, x: torch.Tensor, lam: complex, vec: np.ndarray, *,
                      eps: float = 1e-6, K: int = 20) -> dict:
    """Grow a perturbation along ``Re(vec)`` for ``K`` steps of ``F``; compare with the
    linear prediction ``||Re(lam^K vec)|| / ||Re vec||`` (see the module docstring).

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
    delta = torch.from_numpy(d / dn)
    xa, xb = x.clone(), x + eps * delta
    with torch.no_grad():
        for _ in range(K):
            xa, xb = F(xa), F(xb)
    measured = float(torch.linalg.norm(xb - xa)) / eps
    predicted = float(np.linalg.norm((lam ** K * v).real) / np.linalg.norm(v.real))
    lm, lp = math.log(max(measured, 1e-300)), math.log(max(predicted, 1e-300))
    agrees = abs(lm - lp) <= 0.2 * abs(lp) + 1e-5
    return {"K": K, "eps": eps, "lambda": [lam.real, lam.imag], "rho": rho,
            "predicted_growth": predicted, "measured_growth": measured,
            "predicted_rate": predicted ** (1 / K), "measured_rate": measured ** (1 / K),
            "agrees": bool(agrees), "criterion": "|log measured - log predicted| <= 0.2 |log predicted| + 1e-5"}


def analyze_state(gan, pair, method, state: dict, *, eta: float, k: int = 6, perturb: bool = False) -> dict:
    """Spectrum (and optionally the perturbation test) of a snapshot
    (:meth:`gpu_validation.train.Trainer.snapshot`)."""
    t0 = time.time()
    pair.gen.to("cpu", torch.float64)
    pair.disc.to("cpu", torch.float64)
    gp, dp, db = _to64(state["gp"]), _to64(state["dp"]), _to64(state["db"])
    draws = _to64(state["draws"])
    label, seq = map_kind(method, state["choice"])
    F = build_map(gan, pair, method, db, draws, gp, dp, eta, seq)
    x = torch.cat([v.reshape(-1) for v in list(gp.values()) + list(dp.values())])
    big = x.numel() > 20000  # image models: a looser tolerance and a smaller matvec budget
    res = top_eigs(F, x, eta, k=k, vectors=perturb, tol=1e-5 if big else 1e-8,
                   max_matvecs=600 if big else 4000)
    out = {"step": int(state["step"]), "map": label, "eta": eta, "n_params": int(x.numel()),
           "period": len(seq)}
    if res["status"] == "inconclusive":
        out.update({"status": "inconclusive", "reason": res["reason"], "matvecs": res["matvecs"]})
    else:
        out.update({kk: res[kk] for kk in ("status", "mu", "map_eigenvalues", "spectral_radius", "matvecs")})
        out["perturbation"] = None
        if perturb:
            out["perturbation"] = perturbation_test(F, x, res["lead_lambda"], res["lead_vec"])
    out["seconds"] = round(time.time() - t0, 3)
    return out


def analyze_trainer(tr, draws: dict, *, k: int = 6, perturb: bool = False, eta: Optional[float] = None) -> dict:
    """Spectrum of a live :class:`~gpu_validation.train.Trainer` at its current point."""
    from gpu_validation import models

    state = tr.snapshot(draws, _last_choice(tr))
    pair = models.build(tr.cfg.model if tr.cfg.model != "auto" else "mlp", tr.data.shape,
                        sn=tr.gan.arch.get("sn", False), width=tr.cfg.width, latent=tr.cfg.latent, seed=tr.cfg.seed)
    return analyze_state(tr.gan, pair, tr.method, state, eta=eta or tr.cfg.lr, k=k, perturb=perturb)


def _last_choice(tr):
    from stabcheck.oracles import Choice

    o = tr.method.oracle
    return getattr(o, "last_choice", None) or Choice.V3


def analyze_runs(runs_dir: str | Path, *, k: int = 6, perturb: bool = False, steps: str = "final",
                 only: Optional[str] = None, log: Any = None) -> int:
    """Add spectra of the saved checkpoints (``states/<id>.pt``) to each record in a runs
    directory (records rewritten atomically). Already analysed checkpoints are skipped."""
    import json

    from gpu_validation import gans, methods, models, schema
    from gpu_validation.train import RunConfig
    from stabcheck.io import write_json_atomic

    root = Path(runs_dir)
    n = 0
    for rp in sorted((root / "records").glob("*.json")):
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
            rec["spectrum"] = [s for s in rec.get("spectrum", []) if s["step"] != res["step"]] + [res]
            changed = True
            n += 1
            if log:
                log(f"{rec['id']} step {res['step']}: {res['status']} rho={res.get('spectral_radius')} "
                    f"({res.get('matvecs')} matvecs, {res.get('seconds')} s)")
        if changed:
            schema.validate(rec)
            write_json_atomic(rp, rec)
    return n


__all__ = ["top_eigs", "build_map", "map_kind", "perturbation_test", "analyze_state", "analyze_trainer",
           "analyze_runs"]
