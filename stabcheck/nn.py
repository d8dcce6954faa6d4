"""The spectrum of a PyTorch GAN's update map at a checkpoint, matrix-free.

Given a generator and a discriminator (:class:`torch.nn.Module`), their losses, a batch, an
update rule (:func:`stabcheck.rules.make_rule`) and an optimizer (a spec, an
:class:`~stabcheck.optimizers.Optimizer`, or the live ``torch.optim`` optimizers, one per
player, whose state supplies the preconditioner and the momentum), :func:`update_map_spectrum`
returns the eigenvalues of largest modulus of the Jacobian of the update map ``F`` at the
current parameters, with a convergence check, the spectral radius, the number of modes with
``|lambda| > 1 + tol``, an outcome, and the extreme eigenvalues of the field's Jacobian.

The map (one implementation)
----------------------------
Parameters are flattened to ``x = (theta, psi)`` (float64; the generator's trainable
parameters in ``named_parameters()`` order, then the discriminator's). The field is

    ``v(x) = (-grad_theta L_G, grad_psi L_D)``        (the direction each player moves)

where the generator minimizes ``L_G`` and the discriminator maximizes ``L_D``. It is built
with :func:`torch.func.functional_call` and :func:`torch.func.grad` (so it can be
differentiated again), wrapped in :class:`stabcheck.rules.FieldFns`, and the map is the
package's own rule and optimizer code, ``F(z) = rule.step(z, fns, eta)``, on the rule's state
``z = (x, rule memory, optimizer state)`` (:meth:`stabcheck.rules.UpdateRule.split`). No step
formula is written here. For an optimizer with a slot (momentum, Adam's first moment) the
Jacobian is taken w.r.t. the whole state (``2 * dim`` components), at the current point
``(x, m)`` read from the optimizer (not an equilibrium).

The live optimizers (``optimizer=(opt_g, opt_d)``)
-------------------------------------------------
``torch.optim`` minimizes and is handed ``grad = -v``; signs follow from that
(:mod:`stabcheck.optimizers`):

* ``torch.optim.Adam`` (``amsgrad=False``, ``weight_decay=0``, ``maximize=False``):
  first moment ``m = -exp_avg``; frozen preconditioner
  ``precond = 1 / (sqrt(exp_avg_sq / (1 - beta2^t)) + eps)`` and first-moment bias correction
  ``1 / (1 - beta1^t)``, both at the optimizer's current step count ``t = state["step"]``
  (the values its most recent step used; the next torch step would use ``t + 1`` and an
  updated ``exp_avg_sq``). If the two players' step counts differ (Alt-GDA with ``n_d > 1``)
  the map's ``t`` is the generator's and the discriminator's own correction is folded into
  its preconditioner entries.
* ``torch.optim.RMSprop`` (``centered=False``, ``weight_decay=0``): ``precond =
  1 / (sqrt(square_avg) + eps)``; with ``momentum > 0`` the heavy-ball state is
  ``u = -lr * momentum_buffer`` (torch: ``buf = mom buf + grad / (sqrt(square_avg) + eps)``,
  ``p -= lr buf``; ours: ``u' = beta u + eta P g``, ``x' = x + u'``).
* ``torch.optim.SGD`` (``dampening=0``, ``nesterov=False``, ``weight_decay=0``):
  ``u = -lr * momentum_buffer``.

The step size is ``eta = `` the generator's ``lr``; ``ratio = `` discriminator ``lr`` /
generator ``lr``; parameter groups with their own ``lr``, ``eps`` or ``beta2`` are folded into
the preconditioner. The second moment is **frozen**: at an equilibrium the gradient vanishes
and ``g / sqrt(v)`` is 0/0, so the map with ``v`` as state is not usefully differentiable
there; over a window where ``v`` changes slowly (``beta2`` close to 1) the optimizer *is* the
frozen-``v`` map (see :mod:`stabcheck.optimizers`).

Eigenvalues
-----------
The operator ``u -> dF(z) u`` is a Jacobian-vector product through ``F``; no Jacobian is
formed. By default (``jvp="auto"``) it is the reverse-mode derivative of the linear function
``w -> dF(z)^T w``, whose graph is built once through the map, so each product is one backward
pass; ``jvp="forward"`` runs one :func:`torch.func.jvp` (forward-over-reverse) per product
instead. Both are exact; the tests check both against dense Jacobians. ARPACK (:func:`scipy.sparse.linalg.eigs`,
``which="LM"``) runs on that operator itself, so the eigenvalues returned are those of largest
**modulus** ``|lambda|`` (the ones that decide growth), not of largest ``|lambda - 1|``: a
shift ``(A - I) / eta`` leaves the Krylov space unchanged but would select large ``|mu|``
instead. Each returned pair is then checked with one more JVP (two for a complex pair, shared
with its conjugate): ``residual = ||A v - lambda v|| / ||v||``; a pair counts as converged when
``residual <= residual_tol * max(1, |lambda|)``. The field Jacobian ``J = dv/dx`` gets the same
treatment (``which="LR"`` and ``"LM"``).

Outcome (``tol`` on ``|lambda|``, stated in the result): ``"inconclusive"`` when fewer than
``k`` pairs converged or when the largest converged ``|lambda|`` is within ``tol`` of 1;
otherwise ``"some |lambda| > 1 + tol"`` or ``"all |lambda| <= 1 + tol"``. ARPACK gives no
certificate that no eigenvalue was missed; the dense cross-check lives in the tests.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from stabcheck.errors import BadInput
from stabcheck.optimizers import OPTIMIZER_KEYS, Optimizer, coerce_optimizer_params, make_optimizer
from stabcheck.rules import FieldFns, UpdateRule, make_rule

SCHEMA = "stabcheck.nn/1"

OUTCOMES = ("all |lambda| <= 1 + tol", "some |lambda| > 1 + tol", "inconclusive")


# =========================================================================== small helpers

def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _c(z: complex) -> list:
    return [float(np.real(z)), float(np.imag(z))]


def _to(t: torch.Tensor, device) -> torch.Tensor:
    t = t.detach()
    if t.is_floating_point():
        return t.to(device=device, dtype=torch.float64)
    return t.to(device=device)


def _convert(obj: Any, device) -> Any:
    """Floating tensors (nested in dicts, lists, tuples) to float64 on ``device``."""
    if isinstance(obj, torch.Tensor):
        return _to(obj, device)
    if isinstance(obj, dict):
        return {k: _convert(v, device) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple
        return type(obj)(*(_convert(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_convert(v, device) for v in obj)
    return obj


def gan_field_parts(gan, pair, dbuf: dict, draws: dict):
    """A GAN class's field parts ``v_theta(gp, dp) = -grad_theta L_G`` and
    ``v_psi(gp, dp) = grad_psi L_D`` for fixed draws (pure functions of the parameter dicts);
    ``gan`` has ``g_loss`` / ``d_objective`` as :mod:`gpu_validation.gans`'s classes."""

    def vg(gp, dp):
        g = torch.func.grad(lambda p: gan.g_loss(pair, p, dp, dbuf, draws))(gp)
        return {k: -t for k, t in g.items()}

    def vd(gp, dp):
        return torch.func.grad(lambda p: gan.d_objective(pair, gp, p, dbuf, draws))(dp)

    return vg, vd


def flatten_params(d: dict) -> torch.Tensor:
    """A name -> tensor dict as one flat vector (dict order)."""
    return torch.cat([v.reshape(-1) for v in d.values()])


