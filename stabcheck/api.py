"""The Python API: build games and methods from the CLI's spec strings (or objects), analyze,
simulate, certify, sweep and fuzz them, and get typed results back.

Every function here is a thin layer over the engine the command line uses (the same code
builds the game, the method and the report), so a result's :meth:`to_dict` holds the same
keys as the matching ``--json`` output, plus ``schema_version``. See docs/api.md for examples
and the conventions (which player minimizes, the sign of psi, what ``eta`` measures).

Results
-------
Each function returns a frozen dataclass with

* ``to_dict()`` - plain Python (floats stay floats, including ``inf`` and ``nan``);
* ``to_json()`` - a JSON string with a ``schema_version`` key (:data:`SCHEMA_VERSION`);
  non-finite floats are written as the strings ``"inf"``, ``"-inf"`` and ``"nan"`` (JSON has
  no such numbers), everything else as standard JSON;
* ``to_pandas()`` where the result is a table (and ``to_xarray()`` for a sweep's grid): pandas
  and xarray are the optional extra ``stabcheck[frames]``;
* a readable ``repr`` and an HTML table in notebooks (``_repr_html_``).

Bad arguments raise :class:`stabcheck.errors.BadInput` (a ``ValueError``) with a one-line
message naming the problem and the valid choices.

Importing this module is cheap: numpy, sympy, cvxpy, torch and matplotlib are imported by the
functions that need them.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence, Union

from stabcheck.errors import BadInput

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np
    import pandas
    import xarray

    from stabcheck.games.base import Game
    from stabcheck.methods import Method
    from stabcheck.simulate import RunResult

__all__ = [
    "SCHEMA_VERSION", "make_game", "make_method", "analyze", "simulate", "certify", "sweep", "check_oracle",
    "AnalyzeResult", "MethodResult", "SimulateResult", "CertifyResult", "SweepResult", "OracleCheckResult",
    "PropertyResult", "encode_json",
]

from stabcheck.jsonout import SCHEMA_VERSION, encode_json  # noqa: E402  (one implementation for CLI and API)

#: ``None``, one spec string (several joined by commas, as ``--compare`` takes them), an
#: object, or a sequence of strings and objects
Specs = Union[None, str, Any, Sequence[Any]]


# ============================================================================ JSON


def _dumps(d: dict, indent: Optional[int]) -> str:
    return json.dumps(encode_json(d), indent=indent, allow_nan=False)


# ============================================================================ argument helpers


def _spec_list(specs: Specs, what: str) -> Optional[list]:
    """None, one string (comma-joined specs allowed), one object, or a sequence -> list."""
    if specs is None:
        return None
    if isinstance(specs, str):
        from stabcheck.simulate import split_specs

        return split_specs(specs)
    if isinstance(specs, (list, tuple)):
        out: list = []
        for s in specs:
            if isinstance(s, str):
                from stabcheck.simulate import split_specs

                out += split_specs(s)
            else:
                out.append(s)
        return out
    return [specs]


def _string_specs(specs: Specs, what: str) -> list:
    out = _spec_list(specs, what) or []
    bad = [s for s in out if not isinstance(s, str)]
    if bad:
        raise BadInput(f"{what} must be spec strings here (e.g. 'r1:gamma=1'), got {bad[0]!r}")
    return out


def _as_game(game: Any) -> Any:
    """A Game/TorchGame as given, or one built by :func:`make_game` from a system name."""
    from stabcheck.games.base import Game

    if isinstance(game, Game):
        return game
    if type(game).__name__ == "TorchGame":
        return game
    if isinstance(game, str):
        return make_game(game)
    raise BadInput(f"expected a game (stabcheck.make_game(...)) or a system name, got {type(game).__name__}")


def _eta(eta: Any) -> float:
    from stabcheck.analysis import check_eta

    if eta is None:
        raise BadInput("eta is required: the step size, a finite number > 0 (e.g. eta=0.1)")
    return check_eta(eta)


def _need_frames(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{module} is not installed; it is part of the optional extra "
                          f"'frames': pip install 'stabcheck[frames]' (or pip install {module})") from None


# ============================================================================ tables (repr)


@dataclass(frozen=True)
class _Table:
    title: str
    columns: tuple
    rows: tuple
    notes: tuple = ()

    def text(self) -> str:
        """Plain text (a rich table, no colour), for ``repr``."""
        import io

        from rich import box
        from rich.console import Console
        from rich.table import Table

        t = Table(*self.columns, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for r in self.rows:
            t.add_row(*(str(v) for v in r))
        buf = io.StringIO()
        console = Console(file=buf, width=160, color_system=None, force_terminal=False, highlight=False)
        console.print(self.title, soft_wrap=True, markup=False, highlight=False)
        console.print(t)
        for n in self.notes:
            console.print(n, soft_wrap=True, markup=False, highlight=False)
        return "\n".join(line.rstrip() for line in buf.getvalue().rstrip("\n").splitlines())

    def html(self) -> str:
        e = html.escape
        head = "".join(f"<th>{e(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in r) + "</tr>" for r in self.rows)
        notes = "".join(f"<br><small>{e(n)}</small>" for n in self.notes)
        return (f"<div><b>{e(self.title)}</b><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>{notes}</div>")


def _verdict_text(v: str) -> str:
    from stabcheck.linearize import verdict_text

    return verdict_text(v)


def _g(v: Any, digits: int = 6) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _system_title(system: Mapping) -> str:
    t = str(system.get("name"))
    if system.get("loss"):
        t += f" ({system['loss']})"
    if system.get("regularizers"):
        t += " + " + " ".join(system["regularizers"])
    return t


class _Result:
    """Shared output methods; subclasses define ``to_dict`` and ``_table``."""

    def to_dict(self) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_json(self, indent: Optional[int] = 2) -> str:
        """The result as a JSON document (``schema_version`` included; non-finite floats as
        the strings ``"inf"``, ``"-inf"``, ``"nan"``)."""
        return _dumps(self.to_dict(), indent)

    def save_json(self, path: str) -> None:
        """Write :meth:`to_json` to ``path`` atomically."""
        from stabcheck.io import check_output_path, write_text_atomic

        check_output_path(path, "path")
        write_text_atomic(path, self.to_json() + "\n")

    def _table(self) -> _Table:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._table().text()

    def _repr_html_(self) -> str:
        return self._table().html()


def _versioned(kind: str, d: Mapping) -> dict:
    from stabcheck.jsonout import versioned

    return versioned(kind, d)


# ============================================================================ games and methods


def make_game(system: Any, loss: Optional[str] = None, *, regs: Specs = (), convention: Optional[str] = None,
              **params: Any) -> "Game":
    """Build a game from the CLI's names, with loss-level regularizers and a sign convention.

    Parameters
    ----------
    system : str or Game
        ``dirac``, ``gaussian``, ``general``, ``wgan-qc``, or a user factory ``pkg.mod:factory``
        (as ``--system``); a game object is taken as it is (regularizers and the convention are
        then applied to it).
    loss : str, optional
        ``wgan``, ``bce``, ``nsgan``, ``rkl``, ``hinge`` (built-in GAN games).
    regs : str, callable or sequence
        Regularizer specs as ``--reg`` takes them (``"r1:gamma=1"``, ``"noise:sigma=0.5"``;
        several as a list or joined by commas), or regularizer objects ``Game -> Game``
        (:mod:`stabcheck.regularizers`), applied in order.
    convention : {"mescheder", "thesis"}, optional
        Sign convention of psi; default the system's own (dirac: mescheder, gaussian: thesis).
    **params
        System parameters: gaussian ``mean`` (list, or ``"4,1"``), ``dim``, ``sigma2``;
        general ``P`` and ``Q`` (arrays or .npy/.json paths); wgan-qc ``lam``, ``gr``; a user
        factory's keyword arguments.

    Returns
    -------
    Game
    """
    from stabcheck.games import CONVENTIONS, make_game as _make_game
    from stabcheck.games.base import Game
    from stabcheck.regularizers import make_regularizer

    reg_list = _spec_list(regs, "regs") or []
    for r in reg_list:
        if not (isinstance(r, str) or callable(r)):
            raise BadInput(f"a regularizer must be a spec string (e.g. 'r1:gamma=1') or a callable Game -> Game, "
                           f"got {r!r}")
    if convention is not None and convention not in CONVENTIONS:
        raise BadInput(f"unknown convention {convention!r}; valid: {', '.join(CONVENTIONS)}")
    if isinstance(system, str) and system == "gaussian" and isinstance(params.get("mean"), str):
        from stabcheck.cli.common import parse_floats

        params["mean"] = parse_floats(params["mean"], "mean")
    if isinstance(system, str):
        if all(isinstance(r, str) for r in reg_list):
            return _make_game(system, loss, params, reg_list, convention)
        game = _make_game(system, loss, params, (), None)
    elif isinstance(system, Game) or type(system).__name__ == "TorchGame":
        if loss is not None or params:
            raise BadInput("a game object takes no loss or parameters; pass a system name to build one")
        game = system
    else:
        raise BadInput(f"system must be a name (dirac, gaussian, general, wgan-qc, pkg.mod:factory) or a game, "
                       f"got {type(system).__name__}")
    for r in reg_list:
        game = (make_regularizer(r) if isinstance(r, str) else r)(game)
        if not isinstance(game, Game):
            raise BadInput(f"regularizer {r!r} returned {type(game).__name__}, expected a Game")
    return game.in_convention(convention) if convention is not None else game


def make_method(spec: Any) -> "Method":
    """A training method from a spec string (as ``--method``), an update rule or a Method.

    >>> make_method("alt:n_d=5").spec
    'alt:n_d=5,n_g=1,first=discriminator'
    >>> make_method("jare:gamma=10,rule=eg").name
    'jare'
    """
    from stabcheck.methods import Method, make_method as _make_method
    from stabcheck.rules import UpdateRule

    if isinstance(spec, Method):
        return spec
    if isinstance(spec, UpdateRule):
        return Method(rule=spec)
    if isinstance(spec, str):
        return _make_method(spec)
    raise BadInput(f"a method must be a spec string (e.g. 'alt:n_d=5'), an UpdateRule or a Method, "
                   f"got {type(spec).__name__}")


def _methods(methods: Specs) -> list:
    from stabcheck.methods import DEFAULT_METHODS

    specs = _spec_list(methods, "methods")
    if specs is not None and not specs:
        raise BadInput("methods is empty; give at least one (e.g. ['sim', 'alt:n_d=5']) or None for all")
    return [make_method(s) for s in (specs if specs is not None else DEFAULT_METHODS)]


# ============================================================================ analyze


@dataclass(frozen=True, repr=False)
class MethodResult(_Result):
    """One method's linear analysis at the equilibrium.

    ``spectral_radius`` is that of the Jacobian of one map step ``F_eta`` (for ``alt`` one
    whole period of ``n_d + n_g`` gradient steps); ``verdict`` is ``converges``, ``neutral``
    or ``diverges`` (``verdict_exact``: decided on the exact characteristic polynomial);
    ``stable_eta`` the step sizes with spectral radius < 1 (``intervals``, ``max``, ``exact``).
    """

    spec: str
    verdict: str
    verdict_exact: bool
    defective: bool
    spectral_radius: float
    iterations_per_decade: Optional[float]
    eigenvalues: tuple
    stable_eta: dict
    raw: dict = field(compare=False)

    @property
    def converges(self) -> bool:
        return self.verdict == "converges"

    def to_dict(self) -> dict:
        return dict(self.raw)

    def _table(self) -> _Table:
        return _Table(f"method {self.spec}", ("spectral radius", "verdict", "iters/decade"),
                      ((_g(self.spectral_radius, 10), self.verdict, _g(self.iterations_per_decade, 4)),))


def _factors_inf(f: dict) -> dict:
    """The engine writes an infinite phase / conditioning factor as None; here it is inf
    (``"inf"`` in JSON), as every other non-finite number."""
    return {k: (math.inf if v is None and k in ("phase_factor", "conditioning_factor") else v) for k, v in f.items()}


def _method_result(entry: dict) -> MethodResult:
    return MethodResult(spec=entry["spec"], verdict=entry["verdict"], verdict_exact=bool(entry["verdict_exact"]),
                        defective=bool(entry.get("defective")), spectral_radius=float(entry["spectral_radius"]),
                        iterations_per_decade=entry.get("iterations_per_decade"),
                        eigenvalues=tuple(complex(a, b) for a, b in entry["eigenvalues"]),
                        stable_eta=dict(entry["stable_eta"]), raw=entry)


@dataclass(frozen=True, repr=False)
class AnalyzeResult(_Result):
    """Eigen-analysis of methods at the game's equilibrium (``stabcheck analyze``).

    Index it by position or by spec: ``result["sim"]``. ``to_dict()`` is the ``analyze
    --json`` contract plus ``schema_version`` and ``kind``.
    """

    system: dict
    eta: float
    convention: str
    field_eigenvalues: tuple
    hurwitz: bool
    methods: tuple
    raw: dict = field(compare=False)

    def __getitem__(self, key: Union[int, str]) -> MethodResult:
        if isinstance(key, int):
            return self.methods[key]
        for m in self.methods:
            if m.spec == key:
                return m
        try:
            spec = make_method(key).spec
        except BadInput:
            spec = None
        for m in self.methods:
            if m.spec == spec:
                return m
        raise KeyError(f"{key!r}: no such method in this result; have {', '.join(m.spec for m in self.methods)}")

    def __len__(self) -> int:
        return len(self.methods)

    def __iter__(self):
        return iter(self.methods)

    def to_dict(self) -> dict:
        d = _versioned("analyze", self.raw)
        d["field"] = _factors_inf(d["field"])
        d["methods"] = [dict(m, field=_factors_inf(m["field"])) if "field" in m else m for m in d["methods"]]
        return d

    def _rows(self) -> list:
        return [{"method": m.spec, "spectral_radius": m.spectral_radius, "verdict": m.verdict,
                 "verdict_exact": m.verdict_exact, "defective": m.defective,
                 "iterations_per_decade": m.iterations_per_decade,
                 "stable_eta_max": m.stable_eta.get("max"), "stable_eta_exact": m.stable_eta.get("exact")}
                for m in self.methods]

    def to_pandas(self) -> "pandas.DataFrame":
        """One row per method (needs the ``frames`` extra)."""
        pd = _need_frames("pandas")
        return pd.DataFrame(self._rows()).set_index("method")

    def _table(self) -> _Table:
        rows = tuple((m.spec, _g(m.spectral_radius, 10),
                      _verdict_text(m.verdict) + (" (exact)" if m.verdict_exact else ""),
                      _g(m.iterations_per_decade, 4), _g(m.stable_eta.get("max")))
                     for m in self.methods)
        return _Table(f"analyze: {_system_title(self.system)}, eta = {self.eta:g}; field Hurwitz: "
                      f"{'yes' if self.hurwitz else 'no'}",
                      ("method", "spectral radius", "verdict", "iters/decade", "stable eta <"), rows,
                      (f"convention: {self.convention}",))


def analyze(game: Any, methods: Specs = None, eta: Optional[float] = None, *, exact: bool = True) -> AnalyzeResult:
    """Eigen-analysis of each method's update map at the equilibrium (``stabcheck analyze``).

    Parameters
    ----------
    game : Game or str
        From :func:`make_game` (a system name alone is built with it).
    methods : str, Method, or sequence of them, optional
        Method specs as ``--method`` takes them (``"sim"``, ``"alt:n_d=5"``, ``"jare:gamma=10"``)
        or :class:`~stabcheck.methods.Method` / update-rule objects; default: every built-in.
    eta : float
        Step size of one gradient update (> 0).
    exact : bool
        Use the exact (sympy) path where the game allows it (``--no-exact`` is ``False``).
    """
    from stabcheck.analysis import analyze as _analyze

    g = _as_game(game)
    e = _eta(eta)
    report = _analyze(g, _methods(methods), e, exact_path=bool(exact))
    f = report["field"]
    return AnalyzeResult(system=report["system"], eta=report["eta"], convention=report["convention"],
                         field_eigenvalues=tuple(complex(a, b) for a, b in f["eigenvalues"]),
                         hurwitz=bool(f["hurwitz"]), methods=tuple(_method_result(m) for m in report["methods"]),
                         raw=report)


# ============================================================================ simulate


@dataclass(frozen=True, repr=False)
class SimulateResult(_Result):
    """Runs from one start (``stabcheck simulate``); ``runs`` are the engine's
    :class:`stabcheck.simulate.RunResult` objects (distances, choices, states). Index by
    position or run name: ``result["dirac"]``."""

    system: dict
    eta: float
    x0: tuple
    steps: int
    precision: Union[str, int]
    runs: tuple
    seed: int = 0
    batch: int = 64
    max_distance: float = 1e12

    def __getitem__(self, key: Union[int, str]) -> "RunResult":
        if isinstance(key, int):
            return self.runs[key]
        for r in self.runs:
            if key in (r.name, r.spec):
                return r
        raise KeyError(f"{key!r}: no such run; have {', '.join(r.name for r in self.runs)}")

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self):
        return iter(self.runs)

    def to_dict(self) -> dict:
        """The ``simulate --json`` report (plus ``schema_version``, ``kind``)."""
        return _versioned("simulate", {
            "system": self.system, "eta": self.eta, "x0": list(self.x0), "steps": self.steps,
            "precision": self.precision, "seed": self.seed, "batch": self.batch, "max_distance": self.max_distance,
            "runs": [dict(r.to_json(), final_distance_log10=r.final_distance_log10,
                          min_distance_log10=r.min_distance_log10) for r in self.runs]})  # -inf kept (at x*)

    def _rows(self) -> list:
        return [{"run": r.name, "kind": r.kind, "steps_done": r.steps_done,
                 "final_distance_log10": r.final_distance_log10, "min_distance_log10": r.min_distance_log10,
                 "first_below_1e-6": r.first_below, "sup_ratio": r.sup_ratio, "stopped": r.stopped}
                for r in self.runs]

    def to_pandas(self, trajectories: bool = False) -> "pandas.DataFrame":
        """One row per run; ``trajectories=True``: one row per run and step (``run``, ``step``,
        ``log10_distance``, ``choice``). Needs the ``frames`` extra."""
        pd = _need_frames("pandas")
        if not trajectories:
            return pd.DataFrame(self._rows()).set_index("run")
        frames = []
        for r in self.runs:
            n = len(r.log10_distance)
            choice = [None] + ([f"V{int(c)}" for c in r.codes] if r.codes is not None else [None] * (n - 1))
            frames.append(pd.DataFrame({"run": r.name, "step": range(n), "log10_distance": r.log10_distance,
                                        "choice": choice[:n]}))
        return pd.concat(frames, ignore_index=True)

    def _table(self) -> _Table:
        rows = tuple((r.name + (" (method)" if r.kind == "method" else ""), r.steps_done,
                      _g(r.final_distance_log10, 4), _g(r.min_distance_log10, 4), _g(r.first_below),
                      _g(r.sup_ratio, 4), "-" if r.choices is None else "/".join(str(v) for v in r.choices.values()),
                      r.stopped or "-") for r in self.runs)
        return _Table(f"simulate: {_system_title(self.system)}, {self.system.get('convention')} convention, "
                      f"eta = {self.eta:g}, x0 = {list(self.x0)}, {self.steps} steps, {self.precision}",
                      ("run", "steps", "log10 final dist", "log10 min dist", "first<1e-6", "sup ratio",
                       "V1/V2/V3", "stopped"), rows)


def simulate(game: Any, runs: Specs, eta: Optional[float] = None, *, x0: Optional[Sequence[float]] = None,
             steps: int = 1000, precision: Union[None, int, str] = None, max_distance: Optional[float] = None,
             batch: int = 64, seed: int = 0, convert: bool = False, record_states: bool = False,
             kind: Optional[str] = None, optimizer: Any = None) -> SimulateResult:
    """Simulate oracles and methods from one start (``stabcheck simulate --compare``).

    Parameters
    ----------
    game : Game or str
        From :func:`make_game`.
    runs : str, object, or sequence
        What to run, as ``--compare`` reads it: built-in oracle names (``sim``, ``alt:n_d=5``,
        ``dirac``, ``dyn-gda``; one step = one gradient update), method specs (``eg``,
        ``ogda``, ``jare:gamma=1``; one step = one map application), user oracles
        ``pkg.mod:Name``, or oracle / Method objects. ``kind="method"`` reads ``sim`` and
        ``alt`` as methods.
    eta : float
        Step size (> 0).
    x0 : sequence of float, optional
        Start ``(theta..., psi...)`` in the game's convention; default the equilibrium + 1.
    steps, precision, max_distance, batch, seed, convert, record_states
        As for :func:`stabcheck.simulate.simulate` (``precision``: None for float64,
        ``"float32"``, digits for mpmath, or ``"exact"``).
    optimizer : str, optional
        How the oracles' steps are taken (``"momentum=-0.3,ratio=2"``), as ``--optimizer``.
    """
    from stabcheck.simulate import MAX_DISTANCE, check_x0, make_runner, simulate as _simulate

    g = _as_game(game)
    e = _eta(eta)
    specs = _spec_list(runs, "runs")
    if not specs:
        raise BadInput("nothing to simulate: give runs, e.g. ['sim', 'alt:n_d=5', 'dirac']")
    runners = []
    for s in specs:
        r = make_runner(s, kind)
        runners.append(make_runner(r, optimizer=optimizer) if optimizer is not None and r.kind == "oracle" else r)
    if optimizer is not None and not any(r.kind == "oracle" for r in runners):
        raise BadInput("optimizer applies to oracles; give a method its optimizer in its spec "
                       "(e.g. 'alt:momentum=-0.3')")
    start = [float(v) + 1.0 for v in g.equilibrium_numeric] if x0 is None else [float(v) for v in check_x0(g, x0)]
    prec: Any = precision  # None, "float32", "exact" or digits (checked by the engine)
    md = MAX_DISTANCE if max_distance is None else max_distance
    results = tuple(_simulate(g, r, e, start, steps, precision=prec, max_distance=md, batch=batch, seed=seed,
                              convert=convert, record_states=record_states) for r in runners)
    return SimulateResult(system=g.describe(), eta=e, x0=tuple(float(v) for v in start), steps=int(steps),
                          precision=results[0].precision, runs=results, seed=seed, batch=batch, max_distance=md)


# ============================================================================ certify


@dataclass(frozen=True, repr=False)
class CertifyResult(_Result):
    """A Lyapunov certificate search, exactly checked (``stabcheck certify``).

    ``certified`` is True only when the exact rational check passed. ``P`` is the certificate
    (``V(x) = x^T P x``, matrices acting as ``x_{k+1} = A x_k``); ``result`` the engine's
    :class:`stabcheck.certify.CertificateResult`; ``jsr`` joint-spectral-radius bounds for
    several matrices under arbitrary switching.
    """

    status: str
    statement: str
    strict: bool
    input: str
    result: Any = field(compare=False)
    jsr: Optional[dict] = None

    @property
    def certified(self) -> bool:
        return self.status == "certified"

    @property
    def P(self) -> Optional[list]:
        return self.result.P

    @property
    def margin(self) -> Optional[float]:
        return self.result.margin

    def to_dict(self) -> dict:
        """The ``certify --json`` report (plus ``schema_version``, ``kind``)."""
        d = dict(self.result.to_json())
        d["input"] = self.input
        if self.jsr is not None:
            d["jsr"] = self.jsr
        return _versioned("certify", d)

    def _table(self) -> _Table:
        r = self.result
        return _Table(f"certify: {self.input}", ("status", "strict", "exact check", "margin", "solver"),
                      ((self.status, self.strict, r.exact_check, _g(r.margin, 4), f"{r.solver} ({r.solver_status})"),),
                      (self.statement,))


def certify(game: Any = None, method: Any = None, eta: Optional[float] = None, *, oracle: Any = None,
            matrices: Any = None, strict: bool = True, continuous: bool = False, lift: Optional[int] = None,
            solver: str = "clarabel", convert: bool = False, jsr_length: int = 6) -> CertifyResult:
    """Search a quadratic Lyapunov certificate with cvxpy and check it in exact arithmetic.

    Give either a game with a method (the map's linearization at the equilibrium) or an
    oracle (its switched linear model, a piecewise-quadratic certificate), and ``eta``; or
    ``matrices`` (one ``(n, n)`` array: ``x_{k+1} = A x``; several: arbitrary switching, with
    ``lift=K`` for products of K steps). ``strict=False`` asks for non-strict decrease
    (Lyapunov stability, for neutral maps); ``continuous=True`` for ``dx/dt = A x`` (one
    matrix). ``solver``: ``clarabel`` or ``scs``.
    """
    import importlib

    from stabcheck.certify.lyapunov import check_solver

    C = importlib.import_module("stabcheck.certify")

    s = check_solver(solver)
    if (game is None) == (matrices is None):
        raise BadInput("give exactly one of a game (with method= or oracle=) or matrices=")
    if lift is not None and (isinstance(lift, bool) or not isinstance(lift, int) or lift < 1):
        raise BadInput(f"lift must be an integer >= 1, got {lift!r}")
    jsr = None
    if matrices is not None:
        if method is not None or oracle is not None or eta is not None:
            raise BadInput("method, oracle and eta need a game, not matrices")
        mats, exact = _matrices(matrices)
        label = f"{len(mats)} matrix(es)"
        if continuous and (len(mats) > 1 or lift):
            raise BadInput("continuous=True is supported for a single matrix only")
        if lift:
            res = C.lifted_certificate(mats, lift, exact, solver=s, strict=strict)
        elif len(mats) == 1:
            res = C.certify_linear(mats[0], exact[0] if exact else None, solver=s, strict=strict,
                                   continuous=continuous)
        else:
            res = C.common_quadratic(mats, exact, solver=s, strict=strict)
        if len(mats) > 1:
            jsr = C.jsr_bounds(mats, exact, max_length=jsr_length, solver=s).to_json()
        return CertifyResult(res.status, res.statement, res.strict, label, res, jsr)
    g = _as_game(game)
    e = _eta(eta)
    if method is not None and oracle is not None:
        raise BadInput("give method= or oracle=, not both")
    if continuous or lift:
        raise BadInput("continuous and lift apply to matrices=; a game's map is certified as it is")
    if oracle is not None:
        from stabcheck.switched import switched_model

        model = switched_model(g, oracle, e, convert=convert)
        modes = list(model.modes)
        label = f"oracle {oracle if isinstance(oracle, str) else getattr(oracle, 'name', oracle)} on " \
                f"{_system_title(g.describe())}, eta={e:g} ({g.convention} convention)"
        res = C.piecewise_certificate(modes, model.regions, strict=strict, solver=s)
        return CertifyResult(res.status, res.statement, res.strict, label, res)
    from stabcheck.linearize import method_jacobian

    m = make_method(method if method is not None else "sim")
    lin = method_jacobian(g, m, e)
    res = C.certify_linear(lin.numeric, lin.exact, solver=s, strict=strict)
    return CertifyResult(res.status, res.statement, res.strict,
                         f"{m.spec} on {_system_title(g.describe())}, eta={e:g}", res)


def _matrices(matrices: Any) -> tuple:
    import numpy as np

    items = matrices
    if hasattr(matrices, "ndim") and getattr(matrices, "ndim") == 2:
        items = [matrices]
    elif hasattr(matrices, "shape") and type(matrices).__module__.startswith("sympy"):
        items = [matrices]
    elif hasattr(matrices, "ndim") and getattr(matrices, "ndim") == 3:
        items = list(matrices)
    elif isinstance(matrices, (list, tuple)) and matrices and not hasattr(matrices[0], "shape") \
            and isinstance(matrices[0], (list, tuple)) and matrices[0] and not isinstance(matrices[0][0], (list, tuple)):
        items = [matrices]  # one matrix as nested lists
    if not isinstance(items, (list, tuple)) or not items:
        raise BadInput("matrices must be an (n, n) array, a (k, n, n) array or a list of (n, n) arrays")
    mats, exact, have_exact = [], [], False
    for i, M in enumerate(items):
        if type(M).__module__.startswith("sympy"):
            exact.append(M)
            have_exact = True
        else:
            exact.append(None)
        try:
            A = np.array(M.tolist() if hasattr(M, "tolist") else M, dtype=float)
        except (TypeError, ValueError):
            raise BadInput(f"matrix {i} is not a real numeric matrix") from None
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.size == 0 or not np.all(np.isfinite(A)):
            raise BadInput(f"matrix {i} must be square, non-empty and finite, got shape {A.shape}")
        mats.append(A)
    if any(A.shape != mats[0].shape for A in mats):
        raise BadInput("all matrices must have the same shape")
    return mats, (exact if have_exact else None)


# ============================================================================ sweep


@dataclass(frozen=True, repr=False)
class SweepResult(_Result):
    """A stability map (``stabcheck sweep``): spectral radius and verdict on a grid.

    ``spectral_radius`` and ``verdict`` are arrays of the grid's shape (first axis slowest);
    ``axes`` the engine's :class:`stabcheck.sweep.Axis` objects (``.qualified`` name,
    ``.values``); ``result`` the engine's sweep result (``.plot(path)`` draws the map).
    """

    axes: tuple
    spectral_radius: "np.ndarray"
    verdict: "np.ndarray"
    counts: dict
    info: dict = field(compare=False)
    result: Any = field(compare=False)

    @property
    def shape(self) -> tuple:
        return tuple(a.n for a in self.axes)

    @property
    def dims(self) -> tuple:
        """The axes' parameter names (``eta``, ``jare.gamma``, ...)."""
        return tuple(a.qualified or a.name for a in self.axes)

    def point(self, flat_index: int) -> dict:
        """Parameter values of one grid point (C-order index)."""
        return self.result.point(flat_index)

    def analyze_command(self, flat_index: int) -> str:
        return self.result.analyze_command(flat_index)

    def plot(self, path: Optional[str] = None, **kw: Any) -> Any:
        """The heat map (matplotlib; written to ``path`` when given); returns the Axes."""
        return self.result.plot(path, **kw)

    def to_dict(self) -> dict:
        """The ``sweep --json`` report (plus ``schema_version``, ``kind``); the spectral radius
        keeps its non-finite values (``"inf"`` in JSON)."""
        d = dict(self.result.to_json())
        d["spectral_radius"] = self.spectral_radius.tolist()
        return _versioned("sweep", d)

    def to_pandas(self) -> "pandas.DataFrame":
        """One row per grid point: the parameters, ``spectral_radius``, ``verdict``."""
        import numpy as np

        pd = _need_frames("pandas")
        grids = np.meshgrid(*[a.values for a in self.axes], indexing="ij")
        cols = {name: g.reshape(-1) for name, g in zip(self.dims, grids)}
        cols["spectral_radius"] = self.spectral_radius.reshape(-1)
        cols["verdict"] = self.verdict.reshape(-1)
        return pd.DataFrame(cols)

    def to_xarray(self) -> "xarray.Dataset":
        """An ``xarray.Dataset`` with one dimension per axis and the variables
        ``spectral_radius`` and ``verdict`` (needs the ``frames`` extra)."""
        xr = _need_frames("xarray")
        coords = {name: a.values for name, a in zip(self.dims, self.axes)}
        return xr.Dataset({"spectral_radius": (self.dims, self.spectral_radius),
                           "verdict": (self.dims, self.verdict.astype(str))}, coords=coords,
                          attrs={"method": str(self.info.get("method")), "system": _system_title(self.info["system"]),
                                 "convention": str(self.info.get("convention"))})

    def _table(self) -> _Table:
        import numpy as np

        rho = self.spectral_radius
        rows = [(k, v, f"{100 * v / max(rho.size, 1):.1f}%") for k, v in self.counts.items()]
        notes = ["grid: " + " x ".join(f"{a.qualified or a.name} [{a.lo:g}, {a.hi:g}] ({a.n}{', log' if a.log else ''})"
                                      for a in self.axes)]
        if np.any(np.isfinite(rho)):
            i = int(np.nanargmin(np.where(np.isfinite(rho), rho, np.nan)))
            notes.append(f"smallest spectral radius {rho.reshape(-1)[i]:.10g} at "
                         + ", ".join(f"{k} = {v:.6g}" for k, v in self.point(i).items()))
        title = f"sweep: {self.info.get('method')} on {_system_title(self.info['system'])}"
        if self.info.get("eta_fixed") is not None:
            title += f", eta = {self.info['eta_fixed']:g}"
        return _Table(title, ("verdict", "points", "share"), tuple(rows), tuple(notes))


