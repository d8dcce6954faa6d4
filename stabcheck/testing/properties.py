"""Property checks for training dynamics: each raises ``AssertionError`` with a readable message.

Every check runs a trajectory (through :func:`stabcheck.simulate.simulate`, or many at once
through :func:`run_batch`) and tests one statement of the theory; a failure message names
the system, the sign convention, the runner, ``eta``, ``x0``, the step where it failed, the
numbers, and a ``stabcheck simulate ...`` command that reproduces the run.

=====================================  ======================================================
check                                  statement (``x*`` the equilibrium, ``d_k = ||x_k - x*||``)
=====================================  ======================================================
:func:`check_bounded`                  ``sup_{k <= N} d_k <= C d_0`` (and the run stays finite)
:func:`check_lyapunov_decrease`        ``V(x_{k+1}) <= V(x_k) (1 + rtol)`` for ``k < N``;
                                       default ``V = H = ||x - x*||^2 / 2`` (thesis eq. 12)
:func:`check_linearization`            a perturbation ``eps u`` of ``x*`` grows like
                                       ``rho^k``, ``rho`` the spectral radius of the map's
                                       Jacobian: ``|(d_k/d_0)^(1/k) - rho| <= rtol * rho``
:func:`check_never_v3`                 the oracle never returns ``V3``
:func:`check_converges`                ``d_N <= tol * d_0``
:func:`check_convention_invariance`    the run on the game in the other sign convention, from
                                       ``x0`` with ``psi -> -psi``, is the same trajectory with
                                       ``psi -> -psi`` (exactly, in float64)
=====================================  ======================================================

The same statements are available on batches of trajectories (arrays, one row per start) as
``*_violations`` functions; :mod:`stabcheck.check_oracle` uses those with :func:`run_batch`,
which runs many starts *with different step sizes* at once in numpy.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from stabcheck.errors import BadInput

#: default bound ``C`` of the boundedness property
DEFAULT_C = 10.0
#: default relative slack of the Lyapunov decrease (float64 rounding of V)
DEFAULT_RTOL = 1e-9
#: default ``max_distance``: a run farther than this from ``x*`` stops (as in simulate)
MAX_DISTANCE = 1e12


# --------------------------------------------------------------------------- candidates

def potential_H(X: np.ndarray, x_star: np.ndarray) -> np.ndarray:
    """The thesis's potential ``H(x) = ||x - x*||^2 / 2`` (eq. 12; ``(theta^2 + psi^2)/2``
    for the Dirac-GAN), on rows of ``X`` (shape ``(..., d)``)."""
    D = np.asarray(X, dtype=float) - x_star
    with np.errstate(over="ignore", invalid="ignore"):
        return 0.5 * np.sum(D * D, axis=-1)


def sup_norm_W(X: np.ndarray, x_star: np.ndarray) -> np.ndarray:
    """``W(x) = max_i |x_i - x*_i|`` (non-increasing under the WGAN Dirac oracle for eta <= 1)."""
    return np.max(np.abs(np.asarray(X, dtype=float) - x_star), axis=-1)


CANDIDATES = {"H": potential_H, "W": sup_norm_W}


def resolve_candidate(V: Union[None, str, Callable]) -> tuple[str, Callable]:
    """``None``/``"H"`` (thesis eq. 12), ``"W"`` (sup-norm), ``"pkg.mod:fn"`` or a callable
    ``V(X, x_star) -> values`` (vectorised over the rows of ``X``)."""
    if V is None:
        V = "H"
    if callable(V):
        return getattr(V, "__name__", "V"), V
    if isinstance(V, str):
        if V in CANDIDATES:
            return V, CANDIDATES[V]
        if ":" in V:
            from stabcheck.oracles import load_object

            module, _, attr = V.partition(":")
            fn = load_object(module, attr, what="Lyapunov candidate")
            if not callable(fn):
                raise BadInput(f"Lyapunov candidate {V!r} is not callable")
            return V, fn
    raise BadInput(f"unknown Lyapunov candidate {V!r}; valid: H (||x - x*||^2/2, thesis eq. 12), "
                   "W (max |x_i - x*_i|), or pkg.module:function taking (X, x_star)")


# --------------------------------------------------------------------------- trajectories

@dataclass
class Trajectories:
    """States of ``B`` runs of ``N`` steps (float64).

    Attributes
    ----------
    states : ndarray, shape (B, N + 1, d)
        ``x_k`` (positions) in the game's convention; after a run stops its last state is
        repeated.
    codes : ndarray (B, N) of int8, or None
        Oracle choices (1 = V1, 2 = V2, 3 = V3; 0 after the run stopped); None for methods.
    steps_done : ndarray (B,)
        Steps actually run.
    stopped : ndarray (B,) of int8
        0 running, 1 left ``||x - x*|| <= max_distance`` ("boundary"), 2 non-finite.
    etas : ndarray (B,)
    x_star : ndarray (d,)
    """

    states: np.ndarray
    codes: Optional[np.ndarray]
    steps_done: np.ndarray
    stopped: np.ndarray
    etas: np.ndarray
    x_star: np.ndarray

    @property
    def B(self) -> int:
        return self.states.shape[0]

    @property
    def steps(self) -> int:
        return self.states.shape[1] - 1

    def distances(self) -> np.ndarray:
        D = self.states - self.x_star
        with np.errstate(over="ignore", invalid="ignore"):
            if D.shape[-1] == 2:
                return np.hypot(D[..., 0], D[..., 1])
            return np.linalg.norm(D, axis=-1)

    def row(self, i: int) -> "Trajectories":
        s = slice(i, i + 1)
        return Trajectories(self.states[s], None if self.codes is None else self.codes[s], self.steps_done[s],
                            self.stopped[s], self.etas[s], self.x_star)


def _as_runner(game, runner, kind=None):
    from stabcheck.simulate import make_runner

    return make_runner(runner, kind)


def batch_inputs(game, X0, etas) -> tuple:
    """A batch's starts as a float array of shape (B, game.dim) and its step sizes broadcast to
    (B,), each checked (BadInput otherwise)."""
    from stabcheck.simulate import check_eta

    X = np.array(X0, dtype=float)
    if X.ndim != 2 or X.shape[1] != game.dim:
        raise BadInput(f"X0 must have shape (B, {game.dim}), got {X.shape}")
    E = np.broadcast_to(np.asarray(etas, dtype=float), (X.shape[0],)).copy()
    for e in np.unique(E):
        check_eta(e)
    return X, E


def run_batch(game, runner: Any, etas: Union[float, Sequence[float]], X0: np.ndarray, steps: int, *,
              convert: bool = False, max_distance: float = MAX_DISTANCE, kind: Optional[str] = None,
              vectorised: Optional[bool] = None, progress: Optional[Callable] = None) -> Trajectories:
    """Run ``B`` starts, each with its own step size, and keep every state.

    Oracles with ``choose_many(step, X, n_gen)`` (the built-in sim, alt, dirac) and methods
    run all starts at once in numpy (each start follows exactly the float64 trajectory of
    :func:`stabcheck.simulate.simulate`; tested); other oracles run start by start through
    :func:`~stabcheck.simulate.simulate` (``vectorised=False`` forces that path).

    Parameters
    ----------
    game : Game
    runner : str, oracle object, Method or Runner
        As for :func:`stabcheck.simulate.simulate`.
    etas : float or sequence of float
        One step size for all starts, or one per start.
    X0 : array (B, d)
        Starts in the game's convention.
    steps : int
    convert : bool
        Let an oracle written in the other sign convention see converted states.
    max_distance : float
        A start stops (its state frozen) when ``||x - x*||`` exceeds this or is not finite.
    progress : callable, optional
        ``progress(done, B, None)`` after each start of the start-by-start path (user oracles
        without ``choose_many``; the vectorised path is fast and does not report).
    """
    from stabcheck.fields import game_field
    from stabcheck.rules import FieldFns
    from stabcheck.simulate import _check_convention

    r = _as_runner(game, runner, kind)
    X, E = batch_inputs(game, X0, etas)
    B, d = X.shape
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise BadInput(f"steps must be an integer >= 0, got {steps!r}")
    conversion = _check_convention(game, r, convert)
    x_star = game.equilibrium_numeric
    is_oracle = r.kind == "oracle"
    if vectorised is None:
        vectorised = (not is_oracle) or (callable(getattr(r.obj, "choose_many", None))
                                         and not getattr(r.obj, "needs_batches", False))
    if not vectorised:
        return _run_one_by_one(game, r, E, X, steps, convert, max_distance, progress)

    n = game.n_gen
    f = game_field(game) if is_oracle else r.obj.field(game)
    v = f.numpy
    states = np.empty((B, steps + 1, d))
    states[:, 0] = X
    codes = np.zeros((B, steps), dtype=np.int8) if is_oracle else None
    stopped = np.zeros(B, dtype=np.int8)
    active = np.ones(B, dtype=bool)
    Ecol = E[:, None]
    gen = np.zeros(d)
    gen[:n] = 1.0
    disc = 1.0 - gen
    if is_oracle:
        oracle = r.obj
        oracle.reset()
        target = oracle.convention if conversion else None
        Z = X
        opt = getattr(r, "optimizer", None)
        ofns = FieldFns(v, n, d, backend="numpy")
        S = np.zeros_like(X) if (opt is not None and opt.slots) else None
        S_new = None
    else:
        rule = r.obj.rule
        fns = FieldFns(v, n, d, backend="numpy")
        Z = rule.init(X, fns)
    masks = np.stack([np.zeros(d), gen, disc, np.ones(d)])  # code -> which blocks move
    stop_at = np.full(B, steps, dtype=np.int64)  # steps done by each start
    from stabcheck.simulate import boundary_distance

    D0 = X - x_star
    bound = boundary_distance(max_distance, np.sqrt(np.sum(D0 * D0, axis=1)))  # as simulate's boundary
    for k in range(steps):
        if is_oracle:
            Xo = game.convert_state(Z, target) if target else Z
            c = np.asarray(oracle.choose_many(k, Xo, n))
            if c.shape != (B,) or not np.issubdtype(c.dtype, np.integer) or c.min(initial=1) < 1 \
                    or c.max(initial=3) > 3:
                raise BadInput(f"oracle {r.name!r}: choose_many must return {B} integer codes in 1..3 (V1, V2, V3)")
            with np.errstate(over="ignore", invalid="ignore"):
                M = masks.take(c, axis=0)  # = masks[c], 10x faster
                if opt is None:
                    Z_new = Z + Ecol * (v(Z) * M)
                else:  # the oracle picks who moves, the optimizer how (its state S rides along)
                    Z_new, S_new = opt.move(Z, S, v(Z) * M, Ecol, ofns, M)
            Xn = Z_new
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                Z_new = rule.step(Z, fns, Ecol)
            Xn = rule.position(Z_new)
        D = Xn - x_star
        with np.errstate(over="ignore", invalid="ignore"):
            dist = np.hypot(D[:, 0], D[:, 1]) if d == 2 else np.sqrt(np.sum(D * D, axis=1))
        ok = dist <= bound  # False for NaN
        if ok.all() and active.all():
            Z = Z_new
            if is_oracle:
                codes[:, k] = c
                if S is not None:
                    S = S_new
        else:
            finite = np.all(np.isfinite(Z_new), axis=1)
            # a start that leaves the region still takes this (finite) step, then stops
            take = active & finite
            newly = active & ~ok
            stopped[newly & finite] = 1
            stopped[newly & ~finite] = 2
            stop_at[newly & finite] = k + 1
            stop_at[newly & ~finite] = k
            Z = np.where(take[:, None], Z_new, Z)
            if is_oracle:
                codes[take, k] = c[take]
                if S is not None:
                    S = np.where(take[:, None], S_new, S)
            active = active & ok
        states[:, k + 1] = Z if is_oracle else rule.position(Z)
        if not active.any():
            states[:, k + 2:] = states[:, k + 1: k + 2]
            break
    done = stop_at
    return Trajectories(states, codes, done, stopped, E, x_star)


def _run_one_by_one(game, r, E, X, steps, convert, max_distance, progress=None) -> Trajectories:
    from stabcheck.simulate import simulate

    B, d = X.shape
    states = np.empty((B, steps + 1, d))
    codes = np.zeros((B, steps), dtype=np.int8) if r.kind == "oracle" else None
    done = np.zeros(B, dtype=np.int64)
    stopped = np.zeros(B, dtype=np.int8)
    for i in range(B):
        res = simulate(game, r, float(E[i]), X[i], steps, convert=convert, max_distance=max_distance,
                       record_states=True)
        S = np.asarray(res.states, dtype=float)
        states[i, : len(S)] = S
        states[i, len(S):] = S[-1]
        done[i] = res.steps_done
        stopped[i] = {None: 0, "boundary": 1, "non-finite": 2}[res.stopped]
        if codes is not None and res.codes is not None:
            codes[i, : len(res.codes)] = res.codes
        if progress is not None:
            progress(i + 1, B, None)
    return Trajectories(states, codes, done, stopped, E, game.equilibrium_numeric)


# --------------------------------------------------------------------------- batch properties

@dataclass
class Violations:
    """Per start: whether the property fails, at which step (-1: holds), and a measured value."""

    fails: np.ndarray
    step: np.ndarray
    value: np.ndarray
    detail: dict

    def first(self) -> int:
        idx = np.flatnonzero(self.fails)
        return int(idx[0]) if idx.size else -1


def bounded_violations(tr: Trajectories, C: float = DEFAULT_C) -> Violations:
    """``sup_k d_k > C d_0`` or the run stopped (left ``max_distance`` / non-finite).

    ``value`` is the sup ratio; ``step`` the first ``k`` with ``d_k > C d_0``.
    """
    dist = tr.distances()
    d0 = dist[:, :1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = dist / d0
    over = ~(ratio <= C)  # NaN/inf count as over
    over[:, 0] = False
    fails = over.any(axis=1) | (tr.stopped > 0)
    step = np.where(over.any(axis=1), np.argmax(over, axis=1), np.where(tr.stopped > 0, tr.steps_done, -1))
    step = np.where(fails, step, -1)
    with np.errstate(invalid="ignore"):
        sup = np.nanmax(np.where(np.isfinite(ratio), ratio, np.inf), axis=1)
    return Violations(fails, step, sup, {"C": C})


def lyapunov_violations(tr: Trajectories, V: Union[None, str, Callable] = None,
                        rtol: float = DEFAULT_RTOL, atol: float = 0.0, exclude_axes: bool = False) -> Violations:
    """First step ``k`` with ``V(x_{k+1}) > V(x_k) (1 + rtol) + atol`` (within the steps run).

    ``value`` is the ratio ``V(x_{k+1}) / V(x_k)`` at that step (the largest ratio when none
    fails). ``exclude_axes`` ignores steps taken from states with a coordinate equal to that
    of ``x*`` (on the Dirac-GAN: ``psi * theta = 0``, the boundary where the thesis's Dirac
    oracle is undefined and an implementation applies a boundary rule).
    """
    name, fn = resolve_candidate(V)
    Vs = np.asarray(fn(tr.states.reshape(-1, tr.states.shape[-1]), tr.x_star), dtype=float)
    Vs = Vs.reshape(tr.states.shape[:2])
    before, after = Vs[:, :-1], Vs[:, 1:]
    with np.errstate(over="ignore", invalid="ignore"):
        up = ~(after <= before * (1 + rtol) + atol)
        ratio = np.where(before > 0, after / np.where(before > 0, before, 1.0), np.where(after > 0, np.inf, 1.0))
    within = np.arange(tr.steps)[None, :] < tr.steps_done[:, None]
    if exclude_axes:
        within = within & ~np.any(tr.states[:, :-1] == tr.x_star, axis=2)
    up &= within
    fails = up.any(axis=1)
    step = np.where(fails, np.argmax(up, axis=1), -1)
    rows = np.arange(tr.B)
    val = np.where(fails, ratio[rows, np.maximum(step, 0)],
                   np.max(np.where(within, ratio, -np.inf), axis=1, initial=-np.inf))
    return Violations(fails, step, val, {"V": name, "rtol": rtol, "atol": atol, "values": Vs,
                                         "exclude_axes": exclude_axes})


def never_v3_violations(tr: Trajectories) -> Violations:
    """First step where the oracle returned V3."""
    if tr.codes is None:
        raise BadInput("never_v3 applies to oracles (methods make no choices)")
    is3 = tr.codes == 3
    fails = is3.any(axis=1)
    return Violations(fails, np.where(fails, np.argmax(is3, axis=1), -1), is3.sum(axis=1).astype(float), {})


def convergence_failures(tr: Trajectories, tol: float = 1e-6) -> Violations:
    """``d_N > tol * d_0`` (``value``: the final ratio ``d_N / d_0``)."""
    dist = tr.distances()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = dist[:, -1] / dist[:, 0]
    fails = ~(ratio <= tol) | (tr.stopped > 0)
    return Violations(fails, np.where(fails, tr.steps, -1), ratio, {"tol": tol})


def convention_violations(tr: Trajectories, tr_other: Trajectories, n_gen: int) -> Violations:
    """Where the run in the other convention differs from ``psi -> -psi`` of this one
    (``value``: the largest absolute difference; exact equality is required)."""
    S = tr_other.states.copy()
    S[..., n_gen:] = -S[..., n_gen:]
    diff = np.abs(S - tr.states)
    with np.errstate(invalid="ignore"):
        bad = ~(diff <= 0)
    bad = bad.any(axis=2)
    bad &= ~(np.isnan(S).all(axis=2) & np.isnan(tr.states).all(axis=2))
    same_codes = np.ones_like(bad)
    if tr.codes is not None and tr_other.codes is not None:
        same_codes[:, 1:] = tr.codes == tr_other.codes
    bad |= ~same_codes
    fails = bad.any(axis=1)
    with np.errstate(invalid="ignore"):
        val = np.nanmax(np.where(np.isfinite(diff), diff, np.inf).reshape(tr.B, -1), axis=1)
    # state k + 1 differs: step k (from x_k) is the first step that differs
    return Violations(fails, np.where(fails, np.maximum(np.argmax(bad, axis=1) - 1, 0), -1), val, {})


# --------------------------------------------------------------------------- commands

def system_args(system: str, loss: Optional[str] = None, params: Optional[dict] = None,
                regs: Sequence[str] = ()) -> list:
    """The command-line arguments that rebuild a game: ``--system SPEC [--loss L] [--param k=v ...]
    [--reg R ...]`` (for a user factory ``pkg.mod:factory``, whose game cannot be rebuilt from
    the game object alone)."""
    parts = ["--system", str(system)]
    if loss:
        parts += ["--loss", str(loss)]
    for k, v in (params or {}).items():
        parts += ["--param", f"{k}={v if isinstance(v, str) else repr(v)}"]
    for r in regs:
        parts += ["--reg", r]
    return parts


def import_root(spec: str) -> Optional[str]:
    """The directory a fresh ``stabcheck`` process needs on its module path to import the user
    module of ``spec`` (``pkg.mod:Name...``), or None (a built-in, not imported, or importable
    anyway: installed in this environment)."""
    import os
    import sys
    import sysconfig

    if not isinstance(spec, str) or ":" not in spec:
        return None
    mod = sys.modules.get(spec.split(":", 1)[0])
    f = getattr(mod, "__file__", None)
    if not f:
        return None
    root = os.path.dirname(os.path.abspath(f))
    for _ in range(spec.split(":", 1)[0].count(".") + (1 if os.path.basename(f) == "__init__.py" else 0)):
        root = os.path.dirname(root)
    installed = {os.path.abspath(p) for k, p in sysconfig.get_paths().items() if k in ("purelib", "platlib", "stdlib")}
    return None if root in installed else root


def path_args(*specs) -> list:
    """``--path DIR`` for every user module among ``specs`` that a fresh process would not find."""
    out: list = []
    for s in specs:
        r = import_root(s)
        if r and r not in out[1::2]:
            out += ["--path", r]
    return out


def runner_spec(r) -> str:
    """What a command line needs to rebuild runner ``r``: its spec when it is one (a built-in or
    ``pkg.mod:Name``), else the import path of the oracle object's class (never its name)."""
    from stabcheck.oracles import BUILTIN_ORACLES

    spec = str(getattr(r, "spec", "") or "")
    head = spec.split(":", 1)[0]
    if r.kind != "oracle" or head in BUILTIN_ORACLES or ":" in spec:
        return spec
    obj = r.obj
    own = getattr(obj, "spec", None)
    if isinstance(own, str) and ":" in own:
        return own
    cls = type(obj)
    if cls.__module__ in ("__main__", "builtins"):
        return spec
    return f"{cls.__module__}:{cls.__qualname__}"


