"""Training methods: a decision oracle from :mod:`stabcheck.oracles` plus field transforms.

A method spec is ``ORACLE[+TRANSFORM...]``:

* ``ORACLE`` is anything :func:`stabcheck.oracles.make_oracle` accepts - ``sim``,
  ``alt:n_d=5``, ``dyn-gda:c1=1.1,c2=0.75``, or a user oracle ``pkg.mod:Name[:k=v,...]``.
  The harness uses the package's oracle objects; it does not re-implement them.
* ``TRANSFORM`` is a field transform, ``jare[:gamma=1]`` (Nie & Patel 2019).
* ``jare[:gamma=...]`` alone means ``sim+jare[:gamma=...]`` (JARE is a simultaneous method).
* ``dyn-gda`` without ``c1``/``c2`` takes the thesis's defaults for the data kind
  (appendix F): ``1.1 / 0.75`` on 2-D data, ``1.2 / 0.8`` on images.

Fields (ascent form for the discriminator, descent for the generator):
``v(x) = (v_theta, v_psi) = (-grad_theta L_G, grad_psi L_D)``; a V1 step moves only theta
along ``v_theta``, V2 only psi along ``v_psi``, V3 both from the same point.

JARE as a field transform (Nie & Patel 2019, eq. 10, "Jacobian-regularized" GDA)::

    v  ->  v - gamma * (M o J)^T v,      M = [[0, 1], [1, 0]] (off-diagonal blocks of J = dv/dx)

Written out, with ``(M o J)^T v = (J_{psi theta}^T v_psi, J_{theta psi}^T v_theta)``::

    v_theta' = -grad_theta [ L_G + gamma/2 ||grad_psi L_D||^2 ]
    v_psi'   =  grad_psi   [ L_D - gamma/2 ||grad_theta L_G||^2 ]

i.e. the generator descends ``L_G + gamma/2 ||grad_psi L_D||^2`` and the discriminator
ascends ``L_D - gamma/2 ||grad_theta L_G||^2``: each player is penalised for the *other*
player's gradient norm. This is computed by double back-propagation (``torch.func.grad`` of
the squared norm of a ``torch.func.grad``); ``J`` is never formed. The sign: for the bilinear
game ``L = theta*psi`` (``v = (-psi, theta)``, ``J = [[0,-1],[1,0]]``) the transform gives
``v' = (-psi - gamma*theta, theta - gamma*psi)`` whose Jacobian ``[[-gamma,-1],[1,-gamma]]`` has
eigenvalues ``-gamma +- i``: damped, as JARE intends (tested in tests/gpu_validation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from stabcheck.errors import BadInput
from stabcheck.oracles import Choice, DynGDAOracle, OracleInput, make_oracle
from stabcheck.specs import check_params, parse_spec

# a field part: (gparams, dparams) -> dict of tensors
Part = Callable[[dict, dict], dict]


def _sqnorm(d: dict) -> torch.Tensor:
    return sum((v ** 2).sum() for v in d.values())


class Jare:
    """JARE field transform (see the module docstring for the formula and its sign)."""

    def __init__(self, gamma: float = 1.0):
        if not np.isfinite(gamma) or gamma < 0:
            raise BadInput(f"jare: gamma must be finite and >= 0, got {gamma}")
        self.gamma = float(gamma)
        self.name = f"jare:gamma={self.gamma:g}"

    needs_both = True

    def __call__(self, vg: Part, vd: Part) -> tuple[Part, Part]:
        gam = self.gamma

        def vg2(gp, dp):
            base = vg(gp, dp)
            corr = torch.func.grad(lambda g: 0.5 * _sqnorm(vd(g, dp)))(gp)
            return {k: base[k] - gam * corr[k] for k in base}

        def vd2(gp, dp):
            base = vd(gp, dp)
            corr = torch.func.grad(lambda d: 0.5 * _sqnorm(vg(gp, d)))(dp)
            return {k: base[k] - gam * corr[k] for k in base}

        return vg2, vd2


TRANSFORMS = {"jare": (Jare, {"gamma": float})}


def base_field(gan, pair, dbuf: dict, draws: dict) -> tuple[Part, Part]:
    """The game's own field parts ``v_theta(gp, dp) = -grad_theta L_G`` and
    ``v_psi(gp, dp) = grad_psi L_D`` for one iteration's random draws (pure functions)."""

    def vg(gp, dp):
        g = torch.func.grad(lambda p: gan.g_loss(pair, p, dp, dbuf, draws))(gp)
        return {k: -v for k, v in g.items()}

    def vd(gp, dp):
        return torch.func.grad(lambda p: gan.d_objective(pair, gp, p, dbuf, draws))(dp)

    return vg, vd


