"""Training methods: a decision oracle from :mod:`stabcheck.oracles` plus field transforms.

A method spec is ``ORACLE[+TRANSFORM...]``:

* ``ORACLE`` is anything :func:`stabcheck.oracles.make_oracle` accepts - ``sim``,
  ``alt:n_d=5``, ``dyn-gda:c1=1.1,c2=0.75``, or a user oracle ``pkg.mod:Name[:k=v,...]``.
  The harness uses the package's oracle objects; it does not re-implement them.
* ``TRANSFORM`` is a field transform, ``jare[:gamma=1]`` (Nie & Patel 2019).
* ``jare[:gamma=...]`` alone means ``sim+jare[:gamma=...]`` (JARE is a simultaneous method).
* ``dyn-gda`` without ``c1``/``c2`` takes the thesis's defaults for the data kind
  (appendix F): ``1.1 / 0.75`` on 2-D data, ``1.2 / 0.8`` on images.
* Dynamic-GDA takes two harness options besides ``c1``/``c2`` (they are the harness's, not
  the oracle's: :class:`stabcheck.oracles.DynGDAOracle` sees only the two projected batches):

  ``decide_on=logit|prob`` (default ``logit``)
      which discriminator output Algorithm 2 compares. The thesis writes ``d(x; psi)`` as a
      *probability* for bounded discriminators (eq. 2, ``log d(x)``; appendix, proof of
      Theorem 4.1: "a locally optimal discriminator's projection converges towards the
      real-to-synthetic mass ratio") and as the critic's value for Wasserstein critics.
      ``prob`` follows it: the sigmoid of the raw output for bounded (BCE-family)
      discriminators, the raw value for unbounded critics. ``logit`` decides on the raw
      output for every GAN. The two agree on Algorithm 2's disjointness tests (lines 4-7;
      the sigmoid is monotone) and differ only in the divergence ratios (lines 9 and 15).
      The default stays ``logit`` - a documented departure from the thesis - because it is
      what every earlier record used and because ``prob`` needs the GAN's boundedness, which
      :mod:`gpu_validation.batched` does not pass (runs with ``decide_on=prob`` are trained
      one by one, never batched). Use ``dyn-gda:decide_on=prob`` for the thesis's reading.
  ``reuse_real=true|false`` (default ``true``, the thesis)
      section 4.3: "we can re-use the projections from the previous batch of real data so
      long as the previous update only affected theta". With ``true``, after a V1 decision
      the next decision reuses the real projections the previous one used (the
      discriminator did not move, so they are still exact) instead of projecting the new
      real batch; after a V2 decision the new real batch is projected. ``false`` projects
      every iteration's real batch (the harness's behaviour before schema version 2).

  The resolved spec always names all four (``dyn-gda:c1=1.1,c2=0.75,decide_on=logit,
  reuse_real=true``), and every decision's divergence ``w`` and the order of the two
  projected batches are kept in :attr:`Method.divergences` / :attr:`Method.orders` (the run
  record stores them, so a run can be audited by replaying Algorithm 2).

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
from typing import Any, Callable, Optional

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
    ``v_psi(gp, dp) = grad_psi L_D`` for one iteration's random draws (pure functions):
    :func:`stabcheck.nn.gan_field_parts`, the one implementation."""
    from stabcheck.nn import gan_field_parts

    return gan_field_parts(gan, pair, dbuf, draws)


#: Dynamic-GDA harness options and their defaults (module docstring)
DYN_OPTIONS = {"decide_on": ("logit", ("logit", "prob")), "reuse_real": (True, (True, False))}


def _bool(text: str, what: str) -> bool:
    t = str(text).strip().lower()
    if t in ("true", "1", "yes"):
        return True
    if t in ("false", "0", "no"):
        return False
    raise BadInput(f"{what} must be true or false, got {text!r}")


def _split_dyn_options(head: str) -> tuple[str, dict]:
    """``dyn-gda:c1=1.1,decide_on=prob`` -> (``dyn-gda:c1=1.1``, {"decide_on": "prob"})."""
    if ":" not in head:
        return head, {}
    name, rest = head.split(":", 1)
    keep, opts = [], {}
    for tok in (t.strip() for t in rest.split(",")):
        if not tok:
            continue
        k, _, v = tok.partition("=")
        k = k.strip()
        if k == "decide_on":
            if v not in DYN_OPTIONS["decide_on"][1]:
                raise BadInput(f"dyn-gda: decide_on must be logit or prob, got {v!r}")
            opts[k] = v
        elif k == "reuse_real":
            opts[k] = _bool(v, "dyn-gda: reuse_real")
        else:
            keep.append(tok)
    return (name + (":" + ",".join(keep) if keep else "")), opts


