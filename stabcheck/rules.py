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
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.specs import check_params, format_spec, parse_spec


class FieldFns:
    """V1, V2, V3 of one field in one backend (``numpy`` float/object arrays or ``torch``)."""

    def __init__(self, v: Callable, n_gen: int, dim: int, backend: str = "numpy"):
        self.v, self.n_gen, self.dim, self.backend = v, n_gen, dim, backend
        m1 = np.zeros(dim, dtype=int)
        m1[:n_gen] = 1
        m2 = 1 - m1
        if backend == "torch":
            import torch

            m1 = torch.as_tensor(m1, dtype=torch.float64)
            m2 = torch.as_tensor(m2, dtype=torch.float64)
        self._m1, self._m2 = m1, m2

    def V1(self, x):
        return self.v(x) * self._m1

    def V2(self, x):
        return self.v(x) * self._m2

    def V3(self, x):
        return self.v(x)

    def by_code(self, code: int) -> Callable:
        return {1: self.V1, 2: self.V2, 3: self.V3}[code]

    def cat(self, a, b):
        if self.backend == "torch":
            import torch

            return torch.cat([a, b], dim=-1)
        return np.concatenate([a, b], axis=-1)


class UpdateRule:
    """Base class: a memoryless rule on ``x``; subclasses override :meth:`step`."""

    name = "rule"
    memory = 0  # extra copies of x carried in the state

    @property
    def params(self) -> dict:
        return {}

    @property
    def spec(self) -> str:
        return format_spec(self.name, self.params)

    def state_dim(self, d: int) -> int:
        return d * (1 + self.memory)

    def init(self, x0, f: FieldFns):
        return x0

    def state_equilibrium(self, x_star: np.ndarray) -> np.ndarray:
        return np.concatenate([x_star] + [np.zeros_like(x_star)] * self.memory)

    def position(self, z):
        """The parameters ``x`` inside a state ``z``."""
        return z[..., : z.shape[-1] // (1 + self.memory)]

    def step(self, z, f: FieldFns, eta):  # pragma: no cover - abstract
        raise NotImplementedError

    def gradient_evaluations(self) -> int:
        """Field evaluations per application of the map (for fair comparisons)."""
        return 1


class Sim(UpdateRule):
    name = "sim"

    def step(self, z, f, eta):
        return z + eta * f.V3(z)


class Alt(UpdateRule):
    name = "alt"

    def __init__(self, n_d: int = 1, n_g: int = 1, first: str = "discriminator"):
        if n_d < 1 or n_g < 1:
            raise BadInput(f"alt: n_d and n_g must be >= 1, got n_d={n_d}, n_g={n_g}")
        if first not in ("discriminator", "generator"):
            raise BadInput(f"alt: first must be 'discriminator' or 'generator', got {first!r}")
        self.n_d, self.n_g, self.first = n_d, n_g, first

    @property
    def params(self):
        return {"n_d": self.n_d, "n_g": self.n_g, "first": self.first}

    def step(self, z, f, eta):
        order = [(f.V2, self.n_d), (f.V1, self.n_g)]
        if self.first == "generator":
            order.reverse()
        for V, n in order:
            for _ in range(n):
                z = z + eta * V(z)
        return z

    def gradient_evaluations(self):
        return self.n_d + self.n_g


class Extragradient(UpdateRule):
    name = "eg"

    def step(self, z, f, eta):
        return z + eta * f.V3(z + eta * f.V3(z))

    def gradient_evaluations(self):
        return 2


class OptimisticGDA(UpdateRule):
    name = "ogda"
    memory = 1

    def init(self, x0, f):
        return f.cat(x0, f.V3(x0))

    def step(self, z, f, eta):
        d = f.dim
        x, g = z[..., :d], z[..., d:]
        g_new = f.V3(x)
        return f.cat(x + eta * (2 * g_new - g), g_new)


RULES = {
    "sim": (Sim, {}),
    "alt": (Alt, {"n_d": int, "n_g": int, "first": str}),
    "eg": (Extragradient, {}),
    "ogda": (OptimisticGDA, {}),
}


def make_rule(text: str) -> UpdateRule:
    """Build an update rule from a spec (``sim``, ``alt:n_d=5,first=generator``, ``eg``, ``ogda``)."""
    spec = parse_spec(text, what="update rule")
    if spec.name not in RULES:
        raise BadInput(f"unknown update rule {spec.name!r}; valid: {', '.join(RULES)}")
    cls, allowed = RULES[spec.name]
    return cls(**check_params(spec, allowed, what="update rule"))