def _grid_specs(grid: Any) -> list:
    if isinstance(grid, Mapping):
        out = []
        for name, ax in grid.items():
            if not isinstance(ax, (list, tuple)) or len(ax) not in (3, 4):
                raise BadInput(f"grid axis {name!r}: expected (lo, hi, n) or (lo, hi, n, 'log'), got {ax!r}")
            if len(ax) == 4 and ax[3] != "log":
                raise BadInput(f"grid axis {name!r}: the 4th entry may only be 'log', got {ax[3]!r}")
            out.append(f"{name}={float(ax[0])!r}:{float(ax[1])!r}:{ax[2]}" + (":log" if len(ax) == 4 else ""))
        return [",".join(out)]
    if isinstance(grid, str):
        return [grid]
    if isinstance(grid, (list, tuple)) and grid and all(isinstance(g, str) for g in grid):
        return list(grid)
    raise BadInput("grid must be 'name=lo:hi:n[:log],...', a list of such strings, or a dict "
                   "{name: (lo, hi, n[, 'log'])}")


def sweep(system: str, loss: Optional[str] = None, *, method: str = "sim", grid: Any = None,
          regs: Specs = (), eta: Optional[float] = None, convention: Optional[str] = None,
          executor: Any = None, chunk: Optional[int] = None, symbolic: bool = True, **params: Any) -> SweepResult:
    """Spectral radius and verdict of one method over a parameter grid (``stabcheck sweep``).

    Parameters
    ----------
    system, loss, regs, convention, **params
        The game, as for :func:`make_game` but by name (the sweep rebuilds it per point);
        a regularizer spec may leave out a value that is on the grid (``regs="noise"`` with
        ``noise.sigma`` swept).
    method : str
        One method spec (``"jare"``: its ``gamma`` may be swept).
    grid : str, list of str, or dict
        ``"eta=1e-3:2:200:log,gamma=0:20:200"`` as ``--grid``, or
        ``{"eta": (1e-3, 2, 200, "log"), "gamma": (0, 20, 200)}``.
    eta : float, optional
        The step size when ``eta`` is not on the grid.
    executor, chunk, symbolic
        As for :func:`stabcheck.sweep.sweep` (default: serial, 16384 points per task).
    """
    from stabcheck.sweep import DEFAULT_CHUNK, sweep as _sweep

    if not isinstance(system, str):
        raise BadInput("sweep needs the system by name (it rebuilds the game per grid point), "
                       f"e.g. 'dirac'; got {type(system).__name__}")
    if not isinstance(method, str):
        m = make_method(method)
        method = m.spec
    if grid is None:
        raise BadInput("grid is required, e.g. grid='eta=1e-3:2:200:log'")
    if eta is not None:
        eta = _eta(eta)
    res = _sweep(system, loss, method, _grid_specs(grid), regs=_string_specs(regs, "regs"), params=params,
                 convention=convention, eta=eta, executor=executor,
                 chunk=DEFAULT_CHUNK if chunk is None else chunk, symbolic=symbolic)
    return SweepResult(axes=tuple(res.axes), spectral_radius=res.spectral_radius, verdict=res.verdict_names(),
                       counts=res.counts(), info=res.info, result=res)