def unflatten_params(vec: torch.Tensor, like: dict) -> dict:
    """Inverse of :func:`flatten_params`: views of ``vec`` shaped like ``like``'s tensors."""
    out, i = {}, 0
    for k, v in like.items():
        n = v.numel()
        out[k] = vec[i:i + n].view(v.shape)
        i += n
    return out


_flat, _unflat = flatten_params, unflatten_params


# =========================================================================== parameters

def _module_split(module, who: str, params: Optional[dict], buffers: Optional[dict]):
    """``(params, buffers)`` (name -> tensor) of a player: the trainable parameters (or the
    given ones), everything else fixed."""
    if not isinstance(module, torch.nn.Module):
        raise BadInput(f"{who} must be a torch.nn.Module, got {type(module).__name__}")
    names = dict(module.named_parameters())
    bufs = dict(module.named_buffers())
    if params is None:
        params = {k: p for k, p in names.items() if p.requires_grad}
        fixed = {k: p for k, p in names.items() if not p.requires_grad}
    else:
        if not isinstance(params, dict) or not params:
            raise BadInput(f"{who} params must be a non-empty dict name -> tensor")
        unknown = [k for k in params if k not in names and k not in bufs]
        if unknown:
            raise BadInput(f"{who} params: {unknown[0]!r} is not a parameter of the {who} "
                           f"(it has {', '.join(list(names)[:6])}{', ...' if len(names) > 6 else ''})")
        bad = [k for k, v in params.items() if not isinstance(v, torch.Tensor) or not v.is_floating_point()]
        if bad:
            raise BadInput(f"{who} params: {bad[0]!r} is not a floating-point tensor")
        for k, v in params.items():
            ref = names.get(k, bufs.get(k))
            if tuple(v.shape) != tuple(ref.shape):
                raise BadInput(f"{who} params: {k!r} has shape {tuple(v.shape)}, the module's has {tuple(ref.shape)}")
        fixed = {k: p for k, p in names.items() if k not in params}
    if not params:
        raise BadInput(f"the {who} has no trainable parameters")
    fixed.update({k: b for k, b in bufs.items() if k not in params})
    if buffers is not None:
        if not isinstance(buffers, dict):
            raise BadInput(f"{who} buffers must be a dict name -> tensor")
        fixed.update(buffers)
    return params, fixed


# =========================================================================== the field

class _ModulePair:
    """The interface of ``gpu_validation.models.Pair`` over arbitrary modules (for the
    harness's GAN classes, :mod:`gpu_validation.gans`)."""

    def __init__(self, gen, disc, gfixed: dict, data_shape: tuple):
        self.gen, self.disc, self.gfixed, self.data_shape = gen, disc, gfixed, tuple(data_shape)

    def gen_forward(self, gparams, z):
        out = torch.func.functional_call(self.gen, {**self.gfixed, **gparams}, (z,))
        return out.reshape(out.shape[0], *self.data_shape)

    def disc_forward(self, dparams, dbuf, x, raw=False):
        kw = {"raw": True} if raw else {}
        return torch.func.functional_call(self.disc, {**dbuf, **dparams}, (x,), kw).reshape(-1)


def _field_parts(gen, disc, losses, batch, gfixed, dfixed, field_fns):
    """``(vg, vd)``: ``vg(gp, dp) = -grad_theta L_G``, ``vd(gp, dp) = grad_psi L_D`` as dicts."""
    if field_fns is not None:
        if losses is not None:
            raise BadInput("give losses or field_fns, not both")
        if (not isinstance(field_fns, (tuple, list)) or len(field_fns) != 2
                or not all(callable(f) for f in field_fns)):
            raise BadInput("field_fns must be a pair of callables (vg, vd): vg(gparams, dparams) -> "
                           "-grad_theta L_G, vd(gparams, dparams) -> grad_psi L_D (dicts)")
        return tuple(field_fns)
    if losses is None:
        raise BadInput("losses missing: give (loss_G, loss_D) callables, a GAN class, or field_fns=")
    if hasattr(losses, "g_loss") and hasattr(losses, "d_objective"):  # a gpu_validation.gans.GAN
        gan = losses
        if not isinstance(batch, dict) or not all(k in batch for k in ("z", "real")):
            have = list(batch) if isinstance(batch, dict) else type(batch).__name__
            raise BadInput(f"a GAN class needs a batch dict with 'z' and 'real' (and its pieces' draws); got {have}")
        pair = _ModulePair(gen, disc, gfixed, tuple(batch["real"].shape[1:]))
        return gan_field_parts(gan, pair, dfixed, batch)
    if not (isinstance(losses, (tuple, list)) and len(losses) == 2 and all(callable(f) for f in losses)):
        raise BadInput("losses must be (loss_G, loss_D), two callables loss(G, D, batch) -> scalar tensor "
                       "that each player minimizes, or a GAN class with g_loss/d_objective")
    loss_g, loss_d = losses

    def G(gp):
        return lambda z: torch.func.functional_call(gen, {**gfixed, **gp}, (z,))

    def D(dp):
        return lambda x: torch.func.functional_call(disc, {**dfixed, **dp}, (x,))

    def vg(gp, dp):
        g = torch.func.grad(lambda p: loss_g(G(p), D(dp), batch))(gp)
        return {k: -t for k, t in g.items()}

    def vd(gp, dp):
        g = torch.func.grad(lambda p: loss_d(G(gp), D(p), batch))(dp)
        return {k: -t for k, t in g.items()}  # the discriminator minimizes loss_D = -L_D

    return vg, vd


def flat_field(vg: Callable, vd: Callable, g_like: dict, d_like: dict) -> Callable:
    """``v(x)`` on the flat float64 vector ``x = (theta, psi)`` from the field's two parts."""
    return flat_fields(vg, vd, g_like, d_like)[0]


def flat_fields(vg: Callable, vd: Callable, g_like: dict, d_like: dict) -> tuple[Callable, Callable, Callable]:
    """``(v, V1, V2)`` on the flat ``x``: the field and its partial fields, each partial one
    computing only its player's gradient (the other part zero)."""
    n = sum(t.numel() for t in g_like.values())
    m = sum(t.numel() for t in d_like.values())

    def parts(x):
        return _unflat(x[:n], g_like), _unflat(x[n:], d_like)

    def fg(gp, dp):
        a = vg(gp, dp)
        return torch.cat([a[k].reshape(-1) for k in g_like])

    def fd(gp, dp):
        b = vd(gp, dp)
        return torch.cat([b[k].reshape(-1) for k in d_like])

    def v(x):
        gp, dp = parts(x)
        return torch.cat([fg(gp, dp), fd(gp, dp)])

    def v1(x):
        gp, dp = parts(x)
        return torch.cat([fg(gp, dp), x.new_zeros(m)])

    def v2(x):
        gp, dp = parts(x)
        return torch.cat([x.new_zeros(n), fd(gp, dp)])

    return v, v1, v2


# =========================================================================== torch.optim state

@dataclass
class TorchOptimizerState:
    """What :func:`optimizer_from_torch` reads: the map's optimizer, step and state."""

    optimizer: Optimizer
    eta: float
    state: Optional[np.ndarray]  # the optimizer slot in our convention (m or u), length dim, or None
    info: dict