def simulate_command(game, runner_spec: str, eta: float, x0: Sequence[float], steps: int, *,
                     kind: str = "oracle", convert: bool = False, json: bool = True,
                     extra: Sequence[str] = (), system: Optional[Sequence[str]] = None) -> str:
    """A ready-to-paste ``stabcheck simulate ...`` command that re-runs one start exactly.

    The system flags are rebuilt from the game (``--system``, ``--loss``, ``--reg``, the
    Gaussian game's ``--mean``/``--sigma2``, and always ``--convention``, so the state is read
    in the same sign convention), or taken from ``system`` (the arguments of
    :func:`system_args`, for user factories); numbers are written with ``repr`` (exact
    float64). User modules that a fresh process would not import get ``--path DIR``.
    """
    parts = ["stabcheck", "simulate"]
    if system is not None:
        parts += list(system)
    else:
        parts += ["--system", game.name]
        if game.loss:
            parts += ["--loss", game.loss]
        if game.name == "gaussian":
            p = game.params
            parts += ["--mean=" + ",".join(repr(float(v)) for v in p.get("mean", [])),
                      "--sigma2", repr(float(p.get("sigma2", 1.0)))]
        elif game.name not in ("dirac",):
            raise BadInput(f"cannot write a simulate command for system {game.name!r}; only built-in dirac/gaussian "
                           "games (or pass system=system_args(...))")
        for r in getattr(game, "regs", []) or []:
            parts += ["--reg", r]
    parts += path_args(*(system or [])[1:2], runner_spec)
    parts += ["--convention", game.convention]
    parts += ["--oracle" if kind == "oracle" else "--method", runner_spec]
    parts += ["--eta", repr(float(eta)), "--x0=" + ",".join(repr(float(v)) for v in x0), "--steps", str(int(steps))]
    if convert:
        parts.append("--convert")
    parts += list(extra)
    if json:
        parts.append("--json")
    return " ".join(shlex.quote(p) for p in parts)


