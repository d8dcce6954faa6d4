"""User games whose losses are torch functions (no symbolic form).

A :class:`TorchGame` gives ``L_G(theta, psi)`` and ``L_D(theta, psi)`` as torch functions of
two 1-D float64 tensors; the field ``v = (-grad_theta L_G, grad_psi L_D)`` and every Jacobian
come from ``torch.func`` (autodiff path only: verdicts are floating point, ``exact: false``).

Example (the WGAN Dirac-GAN in Mescheder's convention)::

    from stabcheck.games.torchgame import TorchGame

    def make_game():
        L = lambda th, ps: (ps * th).sum()
        return TorchGame(name="my-dirac", n_gen=1, n_disc=1, L_G=L, L_D=L, equilibrium=[0.0, 0.0])

``stabcheck analyze --system mymodule:make_game --eta 0.1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Optional, Sequence

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.games.base import CONVENTIONS, convert_state


@dataclass
class TorchGame:
    """A game given by torch losses (see module docstring). ``L_G`` is minimized by theta,
    ``L_D`` maximized by psi; pass the same function twice for a zero-sum game."""

    name: str
    n_gen: int
    n_disc: int
    L_G: Callable
    L_D: Callable
    equilibrium: Sequence[float]
    convention: str = "mescheder"
    params: dict = field(default_factory=dict)
    loss: Optional[str] = None
    regs: list = field(default_factory=list)
    structure: None = None
    field_expr: None = None
    description: str = "user torch game"

    def __post_init__(self):
        if self.n_gen < 1 or self.n_disc < 1:
            raise BadInput(f"TorchGame needs n_gen, n_disc >= 1, got {self.n_gen}, {self.n_disc}")
        eq = np.asarray(self.equilibrium, dtype=float)
        if eq.shape != (self.n_gen + self.n_disc,) or not np.all(np.isfinite(eq)):
            raise BadInput(f"TorchGame equilibrium must be {self.n_gen + self.n_disc} finite numbers")
        if self.convention not in CONVENTIONS:
            raise BadInput(f"unknown convention {self.convention!r}; valid: {', '.join(CONVENTIONS)}")
        v = self.field_numpy_at(eq)
        if not np.all(np.isfinite(v)) or np.max(np.abs(v)) > 1e-9:
            raise BadInput(f"TorchGame equilibrium is not a stationary point: field there = {v.tolist()}")

    @property
    def dim(self) -> int:
        return self.n_gen + self.n_disc

    @property
    def symbols(self):
        return None

    @property
    def zero_sum(self) -> bool:
        return self.L_G is self.L_D

    @property
    def equilibrium_numeric(self) -> np.ndarray:
        return np.asarray(self.equilibrium, dtype=float)

    def describe(self) -> dict:
        return {"name": self.name, "loss": self.loss, "params": dict(self.params), "dim": self.dim,
                "n_gen": self.n_gen, "n_disc": self.n_disc, "regularizers": list(self.regs),
                "convention": self.convention, "zero_sum": self.zero_sum}

    def field_torch(self, x):
        """``v(x)`` for a 1-D float64 tensor ``x``."""
        import torch
        from torch.func import grad

        th, ps = x[: self.n_gen], x[self.n_gen:]
        g_th = grad(lambda t: self.L_G(t, ps))(th)
        g_ps = grad(lambda p: self.L_D(th, p))(ps)
        return torch.cat([-g_th, g_ps])

    def field_numpy_at(self, x) -> np.ndarray:
        import torch

        return self.field_torch(torch.as_tensor(np.asarray(x, dtype=float), dtype=torch.float64)).detach().numpy()

    def field_jacobian_exact(self, expr=None):
        return None

    def convert_state(self, x: np.ndarray, to: str) -> np.ndarray:
        return convert_state(x, self.n_gen, self.convention, to)

    def in_convention(self, to: str) -> "TorchGame":
        if to == self.convention:
            return self
        self.convert_state(np.zeros(self.dim), to)  # validates
        LG, LD = self.L_G, self.L_D
        eq = self.convert_state(self.equilibrium_numeric, to).tolist()
        return replace(self, L_G=lambda t, p: LG(t, -p), L_D=lambda t, p: LD(t, -p), equilibrium=eq, convention=to)

    def project(self, x, real, latent):
        raise BadInput(f"user torch game {self.name!r} has no data/discriminator structure; "
                       "oracles that need batches (dyn-gda) cannot run on it")