def _group_of(opt, params: Sequence[torch.Tensor], who: str) -> list:
    where = {}
    for gi, grp in enumerate(opt.param_groups):
        for p in grp["params"]:
            where[id(p)] = gi
    want = [id(p) for p in params]
    if set(where) != set(want) or len(where) != len(want):
        raise BadInput(f"the {who}'s torch optimizer holds {len(where)} tensors that are not exactly the {who}'s "
                       f"{len(want)} trainable parameter tensors (build it from those tensors)")
    return [where[i] for i in want]


def _f(x) -> float:
    return float(x.item() if isinstance(x, torch.Tensor) else x)


def _check_options(opt, who: str) -> str:
    if isinstance(opt, torch.optim.Adam):
        kind = "adam"
    elif isinstance(opt, torch.optim.RMSprop):
        kind = "rmsprop"
    elif isinstance(opt, torch.optim.SGD):
        kind = "sgd"
    else:
        raise BadInput(f"the {who}'s optimizer is a {type(opt).__name__}; supported: torch.optim.Adam, "
                       "torch.optim.RMSprop, torch.optim.SGD")
    for grp in opt.param_groups:
        if _f(grp.get("weight_decay", 0)) != 0:
            raise BadInput(f"the {who}'s {type(opt).__name__} has weight_decay={grp['weight_decay']}; only 0 is supported")
        if grp.get("maximize", False):
            raise BadInput(f"the {who}'s {type(opt).__name__} has maximize=True; not supported (hand it -v as torch does)")
        if kind == "adam" and grp.get("amsgrad", False):
            raise BadInput(f"the {who}'s Adam has amsgrad=True; not supported (its max is not a frozen preconditioner)")
        if kind == "rmsprop" and grp.get("centered", False):
            raise BadInput(f"the {who}'s RMSprop has centered=True; only centered=False is supported")
        if kind == "sgd" and grp.get("nesterov", False):
            raise BadInput(f"the {who}'s SGD has nesterov=True; not supported (heavy-ball momentum only)")
        if kind == "sgd" and _f(grp.get("dampening", 0)) != 0:
            raise BadInput(f"the {who}'s SGD has dampening={grp['dampening']}; only 0 is supported")
    return kind


def optimizer_from_torch(opt_g, opt_d, gen_params: Sequence[torch.Tensor],
                         disc_params: Sequence[torch.Tensor]) -> TorchOptimizerState:
    """The map's :class:`~stabcheck.optimizers.Optimizer`, ``eta`` and optimizer state from two
    live ``torch.optim`` optimizers (module docstring for the conventions).

    ``gen_params`` / ``disc_params``: the tensors the optimizers hold, in the order of the flat
    ``theta`` / ``psi``. The returned ``state`` is the optimizer slot in stabcheck's convention
    (``m = -exp_avg`` for Adam, ``u = -lr * momentum_buffer`` for heavy ball), a float64 numpy
    vector of length ``dim``, or None when the optimizer has no slot.
    """
    kinds = (_check_options(opt_g, "generator"), _check_options(opt_d, "discriminator"))
    if kinds[0] != kinds[1]:
        raise BadInput(f"the players' optimizers differ ({kinds[0]} vs {kinds[1]}); the map needs one kind")
    kind = kinds[0]
    groups = (_group_of(opt_g, gen_params, "generator"), _group_of(opt_d, disc_params, "discriminator"))
    eta = _f(opt_g.param_groups[groups[0][0]]["lr"])
    lr_d = _f(opt_d.param_groups[groups[1][0]]["lr"])
    if not (math.isfinite(eta) and eta > 0 and math.isfinite(lr_d) and lr_d > 0):
        raise BadInput(f"torch optimizers: learning rates must be finite and > 0, got {eta!r} and {lr_d!r}")
    ratio = lr_d / eta
    shared = "betas" if kind == "adam" else "momentum"
    vals = {(_f(g[shared][0]) if kind == "adam" else _f(g.get("momentum", 0)))
            for o in (opt_g, opt_d) for g in o.param_groups}
    if len(vals) != 1:
        raise BadInput(f"torch optimizers: {'beta1' if kind == 'adam' else 'momentum'} differs between parameter "
                       f"groups or players ({sorted(vals)}); the map takes one value")
    coef = vals.pop()
    if kind == "adam":
        t_g = int(_f(opt_g.state[gen_params[0]]["step"])) if opt_g.state.get(gen_params[0]) else 0
        if t_g < 1:
            raise BadInput("the generator's Adam has taken no step yet: its state holds no second moment to freeze")
    pre, slot, steps = [], [], {}
    for who, opt, params, grp_idx, lr_p in (("generator", opt_g, gen_params, groups[0], eta),
                                            ("discriminator", opt_d, disc_params, groups[1], lr_d)):
        tset = set()
        for p, gi in zip(params, grp_idx):
            grp = opt.param_groups[gi]
            st = opt.state.get(p, {})
            lr_scale = _f(grp["lr"]) / lr_p  # a group's own lr, relative to the player's
            n = p.numel()
            if kind == "adam":
                if not st or "exp_avg_sq" not in st:
                    raise BadInput(f"the {who}'s Adam has no state for a parameter (no step taken yet)")
                t = int(_f(st["step"]))
                tset.add(t)
                b1, b2 = _f(grp["betas"][0]), _f(grp["betas"][1])
                eps = _f(grp["eps"])
                vhat = st["exp_avg_sq"].detach().double().cpu().reshape(-1) / (1.0 - b2 ** t)
                c1_rel = (1.0 - b1 ** t_g) / (1.0 - b1 ** t) if b1 > 0 else 1.0
                pre.append((1.0 / (vhat.sqrt() + eps)).numpy() * lr_scale * c1_rel)
                slot.append(-st["exp_avg"].detach().double().cpu().reshape(-1).numpy())
            elif kind == "rmsprop":
                if not st or "square_avg" not in st or int(_f(st.get("step", 0))) < 1:
                    raise BadInput(f"the {who}'s RMSprop has taken no step yet: its state holds no second moment to freeze")
                tset.add(int(_f(st["step"])))
                eps = _f(grp["eps"])
                pre.append((1.0 / (st["square_avg"].detach().double().cpu().reshape(-1).sqrt() + eps)).numpy() * lr_scale)
                if coef != 0:
                    buf = st.get("momentum_buffer")
                    slot.append(np.zeros(n) if buf is None else
                                -_f(grp["lr"]) * buf.detach().double().cpu().reshape(-1).numpy())
            else:
                pre.append(np.full(n, lr_scale))
                if coef != 0:
                    buf = st.get("momentum_buffer") if st else None
                    slot.append(np.zeros(n) if buf is None else
                                -_f(grp["lr"]) * buf.detach().double().cpu().reshape(-1).numpy())
        steps[who] = sorted(tset)
    precond = np.concatenate(pre)
    if not np.all(np.isfinite(precond)) or np.any(precond <= 0):
        raise BadInput("torch optimizers: the frozen preconditioner is not finite and positive "
                       "(a zero second moment with eps=0?)")
    if kind == "sgd" and np.all(precond == 1.0):
        precond = None
    if kind == "adam":
        optimizer = Optimizer("adam", ratio=ratio, beta1=coef, precond=precond, t=t_g)
    else:
        optimizer = Optimizer(kind, ratio=ratio, momentum=coef, precond=precond)
    state = np.concatenate(slot) if slot and optimizer.slots else None
    info = {"source": "torch.optim", "class": [type(opt_g).__name__, type(opt_d).__name__],
            "lr": {"generator": eta, "discriminator": lr_d}, "steps": steps,
            "frozen": ("second moment exp_avg_sq / (1 - beta2^t) and 1 / (1 - beta1^t) at each parameter's step "
                       "count t (the values the most recent torch step used)") if kind == "adam" else
                      ("square_avg at its current value" if kind == "rmsprop" else "nothing (no second moment)"),
            "signs": {"adam": "m = -exp_avg", "rmsprop": "u = -lr * momentum_buffer",
                      "sgd": "u = -lr * momentum_buffer"}[kind]}
    return TorchOptimizerState(optimizer, eta, state, info)