# --------------------------------------------------------------------------- single checks

def _describe(game, runner_name, eta, x0) -> str:
    loss = f"/{game.loss}" if game.loss else ""
    regs = f" + {' + '.join(game.regs)}" if getattr(game, "regs", None) else ""
    return (f"{runner_name} on {game.name}{loss}{regs} ({game.convention} convention), eta = {eta!r}, "
            f"x0 = {[float(v) for v in x0]}")


def _one(game, runner, eta, x0, steps, convert, kind=None) -> tuple[Trajectories, Any]:
    from stabcheck.simulate import check_x0

    r = _as_runner(game, runner, kind)
    x = check_x0(game, x0)
    tr = run_batch(game, r, [eta], x[None, :], steps, convert=convert, vectorised=False)
    return tr, r


def _cmd(game, r, eta, x0, steps, convert) -> str:
    try:
        return "\n  reproduce: " + simulate_command(game, runner_spec(r), eta, x0, steps, kind=r.kind,
                                                    convert=convert)
    except BadInput:
        return ""


def check_bounded(game, runner: Any, eta: float, x0: Sequence[float], steps: int = 1000, *,
                  C: float = DEFAULT_C, convert: bool = False) -> float:
    """Assert ``sup_{k <= steps} ||x_k - x*|| <= C ||x_0 - x*||``; returns the sup ratio.

    Examples
    --------
    >>> from stabcheck.games import make_game
    >>> game = make_game("dirac", "wgan")
    >>> round(check_bounded(game, "alt", 0.1, [1.0, 1.0], steps=200), 3) <= 10
    True
    """
    tr, r = _one(game, runner, eta, x0, steps, convert)
    vio = bounded_violations(tr, C)
    if vio.fails[0]:
        k = int(vio.step[0])
        stop = {1: f" (left ||x - x*|| <= {MAX_DISTANCE:g})", 2: " (non-finite state)"}.get(int(tr.stopped[0]), "")
        raise AssertionError(
            f"bounded: ||x_k - x*|| exceeded {C:g} ||x_0 - x*|| at step {k} of {steps}{stop}: "
            f"sup ratio {vio.value[0]:.6g}; {_describe(game, r.name, eta, x0)}"
            + _cmd(game, r, eta, x0, max(k, 1), convert))
    return float(vio.value[0])


