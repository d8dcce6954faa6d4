"""The engine of ``stabcheck check-oracle``: fuzz an oracle's stability properties with Hypothesis.

Procedure (for one oracle on one game):

1. **Convention.** The game is built in the oracle's own sign convention (the thesis's Dirac
   oracle and Dynamic-GDA: ``thesis``) unless the caller fixes another one and asks for
   ``convert``; the report says which. Every ``x0`` reported is in the game's convention.
2. **Search (vectorised).** ``max_examples`` pairs ``(x0, eta)`` with the distributions of
   :func:`stabcheck.testing.initial_conditions` and :func:`stabcheck.testing.step_sizes`
   (``eta`` log-uniform over ``eta_range``, plus the range ends and the theory's critical
   step sizes). Engine ``numpy`` (default): each Hypothesis example draws one seed, numpy
   draws a block of ``block`` pairs from it (the first block starts with the simple draws
   Hypothesis would try first), and :func:`stabcheck.testing.stream.stream_failures` runs
   the block with the states streamed (equal, draw by draw, to the reference path; tested).
   Engine ``hypothesis`` (the reference): Hypothesis draws every pair, ``batch`` per example,
   run by :func:`stabcheck.testing.run_batch`. Oracles without ``choose_many`` run start by
   start through :func:`stabcheck.simulate.simulate`. Sim-GDA and Alt-GDA (n_d = 1) run on
   the same draws, for comparison.
3. **Shrink.** For each property that failed, a second Hypothesis run (one draw per example,
   ``steps`` drawn in ``1..N`` too, the search's first failing draw offered as one branch of
   the strategy when a first run without it finds none, guided by :func:`hypothesis.target`
   towards failure)
   finds and *shrinks* a failing ``(x0, eta, steps)``: Hypothesis's shrinker makes the
   numbers short decimals, ``steps`` small, and ``eta`` one of the range ends when possible.
   If that run finds no failure (a rare failure), the search's failing draw is reported as is
   (``"shrunk": false``). The counterexample comes with a ``stabcheck simulate ...`` command
   that re-runs exactly that start (same convention flags, ``--convert`` when used).
4. **Linear models.** When :func:`stabcheck.switched.switched_model` has a model for the
   oracle (Dirac oracle on the WGAN Dirac-GAN, sim, alt), the quadratic candidate (``H``) is
   checked exactly per mode (:func:`stabcheck.certify.check_candidate`) and a piecewise-
   quadratic certificate is searched (:func:`stabcheck.certify.piecewise_certificate`) at a
   few step sizes of the range; for one-mode models (sim, alt) the linearization property is
   tested. Without a model (user oracles) these are ``skipped``.

Properties (``C``, ``N``, ``rtol`` configurable): ``bounded`` (``sup_k d_k <= C d_0``,
``d_k = ||x_k - x*||``, default ``C = 10`` over ``N = 1000`` steps), ``lyapunov`` (the
candidate, default ``H = ||x - x*||^2 / 2``, never increases by more than ``rtol = 1e-9``
relative), ``never_v3`` (only for oracles that declare ``never_v3 = True``), ``convention``
(invariance under ``psi -> -psi``), ``converges`` (opt-in: ``d_N <= 1e-6 d_0``),
``linearization``, ``potential`` and ``certificate``. The verdict is ``fail`` when a fuzzed
property fails or the exact candidate check finds a growing state; ``inconclusive`` when none
failed but the exact candidate check (``potential``) could not decide; ``pass`` otherwise. A
certificate search that finds nothing is not a failure (it proves nothing either way).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.testing import properties as P
from stabcheck.testing import strategies as S

#: properties fuzzed over (x0, eta) draws
FUZZED = ("bounded", "lyapunov", "never_v3", "convention", "converges")
#: all properties, in report order
ALL_PROPERTIES = FUZZED + ("linearization", "potential", "certificate")
#: the default set (``converges`` is opt-in: a stable oracle need not converge in N steps)
DEFAULT_PROPERTIES = ("bounded", "lyapunov", "never_v3", "convention", "linearization", "potential", "certificate")
DEFAULT_ETA_RANGE = (1e-3, 0.5)
#: search engines: vectorised numpy draws seeded by Hypothesis (default), or Hypothesis drawing
#: every (x0, eta) itself (the reference the fast one is tested against)
ENGINES = ("numpy", "hypothesis")


@dataclass
class Config:
    """Settings of one check (see module docstring)."""

    eta_range: tuple = DEFAULT_ETA_RANGE
    steps: int = 1000
    max_examples: int = 500
    seed: Optional[int] = None
    C: float = P.DEFAULT_C
    candidate: str = "H"
    rtol: float = P.DEFAULT_RTOL
    tol: float = 1e-6
    properties: Sequence[str] = DEFAULT_PROPERTIES
    batch: int = 200  # draws per Hypothesis example of the reference search (engine "hypothesis")
    engine: str = "numpy"  # "numpy": vectorised draws seeded by Hypothesis; "hypothesis": one by one (reference)
    block: int = 8192  # draws per Hypothesis example of the numpy search
    shrink_examples: int = 150
    compare: bool = True
    certificate_etas: Optional[Sequence[float]] = None
    vectorised: Optional[bool] = None
    starts: Sequence[str] = S.KINDS
    exclude_axes: bool = False
    optimizer: Optional[str] = None  # how the oracle's steps are taken (stabcheck.optimizers spec)


def parse_eta_range(text: str) -> tuple:
    """``"a,b"`` with ``0 < a <= b`` finite."""
    parts = str(text).split(",")
    try:
        a, b = (float(p) for p in parts)
    except ValueError:
        raise BadInput(f"--eta-range must be two numbers a,b with 0 < a <= b, got {text!r}") from None
    if not (math.isfinite(a) and math.isfinite(b) and 0 < a <= b):
        raise BadInput(f"--eta-range must be two numbers a,b with 0 < a <= b, got {text!r}")
    return a, b


def parse_properties(text: Optional[str]) -> tuple:
    if text is None:
        return DEFAULT_PROPERTIES
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in names if p not in ALL_PROPERTIES]
    if bad or not names:
        raise BadInput(f"unknown properties {bad or text!r}; valid: {', '.join(ALL_PROPERTIES)}")
    return names


def validate(cfg: Config) -> Config:
    a, b = cfg.eta_range
    if not (math.isfinite(a) and math.isfinite(b) and 0 < a <= b):
        raise BadInput(f"eta range must satisfy 0 < a <= b, got {cfg.eta_range}")
    if cfg.engine not in ENGINES:
        raise BadInput(f"--search must be one of {', '.join(ENGINES)}, got {cfg.engine!r}")
    for name in ("steps", "max_examples", "batch", "block", "shrink_examples"):
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (0 if name == "shrink_examples" else 1):
            raise BadInput(f"--{name.replace('_', '-')} must be a positive integer, got {v!r}")
    if cfg.seed is not None and (isinstance(cfg.seed, bool) or not isinstance(cfg.seed, (int, np.integer))
                                 or cfg.seed < 0):
        raise BadInput(f"--seed must be an integer >= 0, got {cfg.seed!r}")
    if not (cfg.C >= 1 and math.isfinite(cfg.C)):
        raise BadInput(f"--bound C must be a finite number >= 1, got {cfg.C!r}")
    if not (cfg.rtol >= 0 and math.isfinite(cfg.rtol)):
        raise BadInput(f"--rtol must be >= 0, got {cfg.rtol!r}")
    if not (0 < cfg.tol < 1):
        raise BadInput(f"--tol must be in (0, 1), got {cfg.tol!r}")
    P.resolve_candidate(cfg.candidate)
    bad = [k for k in cfg.starts if k not in S.ALL_KINDS]
    if bad or not cfg.starts:
        raise BadInput(f"unknown kinds of start {bad or list(cfg.starts)}; valid: {', '.join(S.ALL_KINDS)}")
    parse_properties(",".join(cfg.properties))
    return cfg


# --------------------------------------------------------------------------- game set-up

def game_for_oracle(oracle, system: str = "dirac", loss: Optional[str] = "wgan", regs: Sequence[str] = (),
                    convention: Optional[str] = None, convert: bool = False, params: Optional[dict] = None):
    """Build the game in the oracle's convention (or the given one, which then needs ``convert``).

    Returns ``(game, convert, note)``.
    """
    from stabcheck.games import DEFAULT_CONVENTION, make_game

    oconv = getattr(oracle, "convention", None)
    if convention is None:
        convention = oconv if oconv is not None else DEFAULT_CONVENTION.get(system)
        how = ("the oracle's own convention" if oconv is not None else "the system's default; the oracle declares "
               "no convention (it must not depend on the sign of psi)")
    else:
        how = "as requested"
    try:
        game = make_game(system, loss, params, list(regs), convention)
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - a user factory that raises: the user's input
        if ":" not in str(system):
            raise
        raise BadInput(f"user game {system!r} could not be built: {type(exc).__name__}: "
                       f"{' '.join(str(exc).split())}") from None
    if oconv is not None and oconv != game.convention and not convert:
        raise BadInput(f"oracle {getattr(oracle, 'name', oracle)!r} is written in the {oconv} convention but the game "
                       f"is built in the {game.convention} convention; drop --convention (check-oracle then builds "
                       f"the game in the oracle's convention) or pass --convert")
    conv_used = bool(convert and oconv is not None and oconv != game.convention)
    note = (f"game built in the {game.convention} convention ({how})"
            + (f"; the oracle sees converted states ({game.convention}->{oconv})" if conv_used else "")
            + "; every x0 is in the game's convention")
    return game, conv_used, note


# --------------------------------------------------------------------------- evaluation

def _evaluate(prop: str, game, tr: "P.Trajectories", cfg: Config, runner, convert: bool) -> "P.Violations":
    if prop == "bounded":
        return P.bounded_violations(tr, cfg.C)
    if prop == "lyapunov":
        return P.lyapunov_violations(tr, cfg.candidate, cfg.rtol, exclude_axes=cfg.exclude_axes)
    if prop == "never_v3":
        return P.never_v3_violations(tr)
    if prop == "converges":
        return P.convergence_failures(tr, cfg.tol)
    if prop == "convention":
        other = "thesis" if game.convention == "mescheder" else "mescheder"
        game2 = _other_game(game, other)
        X2 = game.convert_state(tr.states[:, 0], other)
        tr2 = P.run_batch(game2, runner, tr.etas, X2, tr.steps, convert=runner.convention is not None,
                          vectorised=cfg.vectorised)
        return P.convention_violations(tr, tr2, game.n_gen)
    raise ValueError(prop)


_OTHER_CACHE: dict = {}


def _other_game(game, other):
    key = (id(game), other)
    if key not in _OTHER_CACHE:
        _OTHER_CACHE.clear()
        _OTHER_CACHE[key] = (game, game.in_convention(other))
    return _OTHER_CACHE[key][1]


def _score(prop: str, vio: "P.Violations", tr) -> float:
    """How close a single run is to failing (for hypothesis.target; larger = closer)."""
    v = float(vio.value[0])
    if prop == "bounded":
        return math.log(v) if v > 0 and math.isfinite(v) else (1e3 if not math.isfinite(v) else -1e3)
    if prop == "lyapunov":
        return math.log(v) if v > 0 and math.isfinite(v) else (1e3 if v == math.inf else -1e3)
    if prop == "never_v3":
        return v
    if prop == "converges":
        return math.log(v) if v > 0 and math.isfinite(v) else (1e3 if not math.isfinite(v) else -1e3)
    return v if math.isfinite(v) else 1e3


def _settings(cfg: Config, max_examples: int, phases):
    from hypothesis import HealthCheck, settings

    return settings(max_examples=max_examples, database=None, deadline=None, derandomize=cfg.seed is None,
                    phases=phases, suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                    print_blob=False)


def _draws(game, cfg: Config):
    critical = S.critical_step_sizes(game)
    return (S.initial_conditions(game, kinds=cfg.starts), S.step_sizes(*cfg.eta_range, critical=critical),
            critical)


@dataclass
class _Search:
    examples: int = 0
    failures: dict = field(default_factory=dict)  # prop -> count
    first: dict = field(default_factory=dict)  # prop -> (x0, eta, step, value)
    compare: dict = field(default_factory=dict)  # runner -> prop -> count
    seconds: float = 0.0


def search(game, runner, cfg: Config, props: Sequence[str], convert: bool,
           compare_runners: Sequence[Any] = (), progress: Optional[Callable] = None) -> _Search:
    """Phase 2: ``cfg.max_examples`` draws (x0, eta), each property evaluated on each; also
    run ``compare_runners`` on the same draws. ``cfg.engine`` picks :func:`search_numpy`
    (default) or :func:`search_reference`. ``progress(done, max_examples, "search")`` is called
    as draws are evaluated."""
    if cfg.engine == "hypothesis":
        return search_reference(game, runner, cfg, props, convert, compare_runners, progress)
    return search_numpy(game, runner, cfg, props, convert, compare_runners, progress)


def _fails(game, runner, E, X0, props, cfg: Config, convert: bool, progress: Optional[Callable] = None) -> dict:
    """Per draw, whether each property fails: streamed at numpy speed where the runner allows
    (:func:`stabcheck.testing.stream.stream_failures`), else through the reference path."""
    from stabcheck.testing.stream import STREAMED, stream_failures, streamable

    if cfg.vectorised is not False and streamable(runner) and all(p in STREAMED for p in props):
        other = "thesis" if game.convention == "mescheder" else "mescheder"
        return stream_failures(game, runner, E, X0, cfg.steps, props, C=cfg.C, V=cfg.candidate, rtol=cfg.rtol,
                               exclude_axes=cfg.exclude_axes, tol=cfg.tol, convert=convert,
                               other_game=_other_game(game, other) if "convention" in props else None)
    tr = P.run_batch(game, runner, E, X0, cfg.steps, convert=convert, vectorised=cfg.vectorised,
                     progress=progress)
    return {p: _evaluate(p, game, tr, cfg, runner, convert).fails for p in props}


def search_numpy(game, runner, cfg: Config, props: Sequence[str], convert: bool,
                 compare_runners: Sequence[Any] = (), progress: Optional[Callable] = None) -> _Search:
    """The search at numpy speed: each Hypothesis example draws one seed, from which numpy
    draws a block of ``cfg.block`` pairs (x0, eta) with the distributions of the Hypothesis
    strategies (:func:`stabcheck.testing.draw_initial_conditions`,
    :func:`~stabcheck.testing.draw_step_sizes`); the first block starts with the simple
    draws Hypothesis tries first (:func:`~stabcheck.testing.corner_draws`). Verdicts per draw
    come from :func:`_fails`; the first failing draw of each property is re-run through the
    reference path for its step and value, and :func:`shrink` starts from it."""
    from hypothesis import Phase, given, seed as hseed, strategies as st

    critical = S.critical_step_sizes(game)
    lo, hi = cfg.eta_range
    out = _Search(failures={p: 0 for p in props},
                  compare={getattr(c, "name", str(c)): {p: 0 for p in props if p in ("bounded", "lyapunov", "converges")}
                           for c in compare_runners})
    # a block keeps its states only for the convention property and the reference path: ~64 MB at most
    from stabcheck.testing.stream import streamable

    block = min(cfg.block, cfg.max_examples)
    if "convention" in props or not all(streamable(r) for r in (runner, *compare_runners)) \
            or cfg.vectorised is False:
        block = max(1, min(block, int(8e6 // ((cfg.steps + 1) * game.dim))))
    corners = S.corner_draws(game, lo, hi, critical=critical, kinds=cfg.starts)
    state = {"remaining": cfg.max_examples, "index": 0}
    t0 = time.perf_counter()

    @given(st.integers(0, 2 ** 63 - 1))
    def run(seed):
        if state["remaining"] <= 0 or "error" in state:
            return
        try:
            _block(seed)
        except Exception as exc:  # noqa: BLE001 - re-raised below, outside Hypothesis (no FlakyFailure)
            state["error"] = exc

    def _block(seed):
        n = min(block, state["remaining"])
        rng = np.random.default_rng([seed, state["index"]])
        X0 = S.draw_initial_conditions(rng, n, game, kinds=cfg.starts)
        E = S.draw_step_sizes(rng, n, lo, hi, critical=critical)
        if state["index"] == 0:
            m = min(n, len(corners[1]))
            X0[:m], E[:m] = corners[0][:m], corners[1][:m]
        state["index"] += 1
        state["remaining"] -= n
        base = out.examples
        out.examples += n
        tick = None if progress is None else (lambda d, t, _l: progress(base + d, cfg.max_examples, "search"))
        fails = _fails(game, runner, E, X0, props, cfg, convert, tick)
        for p in props:
            f = fails[p]
            out.failures[p] += int(f.sum())
            if p not in out.first and f.any():
                i = int(np.flatnonzero(f)[0])
                tr = P.run_batch(game, runner, E[i:i + 1], X0[i:i + 1], cfg.steps, convert=convert,
                                 vectorised=cfg.vectorised)
                vio = _evaluate(p, game, tr, cfg, runner, convert)
                out.first[p] = (X0[i].tolist(), float(E[i]), int(vio.step[0]), float(vio.value[0]))
        for c in compare_runners:
            cnt = out.compare[getattr(c, "name", str(c))]
            if cnt:
                fc = _fails(game, c, E, X0, list(cnt), cfg, False)
                for p in cnt:
                    cnt[p] += int(fc[p].sum())
        if progress is not None:
            progress(out.examples, cfg.max_examples, "search")

    if cfg.seed is not None:
        run = hseed(cfg.seed)(run)
    _settings(cfg, math.ceil(cfg.max_examples / block) + 3, [Phase.generate])(run)()
    if "error" in state:
        raise state["error"]
    out.seconds = time.perf_counter() - t0
    return out


def search_reference(game, runner, cfg: Config, props: Sequence[str], convert: bool,
                     compare_runners: Sequence[Any] = (), progress: Optional[Callable] = None) -> _Search:
    """The reference search: Hypothesis draws every ``(x0, eta)`` itself, ``cfg.batch`` draws per
    example (``--search hypothesis``), run vectorised, evaluate ``props``; also run
    ``compare_runners`` on the same draws."""
    from hypothesis import Phase, given, seed as hseed, strategies as st

    x0s, etas, _ = _draws(game, cfg)
    out = _Search(failures={p: 0 for p in props},
                  compare={getattr(c, "name", str(c)): {p: 0 for p in props if p in ("bounded", "lyapunov", "converges")}
                           for c in compare_runners})
    remaining = [cfg.max_examples]
    # Hypothesis caps the size of one example: at most ~400 numbers per batch
    B = max(1, min(cfg.batch, cfg.max_examples, 400 // game.dim))
    n_batches = math.ceil(cfg.max_examples / B)
    t0 = time.perf_counter()

    errors: list = []

    @given(st.lists(st.tuples(x0s, etas), min_size=B, max_size=B))
    def run(draws):
        if remaining[0] <= 0 or errors:
            return
        try:
            _batch(draws)
        except Exception as exc:  # noqa: BLE001 - re-raised below, outside Hypothesis
            errors.append(exc)

    def _batch(draws):
        # Hypothesis's first example is the simplest one (every draw identical): keep unique draws
        seen, unique = set(), []
        for x0, eta in draws:
            key = (tuple(x0), eta)
            if key not in seen:
                seen.add(key)
                unique.append((x0, eta))
        draws = unique[: remaining[0]]
        remaining[0] -= len(draws)
        X0 = np.array([d[0] for d in draws], dtype=float)
        E = np.array([d[1] for d in draws], dtype=float)
        tr = P.run_batch(game, runner, E, X0, cfg.steps, convert=convert, vectorised=cfg.vectorised)
        out.examples += len(draws)
        for p in props:
            vio = _evaluate(p, game, tr, cfg, runner, convert)
            out.failures[p] += int(vio.fails.sum())
            i = vio.first()
            if i >= 0 and p not in out.first:
                out.first[p] = (X0[i].tolist(), float(E[i]), int(vio.step[i]), float(vio.value[i]))
        for c in compare_runners:
            trc = P.run_batch(game, c, E, X0, cfg.steps)
            cnt = out.compare[getattr(c, "name", str(c))]
            for p in cnt:
                cnt[p] += int(_evaluate(p, game, trc, cfg, c, False).fails.sum())
        if progress is not None:
            progress(out.examples, cfg.max_examples, "search")

    if cfg.seed is not None:
        run = hseed(cfg.seed)(run)
    # a few more Hypothesis examples than batches: duplicates are dropped; extra ones return at once
    _settings(cfg, n_batches + 3, [Phase.generate])(run)()
    if errors:
        raise errors[0]
    out.seconds = time.perf_counter() - t0
    return out


def shrink(game, runner, cfg: Config, prop: str, convert: bool, found: Optional[tuple] = None) -> Optional[dict]:
    """Phase 3: a Hypothesis run on single draws ``(x0, eta, steps)`` that finds and shrinks a
    failure of ``prop``. ``found`` (``(x0, eta)``, a failing draw of the search) is offered
    to Hypothesis as one branch of the strategy (the other is the strategies' own draws), so
    the shrinker starts from a known failure and moves to simpler draws while they still fail.
    Returns the minimal failing draw or None."""
    from hypothesis import Phase, given, seed as hseed, strategies as st, target

    if cfg.shrink_examples <= 0:
        return None
    x0s, etas, _ = _draws(game, cfg)
    pairs = st.tuples(x0s, etas)
    if found is not None:
        pairs = st.one_of(pairs, st.just((list(found[0]), float(found[1]))))
    last: dict = {}

    @given(pairs, st.integers(1, cfg.steps))
    def prop_holds(pair, steps):
        x0, eta = pair
        tr = P.run_batch(game, runner, [eta], np.array([x0], dtype=float), steps, convert=convert,
                         vectorised=cfg.vectorised)
        vio = _evaluate(prop, game, tr, cfg, runner, convert)
        target(_score(prop, vio, tr))
        if vio.fails[0]:
            last.clear()
            last.update(x0=[float(v) for v in x0], eta=float(eta), steps=int(steps), step=int(vio.step[0]),
                        value=float(vio.value[0]), trajectory=tr, violations=vio)
            raise AssertionError(prop)

    if cfg.seed is not None:
        prop_holds = hseed(cfg.seed)(prop_holds)
    test = _settings(cfg, cfg.shrink_examples, [Phase.generate, Phase.target, Phase.shrink])(prop_holds)
    try:
        test()
    except AssertionError:
        return dict(last) if last else None
    return None


# --------------------------------------------------------------------------- counterexamples

def _minimal_steps(prop: str, ce: dict, cfg: Config) -> int:
    """The fewest steps that still show the failure (the failing step + 1, or N)."""
    if prop in ("bounded",):
        return max(int(ce["step"]), 1)
    if prop in ("lyapunov", "never_v3", "convention"):
        return int(ce["step"]) + 1
    return int(ce["steps"])


def _counterexample(prop, game, runner, cfg, ce: dict, convert: bool, spec: str,
                    system: Optional[list] = None) -> tuple[dict, str, str]:
    steps = _minimal_steps(prop, ce, cfg)
    out = {"x0": ce["x0"], "eta": ce["eta"], "steps": steps, "convention": game.convention}
    tr = ce.get("trajectory")
    k = int(ce["step"])
    msg = ""
    if prop == "bounded":
        out["sup_ratio"] = ce["value"]
        out["C"] = cfg.C
        msg = (f"||x_k - x*|| exceeds {cfg.C:g} ||x_0 - x*|| at step {k} (sup ratio {ce['value']:.6g} over "
               f"{ce.get('steps', cfg.steps)} steps)")
    elif prop == "lyapunov":
        Vs = ce["violations"].detail["values"][0] if "violations" in ce else None
        out["step"] = k
        if tr is not None:
            out["state"] = tr.states[0, k].tolist()
            out["next_state"] = tr.states[0, k + 1].tolist()
            out["choice"] = None if tr.codes is None else f"V{int(tr.codes[0, k])}"
        if Vs is not None:
            out["V_before"], out["V_after"] = float(Vs[k]), float(Vs[k + 1])
        out["on_axes"] = bool("state" in out and np.any(np.asarray(out["state"]) == game.equilibrium_numeric))
        msg = (f"{cfg.candidate} increases at step {k}"
               + (f" ({out['choice']} step from x_{k} = {out['state']}: {cfg.candidate} {out['V_before']!r} -> "
                  f"{out['V_after']!r}, ratio {ce['value']:.10g})" if "state" in out and Vs is not None else "")
               + (" - from a state with a coordinate at x* (for the Dirac oracle: the boundary psi*theta = 0, "
                  "where the thesis leaves the choice undefined)" if out["on_axes"] else ""))
    elif prop == "never_v3":
        out["step"] = k
        msg = f"the oracle returned V3 at step {k}"
    elif prop == "convention":
        out["step"] = k
        msg = (f"the run in the other convention (x0 with psi -> -psi) leaves the mirrored trajectory at step {k} "
               f"(max |difference| {ce['value']:.3g})")
    elif prop == "converges":
        out["final_ratio"] = ce["value"]
        msg = f"||x_N - x*|| / ||x_0 - x*|| = {ce['value']:.3g} > {cfg.tol:g} after N = {steps} steps"
    try:
        cmd = P.simulate_command(game, spec, ce["eta"], ce["x0"], steps, kind="oracle", convert=convert,
                                 extra=["--optimizer", cfg.optimizer] if cfg.optimizer else [], system=system)
    except BadInput:
        cmd = None
    return out, cmd, msg


# --------------------------------------------------------------------------- linear-model properties

def _cert_etas(cfg: Config) -> list:
    if cfg.certificate_etas is not None:
        return [float(e) for e in cfg.certificate_etas]
    a, b = cfg.eta_range
    mid = float(f"{math.sqrt(a * b):.3g}")
    return sorted({a, mid, b})


def _model(game, oracle, eta, convert):
    try:
        from stabcheck.switched import switched_model
    except ImportError as exc:  # pragma: no cover - optional module
        return None, f"stabcheck.switched is not available ({exc})"
    try:
        return switched_model(game, oracle, eta, convert=convert), None
    except BadInput as exc:
        return None, str(exc)


def linear_properties(game, oracle, cfg: Config, convert: bool, props: Sequence[str]) -> list:
    """``linearization``, ``potential`` and ``certificate`` (see module docstring)."""
    out = []
    etas = _cert_etas(cfg)
    models = []
    reason = None
    for e in etas:
        m, why = _model(game, oracle, e, convert)
        if m is None:
            reason = why
            models = []
            break
        models.append((e, m))
    if "linearization" in props:
        out.append(_linearization(game, oracle, models, reason, convert))
    if "potential" in props:
        out.append(_potential(models, reason, cfg))
    if "certificate" in props:
        out.append(_certificate(models, reason))
    return out


def _skipped(name, why) -> dict:
    return {"name": name, "holds": None, "status": "skipped", "examples": 0, "counterexample": None,
            "command": None, "message": f"skipped: {why}", "counts_for_verdict": False}


def _linearization(game, oracle, models, reason, convert) -> dict:
    if not models:
        return _skipped("linearization", reason or "no linear model")
    if len(models[0][1].modes) != 1 or models[0][1].regions[0]:
        return _skipped("linearization", "the oracle switches on the state: no single linearization at x*")
    rows, holds = [], True
    x_star = game.equilibrium_numeric
    u = np.ones(game.dim) / math.sqrt(game.dim)
    for eta, m in models:
        A = m.modes[0][1]
        rho = float(np.max(np.abs(np.linalg.eigvals(A))))
        periods = 200
        k = periods * m.steps_per_mode
        tr = P.run_batch(game, oracle, [eta], (x_star + 1e-6 * u)[None, :], k, convert=convert,
                         max_distance=math.inf)
        d = tr.distances()[0]
        rate = float((d[-1] / d[0]) ** (1.0 / periods)) if np.isfinite(d[-1]) and d[-1] > 0 else math.inf
        ok = abs(rate - rho) <= 0.05 * rho
        holds &= ok
        rows.append({"eta": eta, "spectral_radius": rho, "measured_rate": rate, "periods": periods, "ok": ok})
    return {"name": "linearization", "holds": holds, "status": "holds" if holds else "fails",
            "examples": len(rows), "counterexample": None if holds else next(r for r in rows if not r["ok"]),
            "command": None, "counts_for_verdict": True, "per_eta": rows,
            "message": ("a 1e-6 perturbation of x* grows at the spectral radius of the period map (within 5%) "
                        f"at eta = {', '.join(format(r['eta'], 'g') for r in rows)}") if holds else
            "a 1e-6 perturbation of x* does not grow at the rate the spectral radius predicts"}


def _potential(models, reason, cfg: Config) -> dict:
    if cfg.candidate != "H":
        return _skipped("potential", f"the exact check needs a quadratic candidate; {cfg.candidate} is not one")
    if not models:
        return _skipped("potential", reason or "no linear model")
    from stabcheck.certify import check_candidate

    rows, ce_row = [], None
    for eta, m in models:
        d = m.modes[0][1].shape[0]
        P_half = [[0.5 if i == j else 0.0 for j in range(d)] for i in range(d)]
        res = check_candidate(P_half, m.modes, m.regions, eta=eta)
        row = {"eta": eta, "status": res.status, "statement": res.statement, "counterexample": res.counterexample}
        rows.append(row)
        if res.status == "not certified" and res.counterexample and ce_row is None:
            ce_row = row
    if ce_row is not None:
        ce = ce_row["counterexample"]
        status, holds = "fails", False
        msg = (f"exact: H = ||x - x*||^2/2 increases on mode {ce['mode']} at eta = {ce_row['eta']:g}: "
               f"x - x* = {ce['x_exact']} (inside the mode's region) -> H grows by the factor "
               f"{ce['growth_ratio']:.10g}")
    elif all(r["status"] == "certified" for r in rows):
        status, holds, msg = "holds", True, "exact: H never increases on any mode at the step sizes checked"
    else:
        status, holds, msg = "inconclusive", None, "the exact check of H was inconclusive"
    return {"name": "potential", "holds": holds, "status": status, "examples": len(rows),
            "counterexample": None if ce_row is None else {"x": ce_row["counterexample"]["x"],
                                                           "x_exact": ce_row["counterexample"]["x_exact"],
                                                           "eta": ce_row["eta"],
                                                           "mode": ce_row["counterexample"]["mode"],
                                                           "growth_ratio": ce_row["counterexample"]["growth_ratio"]},
            "command": None, "counts_for_verdict": holds is False, "per_eta": rows, "message": msg}


def _certificate(models, reason) -> dict:
    if not models:
        return _skipped("certificate", reason or "no linear model")
    try:
        from stabcheck.certify import piecewise_certificate
    except ImportError as exc:  # pragma: no cover
        return _skipped("certificate", f"stabcheck.certify is not available ({exc})")
    rows = []
    for eta, m in models:
        try:
            res = piecewise_certificate(m.modes, m.regions, strict=False)
            rows.append({"eta": eta, "status": res.status, "statement": res.statement})
        except Exception as exc:  # noqa: BLE001 - a solver failure is inconclusive, never a result
            rows.append({"eta": eta, "status": "inconclusive", "statement": f"{type(exc).__name__}: {exc}"})
    certified = [r for r in rows if r["status"] == "certified"]
    if len(certified) == len(rows):
        holds, status = True, "holds"
    elif all(r["status"] == "not certified" for r in rows):
        holds, status = None, "not certified"
    else:
        holds, status = None, "inconclusive"
    msg = "; ".join(f"eta = {r['eta']:g}: {r['status']}" for r in rows)
    return {"name": "certificate", "holds": holds, "status": status, "examples": len(rows), "counterexample": None,
            "command": None, "counts_for_verdict": False, "per_eta": rows,
            "message": ("non-strict piecewise-quadratic certificate (Lyapunov stability of the switched linear "
                        f"model; exactly checked): {msg}")}


# --------------------------------------------------------------------------- main entry

def check_oracle(spec: str, *, system: str = "dirac", loss: Optional[str] = "wgan", regs: Sequence[str] = (),
                 convention: Optional[str] = None, convert: bool = False, params: Optional[dict] = None,
                 config: Optional[Config] = None, oracle: Any = None, progress: Optional[Callable] = None) -> dict:
    """Fuzz the oracle ``spec`` (``pkg.mod:Name`` or a built-in) and return the report.

    The report follows the check-oracle JSON contract (DESIGN.md) with more keys; see the
    module docstring for the procedure. ``oracle`` may pass an already built oracle object
    (``spec`` is then only used in the printed commands). ``progress(done, total, label)`` is
    called as the search's draws are evaluated (``label`` "search"), then once per later phase
    (shrinking a failure, the linear properties) with counts that start again at 0.
    """
    from stabcheck.oracles import AltOracle, SimOracle, make_oracle
    from stabcheck.simulate import make_runner

    cfg = validate(config or Config())
    t_start = time.perf_counter()
    orc = make_oracle(spec) if oracle is None else oracle
    runner = make_runner(orc, optimizer=cfg.optimizer)
    runner.spec = spec
    game, conv_used, note = game_for_oracle(orc, system, loss, regs, convention, convert, params)
    sysargs = P.system_args(system, loss, params, regs) if ":" in str(system) else None
    props = [p for p in cfg.properties]
    notes = [note]
    fuzz = [p for p in props if p in FUZZED]
    if "never_v3" in fuzz and not getattr(orc, "never_v3", False):
        fuzz.remove("never_v3")
    skipped_for_opt = []
    if runner.optimizer is not None:
        # the potential H and the certificates are statements about plain steps on x alone;
        # with momentum / Adam the state is (x, optimizer state): not checked here
        skipped_for_opt = [p for p in props if p not in FUZZED or p == "lyapunov"]
        fuzz = [p for p in fuzz if p != "lyapunov"]
        notes.append(f"optimizer {cfg.optimizer}: the oracle's steps go through it, and Sim/Alt are compared with "
                     "the same optimizer; lyapunov and the linear/certificate properties are not checked "
                     "(they are statements about plain steps on x)")
    compare = ([make_runner(SimOracle(), optimizer=cfg.optimizer), make_runner(AltOracle(1), optimizer=cfg.optimizer)]
               if cfg.compare else [])
    vectorised = cfg.vectorised if cfg.vectorised is not None else callable(getattr(orc, "choose_many", None))
    found = search(game, runner, cfg, fuzz, conv_used, compare, progress)
    results = []
    for p in props:
        if p not in FUZZED:
            continue
        if p not in fuzz:
            results.append(_skipped(p, "not checked with --optimizer (a statement about plain steps)"
                                    if p in skipped_for_opt else "the oracle does not declare never_v3 = True"))
            continue
        fails = found.failures[p]
        entry = {"name": p, "holds": fails == 0, "status": "holds" if fails == 0 else "fails",
                 "examples": found.examples, "failures": fails, "counterexample": None, "command": None,
                 "counts_for_verdict": True, "shrunk": None}
        if p in ("bounded", "lyapunov", "converges") and compare:
            entry["comparison"] = {name: {"failures": cnt[p], "examples": found.examples, "holds": cnt[p] == 0}
                                   for name, cnt in found.compare.items()}
        if fails:
            if progress is not None:
                progress(0, 1, f"shrinking the {p} failure")
            ce = shrink(game, runner, cfg, p, conv_used)
            if ce is None:  # a rare failure: shrink from the search's failing draw
                ce = shrink(game, runner, cfg, p, conv_used, found=found.first[p][:2])
            entry["shrunk"] = ce is not None
            if ce is None:
                x0, eta, step, value = found.first[p]
                tr = P.run_batch(game, runner, [eta], np.array([x0]), cfg.steps, convert=conv_used,
                                 vectorised=cfg.vectorised)
                vio = _evaluate(p, game, tr, cfg, runner, conv_used)
                ce = dict(x0=x0, eta=eta, steps=cfg.steps, step=int(vio.step[0]), value=float(vio.value[0]),
                          trajectory=tr, violations=vio)
            entry["counterexample"], entry["command"], entry["message"] = _counterexample(
                p, game, runner, cfg, ce, conv_used, spec, sysargs)
            if p == "lyapunov" and entry["counterexample"].get("on_axes") and not cfg.exclude_axes:
                entry["interior"] = _interior(game, runner, cfg, conv_used, spec, sysargs)
        else:
            entry["message"] = _hold_message(p, cfg, found.examples)
        results.append(entry)
    if runner.optimizer is None:
        if progress is not None and any(p not in FUZZED for p in props):
            progress(0, 1, "linearization, potential, certificate")
        results += linear_properties(game, orc, cfg, conv_used, props)
    else:
        results += [_skipped(p, "not checked with --optimizer (a statement about plain steps)")
                    for p in props if p not in FUZZED]
    failed = [r for r in results if r["holds"] is False and r.get("counts_for_verdict", True)]
    # a checked property that could not be decided (the exact potential check was inconclusive);
    # the certificate search is informational: finding none proves nothing either way
    undecided = [r for r in results if r["status"] == "inconclusive" and r["name"] != "certificate"]
    report = {
        "oracle": spec,
        "verdict": "fail" if failed else ("inconclusive" if undecided else "pass"),
        "system": game.describe(),
        "convention": {"game": game.convention, "oracle": getattr(orc, "convention", None), "convert": conv_used,
                       "note": note},
        "eta_range": list(cfg.eta_range),
        "critical_eta": S.critical_step_sizes(game),
        "steps": cfg.steps,
        "max_examples": cfg.max_examples,
        "seed": cfg.seed,
        "C": cfg.C,
        "candidate": cfg.candidate,
        "rtol": cfg.rtol,
        "vectorised": bool(vectorised),
        "search": {"engine": cfg.engine, "examples": found.examples, "wall_s": found.seconds,
                   "examples_per_second": found.examples / found.seconds if found.seconds > 0 else None},
        "compared_with": [c.name for c in compare],
        "optimizer": runner.optimizer.describe() if runner.optimizer is not None else None,
        "properties": results,
        "notes": notes,
        "wall_s": time.perf_counter() - t_start,
    }
    return report


def _interior(game, runner, cfg: Config, convert: bool, spec: str, system: Optional[list] = None) -> dict:
    """Shrink the lyapunov property again, ignoring steps from states with a coordinate at x*."""
    from dataclasses import replace

    cfg2 = replace(cfg, exclude_axes=True)
    ce = shrink(game, runner, cfg2, "lyapunov", convert)
    if ce is None:
        return {"found": False, "message": f"no increase of {cfg.candidate} away from the axes was found "
                                           f"in {cfg.shrink_examples} examples"}
    out, cmd, msg = _counterexample("lyapunov", game, runner, cfg2, ce, convert, spec, system)
    return {"found": True, "counterexample": out, "command": cmd, "message": msg}


def _hold_message(p, cfg: Config, n) -> str:
    return {
        "bounded": f"sup_k ||x_k - x*|| <= {cfg.C:g} ||x_0 - x*|| over {cfg.steps} steps on all {n} draws",
        "lyapunov": f"{cfg.candidate} never increased (relative slack {cfg.rtol:g}) on all {n} draws",
        "never_v3": f"no V3 in {n} runs of {cfg.steps} steps",
        "convention": f"the run in the other convention mirrored every run exactly ({n} draws)",
        "converges": f"||x_N - x*|| <= {cfg.tol:g} ||x_0 - x*|| on all {n} draws",
    }[p]


def format_report(rep: dict) -> str:
    """Plain-text verdicts, one block per property."""
    sysd = rep["system"]
    lines = [f"check-oracle {rep['oracle']} on {sysd['name']}"
             + (f"/{sysd['loss']}" if sysd.get("loss") else "")
             + (f" + {' + '.join(sysd['regularizers'])}" if sysd.get("regularizers") else "")
             + f": {rep['verdict'].upper()}",
             f"  {rep['convention']['note']}",
             f"  eta in [{rep['eta_range'][0]:g}, {rep['eta_range'][1]:g}] (log-uniform, plus the ends and the "
             f"critical values {', '.join(f'{c:g}' for c in rep['critical_eta']) or 'none'}), "
             f"{rep['steps']} steps per run, {rep['search']['examples']} draws"
             + (f", seed {rep['seed']}" if rep["seed"] is not None else ", derandomized")
             + f"; {rep['search']['examples_per_second'] or 0:.0f} draws/s"
             + (" (vectorised" if rep["vectorised"] else " (one by one")
             + f", {rep['search'].get('engine', 'numpy')} search)"]
    mark = {"holds": "PASS", "fails": "FAIL", "skipped": "skip", "inconclusive": "  ? ", "not certified": "  ? "}
    for p in rep["properties"]:
        lines.append(f"[{mark.get(p['status'], p['status'])}] {p['name']}: {p.get('message', '')}")
        if p.get("comparison"):
            cmp = ", ".join(k + ": " + ("holds" if v["holds"] else "fails on %d/%d" % (v["failures"], v["examples"]))
                            for k, v in p["comparison"].items())
            lines.append(f"        same draws: {cmp}")
        if p.get("counterexample") and p["status"] == "fails" and "x0" in p["counterexample"]:
            ce = p["counterexample"]
            lines.append(f"        counterexample{'' if p.get('shrunk') else ' (not shrunk)'}: x0 = {ce['x0']}, "
                         f"eta = {ce['eta']!r}, steps = {ce['steps']} ({ce['convention']} convention)")
        if p.get("command"):
            lines.append(f"        reproduce: {p['command']}")
        if p.get("interior"):
            it = p["interior"]
            lines.append(f"        away from the axes: {it['message']}")
            if it.get("found"):
                ce = it["counterexample"]
                lines.append(f"        counterexample: x0 = {ce['x0']}, eta = {ce['eta']!r}, steps = {ce['steps']}")
                lines.append(f"        reproduce: {it['command']}")
    return "\n".join(lines)


__all__ = ["check_oracle", "Config", "format_report", "parse_eta_range", "parse_properties", "search", "search_numpy",
           "search_reference", "shrink", "ENGINES",
           "game_for_oracle", "ALL_PROPERTIES", "DEFAULT_PROPERTIES", "FUZZED", "DEFAULT_ETA_RANGE"]