def _optimizer_spec(text: str) -> Optimizer:
    from stabcheck.specs import check_params, parse_spec

    spec = parse_spec("opt:" + text.strip(), what="optimizer")
    params = check_params(spec, OPTIMIZER_KEYS, what="optimizer")
    return make_optimizer(coerce_optimizer_params(params, what="optimizer"))


def short_spec(rule: UpdateRule) -> str:
    """The rule's spec with a per-parameter preconditioner shown as ``<n entries>``."""
    from stabcheck.specs import format_spec

    p = dict(rule.all_params)
    pre = rule.optimizer.precond
    if "precond" in p and isinstance(pre, np.ndarray) and pre.size > 16:
        p["precond"] = f"<{pre.size} entries>"
    return format_spec(rule.name, p)


def summarize_optimizer(opt: Optimizer) -> dict:
    """``opt.describe()`` with a long preconditioner vector replaced by its summary."""
    d = opt.describe()
    pre = d.get("precond")
    if isinstance(pre, list) and len(pre) > 16:
        a = np.asarray(pre, dtype=float)
        d["precond"] = {"n": int(a.size), "min": float(a.min()), "median": float(np.median(a)),
                        "max": float(a.max()), "summary": True}
    return d


# =========================================================================== eigen-solver

@dataclass
class EigenSet:
    """Eigenpairs from one Arnoldi run with their residual check."""

    which: str
    eigenvalues: np.ndarray          # complex
    residuals: np.ndarray            # ||A v - lambda v|| / ||v||
    converged: np.ndarray            # bool
    arpack_status: str               # "converged[ (with k + 1 ...)]" | "not converged (partial)" | "error: ..."
    vectors: Optional[np.ndarray] = None  # (n, r) complex, when kept

    def to_dict(self) -> dict:
        return {"which": self.which, "eigenvalues": [_c(w) for w in self.eigenvalues],
                "moduli": [float(abs(w)) for w in self.eigenvalues],
                "residuals": [float(r) for r in self.residuals],
                "converged": [bool(c) for c in self.converged], "n_converged": int(np.sum(self.converged)),
                "arpack_status": self.arpack_status}


def _order(w: np.ndarray, which: str) -> np.ndarray:
    if which == "LR":
        return np.lexsort((-w.imag, -w.real))
    return np.lexsort((-w.imag, -np.abs(w)))


def default_ncv(n: int, k: int) -> int:
    """ARPACK's Krylov dimension: ``max(2k + 1, 40)``, below ``n`` (40 vectors of a 2 x 100k
    state are 64 MB; fewer restarts on the clustered spectra of neural GAN maps)."""
    return min(n - 1, max(2 * k + 1, 40))