def check_lyapunov_decrease(game, runner: Any, eta: float, x0: Sequence[float], steps: int = 1000, *,
                            V: Union[None, str, Callable] = None, rtol: float = DEFAULT_RTOL,
                            convert: bool = False, exclude_axes: bool = False) -> None:
    """Assert ``V(x_{k+1}) <= V(x_k) (1 + rtol)`` for every step; ``V`` defaults to the
    thesis's ``H = ||x - x*||^2 / 2`` (eq. 12).

    Examples
    --------
    >>> from stabcheck.games import make_game
    >>> game = make_game("dirac", "wgan", convention="thesis")
    >>> check_lyapunov_decrease(game, "dirac", 0.5, [0.1, -1.0], steps=1)
    Traceback (most recent call last):
    ...
    AssertionError: lyapunov: H increased at step 0 ...
    """
    tr, r = _one(game, runner, eta, x0, steps, convert)
    vio = lyapunov_violations(tr, V, rtol, exclude_axes=exclude_axes)
    if vio.fails[0]:
        k = int(vio.step[0])
        Vs = vio.detail["values"][0]
        raise AssertionError(
            f"lyapunov: {vio.detail['V']} increased at step {k} ({vio.detail['V']}(x_{k}) = {float(Vs[k])!r} -> "
            f"{vio.detail['V']}(x_{k + 1}) = {float(Vs[k + 1])!r}, ratio {vio.value[0]:.10g}) at x_{k} = "
            f"{tr.states[0, k].tolist()}, choice {_choice(tr, k)}; {_describe(game, r.name, eta, x0)}"
            + _cmd(game, r, eta, x0, k + 1, convert))