# ============================================================================ check_oracle


@dataclass(frozen=True, repr=False)
class PropertyResult(_Result):
    """One property of :func:`check_oracle`: ``status`` is ``holds``, ``fails`` or
    ``skipped``; a failure comes with a (shrunk) ``counterexample`` and the ``command`` that
    reproduces it."""

    name: str
    status: str
    holds: Optional[bool]
    message: str
    counterexample: Optional[dict]
    command: Optional[str]
    raw: dict = field(compare=False)

    def to_dict(self) -> dict:
        return dict(self.raw)

    def _table(self) -> _Table:
        return _Table(f"property {self.name}", ("status", "message"), ((self.status, self.message),))


@dataclass(frozen=True, repr=False)
class OracleCheckResult(_Result):
    """Hypothesis fuzzing of an oracle's stability properties (``stabcheck check-oracle``);
    ``passed`` is True when no counted property failed. Index by property name."""

    oracle: str
    verdict: str
    properties: tuple
    raw: dict = field(compare=False)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def __getitem__(self, name: str) -> PropertyResult:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(f"{name!r}: no such property; have {', '.join(p.name for p in self.properties)}")

    def to_dict(self) -> dict:
        """The ``check-oracle --json`` report (plus ``schema_version``, ``kind``)."""
        return _versioned("check-oracle", self.raw)

    def to_pandas(self) -> "pandas.DataFrame":
        """One row per property: status, holds, examples, failures, command."""
        pd = _need_frames("pandas")
        return pd.DataFrame([{"property": p.name, "status": p.status, "holds": p.holds,
                              "examples": p.raw.get("examples"), "failures": p.raw.get("failures"),
                              "command": p.command} for p in self.properties]).set_index("property")

    def _table(self) -> _Table:
        rows = tuple((p.name, p.status, p.message if len(p.message) <= 90 else p.message[:87] + "...")
                     for p in self.properties)
        return _Table(f"check-oracle {self.oracle} on {_system_title(self.raw['system'])}: {self.verdict}",
                      ("property", "status", "message"), rows)