def jvp_eigs(apply: Callable[[np.ndarray], np.ndarray], n: int, k: int, which: str = "LM", *,
             tol: float = 1e-10, residual_tol: float = 1e-8, ncv: Optional[int] = None,
             max_matvecs: int = 5000, seed: int = 0, keep_vectors: bool = False) -> EigenSet:
    """``k`` eigenvalues of the real operator ``apply`` (``R^n -> R^n``) by ARPACK, each checked
    by its residual (one more ``apply`` per real pair, two per complex-conjugate pair).

    ``tol`` is ARPACK's relative tolerance; a pair counts as converged when
    ``||A v - lambda v|| / ||v|| <= residual_tol * max(1, |lambda|)``. ``max_matvecs`` bounds
    ARPACK's restarts (``maxiter = max_matvecs // (ncv - k)``). The start vector is seeded.
    """
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigs

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise BadInput(f"k must be an integer >= 1, got {k!r}")
    if k >= n - 1:
        raise BadInput(f"k={k} eigenvalues need k < dim - 1 = {n - 1} (the operator has dimension {n})")
    ncv = int(ncv) if ncv is not None else default_ncv(n, k)
    if not k + 2 <= ncv <= n:
        raise BadInput(f"ncv={ncv} must satisfy k + 2 <= ncv <= {n}")
    op = LinearOperator((n, n), matvec=lambda u: apply(np.asarray(u, dtype=np.float64).reshape(-1)),
                        dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(n)

    def run(kk, nc):
        try:
            w, V = eigs(op, k=kk, which=which, tol=tol, ncv=nc, v0=v0,
                        maxiter=max(1, max_matvecs // max(1, nc - kk)))
            return w, V, "converged"
        except ArpackNoConvergence as exc:
            return np.asarray(exc.eigenvalues), np.asarray(exc.eigenvectors), "not converged (partial)"
        except ArpackError as exc:
            return np.zeros(0, complex), np.zeros((n, 0), complex), f"error: {_one_line(exc)}"

    w, V, status = run(k, ncv)
    if status != "converged" and k + 1 < n - 1:
        # the k-th and (k+1)-th wanted values may be one conjugate pair (equal modulus / real
        # part): Arnoldi cannot split it. Ask once more for k + 1 (another budget).
        w2, V2, status2 = run(k + 1, max(ncv, min(n, k + 3)))
        if status2 == "converged":
            w, V, status = w2, V2, "converged (with k + 1: a conjugate pair at the k-th place)"
    w = np.asarray(w, dtype=complex).reshape(-1)
    V = np.asarray(V, dtype=complex).reshape(n, -1)
    order = _order(w, which)
    w, V = w[order], V[:, order]
    res = np.full(w.size, np.inf)
    done: dict = {}
    for i in range(w.size):
        key = (w[i].real, -w[i].imag)
        if w[i].imag != 0 and key in done:  # the conjugate of a pair already checked: same residual (A is real)
            res[i] = done[key]
            continue
        v = V[:, i]
        re, im = np.ascontiguousarray(v.real), np.ascontiguousarray(v.imag)
        Av = apply(re).astype(complex)
        if np.any(im != 0):
            Av = Av + 1j * apply(im)
        res[i] = float(np.linalg.norm(Av - w[i] * v) / np.linalg.norm(v))
        done[(w[i].real, w[i].imag)] = res[i]
    conv = res <= residual_tol * np.maximum(1.0, np.abs(w))
    return EigenSet(which, w, res, conv, status, V if keep_vectors else None)


# =========================================================================== the result

@dataclass
class UpdateMapSpectrum:
    """The spectrum of an update map at a point (:func:`update_map_spectrum`).

    ``eigenvalues`` of the map's Jacobian ``dF(z)`` (w.r.t. the whole state ``z``), largest
    modulus first; ``residuals`` ``||A v - lambda v|| / ||v||``; ``converged`` per pair
    (``residual <= residual_tol * max(1, |lambda|)``). ``spectral_radius`` is the largest
    converged ``|lambda|`` (None when none converged). ``n_unstable`` counts converged modes
    with ``|lambda| > 1 + tol``; it is a lower bound (``n_unstable_lower_bound``) when every
    converged mode is unstable. ``matvecs`` counts JVPs through the map (ARPACK + residuals),
    ``field_matvecs`` JVPs of the field. ``seconds`` is wall time.
    """

    rule: str
    optimizer: dict
    optimizer_source: dict
    eta: float
    n_gen: int
    n_disc: int
    state_dim: int
    k: int
    tol: float
    residual_tol: float
    arpack_tol: float
    ncv: Optional[int]
    eigenvalues: np.ndarray
    residuals: np.ndarray
    converged: np.ndarray
    arpack_status: str
    matvecs: int
    field: Optional[dict]
    field_matvecs: int
    seconds: dict
    device: str
    vectors: Optional[np.ndarray] = None  # eigenvectors in the state space (not in to_dict)
    extra: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return self.n_gen + self.n_disc

    @property
    def n_converged(self) -> int:
        return int(np.sum(self.converged))

    @property
    def converged_eigenvalues(self) -> np.ndarray:
        return self.eigenvalues[self.converged]

    @property
    def spectral_radius(self) -> Optional[float]:
        c = self.converged_eigenvalues
        return float(np.max(np.abs(c))) if c.size else None

    @property
    def n_unstable(self) -> int:
        return int(np.sum(np.abs(self.converged_eigenvalues) > 1 + self.tol))

    @property
    def n_unstable_lower_bound(self) -> bool:
        return self.n_converged > 0 and self.n_unstable == self.n_converged

    @property
    def outcome(self) -> str:
        return self._outcome()[0]

    @property
    def outcome_reason(self) -> str:
        return self._outcome()[1]

    def _outcome(self) -> tuple[str, str]:
        rho = self.spectral_radius
        if not self.arpack_status.startswith("converged"):
            return "inconclusive", (f"ARPACK did not converge ({self.arpack_status}): the pairs returned may not be "
                                    "those of largest modulus")
        if self.n_converged < self.k:
            return "inconclusive", f"{self.n_converged} of {self.k} requested eigenpairs converged"
        if abs(rho - 1) <= self.tol:
            return "inconclusive", f"the largest converged |lambda| = {rho:.12g} is within tol = {self.tol:g} of 1"
        if rho > 1 + self.tol:
            return "some |lambda| > 1 + tol", f"|lambda|max = {rho:.12g} > 1 + {self.tol:g}"
        return "all |lambda| <= 1 + tol", f"|lambda|max = {rho:.12g} < 1 - {self.tol:g} (top {self.k} by modulus)"

    def to_dict(self) -> dict:
        """JSON-safe (complex numbers as ``[re, im]``)."""
        return {"schema": SCHEMA, "rule": self.rule, "optimizer": self.optimizer,
                "optimizer_source": self.optimizer_source, "eta": self.eta,
                "n_gen": self.n_gen, "n_disc": self.n_disc, "dim": self.dim, "state_dim": self.state_dim,
                "k": self.k, "tol": self.tol, "residual_tol": self.residual_tol, "arpack_tol": self.arpack_tol,
                "ncv": self.ncv, "which": "LM (largest |lambda| of dF itself)",
                "eigenvalues": [_c(w) for w in self.eigenvalues],
                "moduli": [float(abs(w)) for w in self.eigenvalues],
                "residuals": [float(r) for r in self.residuals],
                "converged": [bool(c) for c in self.converged], "n_converged": self.n_converged,
                "arpack_status": self.arpack_status, "spectral_radius": self.spectral_radius,
                "n_unstable": self.n_unstable, "n_unstable_lower_bound": self.n_unstable_lower_bound,
                "outcome": self.outcome, "outcome_reason": self.outcome_reason,
                "field": self.field, "matvecs": self.matvecs, "field_matvecs": self.field_matvecs,
                "jvps": self.matvecs + self.field_matvecs, "seconds": self.seconds, "device": self.device,
                "dtype": "float64", **self.extra}


# =========================================================================== the analysis

def _resolve_rule(rule) -> UpdateRule:
    if isinstance(rule, str):
        return make_rule(rule)
    if isinstance(rule, UpdateRule):
        return copy.copy(rule)  # the optimizer may be replaced: never mutate the caller's rule
    raise BadInput(f"rule must be a spec string (sim, alt:n_d=5, eg, ogda, ...) or an UpdateRule, got "
                   f"{type(rule).__name__}")


def _is_torch_opt(o) -> bool:
    return isinstance(o, torch.optim.Optimizer)


def linear_operator(fn: Callable, point: torch.Tensor, *, jvp: str = "auto") -> tuple[Callable, str]:
    """``(apply, mode)``: ``apply(u) = dfn(point) u`` for a tangent tensor ``u`` (same shape,
    dtype and device as ``point``), and how it is computed. ``jvp="double-backward"`` builds
    the graph of the linear function ``w -> dfn(point)^T w`` once, so each product is one
    backward pass of it (exact; no re-tracing of ``fn``); ``"forward"`` runs
    :func:`torch.func.jvp` through ``fn`` per product; ``"auto"`` is double-backward, forward
    mode when that graph cannot be built."""
    if jvp not in ("auto", "forward", "double-backward"):
        raise BadInput(f"jvp must be auto, forward or double-backward, got {jvp!r}")
    if jvp in ("auto", "double-backward"):
        try:
            with torch.enable_grad():
                p = point.detach().clone().requires_grad_(True)
                out = fn(p)
                w = torch.zeros_like(out, requires_grad=True)
                (gT,) = torch.autograd.grad(out, p, w, create_graph=True)
            if not gT.requires_grad:
                raise RuntimeError("J^T w does not depend on w")

            def apply_db(u):
                (jt,) = torch.autograd.grad(gT, w, u, retain_graph=True, allow_unused=True)
                return torch.zeros_like(point) if jt is None else jt.detach()

            return apply_db, "double-backward"
        except (RuntimeError, NotImplementedError) as exc:
            if jvp == "double-backward":
                raise BadInput(f"jvp='double-backward' is not available for this map: {_one_line(exc)}") from None

    def apply_fwd(u):
        _, jt = torch.func.jvp(fn, (point,), (u,))
        return jt.detach()

    return apply_fwd, "forward (torch.func.jvp)"


def analyze_map(v: Callable, x: torch.Tensor, n_gen: int, rule, *, eta: float,
                opt_state: Optional[Any] = None, optimizer_source: Optional[dict] = None,
                k: int = 6, tol: float = 1e-6, residual_tol: Optional[float] = None,
                arpack_tol: Optional[float] = None, ncv: Optional[int] = None, max_matvecs: int = 5000,
                field_k: int = 2, seed: int = 0, keep_vectors: bool = False,
                v1: Optional[Callable] = None, v2: Optional[Callable] = None,
                jvp: str = "auto") -> UpdateMapSpectrum:
    """The spectrum of ``F(z) = rule.step(z, FieldFns(v, n_gen, dim, "torch"), eta)`` at the
    state ``z = (x, rule memory, opt_state)`` (the core of :func:`update_map_spectrum`).

    ``v`` maps the flat float64 ``x`` (on ``x.device``) to the flat field ``(-grad_theta L_G,
    grad_psi L_D)`` differentiably; ``rule`` an :class:`~stabcheck.rules.UpdateRule` (its
    optimizer included); ``opt_state`` the optimizer slot (length ``dim``; default 0); the
    rule's memory (optimistic GDA's last field value) starts at :meth:`UpdateRule.init`'s
    value ``v(x)``. ``field_k`` eigenvalues of ``dv/dx`` are computed with ``which="LR"`` and
    ``"LM"`` (0: skip). ``v1`` / ``v2``: the partial fields computed directly (optional, see
    :class:`~stabcheck.rules.FieldFns`). ``jvp``: how ``dF(z) u`` is computed -
    ``"forward"`` (:func:`torch.func.jvp`, forward-over-reverse, the map re-run per product),
    ``"double-backward"`` (build the graph of ``w -> dF(z)^T w`` once; each product is one
    backward pass of that linear function, exact, about 1.7x faster on MLP GANs), ``"auto"``
    (double-backward, forward mode if the graph cannot be built). Tolerances: see
    :func:`update_map_spectrum`.
    """
    if jvp not in ("auto", "forward", "double-backward"):
        raise BadInput(f"jvp must be auto, forward or double-backward, got {jvp!r}")
    t_start = time.perf_counter()
    eta = _pos("eta", eta)
    tol = _pos("tol", tol)
    residual_tol = _pos("residual_tol", residual_tol if residual_tol is not None else tol / 10)
    arpack_tol = _pos("arpack_tol", arpack_tol if arpack_tol is not None else min(1e-10, residual_tol / 100))
    dim = int(x.numel())
    device = x.device
    fns = FieldFns(v, n_gen, dim, backend="torch", device=device, v1=v1, v2=v2)
    N = rule.state_dim(dim)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise BadInput(f"k must be an integer >= 1, got {k!r}")
    if k >= N - 1:
        raise BadInput(f"k={k} eigenvalues need k < state dimension - 1 = {N - 1} "
                       f"({dim} parameters, state of {N} components)")
    if isinstance(field_k, bool) or not isinstance(field_k, (int, np.integer)) or field_k < 0:
        raise BadInput(f"field_k must be an integer >= 0, got {field_k!r}")
    if field_k and field_k >= dim - 1:
        raise BadInput(f"field_k={field_k} needs field_k < dim - 1 = {dim - 1}")
    z0 = initial_state(rule, fns, x, opt_state)

    def step(z):
        return rule.step(z, fns, eta)

    count = {"map": 0, "field": 0}

    modes = {}

    def make_apply(fn, point, key):
        op, modes[key] = linear_operator(fn, point, jvp=jvp)

        def apply(u):
            count[key] += 1
            return op(torch.from_numpy(np.ascontiguousarray(u, dtype=np.float64)).to(device)
                      ).detach().cpu().numpy().astype(np.float64)

        return apply

    es = jvp_eigs(make_apply(step, z0, "map"), N, k, "LM", tol=arpack_tol, residual_tol=residual_tol,
                  ncv=ncv, max_matvecs=max_matvecs, seed=seed, keep_vectors=keep_vectors)
    t_map = time.perf_counter() - t_start
    fres = None
    t1 = time.perf_counter()
    if field_k:
        sets = {}
        apply_f = make_apply(v, x.detach(), "field")
        for which in ("LR", "LM"):
            sets[which] = jvp_eigs(apply_f, dim, field_k, which, tol=arpack_tol, residual_tol=residual_tol,
                                   ncv=None, max_matvecs=max_matvecs, seed=seed + 1)

        def first(s):
            c = s.eigenvalues[s.converged]
            return _c(c[0]) if c.size else None
        fres = {"what": "eigenvalues of the field Jacobian dv/dx at x (v = (-grad_theta L_G, grad_psi L_D))",
                "k": int(field_k), "largest_real_part": first(sets["LR"]), "largest_modulus": first(sets["LM"]),
                "LR": sets["LR"].to_dict(), "LM": sets["LM"].to_dict(), "matvecs": count["field"]}
    t_field = time.perf_counter() - t1
    return UpdateMapSpectrum(
        rule=short_spec(rule), optimizer=summarize_optimizer(rule.optimizer),
        optimizer_source=optimizer_source or {"source": "spec"}, eta=eta, n_gen=int(n_gen),
        n_disc=int(dim - n_gen), state_dim=int(N), k=int(k), tol=tol, residual_tol=residual_tol,
        arpack_tol=arpack_tol, ncv=ncv if ncv is not None else default_ncv(N, k),
        eigenvalues=es.eigenvalues, residuals=es.residuals, converged=es.converged,
        arpack_status=es.arpack_status, matvecs=count["map"], field=fres, field_matvecs=count["field"],
        seconds={"map": round(t_map, 4), "field": round(t_field, 4), "total": round(t_map + t_field, 4)},
        device=str(device), vectors=es.vectors, extra={"jvp_mode": modes})


def _pos(name: str, v) -> float:
    if isinstance(v, bool):
        raise BadInput(f"{name} must be a number > 0, got {v!r}")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise BadInput(f"{name} must be a number > 0, got {v!r}") from None
    if not (math.isfinite(f) and f > 0):
        raise BadInput(f"{name} must be finite and > 0, got {v!r}")
    return f


@dataclass
class PreparedMap:
    """Everything :func:`update_map_spectrum` builds before the eigen-solve (for tests and
    callers that need the map itself): ``step(z)`` is ``rule.step(z, fns, eta)``."""

    v: Callable
    x: torch.Tensor
    z: torch.Tensor
    n_gen: int
    rule: UpdateRule
    fns: FieldFns
    eta: float
    opt_state: Optional[np.ndarray]
    optimizer_source: dict
    g_like: dict
    d_like: dict

    def step(self, z):
        return self.rule.step(z, self.fns, self.eta)


def prepare_map(generator, discriminator, losses=None, batch=None, *, sampler: Optional[Callable] = None,
                seed: int = 0, rule: Any = "sim", optimizer: Any = None, eta: Optional[float] = None,
                params: Optional[tuple] = None, buffers: Optional[tuple] = None,
                field_fns: Optional[tuple] = None, opt_state: Any = None,
                device: Any = None) -> PreparedMap:
    """Build the update map of :func:`update_map_spectrum` without solving (same arguments)."""
    device = torch.device(device if device is not None else "cpu")
    if params is not None and (not isinstance(params, (tuple, list)) or len(params) != 2):
        raise BadInput("params must be a pair (generator params, discriminator params) of dicts name -> tensor")
    if buffers is not None and (not isinstance(buffers, (tuple, list)) or len(buffers) != 2):
        raise BadInput("buffers must be a pair (generator buffers, discriminator buffers) of dicts (or None)")
    gp, gfix = _module_split(generator, "generator", params[0] if params else None, buffers[0] if buffers else None)
    dp, dfix = _module_split(discriminator, "discriminator", params[1] if params else None,
                             buffers[1] if buffers else None)
    if sampler is not None:
        if batch is not None:
            raise BadInput("give batch or sampler, not both")
        if not callable(sampler):
            raise BadInput("sampler must be a callable sampler(torch.Generator) -> batch")
        batch = sampler(torch.Generator().manual_seed(int(seed)))
    if batch is None and field_fns is None:
        raise BadInput("no batch: give batch= or sampler= (the map is taken with the batch held fixed)")
    batch = _convert(batch, device)
    rule = _resolve_rule(rule)
    source: dict = {"source": "rule spec" if rule.optimizer.params else "plain (no optimizer)"}
    state = None
    if optimizer is not None:
        if rule.optimizer.params:
            raise BadInput(f"the rule {rule.spec!r} already carries optimizer keys; give the optimizer once")
        if _is_torch_opt(optimizer):
            raise BadInput("optimizer: give one torch optimizer per player, as a pair (opt_g, opt_d)")
        if isinstance(optimizer, (tuple, list)):
            if len(optimizer) != 2 or not all(_is_torch_opt(o) for o in optimizer):
                raise BadInput("optimizer pair must be two torch.optim optimizers (opt_g, opt_d)")
            ts = optimizer_from_torch(optimizer[0], optimizer[1], list(gp.values()), list(dp.values()))
            if eta is not None and not math.isclose(float(eta), ts.eta, rel_tol=1e-12):
                raise BadInput(f"eta={eta} differs from the generator optimizer's lr={ts.eta}; leave eta unset")
            eta = ts.eta
            rule.optimizer = ts.optimizer
            state, source = ts.state, ts.info
        elif isinstance(optimizer, Optimizer):
            rule.optimizer = optimizer
            source = {"source": "Optimizer object"}
        elif isinstance(optimizer, str):
            rule.optimizer = _optimizer_spec(optimizer)
            source = {"source": f"optimizer spec {optimizer!r}"}
        else:
            raise BadInput(f"optimizer must be a spec string (opt=sgd,momentum=0.5), an Optimizer or a pair of "
                           f"torch.optim optimizers, got {type(optimizer).__name__}")
    if eta is None:
        raise BadInput("eta (the generator's step size) is required unless torch optimizers give it")
    if opt_state is not None:
        if state is not None:
            raise BadInput("opt_state given together with torch optimizers (which supply it)")
        state = opt_state
    g_like = {k: _to(t, device) for k, t in gp.items()}
    d_like = {k: _to(t, device) for k, t in dp.items()}
    gfix = {k: _to(t, device) for k, t in gfix.items()}
    dfix = {k: _to(t, device) for k, t in dfix.items()}
    vg, vd = _field_parts(generator, discriminator, losses, batch, gfix, dfix, field_fns)
    v, v1, v2 = flat_fields(vg, vd, g_like, d_like)
    x = torch.cat([_flat(g_like), _flat(d_like)])
    n_gen = int(sum(t.numel() for t in g_like.values()))
    fns = FieldFns(v, n_gen, int(x.numel()), backend="torch", device=device, v1=v1, v2=v2)
    z = initial_state(rule, fns, x, state)
    return PreparedMap(v, x, z, n_gen, rule, fns, _pos("eta", eta),
                       None if state is None else np.asarray(state, dtype=np.float64), source, g_like, d_like)


def initial_state(rule: UpdateRule, fns: FieldFns, x: torch.Tensor, opt_state: Any = None) -> torch.Tensor:
    """The linearization point ``z = (x, rule memory, optimizer state)``: the rule's memory from
    :meth:`UpdateRule.init` (optimistic GDA: ``v(x)``), the optimizer slot ``opt_state``
    (default 0). Checks that the field can be evaluated and is finite."""
    dim = int(x.numel())
    with torch.no_grad():
        try:
            v0 = fns.v(x)
        except BadInput:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's losses / batch: one line
            raise BadInput(f"evaluating the losses on the batch failed: {_one_line(exc)}") from None
        if not isinstance(v0, torch.Tensor) or v0.shape != x.shape:
            raise BadInput(f"the field must return a tensor of shape {tuple(x.shape)}, got "
                           f"{tuple(getattr(v0, 'shape', ())) or type(v0).__name__}")
        if not bool(torch.isfinite(v0).all()):
            raise BadInput("the field v(x) is not finite at the given parameters")
        z = rule.init(x, fns)
    if opt_state is not None:
        if rule.optimizer.slots == 0:
            raise BadInput(f"opt_state given but the optimizer {rule.optimizer!r} has no state")
        s = (opt_state.detach() if isinstance(opt_state, torch.Tensor)
             else torch.from_numpy(np.asarray(opt_state, dtype=np.float64)))
        s = s.to(device=x.device, dtype=torch.float64).reshape(-1)
        if s.numel() != dim:
            raise BadInput(f"opt_state has {s.numel()} entries, the optimizer state has {dim}")
        xx, mem, _ = rule.split(z, dim)
        z = rule.join(fns, xx, mem, s)
    z = z.detach()
    if z.numel() != rule.state_dim(dim):
        raise BadInput(f"the rule's state has {z.numel()} components, state_dim says {rule.state_dim(dim)}")
    return z


def update_map_spectrum(generator, discriminator, losses=None, batch=None, *, sampler: Optional[Callable] = None,
                        seed: int = 0, rule: Any = "sim", optimizer: Any = None, eta: Optional[float] = None,
                        params: Optional[tuple] = None, buffers: Optional[tuple] = None,
                        field_fns: Optional[tuple] = None, opt_state: Any = None,
                        k: int = 6, tol: float = 1e-6, residual_tol: Optional[float] = None,
                        arpack_tol: Optional[float] = None, ncv: Optional[int] = None,
                        max_matvecs: int = 5000, field_k: int = 2, device: Any = None,
                        keep_vectors: bool = False, jvp: str = "auto") -> UpdateMapSpectrum:
    """The ``k`` eigenvalues of largest modulus of the update map's Jacobian at the current
    parameters of a PyTorch GAN (module docstring for the map, the signs and the solver).

    Parameters
    ----------
    generator, discriminator : torch.nn.Module
        Their trainable parameters (``requires_grad``) are ``theta`` and ``psi``; other
        parameters and buffers are held fixed. Modules are called through
        :func:`torch.func.functional_call` in their current train/eval mode (put BatchNorm in
        ``eval()``: running-stat updates do not compose with ``torch.func``).
    losses : ``(loss_G, loss_D)`` or a GAN class
        Two callables ``loss(G, D, batch) -> scalar tensor``, ``G(z)`` and ``D(x)`` the
        networks at the point analysed, each **minimized** by its player (as you would call
        ``.backward()`` on them; ``L_D = -loss_D``). Or one of the harness's GAN classes
        (:mod:`gpu_validation.gans`, anything with ``g_loss`` / ``d_objective``), with a
        ``batch`` dict holding ``z``, ``real`` and the pieces' draws.
    batch, sampler, seed
        The batch, held fixed (the map is deterministic), or ``sampler(torch.Generator) ->
        batch`` called once with a generator seeded by ``seed``. Floating tensors are copied to
        float64 on ``device``.
    rule : str or UpdateRule
        ``sim``, ``alt:n_d=,n_g=,first=``, ``eg``, ``ogda`` (:func:`stabcheck.rules.make_rule`),
        optimizer keys allowed (``sim:momentum=0.5``) unless ``optimizer`` is given.
    optimizer : None, str, Optimizer or ``(opt_g, opt_d)``
        An optimizer spec (``opt=sgd,momentum=0.5``), an
        :class:`~stabcheck.optimizers.Optimizer`, or the two live ``torch.optim`` optimizers
        (Adam, RMSprop or SGD; their state gives the preconditioner, the momentum / first
        moment, ``eta`` and ``ratio``).
    eta : float
        The generator's step size (from the torch optimizer when one is given).
    params, buffers : pairs of dicts, optional
        The values to analyse instead of the modules' own (name -> tensor), e.g. a training
        loop that keeps its parameters outside the modules; torch optimizers must hold these
        tensors.
    field_fns : ``(vg, vd)``, optional
        Instead of ``losses``: ``vg(gparams, dparams) -> -grad_theta L_G`` and ``vd(...) ->
        grad_psi L_D`` as dicts (a transformed field, e.g. JARE).
    opt_state : array, optional
        The optimizer slot (``u`` or ``m`` in stabcheck's sign convention, length ``dim``) for
        a spec/Optimizer with state (default 0).
    k, tol, residual_tol, arpack_tol, ncv, max_matvecs
        ``k`` eigenvalues (``k < state_dim - 1``); ``tol`` on ``|lambda|`` for the outcome
        (default 1e-6); a pair is converged when its residual is ``<= residual_tol *
        max(1, |lambda|)`` (default ``tol / 10``); ARPACK's own tolerance (default
        ``min(1e-10, residual_tol / 100)``), Krylov dimension (default ``max(2k + 1, 40)``)
        and matvec budget.
    field_k : int
        Eigenvalues of the field Jacobian to compute with ``LR`` and with ``LM`` (0: skip).
    device : torch device, optional
        Where the float64 copies live and the JVPs run (default CPU).
    jvp : ``"auto"`` | ``"forward"`` | ``"double-backward"``
        How the Jacobian-vector products are computed (:func:`analyze_map`); the mode used is
        reported in ``to_dict()["jvp_mode"]``.

    Returns
    -------
    UpdateMapSpectrum  (``.to_dict()`` is JSON-safe)

    Raises
    ------
    stabcheck.errors.BadInput
        Wrong module types, a batch the losses cannot use, an optimizer whose tensors are not
        the players', unsupported optimizer options, ``k >= state_dim - 1``, ...
    """
    t0 = time.perf_counter()
    pm = prepare_map(generator, discriminator, losses, batch, sampler=sampler, seed=seed, rule=rule,
                     optimizer=optimizer, eta=eta, params=params, buffers=buffers, field_fns=field_fns,
                     opt_state=opt_state, device=device)
    t_prep = time.perf_counter() - t0
    res = analyze_map(pm.v, pm.x, pm.n_gen, pm.rule, eta=pm.eta, opt_state=pm.opt_state,
                      optimizer_source=pm.optimizer_source, k=k, tol=tol, residual_tol=residual_tol,
                      arpack_tol=arpack_tol, ncv=ncv, max_matvecs=max_matvecs, field_k=field_k,
                      keep_vectors=keep_vectors, v1=pm.fns.V1, v2=pm.fns.V2, jvp=jvp)
    res.seconds["prepare"] = round(t_prep, 4)
    res.seconds["total"] = round(res.seconds["total"] + t_prep, 4)
    return res


def product_map_spectrum(maps: Sequence[PreparedMap], *, k: int = 2, tol: float = 1e-6,
                         residual_tol: Optional[float] = None, arpack_tol: Optional[float] = None,
                         ncv: Optional[int] = None, max_matvecs: int = 5000, seed: int = 0,
                         jvp: str = "auto", label: Optional[str] = None) -> UpdateMapSpectrum:
    """The ``k`` eigenvalues of largest modulus of the product ``A_W ... A_2 A_1`` of the
    Jacobians ``A_i = dF_i(z)`` of prepared maps (``maps[0]`` applied first), all linearized at
    one common state ``z``: the switched linear system ``u_{t+1} = A_{sigma(t)} u_t`` that a
    switching oracle (Dynamic-GDA) runs near ``z``, over one window of its choices. Its
    spectral radius ``rho_W`` is the growth rate of the window repeated; ``rho_W ** (1 / W)``
    compares with a one-step map's radius.

    Every map must share the state ``z`` (same rule state layout, same point, same step
    size); a map object listed several times is linearized once (one graph each, see
    :func:`linear_operator`), so a window of ``W`` decisions between two maps costs two graphs
    and ``W`` backward passes per product. This is the product at the point ``z``, not the
    Jacobian of the ``W``-step composite along its own trajectory (which re-linearizes at each
    intermediate point and costs a ``W``-deep graph per product). ``matvecs`` counts products
    of the whole window. Tolerances and the outcome as in :func:`update_map_spectrum`.
    """
    maps = list(maps)
    if not maps or not all(isinstance(m, PreparedMap) for m in maps):
        raise BadInput("maps must be a non-empty sequence of PreparedMap (stabcheck.nn.prepare_map)")
    t_start = time.perf_counter()
    tol = _pos("tol", tol)
    residual_tol = _pos("residual_tol", residual_tol if residual_tol is not None else tol / 10)
    arpack_tol = _pos("arpack_tol", arpack_tol if arpack_tol is not None else min(1e-10, residual_tol / 100))
    first = maps[0]
    z = first.z
    for m in maps[1:]:
        if m.z.shape != z.shape or not torch.equal(m.z, z):
            raise BadInput("the maps of a product must share one linearization point z (same state layout and values)")
        if not math.isclose(m.eta, first.eta, rel_tol=1e-12):
            raise BadInput(f"the maps of a product must share one step size (eta {m.eta:g} != {first.eta:g})")
    N = int(z.numel())
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise BadInput(f"k must be an integer >= 1, got {k!r}")
    if k >= N - 1:
        raise BadInput(f"k={k} eigenvalues need k < state dimension - 1 = {N - 1}")
    ops: dict = {}
    modes: dict = {}
    for m in maps:
        if id(m) not in ops:
            ops[id(m)], modes[short_spec(m.rule)] = linear_operator(m.step, z, jvp=jvp)
    seq = [ops[id(m)] for m in maps]
    count = {"map": 0}

    def apply(u):
        count["map"] += 1
        t = torch.from_numpy(np.ascontiguousarray(u, dtype=np.float64)).to(z.device)
        for op in seq:
            t = op(t)
        return t.detach().cpu().numpy().astype(np.float64)

    es = jvp_eigs(apply, N, k, "LM", tol=arpack_tol, residual_tol=residual_tol, ncv=ncv,
                  max_matvecs=max_matvecs, seed=seed)
    t_map = time.perf_counter() - t_start
    return UpdateMapSpectrum(
        rule=label or " * ".join(short_spec(m.rule) for m in reversed(maps)),
        optimizer=summarize_optimizer(first.rule.optimizer), optimizer_source=first.optimizer_source,
        eta=first.eta, n_gen=int(first.n_gen), n_disc=int(first.x.numel() - first.n_gen), state_dim=N, k=int(k),
        tol=tol, residual_tol=residual_tol, arpack_tol=arpack_tol, ncv=ncv if ncv is not None else default_ncv(N, k),
        eigenvalues=es.eigenvalues, residuals=es.residuals, converged=es.converged, arpack_status=es.arpack_status,
        matvecs=count["map"], field=None, field_matvecs=0,
        seconds={"map": round(t_map, 4), "field": 0.0, "total": round(t_map, 4)}, device=str(z.device),
        extra={"jvp_mode": modes, "product": {"factors": len(maps), "distinct_maps": len(ops),
                                              "linearized_at": "one common state z (the switched linear system)"}})


__all__ = ["update_map_spectrum", "prepare_map", "product_map_spectrum", "linear_operator", "analyze_map", "initial_state", "optimizer_from_torch", "jvp_eigs",
           "flat_field", "flat_fields", "summarize_optimizer", "short_spec", "UpdateMapSpectrum", "PreparedMap", "TorchOptimizerState",
           "EigenSet", "OUTCOMES", "SCHEMA"]