def _choice(tr: Trajectories, k: int) -> str:
    if tr.codes is None:
        return "-"
    return f"V{int(tr.codes[0, k])}"


def check_never_v3(game, oracle: Any, eta: float, x0: Sequence[float], steps: int = 1000, *,
                   convert: bool = False) -> None:
    """Assert the oracle never returns ``V3`` (for oracles that promise ``never_v3``)."""
    tr, r = _one(game, oracle, eta, x0, steps, convert, kind="oracle")
    vio = never_v3_violations(tr)
    if vio.fails[0]:
        k = int(vio.step[0])
        raise AssertionError(f"never_v3: the oracle returned V3 at step {k} (x_{k} = {tr.states[0, k].tolist()}); "
                             f"{_describe(game, r.name, eta, x0)}" + _cmd(game, r, eta, x0, k + 1, convert))


def check_converges(game, runner: Any, eta: float, x0: Sequence[float], steps: int = 1000, *,
                    tol: float = 1e-6, convert: bool = False) -> float:
    """Assert ``||x_steps - x*|| <= tol ||x_0 - x*||``; returns the final ratio."""
    tr, r = _one(game, runner, eta, x0, steps, convert)
    vio = convergence_failures(tr, tol)
    if vio.fails[0]:
        raise AssertionError(f"converges: ||x_N - x*|| / ||x_0 - x*|| = {vio.value[0]:.6g} > {tol:g} after "
                             f"N = {steps} steps; {_describe(game, r.name, eta, x0)}"
                             + _cmd(game, r, eta, x0, steps, convert))
    return float(vio.value[0])


