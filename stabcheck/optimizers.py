"""Optimizers: how a player's field value becomes a step.

An update rule (:mod:`stabcheck.rules`) says *which* player moves *when* (Sim-GDA moves both
from the same point, Alt-GDA one after the other, extragradient looks ahead, an oracle picks);
an :class:`Optimizer` says *how* the field value ``g`` that a player sees becomes its step.
Every rule hands each of its gradient steps to its optimizer through one function,
:meth:`Optimizer.move`, so every optimizer composes with every rule and no method has a
formula of its own (the optax idea of small chained pieces).

Conventions
-----------
* ``g`` is the field ``v = (-grad_theta L_G, grad_psi L_D)``: the direction each player moves
  in (descent for the generator, ascent for the discriminator). A loss-minimizing
  ``torch.optim`` optimizer that is handed ``grad = -g`` makes exactly the steps below.
* Step sizes are per player: the generator steps with ``eta``, the discriminator with
  ``ratio * eta`` (two time scales, Heusel et al. 2017). ``ratio = 1`` by default.
* ``P`` is the per-coordinate step scale ``precond * (1 on theta, ratio on psi)``.

Kinds (``opt=``):

``sgd`` (default), Polyak heavy ball with ``momentum = beta`` in (-1, 1), negative allowed
    (Gidel et al., AISTATS 2019)::

        u' = beta u + eta P g,   x' = x + u'      (u = x_k - x_{k-1}, the last displacement)

    i.e. ``x_{k+1} = x_k + eta P v + beta (x_k - x_{k-1})``, applied *per player at the moment
    that player steps*: a player that does not move keeps its ``x`` and its ``u``. With Alt-GDA
    this is Gidel et al.'s alternating method with momentum. ``beta = 0`` is plain GDA.
``rmsprop``, the same update with a frozen diagonal preconditioner (``torch.optim.RMSprop``
    with ``momentum = beta``: ``buf = beta buf + grad / (sqrt(v) + eps)``, ``p -= lr buf``).
``adam``, the first moment as an exponential moving average with ``beta1`` (default 0.9)::

        m' = beta1 m + (1 - beta1) g,   x' = x + eta c1 P m'

    (``torch.optim.Adam`` with ``amsgrad=False`` and no weight decay).

What is frozen, and why
-----------------------
Adam's and RMSProp's second moment ``v`` (the EMA of squared gradients) enters as the diagonal
preconditioner ``precond = 1 / (sqrt(v_hat) + eps)``, held **fixed**. At an equilibrium the
deterministic gradient vanishes, so ``v`` decays to zero along any converging trajectory and
the true map is not differentiable in a useful sense there (``g / sqrt(v)`` is 0/0); the
linearization with the second moment frozen at a given value (from a spec, or read from a
``torch.optim`` state by :mod:`stabcheck.nn`) is the only well-posed one, and it is what the
optimizer does over a window in which ``v`` changes slowly (``beta2`` close to 1). ``v_hat``
includes Adam's second-moment bias correction ``v / (1 - beta2^t)``. The first-moment bias
correction ``c1 = 1 / (1 - beta1^t)`` is taken at its limit ``c1 = 1`` (late in training)
unless ``t=`` (the optimizer's step count) is given, when it is frozen at that ``t``.

The optimizer's state (``u`` for momentum, ``m`` for Adam; one copy of ``x``) joins the map's
state after the rule's own memory, as optimistic GDA's memory does; it is zero at the
equilibrium.

Spec keys (on every rule: ``sim:ratio=4``, ``alt:n_d=1,momentum=-0.5``,
``alt:opt=adam,beta1=0.5,precond=1e3``): ``ratio``, ``momentum``, ``opt``, ``beta1``,
``precond`` (a number, a ``;``-separated list with one entry per parameter, or a ``.npy`` /
``.json`` / ``.txt`` file holding such a list) and ``t``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from stabcheck.errors import BadInput

KINDS = ("sgd", "rmsprop", "adam")

#: spec key -> type, accepted by every rule
OPTIMIZER_KEYS = {"opt": str, "ratio": float, "momentum": float, "beta1": float, "precond": object, "t": int}


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise BadInput(f"optimizer: {name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"optimizer: {name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise BadInput(f"optimizer: {name} must be finite, got {value!r}")
    return v


def parse_precond(value: Any) -> Union[None, float, np.ndarray]:
    """A preconditioner from a spec value: a number, ``a;b;c``, a file, or an array."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        p = Path(text)
        if text.endswith((".npy", ".json", ".txt")):
            if not p.is_file():
                raise BadInput(f"optimizer: precond file {text!r} not found")
            try:
                if text.endswith(".npy"):
                    arr = np.load(p, allow_pickle=False)
                elif text.endswith(".json"):
                    arr = np.asarray(json.loads(p.read_text()), dtype=float)
                else:
                    arr = np.loadtxt(p, dtype=float, ndmin=1)
            except (ValueError, OSError, TypeError) as e:
                raise BadInput(f"optimizer: cannot read precond file {text!r}: {e}") from None
        else:
            try:
                arr = np.array([float(s) for s in text.split(";")], dtype=float)
            except ValueError:
                raise BadInput(f"optimizer: precond must be a number, a ';'-separated list of numbers "
                               f"or a .npy/.json/.txt file, got {value!r}") from None
    elif isinstance(value, bool):
        raise BadInput(f"optimizer: precond must be a number or a list of numbers, got {value!r}")
    else:
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise BadInput(f"optimizer: precond must be a number or a list of numbers, got {value!r}") from None
    arr = np.asarray(arr, dtype=float)
    if arr.ndim > 1:
        raise BadInput(f"optimizer: precond must be a number or a vector, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise BadInput("optimizer: precond is empty")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise BadInput("optimizer: precond entries must be finite and > 0 (it is 1 / (sqrt(v_hat) + eps))")
    if arr.ndim == 0 or arr.size == 1:
        return float(arr.reshape(-1)[0])
    return arr


class Optimizer:
    """Per-player step sizes, heavy-ball momentum, or Adam/RMSProp with a frozen preconditioner.

    Parameters
    ----------
    kind : ``"sgd"`` | ``"rmsprop"`` | ``"adam"``
    ratio : float > 0
        Discriminator step / generator step.
    momentum : float in (-1, 1)
        Heavy-ball coefficient (``sgd``, ``rmsprop``).
    beta1 : float in [0, 1)
        Adam's first-moment coefficient (default 0.9).
    precond : number or vector of positive numbers
        The frozen ``1 / (sqrt(v_hat) + eps)``, one entry per parameter (``theta`` then
        ``psi``) or one number for all. Required for ``adam`` and ``rmsprop``.
    t : int >= 1, optional
        Adam's step count for the first-moment bias correction ``1 / (1 - beta1^t)``
        (default: its limit 1).
    """

    def __init__(self, kind: str = "sgd", *, ratio: float = 1.0, momentum: float = 0.0,
                 beta1: Optional[float] = None, precond: Any = None, t: Optional[int] = None):
        if kind not in KINDS:
            raise BadInput(f"unknown optimizer {kind!r}; valid: {', '.join(KINDS)}")
        ratio = _finite("ratio", ratio)
        if ratio <= 0:
            raise BadInput(f"optimizer: ratio (discriminator step / generator step) must be > 0, got {ratio:g}")
        momentum = _finite("momentum", momentum)
        if not -1 < momentum < 1:
            raise BadInput(f"optimizer: momentum must lie in (-1, 1), got {momentum:g}")
        if kind == "adam":
            if momentum != 0:
                raise BadInput("optimizer: adam takes beta1=, not momentum=")
            beta1 = 0.9 if beta1 is None else _finite("beta1", beta1)
            if not 0 <= beta1 < 1:
                raise BadInput(f"optimizer: beta1 must lie in [0, 1), got {beta1:g}")
        elif beta1 is not None:
            raise BadInput(f"optimizer: beta1= belongs to opt=adam, not opt={kind}")
        if t is not None:
            if kind != "adam":
                raise BadInput("optimizer: t= (bias correction) belongs to opt=adam")
            if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
                raise BadInput(f"optimizer: t must be an integer >= 1, got {t!r}")
            t = int(t)
        precond = parse_precond(precond)
        if kind in ("adam", "rmsprop") and precond is None:
            raise BadInput(f"optimizer: opt={kind} needs precond= (the frozen 1/(sqrt(v_hat)+eps), a number or "
                           "a list; stabcheck.nn reads it from a torch.optim state)")
        self.kind, self.ratio, self.momentum, self.beta1 = kind, ratio, momentum, beta1
        self.precond, self.t = precond, t
        self._scale_cache = None
        self._slots = 1 if (kind == "adam" or momentum != 0) else 0
        self._plain = kind == "sgd" and momentum == 0 and ratio == 1 and precond is None

    @classmethod
    def batched(cls, kind: str = "sgd", *, ratio=1.0, momentum=0.0, beta1=None, precond=None, t=None) -> "Optimizer":
        """An optimizer whose ``ratio`` / ``momentum`` / ``beta1`` may be arrays that broadcast
        against the state's leading axes (shape ``(B, 1, 1)`` for a sweep's stacked states).

        For the float numpy backend only (sweeps); every value must already be valid (a sweep
        checks its axes): this skips the checks of the constructor.
        """
        probe = {k: 0.5 for k, v in (("momentum", momentum), ("beta1", beta1)) if isinstance(v, np.ndarray)}
        scalars = dict(ratio=1.0 if isinstance(ratio, np.ndarray) else ratio,
                       momentum=probe.get("momentum", momentum), beta1=probe.get("beta1", beta1))
        opt = cls(kind, precond=precond, t=t, **scalars)
        opt.ratio, opt.momentum = ratio, momentum
        if kind == "adam":
            opt.beta1 = beta1 if beta1 is not None else opt.beta1
        arrays = any(isinstance(v, np.ndarray) for v in (ratio, momentum, beta1))
        if arrays:
            opt._slots = 1 if (kind == "adam" or isinstance(momentum, np.ndarray) or momentum != 0) else 0
            opt._plain = False
        return opt

    # ------------------------------------------------------------------ description
    @property
    def slots(self) -> int:
        """Copies of ``x`` in the optimizer's state (0 or 1)."""
        return self._slots

    @property
    def plain(self) -> bool:
        """Plain GDA with one step size (the map ``x + eta g``)."""
        return self._plain

    @property
    def params(self) -> dict:
        """Spec parameters that differ from the defaults (in spec order)."""
        p: dict = {}
        if self.kind != "sgd":
            p["opt"] = self.kind
        if self.ratio != 1:
            p["ratio"] = self.ratio
        if self.momentum != 0:
            p["momentum"] = self.momentum
        if self.kind == "adam":
            p["beta1"] = self.beta1
        if self.precond is not None:
            p["precond"] = (repr(self.precond) if isinstance(self.precond, float)
                            else ";".join(repr(float(v)) for v in self.precond))
        if self.t is not None:
            p["t"] = self.t
        return p

    def describe(self) -> dict:
        """JSON description (every output prints the optimizer)."""
        out = {"kind": self.kind, "ratio": self.ratio}
        if self.kind == "adam":
            out["beta1"] = self.beta1
            out["bias_correction_t"] = self.t
        else:
            out["momentum"] = self.momentum
        if self.precond is not None:
            out["precond"] = (self.precond if isinstance(self.precond, float)
                              else [float(v) for v in self.precond])
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"Optimizer({inner})"

    # ------------------------------------------------------------------ the step
    def scale(self, f) -> Any:
        """``c1 * precond * (1 on theta, ratio on psi)`` in ``f``'s backend (length ``d``)."""
        d, n = f.dim, f.n_gen
        if self.precond is None:
            pre = np.ones(d)
        elif isinstance(self.precond, float):
            pre = np.full(d, self.precond)
        else:
            if self.precond.size != d:
                raise BadInput(f"optimizer: precond has {self.precond.size} entries, the game has {d} parameters")
            pre = np.asarray(self.precond, dtype=float)
        c1 = 1.0 if (self.kind != "adam" or self.t is None) else 1.0 / (1.0 - self.beta1 ** self.t)
        if f.number is float:  # float backends (numpy float64, torch): one vectorised product
            key = (id(f), d, n, f.backend)
            cached = self._scale_cache
            if cached is not None and cached[0] == key:
                return cached[1]
            on_psi = np.arange(d) >= n
            P = pre * np.where(on_psi, np.asarray(self.ratio, dtype=float), 1.0) * c1
            out = f.vec(P)
            self._scale_cache = (key, out)
            return out
        exact_ratio = f.number(self.ratio)
        out = [f.number(float(p)) * (exact_ratio if i >= n else 1) for i, p in enumerate(pre)]
        if c1 != 1.0:
            b = f.number(self.beta1)
            c = 1 / (1 - b ** self.t)
            out = [c * o for o in out]
        return f.vec(out)

    def move(self, x, s, g, eta, f, mask=None):
        """One gradient step of the players in ``mask`` (a 0/1 vector; None = every player).

        ``x`` positions, ``s`` the optimizer state (``None`` when :attr:`slots` is 0), ``g``
        the field value the moving players see (zero outside ``mask``). Returns ``(x', s')``.
        """
        if self.plain:
            return x + eta * g, s
        P = self.scale(f)
        if self.slots == 0:
            return x + eta * (P * g), s
        if self.kind == "adam":
            b = _number(f, self.beta1)
            m_new = b * s + (1 - b) * g
            if mask is not None:
                m_new = mask * m_new + (1 - mask) * s
                return x + mask * (eta * (P * m_new)), m_new
            return x + eta * (P * m_new), m_new
        beta = _number(f, self.momentum)
        u_new = beta * s + eta * (P * g)
        if mask is not None:
            u_new = mask * u_new + (1 - mask) * s
            return x + mask * u_new, u_new
        return x + u_new, u_new


def _number(f, value):
    """A constant in ``f``'s backend; arrays (batched sweeps) pass through."""
    return value if isinstance(value, np.ndarray) else f.number(value)


def make_optimizer(params: dict) -> Optimizer:
    """An :class:`Optimizer` from spec parameters (the optimizer keys of a rule spec)."""
    p = dict(params)
    kind = p.pop("opt", "sgd")
    if not isinstance(kind, str):
        raise BadInput(f"optimizer: opt must be one of {', '.join(KINDS)}, got {kind!r}")
    return Optimizer(kind, **p)


def split_optimizer_params(params: dict) -> tuple[dict, dict]:
    """``(rule params, optimizer params)`` of a spec's parameters."""
    rule = {k: v for k, v in params.items() if k not in OPTIMIZER_KEYS}
    opt = {k: v for k, v in params.items() if k in OPTIMIZER_KEYS}
    return rule, opt


def coerce_optimizer_params(params: dict, what: str) -> dict:
    """Type-check the optimizer keys of a spec (``ratio=4`` is a float, ``t`` an int, ...)."""
    out = {}
    for k, v in params.items():
        typ = OPTIMIZER_KEYS[k]
        if typ is float:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise BadInput(f"{what}: parameter {k}={v!r} must be a number")
            out[k] = float(v)
        elif typ is int:
            if isinstance(v, bool) or not isinstance(v, int):
                raise BadInput(f"{what}: parameter {k}={v!r} must be an integer")
            out[k] = v
        elif typ is str:
            if not isinstance(v, str):
                raise BadInput(f"{what}: parameter {k}={v!r} must be one of {', '.join(KINDS)}")
            out[k] = v
        else:
            out[k] = v
    return out


__all__ = ["Optimizer", "make_optimizer", "split_optimizer_params", "OPTIMIZER_KEYS", "KINDS", "parse_precond"]