@dataclass
class Method:
    """An oracle and a chain of field transforms (plus Dynamic-GDA's harness options)."""

    spec: str
    oracle: Any
    transforms: list = field(default_factory=list)
    decide_on: str = "logit"
    reuse_real: bool = False
    bounded: Optional[bool] = None
    divergences: list = field(default_factory=list, repr=False)
    orders: list = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return self.spec

    @property
    def needs_batches(self) -> bool:
        return bool(getattr(self.oracle, "needs_batches", False))

    @property
    def is_dyn(self) -> bool:
        return isinstance(self.oracle, DynGDAOracle)

    def reset(self) -> None:
        self.oracle.reset()
        self.divergences = []
        self.orders = []
        self._last_choice: Optional[Choice] = None
        self._real_cache: Optional[np.ndarray] = None

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
            rp, fp = np.asarray(rp, dtype=np.float64).ravel(), np.asarray(fp, dtype=np.float64).ravel()
            if self.is_dyn:
                if self.decide_on == "prob" and self.bounded:
                    from scipy.special import expit

                    rp, fp = expit(rp), expit(fp)
                if self.reuse_real:
                    if self._last_choice is Choice.V1 and self._real_cache is not None:
                        rp = self._real_cache  # section 4.3: psi did not move, these are exact
                    self._real_cache = rp
            if getattr(self.oracle, "convention", None) == "mescheder":
                rp, fp = -rp, -fp  # Mescheder convention: generated data scores high
        if x is not None and type(self.oracle).__module__ != "stabcheck.oracles":
            xv, n_gen = x()
        else:
            xv, n_gen = np.zeros(0), 0
        c = Choice.coerce(self.oracle(OracleInput(step=step, x=xv, n_gen=n_gen, real_proj=rp, fake_proj=fp)),
                          oracle=self.spec)
        if self.is_dyn:
            self.divergences.append(float(self.oracle.last_w))
            self.orders.append("r" if rp.max() < fp.min() else ("f" if fp.max() < rp.min() else "o"))
        self._last_choice = c
        return c


def make_method(spec: str, data_kind: str = "2d", bounded: Optional[bool] = None) -> Method:
    """Build a :class:`Method` from ``ORACLE[+TRANSFORM...]`` (module docstring).

    ``bounded`` is the GAN's :attr:`~gpu_validation.gans.GAN.bounded`; Dynamic-GDA with
    ``decide_on=prob`` needs it (BadInput without it)."""
    if not isinstance(spec, str) or not spec.strip():
        raise BadInput("empty method; expected e.g. sim, alt:n_d=5, dyn-gda, jare:gamma=1, pkg.mod:Oracle")
    parts = [p.strip() for p in spec.split("+")]
    head = parts[0]
    transforms = []
    if head.split(":", 1)[0] in TRANSFORMS:  # "jare" alone = sim + jare
        parts = ["sim"] + parts
        head = "sim"
    dyn_opts = None
    if head.split(":", 1)[0] == "dyn-gda":
        head, dyn_opts = _split_dyn_options(head)
        if ":" not in head:
            c1, c2 = (1.1, 0.75) if data_kind == "2d" else (1.2, 0.8)
            head = f"dyn-gda:c1={c1},c2={c2}"
    oracle = make_oracle(head)
    for t in parts[1:]:
        s = parse_spec(t, what="field transform")
        if s.name not in TRANSFORMS:
            raise BadInput(f"unknown field transform {s.name!r}; valid: {', '.join(TRANSFORMS)}")
        cls, allowed = TRANSFORMS[s.name]
        transforms.append(cls(**check_params(s, allowed, what="field transform")))
    if dyn_opts is None:
        m = Method("+".join([head] + parts[1:]), oracle, transforms)
    else:
        decide_on = dyn_opts.get("decide_on", DYN_OPTIONS["decide_on"][0])
        reuse = dyn_opts.get("reuse_real", DYN_OPTIONS["reuse_real"][0])
        if decide_on == "prob" and bounded is None:
            raise BadInput("dyn-gda:decide_on=prob needs to know whether the discriminator is bounded "
                           "(make_method(..., bounded=gan.bounded)); the batched trainer does not pass it")
        head = f"dyn-gda:c1={oracle.c1:g},c2={oracle.c2:g},decide_on={decide_on},reuse_real={str(reuse).lower()}"
        m = Method("+".join([head] + parts[1:]), oracle, transforms, decide_on=decide_on, reuse_real=reuse,
                   bounded=bounded)
    m.reset()
    return m


#: the thesis's four methods (Table 1) plus JARE
THESIS_METHODS = ("sim", "alt:n_d=1", "alt:n_d=5", "dyn-gda")
LABELS = {"sim": "Sim-GDA", "alt:n_d=1": "Alt-GDA n_d=1", "alt:n_d=5": "Alt-GDA n_d=5",
          "dyn-gda": "Dyn-GDA", "jare": "JARE (Sim)"}


def label(spec: str) -> str:
    if spec in LABELS:
        return LABELS[spec]
    head, _, params = spec.partition(":")
    if head == "dyn-gda" and params:
        return f"Dyn-GDA ({params})"
    return LABELS.get(head, spec)


def dyn_options(spec: str, data_kind: str = "2d") -> dict:
    """Dynamic-GDA's resolved options ``{"c1", "c2", "decide_on", "reuse_real"}`` from a method
    spec, or ``{}`` for another method (no training objects built beyond the oracle)."""
    if not spec.split("+")[0].strip().startswith("dyn-gda"):
        return {}
    m = make_method(spec, data_kind, bounded=False)  # boundedness does not change the options
    return {"c1": m.oracle.c1, "c2": m.oracle.c2, "decide_on": m.decide_on, "reuse_real": m.reuse_real}


__all__ = ["Method", "make_method", "Jare", "base_field", "THESIS_METHODS", "label", "DynGDAOracle",
           "DYN_OPTIONS", "dyn_options"]
