"""Decision oracles (DeOliveira 2023, Algorithm 1): each iteration pick V1, V2 or V3.

Fields (thesis eq. 3), in stabcheck's variables ``x = (theta, psi)``:

* ``V1 = (-grad_theta L_G, 0)``   generator only,
* ``V2 = (0, grad_psi L_D)``      discriminator only,
* ``V3 = V1 + V2``                both (simultaneous GDA).

An oracle is any object with a ``__call__(inp: OracleInput) -> Choice`` (a string
``"V1"``/``"V2"``/``"V3"`` is accepted too) and a ``reset()`` that forgets its memory.
Optional attributes:

* ``name`` (str) - shown in reports;
* ``convention`` (str or None) - the sign convention the oracle is written in
  (``"thesis"``: the Wasserstein Dirac-GAN is ``L = -psi*theta`` and the discriminator scores
  real data high; ``"mescheder"``: ``L = f(psi*theta)``, the discriminator scores generated
  data high).  ``None`` means the oracle does not depend on the sign of psi. Running an
  oracle under another convention than its own is an error unless the caller converts the
  state explicitly (see :func:`stabcheck.games.base.Game.convert_state`).
* ``needs_batches`` (bool) - ask for discriminator projections of a real and a generated
  batch in :attr:`OracleInput.real_proj` / :attr:`OracleInput.fake_proj`;
* ``never_v3`` (bool) - the oracle promises never to return V3 (checked by
  :func:`stabcheck.testing.check_never_v3`).

A worked example (a user oracle that updates the generator every third step)::

    from stabcheck.oracles import Choice

    class EveryThird:
        name = "every-third"
        convention = None
        def reset(self):
            pass
        def __call__(self, inp):
            return Choice.V1 if inp.step % 3 == 2 else Choice.V2

Run it with ``stabcheck simulate --oracle mymod:EveryThird --system dirac --loss wgan``.
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass
from typing import Any, Optional, Protocol, runtime_checkable

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.specs import check_params, parse_import_spec, parse_spec


class Choice(str, enum.Enum):
    """Which field to follow this iteration (thesis eq. 3)."""

    V1 = "V1"  # generator only
    V2 = "V2"  # discriminator only
    V3 = "V3"  # both

    @classmethod
    def coerce(cls, value: Any, *, oracle: str = "oracle") -> "Choice":
        """Accept a Choice or the strings 'V1'/'V2'/'V3'; raise BadInput otherwise."""
        if isinstance(value, Choice):
            return value
        if isinstance(value, str) and value in ("V1", "V2", "V3"):
            return Choice(value)
        raise BadInput(f"{oracle} returned {value!r}; an oracle must return V1, V2 or V3")


#: integer codes used by vectorised simulation: V1 -> 1, V2 -> 2, V3 -> 3
CODE = {Choice.V1: 1, Choice.V2: 2, Choice.V3: 3}


@dataclass
class OracleInput:
    """What an oracle sees at iteration ``step`` (0-based).

    Attributes
    ----------
    step : int
        Iteration index i of Algorithm 1, starting at 0.
    x : numpy.ndarray
        Current parameters ``(theta, psi)`` (generator first), in the oracle's convention.
    n_gen : int
        Number of generator parameters: ``theta = x[:n_gen]``, ``psi = x[n_gen:]``.
    real_proj, fake_proj : numpy.ndarray or None
        Discriminator outputs on a real and a generated batch (only for oracles with
        ``needs_batches``), in the oracle's convention (thesis: real data scores high).
    """

    step: int
    x: np.ndarray
    n_gen: int
    real_proj: Optional[np.ndarray] = None
    fake_proj: Optional[np.ndarray] = None

    @property
    def theta(self) -> np.ndarray:
        return self.x[: self.n_gen]

    @property
    def psi(self) -> np.ndarray:
        return self.x[self.n_gen:]


@runtime_checkable
class Oracle(Protocol):
    """The oracle protocol: see the module docstring."""

    def reset(self) -> None: ...

    def __call__(self, inp: OracleInput) -> Choice: ...


# --------------------------------------------------------------------------- built-ins

class SimOracle:
    """Sim-GDA as an oracle (thesis eq. 4): always V3."""

    name = "sim"
    convention = None
    needs_batches = False
    never_v3 = False

    def reset(self) -> None:
        pass

    def __call__(self, inp: OracleInput) -> Choice:
        return Choice.V3

    def choose_many(self, step: int, X: np.ndarray, n_gen: int) -> np.ndarray:
        return np.full(X.shape[0], 3, dtype=np.int8)


class AltOracle:
    """Alt-GDA as an oracle (thesis eq. 5, generalised to ``n_g`` generator steps).

    With ``first="discriminator"`` (the thesis's Algorithm 4, the default) the period is
    ``n_d`` V2 steps followed by ``n_g`` V1 steps; eq. 5 is ``n_g = 1``:
    ``V1 if i % (n_d + 1) == n_d else V2``. With ``first="generator"`` the generator steps
    come first in each period.
    """

    never_v3 = True
    convention = None
    needs_batches = False

    def __init__(self, n_d: int = 1, n_g: int = 1, first: str = "discriminator"):
        if n_d < 1 or n_g < 1:
            raise BadInput(f"alt oracle: n_d and n_g must be >= 1, got n_d={n_d}, n_g={n_g}")
        if first not in ("discriminator", "generator"):
            raise BadInput(f"alt oracle: first must be 'discriminator' or 'generator', got {first!r}")
        self.n_d, self.n_g, self.first = n_d, n_g, first
        self.name = f"alt:n_d={n_d},n_g={n_g},first={first}"

    def reset(self) -> None:
        pass

    def _code(self, step: int) -> int:
        r = step % (self.n_d + self.n_g)
        if self.first == "discriminator":
            return 2 if r < self.n_d else 1
        return 1 if r < self.n_g else 2

    def __call__(self, inp: OracleInput) -> Choice:
        return Choice.V2 if self._code(inp.step) == 2 else Choice.V1

    def choose_many(self, step: int, X: np.ndarray, n_gen: int) -> np.ndarray:
        return np.full(X.shape[0], self._code(step), dtype=np.int8)


class DiracOracle:
    """The Dirac oracle (thesis eq. 7), written in the thesis's convention ``L = -psi*theta``.

    ``V1`` if ``psi*theta < 0``, ``V2`` if ``psi*theta > 0``. Eq. 7 says nothing on the
    boundary ``psi*theta = 0``; ``boundary`` chooses what happens there:

    * ``"auto"`` (default): the partial field that moves. On the Dirac-GAN, at ``theta = 0``
      the discriminator's gradient vanishes (V2 would be a null step and the run would stall
      on the axis), so take ``V1``; at ``psi = 0`` take ``V2`` (at the equilibrium ``V1``: both are null steps there).
    * ``"V1"``, ``"V2"``, ``"V3"``: always that field (V1/V2 can stall on an axis: e.g. V2 at
      ``(0, psi)`` leaves the state unchanged forever).

    For vector parameters the product is ``psi . theta`` and the axes are ``theta = 0`` /
    ``psi = 0`` (requires equal sizes).
    """

    convention = "thesis"
    needs_batches = False

    def __init__(self, boundary: str = "auto"):
        if boundary not in ("auto", "V1", "V2", "V3"):
            raise BadInput(f"dirac oracle: boundary must be auto, V1, V2 or V3, got {boundary!r}")
        self.boundary = boundary
        self.never_v3 = boundary != "V3"
        self.name = "dirac" if boundary == "auto" else f"dirac:boundary={boundary}"

    def reset(self) -> None:
        pass

    def _on_boundary(self, theta: np.ndarray) -> Choice:
        if self.boundary != "auto":
            return Choice(self.boundary)
        return Choice.V1 if not np.any(theta) else Choice.V2

    def __call__(self, inp: OracleInput) -> Choice:
        theta, psi = inp.theta, inp.psi
        if theta.shape != psi.shape:
            raise BadInput("dirac oracle needs as many generator as discriminator parameters")
        s = _sign_of_dot(psi, theta)
        if s < 0:
            return Choice.V1
        if s > 0:
            return Choice.V2
        return self._on_boundary(theta)

    def choose_many(self, step: int, X: np.ndarray, n_gen: int) -> np.ndarray:
        if n_gen == 1 and X.shape[1] == 2:
            # scalar players: the sign comparison with boolean masks (no products, no NaN
            # arithmetic; the same codes as the general path below, tested on 0, -0, inf, nan
            # and subnormal entries)
            th, ps = X[:, 0], X[:, 1]
            tp, tn, pp, pn = th > 0, th < 0, ps > 0, ps < 0
            neg = (tp & pn) | (tn & pp)
            if self.boundary == "auto":
                return np.where(neg | (th == 0), 1, 2).astype(np.int8)
            pos = (tp & pp) | (tn & pn)
            return np.where(neg, 1, np.where(pos, 2, CODE[Choice(self.boundary)])).astype(np.int8)
        s = _sign_of_dot_rows(X[:, n_gen:], X[:, :n_gen])
        if self.boundary == "auto":
            out = np.where(np.any(X[:, :n_gen] != 0, axis=1), 2, 1).astype(np.int8)
        else:
            out = np.full(X.shape[0], CODE[Choice(self.boundary)], dtype=np.int8)
        out[s < 0] = 1
        out[s > 0] = 2
        return out


def _sign_of_dot(a: np.ndarray, b: np.ndarray):
    """Sign of ``a . b`` without underflow: the product of two numbers below ~1e-162 is 0 in
    float64, which would put the state on the oracle's boundary. Scalars compare signs
    directly; vectors are rescaled by their largest entries first. mpmath and exact numbers
    are compared in their own arithmetic."""
    def sgn(v) -> int:
        return 1 if v > 0 else (-1 if v < 0 else 0)

    if a.size == 1:
        return sgn(a.reshape(-1)[0]) * sgn(b.reshape(-1)[0])
    if a.dtype == object:
        return sgn(np.dot(a, b))
    ma, mb = np.max(np.abs(a)), np.max(np.abs(b))
    if ma == 0 or mb == 0:
        return 0
    return int(np.sign(np.dot(a / ma, b / mb)))


def _sign_of_dot_rows(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Row-wise :func:`_sign_of_dot` for float arrays of shape (N, n)."""
    if A.shape[1] == 1:
        return np.sign(A[:, 0]) * np.sign(B[:, 0])
    ma = np.max(np.abs(A), axis=1, keepdims=True)
    mb = np.max(np.abs(B), axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sign(np.einsum("ij,ij->i", A / ma, B / mb))
    return np.nan_to_num(s, nan=0.0)


def wasserstein1_1d(a: np.ndarray, b: np.ndarray) -> float:
    """Exact W1 between two equal-size 1-D empirical distributions (mean |sorted differences|).

    >>> wasserstein1_1d(np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    1.0
    """
    a = np.sort(_as_numbers(a).ravel())
    b = np.sort(_as_numbers(b).ravel())
    if a.shape != b.shape:
        # unequal sizes: compare quantile functions on a common grid
        q = np.linspace(0, 1, max(a.size, b.size) * 4 + 1)
        return float(np.mean(np.abs(np.quantile(a.astype(float), q) - np.quantile(b.astype(float), q))))
    w = np.sum(np.abs(a - b)) / a.size
    return w if a.dtype == object else float(w)


def _as_numbers(v) -> np.ndarray:
    """float64 array, or an object array kept as is (mpmath numbers keep their precision)."""
    v = np.asarray(v)
    return v if v.dtype == object else v.astype(float)


class DynGDAOracle:
    """Dynamic-GDA (thesis Algorithm 2), in the thesis convention (real data scores high).

    Each call needs the discriminator's projections of a real and a generated batch.

    1. ``w = W1(d(real), d(fake))`` (exact 1-D Wasserstein between the projected batches);
    2. first iteration -> V2;
    3. ``sup d(real) < inf d(fake)`` -> V2 (the discriminator scores fakes above reals);
    4. ``sup d(fake) < inf d(real)`` -> V1 (disjoint and correctly ordered: train G);
    5. overlapping: previous V1 -> V1 if ``w / w_last < c2`` else V2;
       previous V2 -> V2 if ``w / w_last > c1`` else V1.

    ``w_last = 0`` (the previous batches were projected identically): the ratio is taken as
    ``+inf`` when ``w > 0`` and as ``1`` when ``w = 0`` (no change); so after V2 it keeps
    training the discriminator only if the divergence appeared from nothing, and after V1
    it switches to the discriminator. ``w_last`` is updated every iteration.
    The thesis's defaults: ``c1 = 1.2, c2 = 0.8`` (images), ``1.1, 0.75`` (2-D data).
    """

    convention = "thesis"
    needs_batches = True
    never_v3 = True

    def __init__(self, c1: float = 1.2, c2: float = 0.8):
        if not (np.isfinite(c1) and np.isfinite(c2)) or c1 <= 0 or c2 <= 0:
            raise BadInput(f"dyn-gda: c1 and c2 must be positive and finite, got c1={c1}, c2={c2}")
        self.c1, self.c2 = float(c1), float(c2)
        self.name = f"dyn-gda:c1={self.c1:g},c2={self.c2:g}"
        self.reset()

    def reset(self) -> None:
        self.last_choice: Optional[Choice] = None
        self.last_w: Optional[float] = None

    @staticmethod
    def _ratio(w: float, w_last: float) -> float:
        if w_last == 0:
            return float("inf") if w > 0 else 1.0
        return w / w_last

    def decide(self, real: np.ndarray, fake: np.ndarray) -> Choice:
        """Algorithm 2 on two projected batches (updates the memory)."""
        real = _as_numbers(real).ravel()
        fake = _as_numbers(fake).ravel()
        w = wasserstein1_1d(real, fake)
        last, w_last = self.last_choice, self.last_w
        if last is None:
            choice = Choice.V2
        elif real.max() < fake.min():
            choice = Choice.V2
        elif fake.max() < real.min():
            choice = Choice.V1
        elif last is Choice.V1:
            choice = Choice.V1 if self._ratio(w, w_last) < self.c2 else Choice.V2
        else:
            choice = Choice.V2 if self._ratio(w, w_last) > self.c1 else Choice.V1
        self.last_choice, self.last_w = choice, w
        return choice

    def __call__(self, inp: OracleInput) -> Choice:
        if inp.real_proj is None or inp.fake_proj is None:
            raise BadInput("dyn-gda needs discriminator projections of real and generated batches")
        return self.decide(inp.real_proj, inp.fake_proj)


BUILTIN_ORACLES = {
    "sim": (SimOracle, {}),
    "alt": (AltOracle, {"n_d": int, "n_g": int, "first": str}),
    "dirac": (DiracOracle, {"boundary": str}),
    "dyn-gda": (DynGDAOracle, {"c1": float, "c2": float}),
}


def make_oracle(text: str) -> Any:
    """Build an oracle from a spec: a built-in (``sim``, ``alt:n_d=5``, ``dirac``,
    ``dyn-gda:c1=1.2,c2=0.8``) or a user class/factory ``pkg.mod:Name[:key=value,...]``.

    Raises :class:`BadInput` for unknown names, bad parameters, or an import path that
    does not load.
    """
    head = text.split(":", 1)[0]
    if head in BUILTIN_ORACLES:
        spec = parse_spec(text, what="oracle")
        cls, allowed = BUILTIN_ORACLES[spec.name]
        return cls(**check_params(spec, allowed, what="oracle"))
    if "." not in head and ":" not in text:
        raise BadInput(f"unknown oracle {text!r}; built-in oracles: {', '.join(BUILTIN_ORACLES)}, "
                       "or a user oracle pkg.module:Name")
    module, attr, params = parse_import_spec(text, what="oracle")
    obj = load_object(module, attr, what="oracle")
    try:
        if isinstance(obj, type) or params or not hasattr(obj, "reset"):
            oracle = obj(**params)  # a class, or a factory function
        else:
            oracle = obj  # an oracle instance
    except TypeError as exc:
        raise BadInput(f"oracle {text!r} could not be constructed with {params}: {exc}") from None
    if not callable(oracle) or not hasattr(oracle, "reset"):
        raise BadInput(f"{text!r} is not an oracle: it needs __call__(inp) and reset()")
    if not getattr(oracle, "name", None):
        try:
            oracle.name = text
        except AttributeError:
            pass
    return oracle


def load_object(module: str, attr: str, *, what: str) -> Any:
    """Import ``module`` and return ``module.attr``; BadInput with a clear line otherwise."""
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's input
        raise BadInput(f"{what} module {module!r} could not be imported: {type(exc).__name__}: {exc}") from None
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise BadInput(f"{what} {module}:{attr} not found: module {module!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


__all__ = ["Choice", "OracleInput", "Oracle", "SimOracle", "AltOracle", "DiracOracle",
           "DynGDAOracle", "make_oracle", "wasserstein1_1d", "CODE", "BUILTIN_ORACLES"]
