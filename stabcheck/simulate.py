"""Simulation of training maps: update rules and decision oracles, float64 or mpmath.

Two kinds of runners share one engine:

* a **method** (:class:`stabcheck.methods.Method`): ``z_{k+1} = rule.step(z_k)`` on the
  (possibly transformed) field; one step is one application of the rule's map (for
  ``alt:n_d=5`` a whole period of 6 gradient updates);
* an **oracle** (:mod:`stabcheck.oracles`, DeOliveira 2023, Algorithm 1): each step the
  oracle picks ``V1``, ``V2`` or ``V3`` (thesis eq. 3) and ``x <- x + eta * V(x)``; one step is
  one gradient update.

Arithmetic: float64 (numpy), or ``precision=DIGITS`` decimal digits with mpmath (the field is
evaluated by ``field.mpmath``, compiled from the same sympy expression as the float64 one).
Distances to the equilibrium are recorded as base-10 logarithms, so runs that go below
float64's range (1e-308) are still measured.

Conventions: the state is ``x = (theta, psi)`` in the *game's* sign convention. An oracle that
declares ``convention`` (the thesis's Dirac oracle and Dynamic-GDA: ``"thesis"``) must run on
a game in that convention; otherwise :func:`simulate` raises :class:`BadInput` unless
``convert=True``, in which case the oracle sees ``game.convert_state(x, oracle.convention)``
(``psi -> -psi``) and discriminator projections negated, and the result records the
conversion.

Divergence is reported, never raised: a run stops with ``stopped="non-finite"`` when the
state stops being finite (the last finite state is reported), and with
``stopped="boundary"`` when the distance exceeds ``max(max_distance, RELATIVE_GROWTH * ||x_0 - x*||)``
(:data:`RELATIVE_GROWTH` = 1e6: a start at 1e300 is not "diverged" at its first step; ordinary
starts are unaffected). The mpmath path applies the same boundary in its own arithmetic (a
``max_distance`` beyond float64's range is refused there rather than silently ignored).
Underflow is reported too: a float run whose distance to x* becomes subnormal (below 2.2e-308
in float64) has lost its precision and stalls there; its result carries ``underflow_at``, the
first such step (None when none; ``--precision DIGITS`` follows the run further).

Example
-------
>>> from stabcheck.games import make_game
>>> game = make_game("dirac", "wgan", convention="thesis")
>>> r = simulate(game, "dirac", eta=0.1, x0=[0.7, 1.3], steps=1000)
>>> r.choices["V1"] + r.choices["V2"], r.final_distance_log10 < -6
(1000, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

import numpy as np

from stabcheck.analysis import check_eta  # noqa: F401  (re-exported: one implementation)
from stabcheck.errors import BadInput
from stabcheck.oracles import CODE, BUILTIN_ORACLES, Choice, OracleInput, make_oracle
from stabcheck.rules import FieldFns

#: the threshold of ``first_below_1e-6``
FIRST_BELOW = 1e-6
#: default ``max_distance`` (a run farther than this from x* stops with "boundary")
MAX_DISTANCE = 1e12


# ---------------------------------------------------------------------------- runners

@dataclass
class Runner:
    """What one run executes: an oracle (with the field it switches) or a method.

    ``spec`` is what the user wrote; ``kind`` is ``"oracle"`` or ``"method"``.
    """

    name: str
    kind: str
    obj: Any  # the oracle object, or a Method
    spec: str
    optimizer: Any = None  # stabcheck.optimizers.Optimizer an oracle's steps go through (None: plain)

    @property
    def convention(self) -> Optional[str]:
        return getattr(self.obj, "convention", None) if self.kind == "oracle" else None


def make_runner(spec: Union[str, Any], kind: Optional[str] = None, optimizer: Any = None) -> Runner:
    """Resolve a spec (or an oracle / :class:`Method` object) into a :class:`Runner`.

    ``optimizer`` (an :class:`stabcheck.optimizers.Optimizer` or its spec, e.g.
    ``"momentum=-0.3,ratio=2"``) is how an *oracle's* steps are taken: the oracle picks which
    players move (V1, V2, V3), the optimizer how (a method carries its own optimizer in its
    spec, ``alt:momentum=-0.3``).

    ``kind=None`` (``--compare``): built-in oracle names (``sim``, ``alt``, ``dirac``,
    ``dyn-gda``) are oracles - so ``sim`` and ``alt`` count gradient updates - other method
    names (``eg``, ``ogda``, ``jare``, ...) are methods, and ``pkg.mod:Name`` is a user oracle.
    ``kind="oracle"`` or ``"method"`` forces the interpretation.
    """
    r = _make_runner(spec, kind)
    if optimizer is None:
        return r
    opt = parse_optimizer(optimizer)
    if r.kind != "oracle":
        raise BadInput(f"--optimizer applies to oracles; give method {r.spec!r} its optimizer in its spec "
                       f"(e.g. {r.spec.split(':')[0]}:momentum=-0.3)")
    if opt.plain:
        return r
    return Runner(r.name, r.kind, r.obj, r.spec, opt)


def parse_optimizer(optimizer: Any):
    """An :class:`~stabcheck.optimizers.Optimizer` from itself or a spec ``k=v,...``
    (``momentum=-0.3,ratio=2``, ``opt=adam,beta1=0.5,precond=100``)."""
    from stabcheck.optimizers import OPTIMIZER_KEYS, Optimizer, coerce_optimizer_params, make_optimizer
    from stabcheck.specs import parse_spec

    if isinstance(optimizer, Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise BadInput(f"--optimizer must be a spec like momentum=-0.3,ratio=2, got {optimizer!r}")
    spec = parse_spec("optimizer:" + optimizer, what="optimizer")
    bad = [k for k in spec.params if k not in OPTIMIZER_KEYS]
    if bad:
        raise BadInput(f"optimizer has no parameter {bad[0]!r}; valid: {', '.join(OPTIMIZER_KEYS)}")
    return make_optimizer(coerce_optimizer_params(spec.params, what="optimizer"))


def _make_runner(spec, kind) -> Runner:
    from stabcheck.methods import Method, make_method

    if isinstance(spec, Runner):
        return spec
    if isinstance(spec, Method):
        return Runner(spec.spec, "method", spec, spec.spec)
    if not isinstance(spec, str):
        if not callable(spec) or not hasattr(spec, "reset"):
            raise BadInput(f"{spec!r} is not an oracle: it needs __call__(inp) and reset()")
        name = getattr(spec, "name", None) or type(spec).__name__
        return Runner(str(name), "oracle", spec, str(name))
    text = spec.strip()
    head = text.split(":", 1)[0]
    if kind is None:
        kind = "oracle" if (head in BUILTIN_ORACLES or "." in head) else "method"
    if kind == "oracle":
        oracle = make_oracle(text)
        return Runner(str(getattr(oracle, "name", text) or text), "oracle", oracle, text)
    if kind == "method":
        m = make_method(text)
        return Runner(m.spec, "method", m, text)
    raise ValueError(f"unknown runner kind {kind!r}")


def split_specs(text: str) -> list[str]:
    """Split ``--compare sim,alt:n_d=5,n_g=2,dirac`` into specs (``k=v`` pieces stay attached).

    >>> split_specs("sim,alt:n_d=5,n_g=2,dirac:boundary=V1")
    ['sim', 'alt:n_d=5,n_g=2', 'dirac:boundary=V1']
    """
    out: list[str] = []
    for piece in text.split(","):
        piece = piece.strip()
        if not piece:
            raise BadInput(f"empty entry in --compare {text!r}")
        if "=" in piece and ":" not in piece and out:
            out[-1] += "," + piece
        else:
            out.append(piece)
    return out


# ---------------------------------------------------------------------------- results

@dataclass
class RunResult:
    """One simulated run.

    Attributes
    ----------
    name, kind, spec : str
        Runner name, ``"oracle"`` / ``"method"``, and the spec as given.
    x0 : list of float
        Start, in the game's convention.
    steps : int
        Steps requested; ``steps_done`` were run (fewer when the run stopped).
    precision : "float64", "float32", int or "exact"
        Arithmetic: float64, mpmath with this many decimal digits, or exact rationals.
    log10_distance : numpy.ndarray
        ``log10 ||x_k - x*||`` for ``k = 0..steps_done`` (``-inf`` where the distance is 0).
    codes : numpy.ndarray or None
        Oracle choices per step (1 = V1, 2 = V2, 3 = V3); None for methods.
    stopped : None, "boundary" or "non-finite"
    states : list or None
        The states ``x_k`` (float64 arrays, or object arrays of mpf), if recorded.
    conversion : str or None
        ``"mescheder->thesis"`` etc. when the oracle ran on a converted state.
    oracle_convention : str or None
        The convention the oracle is written in.
    gradient_evaluations : int
        Field evaluations per step (1 for oracles; ``n_d + n_g`` for the ``alt`` method).
    """

    name: str
    kind: str
    spec: str
    x0: list
    steps: int
    precision: Union[str, int]
    log10_distance: np.ndarray
    codes: Optional[np.ndarray]
    stopped: Optional[str] = None
    states: Optional[list] = None
    conversion: Optional[str] = None
    oracle_convention: Optional[str] = None
    gradient_evaluations: int = 1
    extras: dict = field(default_factory=dict)

    @property
    def steps_done(self) -> int:
        return len(self.log10_distance) - 1

    @property
    def diverged(self) -> bool:
        return self.stopped is not None

    @property
    def final_distance_log10(self) -> float:
        return float(self.log10_distance[-1])

    @property
    def final_distance(self) -> float:
        return _pow10(self.final_distance_log10)

    @property
    def min_distance_log10(self) -> float:
        return float(np.min(self.log10_distance))

    @property
    def min_distance(self) -> float:
        return _pow10(self.min_distance_log10)

    @property
    def first_below(self) -> Optional[int]:
        """First ``k`` with ``||x_k - x*|| < 1e-6`` (None if never)."""
        idx = np.flatnonzero(self.log10_distance < math.log10(FIRST_BELOW))
        return int(idx[0]) if idx.size else None

    @property
    def sup_ratio(self) -> Optional[float]:
        """``sup_k ||x_k - x*|| / ||x_0 - x*||`` (None when ``x_0 = x*``)."""
        l0 = float(self.log10_distance[0])
        if not math.isfinite(l0):
            return None
        return _pow10(float(np.max(self.log10_distance)) - l0)

    @property
    def choices(self) -> Optional[dict]:
        if self.codes is None:
            return None
        counts = np.bincount(np.asarray(self.codes, dtype=np.int64), minlength=4)
        return {"V1": int(counts[1]), "V2": int(counts[2]), "V3": int(counts[3])}

    def distances(self) -> np.ndarray:
        """``||x_k - x*||`` in float64 (values below 1e-308 underflow to 0)."""
        with np.errstate(under="ignore", over="ignore"):
            return np.power(10.0, self.log10_distance)

    def states_float(self) -> Optional[np.ndarray]:
        if self.states is None:
            return None
        return np.array([[float(v) for v in s] for s in self.states], dtype=float) \
            if self.precision not in ("float64", "float32") else np.array(self.states, dtype=float)

    def to_json(self) -> dict:
        """The ``runs[]`` entry of the simulate JSON contract (DESIGN.md)."""
        def lg(v):
            return v if math.isfinite(v) else None

        return {
            "name": self.name, "kind": self.kind, "spec": self.spec,
            "x0": [float(v) for v in self.x0], "steps": self.steps, "steps_done": self.steps_done,
            "precision": self.precision,
            "final_distance": self.final_distance, "final_distance_log10": lg(self.final_distance_log10),
            "min_distance": self.min_distance, "min_distance_log10": lg(self.min_distance_log10),
            "first_below_1e-6": self.first_below, "sup_ratio": self.sup_ratio,
            "choices": self.choices, "diverged": self.diverged, "stopped": self.stopped,
            "oracle_convention": self.oracle_convention, "conversion": self.conversion,
            "gradient_evaluations_per_step": self.gradient_evaluations,
            **self.extras,
        }


def _pow10(lg: float) -> float:
    if lg == -math.inf:
        return 0.0
    if lg > 308.25:
        return math.inf
    if lg < -400:
        return 0.0
    return 10.0 ** lg


# ---------------------------------------------------------------------------- checks

def check_x0(game, x0: Sequence[float]) -> np.ndarray:
    x = np.asarray(x0, dtype=float).ravel()
    if x.size != game.dim:
        raise BadInput(f"x0 has {x.size} components; system {game.name!r} has {game.dim} "
                       f"({game.n_gen} generator, {game.n_disc} discriminator parameters)")
    if not np.all(np.isfinite(x)):
        raise BadInput(f"x0 must be finite, got {list(x0)}")
    return x


def _check_convention(game, runner: Runner, convert: bool) -> Optional[str]:
    """The conversion the oracle needs (None if none); BadInput when it is not allowed."""
    conv = runner.convention
    if conv is None or conv == game.convention:
        return None
    if conv not in ("mescheder", "thesis"):
        raise BadInput(f"oracle {runner.name!r} declares convention {conv!r}; valid: mescheder, thesis, or None")
    if not convert:
        raise BadInput(f"oracle {runner.name!r} is written in the {conv} convention but the game is in the "
                       f"{game.convention} convention; pass --convention {conv} to build the game in the "
                       f"oracle's convention, or --convert to convert the state (psi -> -psi) for the oracle")
    return f"{game.convention}->{conv}"


# ---------------------------------------------------------------------------- engine

class _Arith:
    """float64, mpmath (``precision`` digits) or exact rational (``"exact"``) arithmetic."""

    def __init__(self, precision: Union[None, int, str]):
        # float32: numpy float32 throughout (the field, the step, the oracle's products), to show
        # where single precision stalls; it runs on the float64 code path with another dtype
        self.f32 = precision == "float32"
        self.precision = None if self.f32 else precision
        self.dtype = np.float32 if self.f32 else float
        if self.precision is not None:
            import mpmath

            self.mp = mpmath

    @property
    def exact(self) -> bool:
        return self.precision == "exact"

    @property
    def label(self):
        if self.precision is None:
            return "float32" if self.f32 else "float64"
        return "exact" if self.exact else int(self.precision)

    def vector(self, vals) -> np.ndarray:
        if self.precision is None:
            return np.array([float(v) for v in vals], dtype=self.dtype)
        return np.array([self.number(v) for v in vals], dtype=object)

    def number(self, v):
        if self.precision is None:
            return np.float32(v) if self.f32 else float(v)
        import sympy as sp

        if self.exact:
            if isinstance(v, sp.Basic):
                if not v.is_Rational:
                    raise BadInput(f"exact simulation needs rational numbers, got {v}")
                return v
            if isinstance(v, (float, np.floating)):
                return sp.Rational(repr(float(v)))  # the decimal the user typed
            return sp.Integer(int(v))

        if isinstance(v, sp.Basic):
            return self.mp.mpf(str(sp.N(v, self.precision + 10)))
        if isinstance(v, (float, np.floating)):
            return self.mp.mpf(repr(float(v)))  # the decimal the user typed, not its binary rounding
        if isinstance(v, (int, np.integer)):
            return self.mp.mpf(int(v))
        return self.mp.mpf(v)

    def log10_norm(self, x) -> float:
        if self.exact:
            s = sum((v * v for v in x), start=0)
            if s == 0:
                return -math.inf
            p, q = int(s.p), int(s.q)
            return (math.log10(p) - math.log10(q)) / 2
        if self.precision is None:
            d = math.hypot(*(float(v) for v in x))
            if d == 0:
                return -math.inf
            if math.isfinite(d):
                return math.log10(d)
            if d == math.inf and np.all(np.isfinite(x)):  # the norm overflows, the state does not
                m = float(np.max(np.abs(x)))
                return math.log10(m) + math.log10(math.hypot(*(np.asarray(x) / m)))
            return math.inf if d == math.inf else math.nan
        s = self.mp.fsum(v * v for v in x)
        if not self.mp.isfinite(s):
            return math.inf if self.mp.isinf(s) else math.nan
        if s == 0:
            return -math.inf
        return float(self.mp.log10(s) / 2)

    def finite(self, x) -> bool:
        if self.exact:
            return True
        if self.precision is None:
            return bool(np.all(np.isfinite(x)))
        return all(self.mp.isfinite(v) for v in x)


def simulate(game, runner: Union[str, Any], eta: float, x0: Sequence[float], steps: int, *,
             precision: Optional[int] = None, max_distance: float = MAX_DISTANCE,
             batch: int = 64, seed: int = 0, convert: bool = False, record_states: bool = False,
             kind: Optional[str] = None) -> RunResult:
    """Run one start for ``steps`` steps and measure its distance to the equilibrium.

    Parameters
    ----------
    game : Game
        The system (its field, equilibrium and sign convention).
    runner : str, oracle object, Method or Runner
        An oracle (``sim``, ``alt:n_d=5``, ``dirac``, ``dyn-gda``, ``pkg.mod:Name``) or a
        method (``eg``, ``ogda``, ``jare:gamma=1``...); see :func:`make_runner`.
    eta : float
        Step size (> 0).
    x0 : sequence of float
        Start ``(theta, psi)`` in the game's convention.
    steps : int
        Number of steps (oracle: gradient updates; method: applications of its map).
    precision : int, "exact" or "float32", optional
        Decimal digits for mpmath arithmetic; ``"float32"`` runs in numpy float32 (field,
        steps and the oracle's inputs), to show single precision's floor; ``"exact"`` runs in exact rational arithmetic
        (sympy; fields polynomial with rational coefficients, such as the WGAN Dirac-GAN; a
        float given as ``eta`` or ``x0`` is read as the decimal it prints as); None (default)
        runs in float64.
    max_distance : float
        Stop with ``"boundary"`` when ``||x - x*||`` exceeds this.
    batch, seed : int
        Batch size and seed for oracles that need sampled batches (Dynamic-GDA).
    convert : bool
        Let an oracle written in the other sign convention run on converted states.
    record_states : bool
        Keep every state (for ``--csv`` and phase portraits).

    Returns
    -------
    RunResult
    """

    r = make_runner(runner, kind)
    eta = check_eta(eta)
    x0 = check_x0(game, x0)
    steps = _check_steps(steps)
    precision = check_precision(precision)
    if not (max_distance > 0):
        raise BadInput(f"--max-distance must be > 0, got {max_distance}")
    if not math.isfinite(max_distance) and precision not in (None, "float32"):
        raise BadInput(f"--max-distance must be finite (at most 1.8e308) with --precision {precision}: "
                       "arbitrary-precision numbers never overflow, so the run would never stop growing")
    conversion = _check_convention(game, r, convert)

    if precision is None or precision in ("exact", "float32"):
        return _run(game, r, eta, x0, steps, _Arith(precision), max_distance, batch, seed, conversion,
                    record_states)
    import mpmath

    with mpmath.workdps(precision):
        return _run(game, r, eta, x0, steps, _Arith(precision), max_distance, batch, seed, conversion,
                    record_states)


def check_precision(precision) -> Union[None, int, str]:
    """None (float64), ``"float32"``, an integer number of decimal digits >= 5 (mpmath), or ``"exact"``."""
    if precision is None or precision in ("exact", "float32"):
        return precision
    if isinstance(precision, str):
        try:
            precision = int(precision)
        except ValueError:
            raise BadInput(f"--precision must be a number of digits >= 5, 'exact' or 'float32', got {precision!r}") from None
    if isinstance(precision, bool) or not isinstance(precision, (int, np.integer)) or precision < 5:
        raise BadInput(f"--precision must be a number of digits >= 5, 'exact' or 'float32', got {precision!r}")
    if precision > MAX_PRECISION:
        raise BadInput(f"--precision {precision} is above the limit of {MAX_PRECISION} digits "
                       "(mpmath at that size runs for hours); use 'exact' for rational arithmetic")
    return int(precision)


#: the most decimal digits accepted for mpmath runs
MAX_PRECISION = 10_000


def _exact_field(f):
    """The field as exact sympy functions (rational polynomial fields only)."""
    import sympy as sp

    if f.expr is None:
        raise BadInput("exact simulation needs a symbolic game")
    syms = f.game.symbols
    for e in f.expr:
        if not e.is_polynomial(*syms) or not all(c.is_Rational for c in sp.Poly(e, *syms).coeffs()):
            raise BadInput(f"exact simulation needs a field that is polynomial with rational coefficients; "
                           f"this one has the component {e}; use --precision DIGITS")
    fn = sp.lambdify(syms, list(f.expr), modules="sympy")
    return lambda x: np.array(fn(*x), dtype=object)


#: a far start gets this much room to grow before "boundary" (see the module docstring)
RELATIVE_GROWTH = 1e6


def boundary_distance(max_distance: float, d0):
    """Per start: ``max(max_distance, RELATIVE_GROWTH * d0)`` (``d0`` its initial distance)."""
    d0 = np.asarray(d0, dtype=float)
    with np.errstate(over="ignore"):
        return np.maximum(max_distance, RELATIVE_GROWTH * np.where(np.isfinite(d0), d0, 0.0))


def _stop_reason(ar, lg: float, log_max: float, state) -> Optional[str]:
    """Why a run stops after a step: ``"non-finite"`` (the new state is not finite; it is not
    taken), ``"boundary"`` (farther than max_distance; it is taken), or None."""
    if lg <= log_max and lg < math.inf:
        return None
    return "boundary" if ar.finite(state) else "non-finite"


#: log10 of the smallest normal number of float64 / float32: below it a distance is subnormal
#: (fewer significant digits, down to none at 4.9e-324), and a float run stalls there
_LOG10_TINY = {None: math.log10(np.finfo(np.float64).tiny), "float32": math.log10(np.finfo(np.float32).tiny)}


def _underflow(ar, logs: np.ndarray) -> dict:
    """``{"underflow_at": k}``: the first step whose distance to x* is subnormal in the run's
    float format (below its normal range, above 0), after which the float trajectory has lost
    its precision and stalls (use ``--precision DIGITS`` to follow it further); None when it
    never is, and for mpmath / exact runs, whose exponent range does not end."""
    lim = _LOG10_TINY.get(ar.precision) if ar.precision in (None, "float32") else None
    if lim is None:
        return {"underflow_at": None}
    below = np.flatnonzero((logs < lim) & (logs > -math.inf))
    return {"underflow_at": int(below[0]) if below.size else None}


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise BadInput(f"--steps must be an integer >= 0, got {steps!r}")
    return int(steps)


def _field_of(game, r: Runner):
    from stabcheck.fields import game_field

    if r.kind == "method":
        return r.obj.field(game)
    return game_field(game)


def _run(*args) -> RunResult:
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported
        return _run_inner(*args)


def _run_inner(game, r: Runner, eta, x0, steps, ar: _Arith, max_distance, batch, seed, conversion,
               record_states) -> RunResult:
    f = _field_of(game, r)
    v = f.numpy if ar.precision is None else (_exact_field(f) if ar.exact else f.mpmath)
    fns = FieldFns(v, game.n_gen, game.dim, backend="numpy", number=None if ar.precision is None else ar.number)
    eta_n = ar.number(eta)
    x_star = ar.vector(game.equilibrium)
    x = ar.vector(x0)
    logs = [ar.log10_norm(x - x_star)]
    log_max = max(math.log10(max_distance),
                  math.log10(RELATIVE_GROWTH) + logs[0] if math.isfinite(logs[0]) else -math.inf)
    states = [x.copy()] if record_states else None
    codes: Optional[list] = [] if r.kind == "oracle" else None
    stopped = None
    n = game.n_gen

    if r.kind == "oracle":
        oracle = r.obj
        oracle.reset()
        oname = r.name
        needs_batches = bool(getattr(oracle, "needs_batches", False))
        rng = np.random.default_rng(seed) if needs_batches else None
        if needs_batches and game.structure is None:
            raise BadInput(f"oracle {oname!r} needs sampled batches; system {game.name!r} has no data/discriminator "
                           "structure (use a built-in GAN game: dirac or gaussian)")
        if needs_batches and (isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1):
            raise BadInput(f"--batch must be an integer >= 1, got {batch!r}")
        target = getattr(oracle, "convention", None) if conversion else None
        step_fns = {1: fns.V1, 2: fns.V2, 3: fns.V3}
        opt = r.optimizer
        s_opt = x * 0 if (opt is not None and opt.slots) else None
        for k in range(steps):
            xo = game.convert_state(x, target) if target else x.view()
            if not target:
                xo.flags.writeable = False
            real_p = fake_p = None
            if needs_batches:
                real = game.structure.sample_real(rng, batch)
                latent = game.structure.sample_latent(rng, batch)
                real_p, fake_p = game.project(x, real, latent)
                if target:  # projections in the oracle's convention: psi -> -psi negates them
                    real_p, fake_p = -real_p, -fake_p
            choice = Choice.coerce(oracle(OracleInput(step=k, x=xo, n_gen=n, real_proj=real_p, fake_proj=fake_p)),
                                   oracle=f"oracle {oname!r}")
            code = CODE[choice]
            if opt is None:
                x_new = x + eta_n * step_fns[code](x)
            else:
                x_new, s_new = opt.move(x, s_opt, step_fns[code](x), eta_n, fns, fns.mask_of(code))
            lg = ar.log10_norm(x_new - x_star)
            stopped = _stop_reason(ar, lg, log_max, x_new)
            if stopped == "non-finite":
                break
            x = x_new
            if opt is not None:
                s_opt = s_new
            codes.append(code)
            logs.append(lg)
            if record_states:
                states.append(x.copy())
            if stopped:
                break
        grad_evals = 1
    else:
        rule = r.obj.rule
        z = rule.init(x, fns)
        for k in range(steps):
            z_new = rule.step(z, fns, eta_n)
            x_new = rule.position(z_new)
            lg = ar.log10_norm(x_new - x_star)
            stopped = _stop_reason(ar, lg, log_max, z_new)
            if stopped == "non-finite":
                break
            z = z_new
            logs.append(lg)
            if record_states:
                states.append(np.array(x_new, copy=True))
            if stopped:
                break
        grad_evals = int(rule.gradient_evaluations())

    from stabcheck.rules import _PLAIN

    optimizer = (r.optimizer or _PLAIN) if r.kind == "oracle" else r.obj.rule.optimizer
    logs_a = np.array(logs, dtype=float)
    return RunResult(name=r.name, kind=r.kind, spec=r.spec, x0=[float(v) for v in x0], steps=steps,
                     extras={"optimizer": optimizer.describe(), **_underflow(ar, logs_a)},
                     precision=ar.label, log10_distance=logs_a,
                     codes=None if codes is None else np.array(codes, dtype=np.int8), stopped=stopped,
                     states=states, conversion=conversion, oracle_convention=r.convention,
                     gradient_evaluations=grad_evals)


# ---------------------------------------------------------------------------- vectorised

@dataclass
class BatchResult:
    """Summary of many float64 starts run at once (:func:`simulate_many`).

    Arrays have one entry per start. ``final_distance`` is the distance at the last step run
    (the last finite state for ``stopped == "non-finite"``); ``first_below`` is -1 where the
    distance never fell below 1e-6; ``stopped`` holds 0 (running), 1 ("boundary") or
    2 ("non-finite"); ``choices`` is ``(B, 3)`` counts of V1, V2, V3 (None for methods).
    """

    name: str
    X0: np.ndarray
    X: np.ndarray
    steps: int
    steps_done: np.ndarray
    final_distance: np.ndarray
    min_distance: np.ndarray
    first_below: np.ndarray
    sup_ratio: np.ndarray
    stopped: np.ndarray
    choices: Optional[np.ndarray]

    STOP_NAMES = (None, "boundary", "non-finite")

    def stopped_name(self, i: int) -> Optional[str]:
        return self.STOP_NAMES[int(self.stopped[i])]


def _quiet_overflow(fn):
    """Run ``fn`` with numpy's overflow/invalid warnings off: divergence is detected and reported."""
    import functools

    @functools.wraps(fn)
    def wrapper(*a, **k):
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(*a, **k)

    return wrapper


@_quiet_overflow
def simulate_many(game, runner: Union[str, Any], eta: float, X0: np.ndarray, steps: int, *,
                  max_distance: float = MAX_DISTANCE, convert: bool = False,
                  kind: Optional[str] = None, lean: bool = True) -> BatchResult:
    """Run many float64 starts at once (numpy over the starts).

    Needs a memoryless oracle with ``choose_many(step, X, n_gen) -> codes`` (the built-in
    ``sim``, ``alt`` and ``dirac`` have it) or a method. Each start follows exactly the
    float64 trajectory :func:`simulate` would compute for it (tested). ``X0`` has shape
    ``(B, d)``; a start stops (and stays frozen) on the first non-finite state or when its
    distance exceeds ``max_distance``.

    Bookkeeping (``lean``, the default): while every start is running, a step is the update
    (the moving players' columns scaled by the code's bits, in place), the distances, in-place minimum / maximum, and two running sums of the oracle's codes
    (how often each player moved: ``code & 1``, ``code >> 1``) from which the V1 / V2 / V3
    counts are recovered at the end; the per-start masks, index arrays and scatter-adds of
    the general path (``lean=False``, and every step after the first start stops) are not
    needed. The results are identical (tests/test_simulate.py).
    """
    r = make_runner(runner, kind)
    eta = check_eta(eta)
    steps = _check_steps(steps)
    X = np.array(X0, dtype=float)
    if X.ndim != 2 or X.shape[1] != game.dim:
        raise BadInput(f"X0 must have shape (B, {game.dim}), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise BadInput("every start in X0 must be finite")
    conversion = _check_convention(game, r, convert)
    n = game.n_gen
    f = _field_of(game, r)
    v = f.numpy
    x_star = game.equilibrium_numeric
    B = X.shape[0]

    two = game.dim == 2 and bool(lean)
    xs0, xs1 = (float(x_star[0]), float(x_star[1])) if game.dim == 2 else (0.0, 0.0)

    def dist(Y):
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if two:  # the same numbers as the einsum below (two products, one sum), without its overhead
                D0 = Y[:, 0] - xs0 if xs0 else Y[:, 0]  # (y - 0)^2 = y^2 exactly
                D1 = Y[:, 1] - xs1 if xs1 else Y[:, 1]
                s = D0 * D0
                s += D1 * D1
                out = np.sqrt(s, out=s)
                ok = out > 1e-150
                ok &= out < 1e150
                if ok.all():
                    return out
                D = Y - x_star
            else:
                D = Y - x_star
                out = np.sqrt(np.einsum("ij,ij->i", D, D))
            # squares under/overflow outside ~[1e-150, 1e150]: rescale those rows
            bad = ~((out > 1e-150) & (out < 1e150))
            if bad.any():
                Db = D[bad]
                m = np.max(np.abs(Db), axis=1)
                safe = np.where((m > 0) & np.isfinite(m), m, 1.0)
                out[bad] = np.where(np.isfinite(m), m * np.sqrt(np.sum((Db / safe[:, None]) ** 2, axis=1)), m)
            return out

    d0 = dist(X)
    max_distance = boundary_distance(max_distance, d0)
    dmin, dmax, dlast = d0.copy(), d0.copy(), d0.copy()
    first = np.where(d0 < FIRST_BELOW, 0, -1)
    stopped = np.zeros(B, dtype=np.int8)
    done = np.zeros(B, dtype=np.int64)
    active = np.ones(B, dtype=bool)
    counts = np.zeros((B, 4), dtype=np.int64) if r.kind == "oracle" else None
    gen = np.zeros(game.dim)
    gen[:n] = 1.0
    masks = np.stack([0.0 * gen, gen, 1.0 - gen, gen + (1.0 - gen)])  # code -> which coordinates move

    if r.kind == "oracle":
        oracle = r.obj
        if not hasattr(oracle, "choose_many"):
            raise BadInput(f"oracle {r.name!r} has no choose_many(step, X, n_gen); run its starts one by one")
        if getattr(oracle, "needs_batches", False):
            raise BadInput(f"oracle {r.name!r} needs sampled batches; the vectorised path does not sample them")
        oracle.reset()
        target = oracle.convention if conversion else None
        rows = np.arange(B)
        opt = r.optimizer
        d = game.dim
        ofns = FieldFns(v, n, d, backend="numpy")
        S = np.zeros_like(X) if (opt is not None and opt.slots) else None
        fast = bool(lean) and B > 0  # every start running: the lean bookkeeping
        bound_finite = bool(np.all(np.isfinite(max_distance)))  # then d <= bound excludes d = inf
        k_fast = 0  # steps taken in the lean mode (by every start)
        moved_g = np.zeros(B, dtype=np.int64)  # lean mode: steps in which the generator moved (V1, V3)
        moved_d = np.zeros(B, dtype=np.int64)  # ... the discriminator (V2, V3)
        for k in range(steps):
            Xo = game.convert_state(X, target) if target else X
            codes = np.asarray(oracle.choose_many(k, Xo, n))
            if codes.shape != (B,) or not np.issubdtype(codes.dtype, np.integer) \
                    or codes.min(initial=1) < 1 or codes.max(initial=3) > 3:
                bad = codes if codes.shape != (B,) else codes[(codes < 1) | (codes > 3)][:3]
                raise BadInput(f"oracle {r.name!r}: choose_many must return {B} integer codes in 1..3 "
                               f"(V1, V2, V3); got {bad!r}")
            if opt is None and lean:
                # X + eta (v M) in place on v's fresh array, M's columns as the code's bits (1 or 0:
                # the same products): the generator moves for V1 and V3 (code & 1), the
                # discriminator for V2 and V3 (code >> 1)
                cg, cd = codes & 1, codes >> 1
                X_new = v(X)
                X_new[:, :n] *= cg[:, None]
                X_new[:, n:] *= cd[:, None]
                X_new *= eta
                X_new += X
                S_new = None
            else:
                M = masks[codes]
                cg = cd = None
                if opt is None:
                    X_new, S_new = X + eta * (v(X) * M), None
                else:
                    X_new, S_new = opt.move(X, S, v(X) * M, eta, ofns, M)
            if fast:
                dn = dist(X_new)
                if np.all(dn <= max_distance) and (bound_finite or not np.any(dn == np.inf)):
                    X, S, dlast = X_new, S_new, dn
                    np.minimum(dmin, dn, out=dmin)
                    np.maximum(dmax, dn, out=dmax)
                    below = dn < FIRST_BELOW
                    if below.any():
                        first[below & (first < 0)] = k + 1
                    moved_g += codes & 1 if cg is None else cg
                    moved_d += codes >> 1 if cd is None else cd
                    k_fast += 1
                    continue
                fast = False  # a start stops here: this and later steps by the general path
            if S is None:
                X, dlast, active, took = _advance(X, X_new, active, dist, max_distance, stopped, done, dmin, dmax,
                                                  dlast, first, k)
            else:  # the optimizer's state travels with the positions (and stops with them)
                Z, dlast, active, took = _advance(np.concatenate([X, S], axis=1), np.concatenate([X_new, S_new], axis=1),
                                                  active, dist, max_distance, stopped, done, dmin, dmax, dlast, first,
                                                  k, position=lambda Z: Z[:, :d])
                X, S = Z[:, :d], Z[:, d:]
            counts[rows[took], codes[took]] += 1
            if not active.any():
                break
        if k_fast:  # the lean mode's steps: counts from the two running sums
            both = moved_g + moved_d - k_fast
            counts[:, 1] += moved_g - both
            counts[:, 2] += moved_d - both
            counts[:, 3] += both
            done += k_fast
    else:
        rule = r.obj.rule
        fns = FieldFns(v, n, game.dim, backend="numpy")
        Z = rule.init(X, fns)
        for k in range(steps):
            Z_new = rule.step(Z, fns, eta)
            Z, dlast, active, _ = _advance(Z, Z_new, active, dist, max_distance, stopped, done, dmin, dmax,
                                           dlast, first, k, position=rule.position)
            if not active.any():
                break
        X = rule.position(Z)
    with np.errstate(divide="ignore", invalid="ignore"):
        sup = np.where(d0 > 0, dmax / np.where(d0 > 0, d0, 1.0), np.nan)
    return BatchResult(name=r.name, X0=np.array(X0, dtype=float), X=X, steps=steps, steps_done=done,
                       final_distance=dlast, min_distance=dmin, first_below=first, sup_ratio=sup,
                       stopped=stopped, choices=None if counts is None else counts[:, 1:])


def _advance(Z, Z_new, active, dist, max_distance, stopped, done, dmin, dmax, dlast, first, k, position=None):
    """One vectorised step's bookkeeping; inactive starts keep their state."""
    Xn = Z_new if position is None else position(Z_new)
    d = dist(Xn)
    ok = (d <= max_distance) & (d < np.inf)
    if not ok[active].all():
        bad = active & ~ok
        finite = np.all(np.isfinite(Z_new), axis=1)
        stopped[bad & ~finite] = 2
        stopped[bad & finite] = 1
        keep = active & (ok | finite)  # a boundary stop still counts its last (finite) step
        Z_new = np.where(keep[:, None], Z_new, Z)
        d = np.where(keep, d, dlast)
        took = keep
        active = active & ok
    else:
        took = active
        if not active.all():
            Z_new = np.where(active[:, None], Z_new, Z)
            d = np.where(active, d, dlast)
    done[took] += 1
    np.minimum(dmin, d, out=dmin)
    np.maximum(dmax, d, out=dmax)
    newly = (first < 0) & (d < FIRST_BELOW) & took
    first[newly] = k + 1
    return Z_new, d, active, took


__all__ = ["simulate", "simulate_many", "RunResult", "BatchResult", "Runner", "make_runner", "split_specs",
           "check_eta", "check_x0", "FIRST_BELOW", "MAX_DISTANCE"]