def check_oracle(oracle: Any, system: str = "dirac", loss: Optional[str] = "wgan", *, regs: Specs = (),
                 convention: Optional[str] = None, convert: bool = False,
                 eta_range: tuple = (1e-3, 0.5), steps: int = 1000, max_examples: int = 500,
                 seed: Optional[int] = None, properties: Optional[Sequence[str]] = None,
                 starts: Optional[Sequence[str]] = None, optimizer: Optional[str] = None,
                 **config: Any) -> OracleCheckResult:
    """Fuzz an oracle's stability properties with Hypothesis (``stabcheck check-oracle``).

    Parameters
    ----------
    oracle : str or oracle object
        ``"dirac"``, ``"sim"``, ``"alt:n_d=5"``, ``"pkg.mod:Name"``, or an object with
        ``__call__(inp)`` and ``reset()``.
    system, loss, regs, convention, convert
        The game, by name (as ``--system``, ``--loss``, ``--reg``).
    eta_range : (a, b)
        Step sizes drawn log-uniformly in ``[a, b]`` plus the critical values inside.
    steps, max_examples, seed, properties, starts, optimizer
        As the command's ``--steps``, ``--max-examples``, ``--seed``, ``--properties``,
        ``--starts``, ``--optimizer``.
    **config
        Further fields of :class:`stabcheck.check_oracle.Config` (``C``, ``candidate``, ``rtol``,
        ``tol``, ``shrink_examples``, ``compare``, ``exclude_axes``, ...).
    """
    import dataclasses

    from stabcheck.check_oracle import DEFAULT_PROPERTIES, Config, check_oracle as _check_oracle
    from stabcheck.testing.strategies import KINDS

    names = {f.name for f in dataclasses.fields(Config)}
    bad = sorted(set(config) - names)
    if bad:
        raise BadInput(f"check_oracle has no option {bad[0]!r}; valid: {', '.join(sorted(names))}")
    if not (isinstance(eta_range, (list, tuple)) and len(eta_range) == 2):
        raise BadInput(f"eta_range must be a pair (a, b) with 0 < a <= b, got {eta_range!r}")
    props = tuple(_string_specs(properties, "properties")) if properties is not None else DEFAULT_PROPERTIES
    cfg = Config(eta_range=(float(eta_range[0]), float(eta_range[1])), steps=steps, max_examples=max_examples,
                 seed=seed, properties=props, starts=tuple(starts) if starts is not None else KINDS,
                 optimizer=optimizer, **config)
    if isinstance(oracle, str):
        spec, obj = oracle, None
    else:
        spec, obj = str(getattr(oracle, "name", None) or type(oracle).__name__), oracle
    rep = _check_oracle(spec, system=system, loss=loss, regs=_string_specs(regs, "regs"), convention=convention,
                        convert=convert, config=cfg, oracle=obj)
    props_out = tuple(PropertyResult(name=p["name"], status=p.get("status", "holds" if p.get("holds") else "fails"),
                                     holds=p.get("holds"), message=str(p.get("message", "")),
                                     counterexample=p.get("counterexample"), command=p.get("command"), raw=p)
                      for p in rep["properties"])
    return OracleCheckResult(oracle=rep["oracle"], verdict=rep["verdict"], properties=props_out, raw=rep)