@dataclass
class Method:
    """An oracle and a chain of field transforms."""

    spec: str
    oracle: Any
    transforms: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec

    @property
    def needs_batches(self) -> bool:
        return bool(getattr(self.oracle, "needs_batches", False))

    def reset(self) -> None:
        self.oracle.reset()

    def field(self, gan, pair, dbuf: dict, draws: dict) -> tuple[Part, Part]:
        vg, vd = base_field(gan, pair, dbuf, draws)
        for t in self.transforms:
            vg, vd = t(vg, vd)
        return vg, vd

    def choose(self, step: int, proj: Callable[[], tuple[np.ndarray, np.ndarray]] | None,
               x: Callable[[], tuple[np.ndarray, int]] | None = None) -> Choice:
        """Ask the oracle. ``proj()`` returns the raw discriminator's outputs on the real
        and generated batch (thesis convention: real scores high); it is called only for
        oracles with ``needs_batches``. ``x()`` returns the flat parameters and ``n_gen``
        (user oracles only; the built-ins never look at them)."""
        rp = fp = None
        if self.needs_batches:
            rp, fp = proj()
            if getattr(self.oracle, "convention", None) == "mescheder":
                rp, fp = -rp, -fp  # Mescheder convention: generated data scores high
        if x is not None and type(self.oracle).__module__ != "stabcheck.oracles":
            xv, n_gen = x()
        else:
            xv, n_gen = np.zeros(0), 0
        c = self.oracle(OracleInput(step=step, x=xv, n_gen=n_gen, real_proj=rp, fake_proj=fp))
        return Choice.coerce(c, oracle=self.spec)


def make_method(spec: str, data_kind: str = "2d") -> Method:
    """Build a :class:`Method` from ``ORACLE[+TRANSFORM...]`` (module docstring)."""
    if not isinstance(spec, str) or not spec.strip():
        raise BadInput("empty method; expected e.g. sim, alt:n_d=5, dyn-gda, jare:gamma=1, pkg.mod:Oracle")
    parts = [p.strip() for p in spec.split("+")]
    head = parts[0]
    transforms = []
    if head.split(":", 1)[0] in TRANSFORMS:  # "jare" alone = sim + jare
        parts = ["sim"] + parts
        head = "sim"
    if head.split(":", 1)[0] == "dyn-gda" and ":" not in head:
        c1, c2 = (1.1, 0.75) if data_kind == "2d" else (1.2, 0.8)
        head = f"dyn-gda:c1={c1},c2={c2}"
    oracle = make_oracle(head)
    for t in parts[1:]:
        s = parse_spec(t, what="field transform")
        if s.name not in TRANSFORMS:
            raise BadInput(f"unknown field transform {s.name!r}; valid: {', '.join(TRANSFORMS)}")
        cls, allowed = TRANSFORMS[s.name]
        transforms.append(cls(**check_params(s, allowed, what="field transform")))
    return Method("+".join([head] + parts[1:]), oracle, transforms)


#: the thesis's four methods (Table 1) plus JARE
THESIS_METHODS = ("sim", "alt:n_d=1", "alt:n_d=5", "dyn-gda")
LABELS = {"sim": "Sim-GDA", "alt:n_d=1": "Alt-GDA n_d=1", "alt:n_d=5": "Alt-GDA n_d=5",
          "dyn-gda": "Dyn-GDA", "jare": "JARE (Sim)"}


def label(spec: str) -> str:
    return LABELS.get(spec, LABELS.get(spec.split(":")[0], spec))


__all__ = ["Method", "make_method", "Jare", "base_field", "THESIS_METHODS", "label", "DynGDAOracle"]