def check_convention_invariance(game, runner: Any, eta: float, x0: Sequence[float], steps: int = 200, *,
                                convert: bool = False) -> None:
    """Assert that the run on ``game.in_convention(other)`` from ``x0`` with ``psi -> -psi``
    is exactly this run with ``psi -> -psi`` (and the same choices).

    For an oracle that declares a convention the other run uses ``convert=True`` (the oracle
    sees its own convention in both); an oracle with ``convention = None`` promises not to
    depend on the sign of psi, so both runs must agree without conversion.
    """
    from stabcheck.simulate import check_x0

    other = "thesis" if game.convention == "mescheder" else "mescheder"
    game2 = game.in_convention(other)
    tr, r = _one(game, runner, eta, x0, steps, convert)
    x2 = game.convert_state(check_x0(game, x0), other)
    conv2 = r.convention is not None
    tr2 = run_batch(game2, r, [eta], x2[None, :], steps, convert=conv2, vectorised=False)
    vio = convention_violations(tr, tr2, game.n_gen)
    if vio.fails[0]:
        k = int(vio.step[0])
        raise AssertionError(
            f"convention: the run in the {other} convention differs from psi -> -psi of the run in the "
            f"{game.convention} convention at step {k} (max |difference| {vio.value[0]:.3g}); "
            f"{_describe(game, r.name, eta, x0)}" + _cmd(game, r, eta, x0, k + 1, convert))


