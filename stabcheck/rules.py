"""Update rules: turn a field into a discrete map ``z_{k+1} = F_eta(z_k)``.

Every rule is written once against :class:`FieldFns` (the partial fields V1, V2, V3 in one
backend) using only vector addition, scaling, slicing and concatenation, so the same code
runs on float64 numpy arrays (batched: shape ``(B, d)``), torch tensors (autodiff Jacobians),
numpy object arrays of mpmath numbers (arbitrary precision) and of sympy expressions (exact).

The state ``z`` is ``x = (theta, psi)`` for memoryless rules; optimistic GDA keeps the last
field value and runs on ``z = (x, g)`` (``2d`` components).

Rules (thesis eq. 3 fields; Mescheder et al. 2017/2018; Daskalakis et al. 2018):

* ``sim``  - ``x + eta V3(x)``.
* ``alt:n_d=,n_g=,first=`` - ``n_d`` steps ``x + eta V2(x)`` and ``n_g`` steps ``x + eta V1(x)``;
  ``first`` says which player moves first (default ``discriminator``, as in the thesis's
  Algorithm 4 and StudioGAN; Mescheder's and Nie & Patel's code step the generator first).
  One application of the map is one full period (``n_d + n_g`` gradient steps).
* ``eg``   - extragradient: ``x + eta V3(x + eta V3(x))``.
* ``ogda`` - optimistic GDA: ``g' = V3(x)``, ``x' = x + eta (2 g' - g)``; ``z = (x, g)``,
  started with ``g = v(x_0)``.

Every rule takes the optimizer keys of :mod:`stabcheck.optimizers` (``ratio=``,
``momentum=``, ``opt=sgd|rmsprop|adam``, ``beta1=``, ``precond=``, ``t=``), e.g.
``sim:ratio=4``, ``alt:n_d=1,momentum=-0.5``, ``alt:opt=adam,beta1=0.5,precond=100``: the
rule says which player moves when, the optimizer how a field value becomes a step. The
formulas above are the plain optimizer's (one step size, no momentum).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.optimizers import OPTIMIZER_KEYS, Optimizer, coerce_optimizer_params, make_optimizer
from stabcheck.specs import check_params, format_spec, parse_spec


class FieldFns:
    """V1, V2, V3 of one field in one backend (``numpy`` float/object arrays or ``torch``).

    ``number`` turns a float constant of a rule or optimizer (a momentum, a step ratio, a
    preconditioner entry) into the backend's number: ``float`` by default, an exact sympy
    rational on the exact path, an mpmath number at arbitrary precision.

    ``device`` (torch backend only): where the masks and constant vectors live (default: the
    CPU); pass the device of the tensors ``v`` works on (e.g. ``"cuda"``).

    ``v1`` / ``v2`` (optional): the partial fields ``V1(x)`` / ``V2(x)`` computed directly (the
    other player's part zero), for fields where one player's part costs a gradient of its own
    (neural networks); by default ``V1 = v * gen_mask``, ``V2 = v * disc_mask``.
    """

    def __init__(self, v: Callable, n_gen: int, dim: int, backend: str = "numpy",
                 number: Optional[Callable] = None, device: Any = None,
                 v1: Optional[Callable] = None, v2: Optional[Callable] = None):
        self.v, self.n_gen, self.dim, self.backend = v, n_gen, dim, backend
        self.number = number if number is not None else float
        self.device = device
        self._v1, self._v2 = v1, v2
        m1 = np.zeros(dim, dtype=int)
        m1[:n_gen] = 1
        m2 = 1 - m1
        if backend == "torch":
            import torch

            m1 = torch.as_tensor(m1, dtype=torch.float64, device=device)
            m2 = torch.as_tensor(m2, dtype=torch.float64, device=device)
        self._m1, self._m2 = m1, m2
        self._ones = m1 + m2

    @property
    def gen_mask(self):
        """1 on the generator's coordinates (theta), 0 on psi."""
        return self._m1

    @property
    def disc_mask(self):
        """1 on the discriminator's coordinates (psi), 0 on theta."""
        return self._m2

    def mask_of(self, code: int):
        """Which coordinates move under V1 (1), V2 (2), V3 (3); None means all."""
        return {1: self._m1, 2: self._m2, 3: None}[code]

    def vec(self, values):
        """A constant vector (length ``dim``) in this backend."""
        if self.backend == "torch":
            import torch

            return torch.as_tensor(np.asarray(values, dtype=float), dtype=torch.float64, device=self.device)
        if self.number is float:
            return np.asarray(values, dtype=float)
        return np.array(list(values), dtype=object)

    def V1(self, x):
        return self._v1(x) if self._v1 is not None else self.v(x) * self._m1

    def V2(self, x):
        return self._v2(x) if self._v2 is not None else self.v(x) * self._m2

    def V3(self, x):
        return self.v(x)

    def by_code(self, code: int) -> Callable:
        return {1: self.V1, 2: self.V2, 3: self.V3}[code]

    def cat(self, a, b, *more):
        if self.backend == "torch":
            import torch

            return torch.cat([a, b, *more], dim=-1)
        return np.concatenate([a, b, *more], axis=-1)


class UpdateRule:
    """Base class of update rules; subclasses override :meth:`step`.

    The state is ``z = (x, memory..., optimizer state)``: ``x`` the parameters, then
    :attr:`memory` copies of ``x``'s size that the rule keeps (optimistic GDA's last
    gradient), then :attr:`Optimizer.slots` copies for the optimizer (momentum, Adam's first
    moment). Every gradient step a rule takes goes through :meth:`move` (its optimizer), so
    rules never write ``x + eta g`` themselves and every optimizer composes with every rule.

    The user-rule protocol (``--method pkg.mod:MyRule[:k=v]``): subclass this class, set
    ``name``, take your parameters (and ``**opt`` for the optimizer keys) in ``__init__``,
    call ``super().__init__(**opt)``, return your parameters from :attr:`params`, and write
    :meth:`step` with :meth:`split`, :meth:`move` and :meth:`join`. See docs/extending.md.
    """

    name = "rule"
    memory = 0  # extra copies of x carried in the state by the rule itself

    def __init__(self, optimizer: Optional[Optimizer] = None, **opt):
        if optimizer is not None and opt:
            raise BadInput(f"{self.name}: give an Optimizer or optimizer keys, not both")
        if optimizer is None:
            opt = coerce_optimizer_params(opt, what=f"update rule {self.name!r}")
            optimizer = make_optimizer(opt)
        self.optimizer = optimizer

    @property
    def optimizer(self) -> Optimizer:
        return self.__dict__.get("_optimizer") or _PLAIN

    @optimizer.setter
    def optimizer(self, value: Optimizer) -> None:
        self.__dict__["_optimizer"] = value

    @property
    def params(self) -> dict:
        return {}

    @property
    def all_params(self) -> dict:
        """The rule's parameters followed by the optimizer's (non-default) ones."""
        return {**self.params, **self.optimizer.params}

    @property
    def spec(self) -> str:
        """A spec that rebuilds this rule (``pkg.mod:Name[:k=v]`` for a user rule)."""
        path = self.__dict__.get("import_path")
        if path:
            p = self.all_params
            return path + (":" + format_spec("_", p).partition(":")[2] if p else "")
        return format_spec(self.name, self.all_params)

    @property
    def slots(self) -> int:
        return self.memory + self.optimizer.slots

    def state_dim(self, d: int) -> int:
        return d * (1 + self.slots)

    def init(self, x0, f: FieldFns):
        """The state at the start: the rule's memory from :meth:`init_memory`, optimizer state 0."""
        mem = self.init_memory(x0, f)
        opt = [x0 * 0] * self.optimizer.slots
        if not mem and not opt:
            return x0
        return f.cat(x0, *mem, *opt)

    def init_memory(self, x0, f: FieldFns) -> list:
        """The rule's own memory at the start (a list of :attr:`memory` vectors)."""
        return []

    def state_equilibrium(self, x_star: np.ndarray) -> np.ndarray:
        return np.concatenate([x_star] + [np.zeros_like(x_star)] * self.slots)

    def position(self, z):
        """The parameters ``x`` inside a state ``z``."""
        return z[..., : z.shape[-1] // (1 + self.slots)]

    def split(self, z, d: int):
        """``(x, [memory...], s)``: the parameters, the rule's memory, the optimizer state (or None)."""
        if self.slots == 0:
            return z, [], None
        x = z[..., :d]
        mem = [z[..., d * (1 + i): d * (2 + i)] for i in range(self.memory)]
        s = z[..., d * (1 + self.memory):] if self.optimizer.slots else None
        return x, mem, s

    def join(self, f: FieldFns, x, mem=(), s=None):
        """Inverse of :meth:`split`."""
        parts = list(mem) + ([s] if s is not None else [])
        return f.cat(x, *parts) if parts else x

    def move(self, x, s, g, eta, f: FieldFns, mask=None):
        """One gradient step of the players in ``mask`` through the optimizer: ``(x', s')``."""
        return self.optimizer.move(x, s, g, eta, f, mask)

    def step(self, z, f: FieldFns, eta):  # pragma: no cover - abstract
        raise NotImplementedError

    def gradient_evaluations(self) -> int:
        """Field evaluations per application of the map (for fair comparisons)."""
        return 1


class Sim(UpdateRule):
    name = "sim"

    def step(self, z, f, eta):
        x, mem, s = self.split(z, f.dim)
        x, s = self.move(x, s, f.V3(x), eta, f)
        return self.join(f, x, mem, s)


class Alt(UpdateRule):
    name = "alt"

    def __init__(self, n_d: int = 1, n_g: int = 1, first: str = "discriminator", **opt):
        for key, n in (("n_d", n_d), ("n_g", n_g)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise BadInput(f"alt: {key} must be an integer >= 1, got {n!r}")
            if n > MAX_INNER_STEPS:
                raise BadInput(f"alt: {key}={n} is above the limit of {MAX_INNER_STEPS} steps per period")
        if first not in ("discriminator", "generator"):
            raise BadInput(f"alt: first must be 'discriminator' or 'generator', got {first!r}")
        self.n_d, self.n_g, self.first = int(n_d), int(n_g), first
        super().__init__(**opt)

    @property
    def params(self):
        return {"n_d": self.n_d, "n_g": self.n_g, "first": self.first}

    def step(self, z, f, eta):
        x, mem, s = self.split(z, f.dim)
        order = [(f.V2, f.disc_mask, self.n_d), (f.V1, f.gen_mask, self.n_g)]
        if self.first == "generator":
            order.reverse()
        for V, mask, n in order:
            for _ in range(n):
                x, s = self.move(x, s, V(x), eta, f, mask)
        return self.join(f, x, mem, s)

    def gradient_evaluations(self):
        return self.n_d + self.n_g


class Extragradient(UpdateRule):
    """Extragradient. With an optimizer: the look-ahead is a step from ``(x, s)`` whose
    optimizer state is discarded; the update is a step from ``(x, s)`` with the field at the
    look-ahead point (Gidel et al.'s extrapolation from the past state)."""

    name = "eg"

    def step(self, z, f, eta):
        x, mem, s = self.split(z, f.dim)
        xh, _ = self.move(x, s, f.V3(x), eta, f)
        x, s = self.move(x, s, f.V3(xh), eta, f)
        return self.join(f, x, mem, s)

    def gradient_evaluations(self):
        return 2


class OptimisticGDA(UpdateRule):
    """Optimistic GDA: the optimizer is handed the optimistic field ``2 v(x) - v(x_prev)``."""

    name = "ogda"
    memory = 1

    def init_memory(self, x0, f):
        return [f.V3(x0)]

    def step(self, z, f, eta):
        x, (g,), s = self.split(z, f.dim)
        g_new = f.V3(x)
        x, s = self.move(x, s, 2 * g_new - g, eta, f)
        return self.join(f, x, [g_new], s)

    def split(self, z, d):
        x = z[..., :d]
        g = z[..., d: 2 * d]
        s = z[..., 2 * d:] if self.optimizer.slots else None
        return x, [g], s


class ReplayRule(UpdateRule):
    """A recorded sequence of oracle decisions as one map: ``codes`` (1 = V1, the generator
    moves; 2 = V2, the discriminator; 3 = V3, both) applied in order, each step through the
    optimizer. One application is the whole window, so its Jacobian is the *product* of the
    per-step Jacobians that a switched run (Dyn-GDA) actually took: the switched system's
    growth over that window, not a single step's.
    """

    name = "replay"

    def __init__(self, codes, **opt):
        codes = [int(c) for c in np.asarray(codes).reshape(-1)]
        if not codes or any(c not in (1, 2, 3) for c in codes):
            raise BadInput("replay: codes must be a non-empty sequence of 1, 2, 3 (V1, V2, V3)")
        if len(codes) > MAX_INNER_STEPS:
            raise BadInput(f"replay: {len(codes)} codes is above the limit of {MAX_INNER_STEPS} steps")
        self.codes = codes
        super().__init__(**opt)

    @property
    def params(self):
        return {"codes": "".join(str(c) for c in self.codes)}

    def step(self, z, f, eta):
        x, mem, s = self.split(z, f.dim)
        for c in self.codes:
            x, s = self.move(x, s, f.by_code(c)(x), eta, f, f.mask_of(c))
        return self.join(f, x, mem, s)

    def gradient_evaluations(self):
        return len(self.codes)


#: the largest n_d / n_g accepted (a period of more steps cannot be linearized in reasonable time)
MAX_INNER_STEPS = 10_000

_PLAIN = Optimizer()

RULES = {
    "sim": (Sim, {}),
    "alt": (Alt, {"n_d": int, "n_g": int, "first": str}),
    "eg": (Extragradient, {}),
    "ogda": (OptimisticGDA, {}),
}


def is_import_path(text: str, builtins=()) -> bool:
    """``pkg.mod:Name[:k=v]`` (a user object) rather than ``name[:k=v]`` (a built-in: a rule
    or a name in ``builtins``)."""
    head, sep, rest = text.strip().partition(":")
    if head in RULES or head in builtins:
        return False
    if "." in head:
        return True
    attr = rest.split(":", 1)[0]
    return bool(sep) and bool(attr) and "=" not in attr and "," not in attr


def load_rule(text: str) -> UpdateRule:
    """A user rule from ``pkg.mod:Name[:k=v,...]``: a class (called with the parameters) or
    an :class:`UpdateRule` instance (no parameters)."""
    from stabcheck.oracles import load_object
    from stabcheck.specs import parse_import_spec

    module, attr, params = parse_import_spec(text, what="update rule")
    obj = load_object(module, attr, what="update rule")
    if isinstance(obj, type):
        try:
            obj = obj(**params)
        except BadInput:
            raise
        except Exception as e:  # a user constructor that breaks is a bad input, one line
            raise BadInput(f"update rule {text!r}: constructing it failed: {type(e).__name__}: {e}") from None
    elif params:
        raise BadInput(f"update rule {text!r}: {attr} is not a class; it takes no parameters")
    check_rule_protocol(obj, text)
    obj.__dict__["import_path"] = f"{module}:{attr}"
    return obj


def check_rule_protocol(obj: Any, text: str) -> None:
    """Raise :class:`BadInput` unless ``obj`` is a usable update rule."""
    missing = [a for a in ("step", "state_dim", "init", "position", "state_equilibrium", "gradient_evaluations")
               if not callable(getattr(obj, a, None))]
    if missing or not isinstance(getattr(obj, "optimizer", None), Optimizer):
        raise BadInput(f"update rule {text!r} breaks the rule protocol: "
                       f"{'no ' + ', '.join(missing) if missing else 'no optimizer'} (subclass stabcheck.rules.UpdateRule)")
    # a probe on the linear field v(x) = J x of a 2-parameter game (theta, psi)
    J = np.array([[-0.5, -1.0], [1.0, -0.25]])
    fns = FieldFns(lambda X: X @ J.T, 1, 2)
    try:
        s = int(obj.state_dim(2))
        z0 = obj.init(np.array([0.3, -0.2]), fns)
        z1 = obj.step(np.asarray(z0, dtype=float), fns, 0.1)
        x1 = obj.position(np.asarray(z1))
    except BadInput:
        raise
    except Exception as e:
        raise BadInput(f"update rule {text!r} breaks the rule protocol: a probe step raised "
                       f"{type(e).__name__}: {e}") from None
    if np.shape(z0) != (s,) or np.shape(z1) != (s,) or np.shape(x1) != (2,) or not np.all(np.isfinite(z1)):
        raise BadInput(f"update rule {text!r} breaks the rule protocol: on a 2-parameter probe state_dim is {s}, "
                       f"init gave shape {np.shape(z0)}, step {np.shape(z1)}, position {np.shape(x1)} "
                       "(expected (s,), (s,), (2,), finite)")


def make_rule(text: str) -> UpdateRule:
    """Build an update rule from a spec (``sim``, ``alt:n_d=5,first=generator``, ``eg``,
    ``ogda``, with optimizer keys ``ratio=``, ``momentum=``, ``opt=``, ``beta1=``,
    ``precond=``, ``t=``; or a user rule ``pkg.mod:Name[:k=v]``)."""
    if is_import_path(text):
        return load_rule(text)
    spec = parse_spec(text, what="update rule")
    if spec.name not in RULES:
        raise BadInput(f"unknown update rule {spec.name!r}; valid: {', '.join(RULES)}")
    cls, allowed = RULES[spec.name]
    params = check_params(spec, {**allowed, **OPTIMIZER_KEYS}, what="update rule")
    return cls(**params)