def check_linearization(game, method: Any, eta: float, *, steps: int = 200, eps: float = 1e-6,
                        direction: Optional[Sequence[float]] = None, rtol: float = 0.05) -> tuple[float, float]:
    """Assert that a perturbation of size ``eps`` of ``x*`` grows at the spectral-radius rate.

    Runs the method (an update rule: ``sim``, ``alt:n_d=2``, ``eg``, ``jare:gamma=1``, ...)
    from ``x* + eps u`` for ``k = steps`` applications of its map and compares the measured
    per-step rate ``(d_k / d_j)^(1/(k - j))``, ``j = k // 2`` (the second half, after the
    transient of the other modes) with the spectral radius ``rho`` of the map's
    Jacobian at ``x*`` (:func:`stabcheck.linearize.method_jacobian`):
    ``|rate - rho| <= rtol * rho``. The direction ``u`` defaults to ``(1, ..., 1)``
    (which excites every mode of the built-in games); ``rtol`` absorbs the transient of
    non-normal maps (``C^(1/k)`` for an eigenvector condition number ``C``) and the nonlinear
    terms (``O(eps)``). When ``rho > 1`` the run stops before ``eps rho^k`` reaches 1e-2 (the
    linear regime). Returns ``(rate, rho)``.
    """
    from stabcheck.linearize import method_jacobian, spectral_radius
    from stabcheck.methods import Method, make_method

    m = method if isinstance(method, Method) else make_method(str(method))
    lin = method_jacobian(game, m, eta)
    rho = spectral_radius(lin.numeric)
    x_star = game.equilibrium_numeric
    u = np.ones(game.dim) if direction is None else np.asarray(direction, dtype=float)
    u = u / np.linalg.norm(u)
    x0 = x_star + eps * u
    if rho > 1:  # stay in the linear regime: stop before the perturbation reaches 1e-2
        steps = max(1, min(steps, int(math.log(1e-2 / eps) / math.log(rho))))
    tr = run_batch(game, m, [eta], x0[None, :], steps, kind="method", max_distance=math.inf)
    dist = tr.distances()[0]
    if tr.stopped[0] or not np.isfinite(dist[-1]):
        raise AssertionError(f"linearization: the run from x* + {eps:g} u stopped after {int(tr.steps_done[0])} "
                             f"steps; {m.spec}, eta = {eta!r}")
    j = steps // 2  # measure over the second half: the transient of the other modes has decayed
    rate = float((dist[-1] / dist[j]) ** (1.0 / (steps - j)))
    if not abs(rate - rho) <= rtol * rho:
        raise AssertionError(
            f"linearization: a perturbation of size {eps:g} grew at {rate:.6g} per step over steps {j}..{steps}, "
            f"the spectral radius predicts {rho:.6g} (|difference| {abs(rate - rho):.3g} > {rtol:g} * rho); "
            f"{m.spec} on {game.name}/{game.loss} ({game.convention} convention), eta = {eta!r}"
            + "\n  reproduce: " + simulate_command(game, m.spec, eta, x0, steps, kind="method"))
    return rate, rho


__all__ = ["check_bounded", "check_lyapunov_decrease", "check_linearization", "check_never_v3",
           "check_converges", "check_convention_invariance", "run_batch", "Trajectories", "Violations",
           "bounded_violations", "lyapunov_violations", "never_v3_violations", "convergence_failures",
           "convention_violations", "simulate_command", "system_args", "path_args", "import_root", "runner_spec", "potential_H", "sup_norm_W", "resolve_candidate",
           "CANDIDATES", "DEFAULT_C", "DEFAULT_RTOL", "MAX_DISTANCE"]
