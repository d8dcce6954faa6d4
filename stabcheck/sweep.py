"""Stability maps: the spectral radius and verdict of a method over a grid of parameters.

A sweep evaluates, at every point of a Cartesian grid over numeric parameters of the game,
its regularizers and the method (and the step size ``eta``), the same quantities as
``stabcheck analyze``: the spectral radius ``rho`` of the Jacobian of the update map
``F_eta`` at the equilibrium, and the verdict (``converges`` / ``neutral`` / ``diverges``).

Grid syntax (``--grid``): comma-separated axes ``name=lo:hi:n[:log]`` - ``n`` points from
``lo`` to ``hi`` inclusive, evenly spaced, or geometrically spaced with ``:log``
(``lo > 0``); the grid is their Cartesian product, the first axis varying slowest::

    eta=1e-3:2:400:log,gamma=0:20:400

Parameter names (qualified, or bare when only one parameter has that name):

===================  ==========================================================================
``eta``              step size (> 0)
``jare.gamma`` ...   ``gamma`` of the method's field transform (jare, conopt, genreg, discreg)
``alt.n_d``,         Alt-GDA's step counts (integers; points are grouped by value)
``alt.n_g``
``sim.momentum`` ... heavy-ball momentum of the method's rule, in (-1, 1); ``RULE.ratio``: the
``sim.ratio`` ...    discriminator/generator step ratio (> 0); ``RULE.beta1`` with ``opt=adam``
                     (optimizer keys of :mod:`stabcheck.optimizers`; points grouped by value)
``noise.sigma``      instance noise of ``--reg noise`` (the spec may omit ``sigma``)
``r1.gamma`` ...     penalty weight of ``--reg r1`` / ``r2`` / ``gradnorm``
``gaussian.sigma2``  the Gaussian game's variance; ``gaussian.mean``: its mean (1-D game only)
``NAME``             a parameter of a user game factory (``--system pkg.mod:factory``)
===================  ==========================================================================

How it is computed (batched, no Python loop over points):

1. *Symbolic path* (built-in and sympy games). The game, its regularizers and the field
   transform are built **once** with sympy symbols in place of the swept parameters (the
   engine takes a sympy object wherever it takes a number), and the exact Jacobian of the
   transformed field at the equilibrium, ``J(p)``, is taken symbolically
   (:meth:`stabcheck.fields.Field.jacobian_exact`). It is compiled to numpy and evaluated on
   a block of grid points at once: a stack ``J`` of shape ``(B, d, d)``.
2. The update rule's **own code** (:meth:`stabcheck.rules.UpdateRule.step`) is run on a stack
   of identity states ``Z`` of shape ``(B, s, s)`` with the linear field ``v(X) = X J^T`` and
   ``eta`` of shape ``(B, 1, 1)``: the rules use only ``+``, ``*``, slicing of the last axis
   and concatenation on it, so they broadcast, and the result is the stack of map Jacobians
   ``A`` (as :func:`stabcheck.linearize.linear_map_matrix` builds one of them; the same chain
   rule argument makes it the Jacobian of the nonlinear map, see :mod:`stabcheck.linearize`).
3. ``numpy.linalg.eigvals`` of the stack ``A - I`` gives, per point, the eigenvalue shifts
   ``mu``; ``rho = max |1 + mu|`` and the verdict follows
   :func:`stabcheck.linearize.numeric_verdict_matrix` exactly (:func:`verdict_codes`):
   floating point, tolerance :data:`stabcheck.linearize.RHO_TOL` relative to ``|l - 1|``.
   ``stabcheck analyze`` decides verdicts *exactly* where it can (rational Jacobians); a
   sweep's verdicts are the floating-point ones, which agree with the exact ones except
   within the tolerance of a stability boundary.

Steps 2-3 as written are the *reference path* (``closed_form=False``). By default each block
runs in cache-sized pieces (:data:`_PIECE` points) through the same rule code on a *structure
of arrays* (an object array of identity states whose entries are whole vectors over the
points, structural zeros and ones skipped: :func:`_entry_map`), and, where the map splits by
its exact zeros into 1x1 and 2x2 blocks (the Dirac-GAN's 2x2 maps, the Gaussian game's
blocks), the eigenvalues come in closed form from trace and determinant: a lean first tier
decides the points far from every threshold (:func:`_fast_codes`), a second tier classifies
each eigenvalue with an error bound (:func:`_closed_form_codes`), and the points neither can
vouch for (the verdict within rounding of the tolerance, nearly repeated eigenvalues,
anything not finite) take the reference path - so the verdicts are the reference path's,
always, and ``rho`` agrees to rounding (tests/test_sweep.py). Larger blocks, and swept
optimizer parameters, take the reference path.

*Loop path* (torch user games, and parameters of user game factories, which have no symbolic
form): the field Jacobian is computed once per distinct combination of the non-``eta``
parameters (autodiff or exact, as ``analyze`` does) in a Python loop; ``eta`` and the rule
parameters are still batched. ``eta`` never needs a new Jacobian: only the map depends on it.

Execution: the grid is cut into blocks of ``chunk`` points, and each block is one task for an
executor (:mod:`stabcheck.executors`: ``serial`` or ``dask``). Each block is computed by the
same function from the same inputs on either executor, so for the same ``chunk`` the results
are bitwise identical.

Example
-------
>>> r = sweep("dirac", "wgan", "jare", "eta=0.01:1:3:log,gamma=0:2:3")
>>> r.shape, r.verdict_names()[0].tolist()
((3, 3), ['diverges', 'converges', 'converges'])
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.linearize import RHO_TOL
from stabcheck.rules import FieldFns

#: verdict code -> name (codes are stored as int8); 3: no eigenvalue outside the unit circle
#: but a Jordan block on it (polynomial growth, :func:`stabcheck.linearize.numeric_defective`)
VERDICTS = ("converges", "neutral", "diverges", "unbounded")
#: default grid points per task
DEFAULT_CHUNK = 65536


# ============================================================================ grid

@dataclass(frozen=True)
class Axis:
    """One grid axis: ``n`` values from ``lo`` to ``hi`` (inclusive), linear or log-spaced.

    ``name`` is what the user wrote; ``qualified`` (set by :func:`resolve`) the parameter it
    names (``jare.gamma``, ``r1.gamma``, ``eta``, ...).
    """

    name: str
    lo: float
    hi: float
    n: int
    log: bool = False
    qualified: str = ""

    @property
    def values(self) -> np.ndarray:
        if self.n == 1:
            return np.array([self.lo], dtype=float)
        if self.log:
            return np.geomspace(self.lo, self.hi, self.n)
        return np.linspace(self.lo, self.hi, self.n)

    @property
    def spec(self) -> str:
        return f"{self.name}={self.lo!r}:{self.hi!r}:{self.n}" + (":log" if self.log else "")

    def to_json(self) -> dict:
        return {"name": self.name, "parameter": self.qualified or self.name, "lo": self.lo, "hi": self.hi,
                "n": self.n, "log": self.log, "values": self.values.tolist()}


def parse_grid(text: str | Sequence[str]) -> list[Axis]:
    """Parse ``name=lo:hi:n[:log],...`` (several strings are joined by commas).

    >>> [a.spec for a in parse_grid("eta=1e-3:2:4:log,gamma=0:20:3")]
    ['eta=0.001:2.0:4:log', 'gamma=0.0:20.0:3']
    """
    if not isinstance(text, str):
        text = ",".join(text)
    if not text.strip():
        raise BadInput("empty --grid; expected name=lo:hi:n[:log],... e.g. eta=1e-3:2:400:log,gamma=0:20:400")
    axes, seen = [], set()
    for item in text.split(","):
        item = item.strip()
        name, eq, rng = item.partition("=")
        name = name.strip()
        parts = rng.split(":")
        if not eq or not name or len(parts) not in (3, 4) or (len(parts) == 4 and parts[3].strip() != "log"):
            raise BadInput(f"malformed grid axis {item!r}; expected name=lo:hi:n or name=lo:hi:n:log")
        try:
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise BadInput(f"grid axis {item!r}: lo and hi must be numbers") from None
        try:
            n = int(parts[2])
        except ValueError:
            raise BadInput(f"grid axis {item!r}: n must be an integer >= 1, got {parts[2]!r}") from None
        log = len(parts) == 4
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise BadInput(f"grid axis {item!r}: lo and hi must be finite")
        if n < 1:
            raise BadInput(f"grid axis {item!r}: n must be >= 1, got {n}")
        if n > MAX_GRID_POINTS:
            raise BadInput(f"grid axis {item!r}: {n} points is above the limit of {MAX_GRID_POINTS:,} grid points")
        if n == 1 and lo != hi:
            raise BadInput(f"grid axis {item!r}: one point needs lo == hi")
        if hi < lo:
            raise BadInput(f"grid axis {item!r}: hi must be >= lo")
        if log and lo <= 0:
            raise BadInput(f"grid axis {item!r}: a log axis needs lo > 0")
        if name in seen:
            raise BadInput(f"grid axis {name!r} given twice")
        seen.add(name)
        axes.append(Axis(name, lo, hi, n, log))
    total = math.prod(a.n for a in axes)
    if total > MAX_GRID_POINTS:
        raise BadInput(f"--grid has {total:,} points, above the limit of {MAX_GRID_POINTS:,} (about "
                       f"{MAX_GRID_POINTS * 9 // 2**20} MiB of results); split it into several sweeps")
    return axes


#: the most points one sweep takes (rho float64 + verdict int8 per point are held in memory)
MAX_GRID_POINTS = 50_000_000


# ============================================================================ parameters

@dataclass(frozen=True)
class _Param:
    """A sweepable parameter: where it lives and what values it accepts."""

    qualified: str
    owner: str  # eta | transform | rule | reg | game | user
    key: str
    index: int = -1  # regularizer position
    lower: Optional[float] = None  # values must be >= lower (or > lower if strict)
    strict: bool = False
    integer: bool = False
    assumptions: tuple = ()
    upper: Optional[float] = None  # values must be < upper


_REG_PARAMS = {"noise": ("sigma",), "r1": ("gamma",), "r2": ("gamma",), "gradnorm": ("gamma",)}


def available_parameters(system: str, method_spec, reg_specs) -> dict:
    """Qualified name -> :class:`_Param` for this system / method / regularizers."""
    out = {"eta": _Param("eta", "eta", "eta", lower=0.0, strict=True)}
    if method_spec.name in _TRANSFORMS():
        q = f"{method_spec.name}.gamma"
        out[q] = _Param(q, "transform", "gamma", lower=0.0, assumptions=(("nonnegative", True),))
    rule_name = method_spec.name if method_spec.name in _RULES() else method_spec.params.get("rule", "sim")
    if rule_name == "alt" and method_spec.name == "alt":
        for k in ("n_d", "n_g"):
            out[f"alt.{k}"] = _Param(f"alt.{k}", "rule", k, lower=1.0, integer=True)
    if isinstance(rule_name, str) and ":" in rule_name:
        rule_name = rule_name.split(":", 1)[0]
    if rule_name in _RULES():
        adam = method_spec.params.get("opt") == "adam"
        out[f"{rule_name}.ratio"] = _Param(f"{rule_name}.ratio", "rule", "ratio", lower=0.0, strict=True)
        if adam:
            out[f"{rule_name}.beta1"] = _Param(f"{rule_name}.beta1", "rule", "beta1", lower=0.0, upper=1.0)
        else:
            out[f"{rule_name}.momentum"] = _Param(f"{rule_name}.momentum", "rule", "momentum", lower=-1.0,
                                                  strict=True, upper=1.0)
    names = [s.name for s in reg_specs]
    for i, s in enumerate(reg_specs):
        for k in _REG_PARAMS.get(s.name, ()):
            q = f"{s.name}.{k}"
            if names.count(s.name) > 1:
                continue  # ambiguous: the same regularizer twice cannot be swept
            out[q] = _Param(q, "reg", k, index=i, lower=0.0, assumptions=(("nonnegative", True),))
    if system == "gaussian":
        out["gaussian.sigma2"] = _Param("gaussian.sigma2", "game", "sigma2", lower=0.0, strict=True,
                                        assumptions=(("positive", True),))
        out["gaussian.mean"] = _Param("gaussian.mean", "game", "mean", assumptions=(("real", True),))
    return out


def _TRANSFORMS():
    from stabcheck.fields import TRANSFORM_BLOCKS

    return TRANSFORM_BLOCKS


def _RULES():
    from stabcheck.rules import RULES

    return RULES


def resolve(axes: Sequence[Axis], system: str, method_spec, reg_specs) -> list[tuple[Axis, _Param]]:
    """Match each axis to a parameter (qualified or unambiguous bare name) and check its values."""
    avail = available_parameters(system, method_spec, reg_specs)
    user = ":" in system
    out, used = [], set()
    for ax in axes:
        if ax.name in avail:
            p = avail[ax.name]
        else:
            cands = [q for q in avail if q.split(".")[-1] == ax.name]
            if len(cands) == 1:
                p = avail[cands[0]]
            elif len(cands) > 1:
                raise BadInput(f"grid parameter {ax.name!r} is ambiguous; use one of {', '.join(cands)}")
            elif user and "." not in ax.name:
                p = _Param(ax.name, "user", ax.name)
            else:
                valid = ", ".join(avail) + (", or a parameter of the user game factory" if user else "")
                raise BadInput(f"unknown grid parameter {ax.name!r} for system {system!r} and method "
                               f"{method_spec.name!r}; valid: {valid}")
        if p.qualified in used:
            raise BadInput(f"grid parameter {p.qualified!r} given twice")
        used.add(p.qualified)
        vals = ax.values
        if p.lower is not None:
            bad = vals <= p.lower if p.strict else vals < p.lower
            if np.any(bad):
                raise BadInput(f"grid parameter {p.qualified}: values must be {'>' if p.strict else '>='} "
                               f"{p.lower:g}, got lo = {ax.lo!r}")
        if p.upper is not None and np.any(vals >= p.upper):
            raise BadInput(f"grid parameter {p.qualified}: values must be < {p.upper:g}, got hi = {ax.hi!r}")
        if p.integer and not np.all(vals == np.round(vals)):
            raise BadInput(f"grid parameter {p.qualified}: values must be integers (choose lo, hi, n so "
                           f"that the grid {ax.spec} hits integers only)")
        out.append((Axis(ax.name, ax.lo, ax.hi, ax.n, ax.log, p.qualified), p))
    return out


# ============================================================================ the plan

@dataclass
class _Plan:
    """Everything a block task needs (picklable: sympy expressions, numpy arrays, plain data)."""

    rule_name: str
    rule_params: dict
    n_gen: int
    dim: int
    axes_values: list  # list of 1-D arrays, one per axis
    eta_axis: Optional[int]
    eta_fixed: Optional[float]
    rule_axes: dict  # rule key -> axis index
    J_expr: Any = None  # sympy Matrix in the swept symbols (symbolic path)
    sym_axes: tuple = ()  # axis index of each symbol, in the order of J's symbols
    symbols: tuple = ()
    J_table: Optional[np.ndarray] = None  # (K, d, d) (loop path)
    table_axes: tuple = ()  # axis indices that index the table (C order)
    tol: float = RHO_TOL
    closed_form: bool = True  # closed-form eigenvalues where the map splits into 1x1 / 2x2 blocks
    J_key: Optional[tuple] = None  # cache key of the compiled J (set once by sweep)
    J_const: tuple = ()  # per entry of J (row-major): True where it does not depend on the symbols

    @property
    def shape(self) -> tuple:
        return tuple(len(v) for v in self.axes_values)

    def __getstate__(self):  # compiled functions stay in the process that made them
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


#: a valid value of each swept rule key (to validate the fixed keys before the sweep)
_AXIS_PROBE = {"n_d": 1, "n_g": 1, "ratio": 1.0, "momentum": 0.5, "beta1": 0.5}


_OPT_AXES = ("ratio", "momentum", "beta1")


def _make_rule(name: str, params: dict, arrays: Optional[dict] = None):
    """The rule with its fixed parameters; ``arrays`` holds swept optimizer keys as (B, 1, 1)."""
    from stabcheck.optimizers import OPTIMIZER_KEYS, Optimizer, coerce_optimizer_params, make_optimizer
    from stabcheck.rules import RULES

    cls, _ = RULES[name]
    rule_p = {k: v for k, v in params.items() if k not in OPTIMIZER_KEYS}
    opt_p = coerce_optimizer_params({k: v for k, v in params.items() if k in OPTIMIZER_KEYS}, what="update rule")
    if not arrays:
        return cls(**rule_p, optimizer=make_optimizer(opt_p))
    kind = opt_p.pop("opt", "sgd")
    return cls(**rule_p, optimizer=Optimizer.batched(kind, **{**opt_p, **arrays}))


def _jacobian_fn(plan: _Plan):
    """``f(P (B, k)) -> J (B, d, d)``, compiled once per process (cached by expression)."""
    key = plan.J_key or (str(plan.J_expr), tuple(str(s) for s in plan.symbols))
    fn = _FN_CACHE.get(key)
    if fn is None:
        from stabcheck.games.base import lambdify_vector

        fn = lambdify_vector(list(plan.J_expr), list(plan.symbols), "numpy")
        if len(_FN_CACHE) > 64:
            _FN_CACHE.clear()
        _FN_CACHE[key] = fn
    return fn


_FN_CACHE: dict = {}


def batched_map_matrices(rule, J: np.ndarray, eta: np.ndarray, n_gen: int) -> np.ndarray:
    """Jacobians of the rule's maps for a stack of field Jacobians.

    Parameters
    ----------
    rule : UpdateRule
    J : array (B, d, d)
        Field Jacobians at the equilibrium (rows = field components, columns = parameters).
    eta : array (B,)
        Step sizes.
    n_gen : int
        Generator dimension (splits V1 / V2).

    Returns
    -------
    A : array (B, s, s)
        ``A[b]`` is the Jacobian of ``F_eta[b]`` in the rule's state coordinates, equal to
        ``linear_map_matrix(rule, J[b], eta[b], n_gen)``: the rule runs on stacked identity
        states with the linear field ``v(X) = X J^T``.
    """
    J = np.asarray(J, dtype=float)
    B, d = J.shape[0], J.shape[1]
    s = rule.state_dim(d)
    Z = np.broadcast_to(np.eye(s), (B, s, s)).copy()
    JT = np.swapaxes(J, 1, 2)
    fns = FieldFns(lambda X: np.matmul(X, JT), n_gen, d, backend="numpy")
    out = rule.step(Z, fns, np.asarray(eta, dtype=float).reshape(B, 1, 1))
    return np.swapaxes(out, 1, 2)


def verdict_codes(A: np.ndarray, tol: float = RHO_TOL) -> tuple[np.ndarray, np.ndarray]:
    """Spectral radius and verdict code (0 converges, 1 neutral, 2 diverges) of a stack ``A``.

    The batched form of :func:`stabcheck.linearize.numeric_verdict_matrix` (same rule, same
    tolerance): with ``mu`` the eigenvalues of ``A - I``, the margin of each eigenvalue
    ``l = 1 + mu`` is ``g = |l|^2 - 1 = 2 Re(mu) + |mu|^2``; the map diverges if some
    ``g > tol |mu|`` (or a value is not finite), converges if every ``g < -tol |mu|``, and is
    neutral otherwise. ``rho = max |1 + mu|`` (inf for non-finite matrices).
    """
    A = np.asarray(A, dtype=float)
    B, s = A.shape[0], A.shape[-1]
    codes = np.full(B, 2, dtype=np.int8)
    rho = np.full(B, np.inf)
    if s == 0:
        return np.zeros(B, dtype=np.int8), np.zeros(B)
    ok = np.all(np.isfinite(A.reshape(B, -1)), axis=1)
    if np.any(ok):
        mu = np.linalg.eigvals(A[ok] - np.eye(s))
        g = 2 * np.real(mu) + np.abs(mu) ** 2
        scale = np.maximum(np.abs(mu), 1e-300)
        finite = np.all(np.isfinite(g), axis=1)
        div = ~finite | np.any(g > tol * scale, axis=1)
        conv = ~div & np.all(g < -tol * scale, axis=1)
        c = np.where(div, 2, np.where(conv, 0, 1)).astype(np.int8)
        _mark_defective(A[ok], mu, g, scale, c, tol)
        codes[ok] = c
        with np.errstate(invalid="ignore"):
            r = np.max(np.abs(1 + mu), axis=1)
        rho[ok] = np.where(np.isfinite(r), r, np.inf)
    return codes, rho


def _mark_defective(A: np.ndarray, mu: np.ndarray, g: np.ndarray, scale: np.ndarray, c: np.ndarray, tol: float) -> None:
    """Neutral points (code 1) whose unit-circle eigenvalues cluster -> code 3 where the
    cluster lacks eigenvectors (:func:`stabcheck.linearize.numeric_defective`, run only on
    points with two unit-circle eigenvalues within its cluster tolerance)."""
    from stabcheck.linearize import CLUSTER_TOL, numeric_defective

    idx = np.flatnonzero(c == 1)
    if len(idx) == 0 or mu.shape[1] < 2:
        return
    on = np.abs(g[idx]) <= tol * scale[idx]
    lam = 1 + mu[idx]
    delta = CLUSTER_TOL * (1.0 + np.max(np.abs(A[idx].reshape(len(idx), -1)), axis=1))
    close = np.abs(lam[:, :, None] - lam[:, None, :]) <= delta[:, None, None]
    close &= on[:, :, None] & on[:, None, :]
    close &= ~np.eye(mu.shape[1], dtype=bool)[None]
    for i in idx[np.any(close, axis=(1, 2))]:
        if numeric_defective(A[i], tol):
            c[i] = 3


def evaluate_block(plan: _Plan, bounds: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Spectral radii and verdict codes of grid points ``start <= i < stop`` (C order).

    The task function of a sweep: module level and pure, so any executor can run it. With
    ``plan.closed_form`` (the default) the block runs in cache-sized pieces through
    :func:`_closed_form_piece` (the rule's own code on per-entry vectors, then eigenvalues in
    closed form where the map splits into 1x1 and 2x2 blocks), which falls back to
    :func:`reference_block` (the batched map and :func:`verdict_codes`) wherever it cannot
    vouch for the same verdict; otherwise the whole block takes the reference path.
    """
    start, stop = bounds
    if not plan.closed_form or any(k in _OPT_AXES for k in plan.rule_axes):
        return reference_block(plan, bounds)
    rho = np.empty(stop - start)
    codes = np.empty(stop - start, dtype=np.int8)
    pending: list = []  # (positions in the block, N restricted to them, blocks) for the second tier
    redo: list = []  # positions in the block for the reference path
    redo_codes: list = []  # positions whose verdict (only) comes from the reference path
    cache: dict = {}  # rule objects by parameters, the map's field functions
    with np.errstate(all="ignore"):
        for s in range(start, stop, _PIECE):
            _closed_form_piece(plan, s, min(s + _PIECE, stop), start, rho, codes, pending, redo, cache)
    by_comps: dict = {}
    for pos, Nr, comps in pending:
        by_comps.setdefault(repr(comps), []).append((pos, Nr, comps))
    with np.errstate(all="ignore"):
        for items in by_comps.values():
            pos = np.concatenate([it[0] for it in items])
            comps = items[0][2]
            size = len(items[0][1])
            N = [[_concat_entries([it[1][i][j] for it in items], [len(it[0]) for it in items])
                  for j in range(size)] for i in range(size)]
            r, c, unsure, rho_unsure = _closed_form_codes(N, comps, len(pos), plan.tol)
            rho[pos], codes[pos] = r, c
            if unsure.any():
                redo_codes.append(pos[unsure & ~rho_unsure])
                redo.append(pos[rho_unsure])
    if redo:  # verdict and rho from the reference path
        pts = np.concatenate(redo)
        r, c = _reference_points(plan, start + pts)
        rho[pts], codes[pts] = r, c
    if redo_codes:  # the verdict from the reference path, rho from the closed form
        pts = np.concatenate(redo_codes)
        codes[pts] = _reference_points(plan, start + pts)[1]
    return rho, codes


def _concat_entries(parts: list, lengths: list):
    if all(p is _ZERO for p in parts):
        return _ZERO
    return np.concatenate([np.broadcast_to(0.0 if p is _ZERO else p, (n,)) for p, n in zip(parts, lengths)])


def reference_block(plan: _Plan, bounds: tuple) -> tuple[np.ndarray, np.ndarray]:
    """:func:`evaluate_block` by the reference path: the stack of map Jacobians
    (:func:`batched_map_matrices`) and ``numpy.linalg.eigvals`` (:func:`verdict_codes`)."""
    start, stop = bounds
    return _reference_points(plan, np.arange(start, stop))


def _reference_points(plan: _Plan, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference path at the grid points with C-order indices ``flat``."""
    B = len(flat)
    if B == 0:
        return np.empty(0), np.empty(0, dtype=np.int8)
    idx = np.unravel_index(flat, plan.shape)
    cols = [plan.axes_values[a][idx[a]] for a in range(len(plan.shape))]
    eta = cols[plan.eta_axis] if plan.eta_axis is not None else np.full(B, plan.eta_fixed)
    if plan.J_expr is not None:
        P = np.stack([cols[a] for a in plan.sym_axes], axis=-1) if plan.sym_axes else np.zeros((B, 0))
        J = _jacobian_fn(plan)(P).reshape(B, plan.dim, plan.dim)
    else:
        if plan.table_axes:
            sub_shape = tuple(len(plan.axes_values[a]) for a in plan.table_axes)
            k = np.ravel_multi_index(tuple(idx[a] for a in plan.table_axes), sub_shape)
        else:
            k = np.zeros(B, dtype=np.intp)
        J = plan.J_table[k]
    codes = np.empty(B, dtype=np.int8)
    rho = np.empty(B)
    # optimizer keys broadcast as (B, 1, 1) arrays; the rule's own integer keys group points
    opt_keys = [k for k in plan.rule_axes if k in _OPT_AXES]
    int_keys = [k for k in plan.rule_axes if k not in _OPT_AXES]
    if int_keys:
        combo = np.stack([cols[plan.rule_axes[k]] for k in int_keys], axis=-1)
        uniq, inv = np.unique(combo, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        groups = [(dict(plan.rule_params, **{k: int(u[j]) for j, k in enumerate(int_keys)}), inv == g)
                  for g, u in enumerate(uniq)]
    else:
        groups = [(plan.rule_params, slice(None))]
    for params, sel in groups:
        arrays = {k: np.asarray(cols[plan.rule_axes[k]], dtype=float)[sel].reshape(-1, 1, 1) for k in opt_keys}
        rule = _make_rule(plan.rule_name, params, arrays)
        with np.errstate(over="ignore", invalid="ignore"):
            A = batched_map_matrices(rule, J[sel], eta[sel], plan.n_gen)
        c, r = verdict_codes(A, plan.tol)
        codes[sel], rho[sel] = c, r
    return rho, codes


# ============================================================================ closed forms

#: grid points per piece of the closed-form path: its numpy calls on whole vectors amortize the
#: Python overhead of the rule code and the tiers (65536: 1.6-2x the speed of 16384 here)
_PIECE = 65536
#: the closed form's eigenvalue error bound is ``_EPS_FACTOR * eps * (1 + |N|) * kappa``
_EPS_FACTOR = 64.0
#: two eigenvalues of a 2x2 block closer than this (relative to |N|) go to the reference path
_SEP_MIN = 1e-3
_EPS = float(np.finfo(float).eps)
#: neutral points with two unit-circle eigenvalues within ``_CLUSTER_GUARD (2 + |N|)`` go to the
#: reference path, which tests clusters for Jordan blocks (covers linearize's cluster tolerance, 1e-6)
_CLUSTER_GUARD = 1e-5


class _ZeroT:
    """A structural zero: ``0 * x = 0``, ``0 + x = x`` without touching ``x`` (numpy defers to it)."""

    __slots__ = ()
    __array_ufunc__ = None

    def __mul__(self, o):
        return self

    __rmul__ = __mul__

    def __truediv__(self, o):
        return self

    def __add__(self, o):
        return o

    __radd__ = __add__

    def __sub__(self, o):
        return -o

    def __rsub__(self, o):
        return o

    def __neg__(self):
        return self

    def __pos__(self):
        return self

    def __repr__(self):
        return "ZERO"


class _OneT:
    """A structural one: ``1 * x = x`` without touching ``x``."""

    __slots__ = ()
    __array_ufunc__ = None

    def __mul__(self, o):
        return o

    __rmul__ = __mul__

    def __add__(self, o):
        return 1.0 + o

    __radd__ = __add__

    def __sub__(self, o):
        return 1.0 - o

    def __rsub__(self, o):
        if type(o) in (int, float) and o == 1:
            return _ZERO
        return o - 1.0

    def __neg__(self):
        return -1.0

    def __pos__(self):
        return self

    def __truediv__(self, o):
        return 1.0 / o

    def __rtruediv__(self, o):
        return o

    def __repr__(self):
        return "ONE"


_ZERO, _ONE = _ZeroT(), _OneT()


def _is_zero(e) -> bool:
    if e is _ZERO:
        return True
    if isinstance(e, np.ndarray):
        return not e.any()
    return e is not _ONE and e == 0


def _axis_column(values: np.ndarray, after: int, start: int, stop: int) -> np.ndarray:
    """The values of one grid axis at the C-order points ``start <= i < stop``; ``after`` is
    the number of points of the later axes (1 for the last axis). Tiles and repeats, no
    index arithmetic per point."""
    n = len(values)
    if after == 1:
        off = start % n
        reps = -(-(off + stop - start) // n)
        return np.tile(values, reps)[off:off + stop - start] if reps > 1 else values[off:off + stop - start]
    q0, q1 = start // after, (stop - 1) // after
    seq = values[np.arange(q0, q1 + 1) % n]
    return np.repeat(seq, after)[start - q0 * after:stop - q0 * after]


def _entry_sources(plan: _Plan) -> list:
    """How to get each entry of J (row-major) on a piece, prepared once per process per plan:
    ``("const", value)``, ``("axis", axis, table)`` (J depends on one grid axis only: its
    values tabulated once per axis value, then tiled like the axis itself), or
    ``("points", fn_or_table_index)`` (several axes: evaluated / gathered per point)."""
    hit = plan.__dict__.get("_sources")
    if hit is not None:
        return hit
    d = plan.dim
    out: list = []
    if plan.J_expr is not None:
        from stabcheck.games.base import lambdify_vector

        const = plan.J_const or tuple(e.free_symbols.isdisjoint(plan.symbols) for e in plan.J_expr)
        compiled: dict = {}  # one compiled function per distinct expression

        def fn(e):
            ek = str(e)
            if ek not in compiled:
                compiled[ek] = lambdify_vector([e], list(plan.symbols), "numpy")
            return compiled[ek]

        one = len(plan.sym_axes) == 1
        vals = plan.axes_values[plan.sym_axes[0]].reshape(-1, 1) if one else None
        tables: dict = {}
        for k, e in enumerate(plan.J_expr):
            if e.is_Rational:
                out.append(("const", float(e)))
            elif const[k]:
                out.append(("const", float(fn(e)(np.zeros((1, len(plan.symbols))))[0, 0])))
            elif one:
                f = fn(e)
                if id(f) not in tables:
                    tables[id(f)] = np.ascontiguousarray(f(vals)[:, 0])
                out.append(("axis", plan.sym_axes[0], tables[id(f)]))
            else:
                out.append(("points", fn(e)))
    else:
        T = plan.J_table.reshape(len(plan.J_table), d * d)
        for k in range(d * d):
            col = np.ascontiguousarray(T[:, k])
            if np.all(col == col[0]):
                out.append(("const", float(col[0])))
            elif len(plan.table_axes) == 1:
                out.append(("axis", plan.table_axes[0], col))
            else:
                out.append(("points", k))
    plan.__dict__["_sources"] = out  # per process: dropped when the plan is pickled
    return out


def _afters(plan: _Plan) -> list:
    """Per axis: the number of grid points of the later axes (C order)."""
    hit = plan.__dict__.get("_afters")
    if hit is None:
        shape = plan.shape
        hit = plan.__dict__["_afters"] = [math.prod(shape[a + 1:]) for a in range(len(shape))]
    return hit


def _jacobian_entries(plan: _Plan, start: int, stop: int):
    """The field Jacobian at the points ``start <= i < stop`` as a d x d nested list of
    entries: :data:`_ZERO`, a float (the same at every point) or a float array (B,); and a
    (B,) mask of points whose Jacobian is not finite (None if there are none; those points go
    to the reference path)."""
    d = plan.dim
    B = stop - start
    after = _afters(plan)
    entries: list = []
    bad = None
    cols = P = kidx = None
    done: dict = {}
    for src in _entry_sources(plan):
        kind = src[0]
        if kind == "const":
            v = src[1]
            if not math.isfinite(v):
                bad = np.ones(B, dtype=bool)
            entries.append(_ZERO if v == 0.0 else v)
            continue
        if kind == "axis":
            ax, table = src[1], src[2]
            if id(table) not in done:
                col = _axis_column(table, after[ax], start, stop)
                if not np.all(np.isfinite(table)):
                    b = ~np.isfinite(col)
                    bad = b if bad is None else (bad | b)
                done[id(table)] = col
            entries.append(done[id(table)])
            continue
        if cols is None:
            cols = [_axis_column(plan.axes_values[a], after[a], start, stop) for a in range(len(plan.shape))]
        if plan.J_expr is not None:
            fn = src[1]
            if id(fn) not in done:
                if P is None:
                    P = np.stack([cols[a] for a in plan.sym_axes], axis=-1)
                col = fn(P)[:, 0]
                b = ~np.isfinite(col)
                if b.any():
                    bad = b if bad is None else (bad | b)
                done[id(fn)] = col
            entries.append(done[id(fn)])
        else:
            if kidx is None:
                idx = np.unravel_index(np.arange(start, stop), plan.shape)
                sub_shape = tuple(len(plan.axes_values[a]) for a in plan.table_axes)
                kidx = np.ravel_multi_index(tuple(idx[a] for a in plan.table_axes), sub_shape)
            col = plan.J_table.reshape(len(plan.J_table), d * d)[kidx, src[1]]
            b = ~np.isfinite(col)
            if b.any():
                bad = b if bad is None else (bad | b)
            entries.append(col)
    return [entries[i * d:(i + 1) * d] for i in range(d)], bad


def _entry_map(rule, Je, eta, n_gen: int, d: int, cache: Optional[dict] = None) -> list:
    """The rule's map Jacobian, entry by entry: the rule's own code runs on an object array
    of identity states whose entries are whole vectors over the points (structure of arrays),
    with structural zeros and ones (:data:`_ZERO`, :data:`_ONE`) that cost nothing; the
    partial fields V1 / V2 compute only their player's components. Returns ``A`` as an s x s
    nested list (``A[i][j]``: d(out_i)/d(state_j)), entries as in :func:`_jacobian_entries`.
    The same arithmetic as :func:`batched_map_matrices` up to the order of floating-point
    operations (products by exact 0 and 1 are skipped)."""
    s = rule.state_dim(d)
    Z = np.empty((s, s), dtype=object)
    for i in range(s):
        for j in range(s):
            Z[i, j] = _ONE if i == j else _ZERO
    rows = [[(k, e) for k, e in enumerate(Je[j]) if e is not _ZERO] for j in range(d)]

    def part(comps):
        def v(X):
            out = np.empty(X.shape, dtype=object)
            out[...] = _ZERO
            for ix in np.ndindex(*X.shape[:-1]):
                x = X[ix]
                for j in comps:
                    acc = _ZERO
                    for k, e in rows[j]:
                        acc = acc + x[k] * e
                    out[ix + (j,)] = acc
            return out

        return v

    fns = FieldFns(part(range(d)), n_gen, d, backend="numpy", v1=part(range(n_gen)), v2=part(range(n_gen, d)))
    fns._m1 = np.array([_ONE] * n_gen + [_ZERO] * (d - n_gen), dtype=object)
    fns._m2 = np.array([_ZERO] * n_gen + [_ONE] * (d - n_gen), dtype=object)
    if isinstance(eta, np.ndarray):
        e = np.empty((), dtype=object)
        e[()] = eta
        eta = e
    out = rule.step(Z, fns, eta)
    return [[out[j, i] for j in range(s)] for i in range(s)]


def _components(N: list) -> Optional[list]:
    """Index groups of a block-diagonal structure of ``N`` (after a permutation) with blocks of
    size 1 or 2; None when a block is larger."""
    s = len(N)
    parent = list(range(s))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(s):
        for j in range(s):
            if i != j and not _is_zero(N[i][j]):
                parent[root(i)] = root(j)
    groups: dict = {}
    for i in range(s):
        groups.setdefault(root(i), []).append(i)
    out = list(groups.values())
    return out if max(len(g) for g in out) <= 2 else None


def _shifted(A: list) -> list:
    """``N = A - I`` (nested lists of entries)."""
    s = len(A)
    N = [[A[i][j] for j in range(s)] for i in range(s)]
    for i in range(s):
        N[i][i] = _ZERO if N[i][i] is _ONE else N[i][i] - 1.0
    return N


def _closed_form_codes(N: list, comps: list, B: int, tol: float):
    """rho, verdict codes and a mask of points the closed form cannot vouch for, from
    ``N = A - I`` (nested list, :func:`_entry_map`, :func:`_shifted`) split into the 1x1 and
    2x2 blocks ``comps`` (:func:`_components`), eigenvalue by eigenvalue.

    Per block ``[[a, b], [c, d]]`` of ``N = A - I``: ``T = a + d``, ``D = ad - bc``,
    ``disc = T^2 - 4D``; complex pair (``disc < 0``): ``mu = T/2 +- i sqrt(-disc)/2``,
    ``g = |1 + mu|^2 - 1 = T + D``, ``|mu| = sqrt(D)``, ``|1 + mu| = sqrt((1 + T/2)^2 - disc/4)``;
    real pair: ``mu1 = (T + sign(T) sqrt(disc)) / 2``, ``mu2 = D / mu1``, ``g = mu (2 + mu)``.
    The verdict is :func:`verdict_codes`'s rule on these eigenvalues. Each computed eigenvalue
    (here and in ``eigvals``) is within ``E = 64 eps (1 + |N|) kappa`` of the exact one, with
    ``kappa = 1 + |N_b| / sqrt(|disc|)`` (``|N|`` the entrywise 1-norm, ``N_b`` the block: the
    eigenvectors of a block-diagonal matrix live in their block); a point is *unsure* where
    ``| |g| - tol |mu| |`` is within twice the resulting bound on the error of ``g`` (the
    verdict could depend on rounding), where the block's eigenvalues are nearly repeated
    (``sqrt(|disc|) < 1e-3 |N_b|``), or where anything is not finite or ``|N| >= 1e100``.
    ``rho`` is :func:`_rho2`'s; the last mask marks the points where it is not to be trusted
    (nearly repeated eigenvalues, not finite), whose ``rho`` comes from the reference path too.
    """
    s = len(N)
    nrm = np.zeros(B)
    for i in range(s):
        for j in range(s):
            e = N[i][j]
            if e is not _ZERO:
                nrm += np.abs(e)
    one_nrm = 1.0 + nrm
    unsure = ~(nrm < 1e100)
    rho_unsure = unsure.copy()
    div = np.zeros(B, dtype=bool)
    conv = np.ones(B, dtype=bool)
    rho = np.zeros(B)

    def f(e):
        return 0.0 if e is _ZERO else e

    blocks_on = np.zeros(B, dtype=np.int64)  # blocks with an eigenvalue on the unit circle
    pair_close = np.zeros(B, dtype=bool)  # a 2x2 block with both on the circle, close together
    close = _CLUSTER_GUARD * (2.0 + nrm)  # >= the reference's cluster distance (1 + max |A|) CLUSTER_TOL

    def classify(g, mu_abs, dg):
        nonlocal div, conv, unsure
        t = tol * mu_abs
        ag = np.abs(g)
        div |= g > t
        conv &= g < -t
        unsure |= np.abs(ag - t) <= 2.0 * dg
        unsure |= ~np.isfinite(g)  # N is finite here: let the reference path see it
        div |= ~np.isfinite(g)
        return ag <= t

    for comp in comps:
        if len(comp) == 1:
            i = comp[0]
            mu = f(N[i][i]) + np.zeros(B)
            E = (_EPS_FACTOR * _EPS) * one_nrm
            dg = 2.0 * one_nrm * E + E * E
            blocks_on += classify(mu * (2.0 + mu), np.abs(mu), dg)
            np.maximum(rho, np.abs(1.0 + mu), out=rho)
            continue
        i, j = comp
        a, b, c, d = f(N[i][i]), f(N[i][j]), f(N[j][i]), f(N[j][j])
        T = a + d + np.zeros(B)
        D = a * d - b * c
        disc = T * T - 4.0 * D
        sq = np.sqrt(np.abs(disc))
        cplx = disc < 0
        m1 = 0.5 * (T + np.copysign(sq, T))
        m2 = D / m1
        mu1 = np.where(cplx, np.sqrt(np.abs(D)), np.abs(m1))
        mu2 = np.where(cplx, mu1, np.abs(m2))
        gc = T + D
        g1 = np.where(cplx, gc, m1 * (2.0 + m1))
        g2 = np.where(cplx, gc, m2 * (2.0 + m2))
        nb = np.abs(a) + np.abs(b) + np.abs(c) + np.abs(d)  # the block's scale (its eigenvalues' conditioning)
        E = (_EPS_FACTOR * _EPS) * one_nrm * (1.0 + nb / sq)
        dg = 2.0 * one_nrm * E + E * E
        unsure |= ~(sq > _SEP_MIN * nb)  # (a zero block: 0/0 below)
        on1, on2 = classify(g1, mu1, dg), classify(g2, mu2, dg)
        blocks_on += on1 | on2
        pair_close |= on1 & on2 & (sq <= close)
        r, h = _rho2(a, b, c, d, B)
        rho_unsure |= ~(h >= (0.5 * _SEP_MIN) * nb)
        np.maximum(rho, r, out=rho)
    codes = np.where(div, 2, np.where(conv, 0, 1)).astype(np.int8)
    # a neutral point whose unit-circle eigenvalues may cluster could be a Jordan block: the
    # reference path decides it (neutral or unbounded)
    unsure |= (codes == 1) & (pair_close | (blocks_on >= 2))
    rho = np.where(np.isfinite(rho), rho, np.inf)
    rho_unsure |= ~np.isfinite(rho)
    return rho, codes, unsure | rho_unsure, rho_unsure


def _rho2(a, b, c, d, B: int):
    """``max |l|`` of the 2x2 block ``I + [[a, b], [c, d]]`` and ``h = sqrt|q|`` (half the
    eigenvalue gap), ``q = (T/2)^2 - D``: ``|1 + T/2| + h`` for real eigenvalues (``q >= 0``),
    ``sqrt((1 + T/2)^2 + |q|)`` for a complex pair; sums of non-negative terms (no
    cancellation). Both tiers call this one function, so ``rho`` does not depend on which
    tier decided a point (nor on the chunking)."""
    t2 = a + d + np.zeros(B) if np.ndim(a) + np.ndim(d) == 0 else a + d
    t2 *= 0.5
    q = t2 * t2
    det = a * d
    det -= b * c
    q -= det
    real = q >= 0
    np.abs(q, out=q)
    h = np.sqrt(q)
    t2 += 1.0
    u = np.abs(t2, out=t2)
    rc = u * u  # complex pair: |l|^2 = (1 + T/2)^2 - q
    rc += q
    np.sqrt(rc, out=rc)
    u += h  # real pair: max |l| = |1 + T/2| + sqrt(q)
    np.copyto(rc, u, where=real)
    return rc, h


def _fast_codes(N: list, comps: list, B: int, tol: float):
    """The first, leanest tier: rho, codes and a mask of the points it decides.

    Per 2x2 block of ``N = A - I`` (``T`` trace, ``D`` determinant, ``q = (T/2)^2 - D``):
    ``max |l| = |1 + T/2| + sqrt(q)`` for real eigenvalues (``q >= 0``) and
    ``max |l|^2 = (1 + T/2)^2 - q`` for a complex pair; 1x1 blocks give ``|1 + N_ii|``. With
    ``rho^2`` the largest over the blocks and ``G = rho^2 - 1`` the largest growth margin, a
    point *converges* where ``G < -lim`` and *diverges* where ``G > lim``, for one bound per
    piece, ``lim = tol (n + E) + 2 E (2 (1 + n) + E)``, ``n`` the piece's largest entrywise
    1-norm of ``N`` (which bounds every ``|mu|``) and ``E = 64 eps (1 + n) (1 + 1e3)`` the
    eigenvalue error bound of :func:`_closed_form_codes` on the points it keeps (eigenvalues
    of each block at least ``1e-3`` times the block's largest entrywise 1-norm apart); ``rho`` comes from the same closed forms
    (sums of non-negative terms: no cancellation). Points where it cannot decide (near
    ``rho = 1``, neutral, nearly repeated eigenvalues, anything not finite) are left to
    :func:`_closed_form_codes` and, after it, the reference path.
    """
    def maxabs(e):
        if e is _ZERO:
            return 0.0
        if isinstance(e, np.ndarray):
            return max(float(e.max()), -float(e.min())) if e.size else 0.0
        return abs(float(e))

    n = sum(maxabs(e) for row in N for e in row)
    if not n < 1e100:  # also NaN: every point to the per-point tiers
        return np.zeros(B), np.zeros(B, dtype=np.int8), np.zeros(B, dtype=bool)
    E = (_EPS_FACTOR * _EPS) * (1.0 + n) * (1.0 + 1.0 / _SEP_MIN)
    lim = tol * (n + E) + 2.0 * E * (2.0 * (1.0 + n) + E)
    rho = None
    ok = None
    for comp in comps:
        if len(comp) == 1:
            mu = N[comp[0]][comp[0]]
            rc = np.abs(1.0 + (0.0 if mu is _ZERO else mu))
        else:
            i, j = comp
            blk = (N[i][i], N[i][j], N[j][i], N[j][j])
            rc, h = _rho2(*(0.0 if e is _ZERO else e for e in blk), B)
            sep = h >= (0.5 * _SEP_MIN) * sum(maxabs(e) for e in blk)  # the block's own scale
            ok = sep if ok is None else (ok & sep)
        rho = rc if rho is None else np.maximum(rho, rc)
    if np.ndim(rho) == 0:
        rho = np.full(B, float(rho))
    G = rho * rho
    G -= 1.0
    div = G > lim
    dec = G < -lim
    dec |= div
    if ok is not None:
        dec &= ok
    codes = div.view(np.int8) * np.int8(2)
    return rho, codes, dec


def closed_form_verdict_codes(A: np.ndarray, tol: float = RHO_TOL) -> tuple[np.ndarray, np.ndarray]:
    """:func:`verdict_codes` of a stack ``A`` (B, s, s) by the sweep's closed forms: the same
    codes, ``rho`` equal to rounding (tested). Maps that do not split into 1x1 and 2x2
    blocks (by their exact zeros), and the points the closed forms cannot vouch for, go to
    :func:`verdict_codes` itself."""
    A = np.asarray(A, dtype=float)
    B, s = A.shape[0], A.shape[-1]
    if s == 0 or B == 0:
        return verdict_codes(A, tol)
    with np.errstate(all="ignore"):
        ents = [[np.ascontiguousarray(A[:, i, j]) for j in range(s)] for i in range(s)]
        ents = [[_ZERO if not e.any() else e for e in row] for row in ents]
        N = _shifted(ents)
        comps = _components(N)
        if comps is None:
            return verdict_codes(A, tol)
        rho, codes, dec = _fast_codes(N, comps, B, tol)
        dec &= np.all(np.isfinite(A.reshape(B, -1)), axis=1)
        redo = np.flatnonzero(~dec)
        if len(redo):
            Nr = [[e[redo] if isinstance(e, np.ndarray) else e for e in row] for row in N]
            r, c, unsure, rho_unsure = _closed_form_codes(Nr, comps, len(redo), tol)
            rho[redo], codes[redo] = r, c
            redo, keep_rho = redo[unsure], ~rho_unsure[unsure]
    if len(redo):
        c, r = verdict_codes(A[redo], tol)
        codes[redo] = c
        rho[redo] = np.where(keep_rho, rho[redo], r)
    return codes, rho


def _closed_form_piece(plan: _Plan, start: int, stop: int, base: int, rho, codes, pending: list,
                       redo: list, cache: dict) -> None:
    """The first tier on points ``start <= i < stop``: writes ``rho`` and ``codes`` (arrays of
    the block that starts at ``base``) where :func:`_fast_codes` decides, and queues the rest
    (``pending`` for :func:`_closed_form_codes`, ``redo`` for the reference path)."""
    B = stop - start
    after = _afters(plan)

    def column(a):
        return _axis_column(plan.axes_values[a], after[a], start, stop)

    eta = column(plan.eta_axis) if plan.eta_axis is not None else float(plan.eta_fixed)
    Je, bad = _jacobian_entries(plan, start, stop)
    int_keys = list(plan.rule_axes)
    if int_keys:
        combo = np.stack([column(plan.rule_axes[k]) for k in int_keys], axis=-1)
        uniq, inv = np.unique(combo, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        groups = [(dict(plan.rule_params, **{k: int(u[j]) for j, k in enumerate(int_keys)}),
                   np.flatnonzero(inv == g)) for g, u in enumerate(uniq)]
    else:
        groups = [(plan.rule_params, None)]
    for params, sel in groups:
        rkey = repr(sorted(params.items()))
        rule = cache.get(rkey)
        if rule is None:
            rule = cache[rkey] = _make_rule(plan.rule_name, params)
        if sel is None:
            Js, eta_s, n, pos = Je, eta, B, slice(start - base, stop - base)
            bad_s = bad
        else:
            Js = [[e[sel] if isinstance(e, np.ndarray) else e for e in row] for row in Je]
            eta_s, n, pos = (eta[sel] if isinstance(eta, np.ndarray) else eta), len(sel), start - base + sel
            bad_s = None if bad is None else bad[sel]
        N = _shifted(_entry_map(rule, Js, eta_s, plan.n_gen, plan.dim, cache))
        comps = _components(N)
        if comps is None:
            redo.append(np.arange(start - base, stop - base) if sel is None else pos)
            continue
        r, c, dec = _fast_codes(N, comps, n, plan.tol)
        if bad_s is not None:
            dec &= ~bad_s
        rho[pos], codes[pos] = r, c
        if not dec.all():
            where = np.arange(start - base, stop - base) if sel is None else pos
            rest = np.flatnonzero(~dec)
            if bad_s is not None:
                hard = bad_s[rest]
                redo.append(where[rest[hard]])
                rest = rest[~hard]
            if len(rest):
                Nr = [[e[rest] if isinstance(e, np.ndarray) else e for e in row] for row in N]
                pending.append((where[rest], Nr, comps))


# ============================================================================ building the plan

def _symbol(p: _Param, i: int):
    import sympy as sp

    return sp.Symbol(f"_sweep{i}_{p.key}", **dict(p.assumptions))


def _symbolic_game(system, loss, params, reg_specs, convention, values: dict):
    """The game with sympy symbols (or numbers) for its swept parameters; ``values`` maps
    ``("game", key)`` / ``("reg", index, key)`` to the symbol or number."""
    from dataclasses import replace

    import sympy as sp

    from stabcheck.games import make_game
    from stabcheck.games.base import exact
    from stabcheck.regularizers import REGULARIZERS
    from stabcheck.specs import check_params

    game_vals = {k[1]: v for k, v in values.items() if k[0] == "game"}
    p = dict(params or {})
    if system == "gaussian" and game_vals:
        for k in game_vals:
            if k in p:
                raise BadInput(f"gaussian.{k} is both fixed (--{k}) and on --grid; drop one")
        if "mean" in game_vals and len(p.get("mean", [0])) != 1:
            raise BadInput("gaussian.mean can be swept in the 1-D Gaussian game only (--mean with one value)")
        game = make_game("gaussian", loss, p, (), "thesis")
        st = game.structure
        n = game.n_gen
        if "sigma2" in game_vals:
            s2 = game_vals["sigma2"]
            st = replace(st, cov_real=s2 * sp.eye(n), cov_fake=s2 * sp.eye(n))
        eq = list(game.equilibrium)
        if "mean" in game_vals:
            m = exact(game_vals["mean"])
            st = replace(st, mu_real=[m])
            eq = [m] + eq[1:]
        L_G, L_D = st.losses()
        gp = dict(game.params)
        for k in game_vals:
            gp[k] = "swept"
        game = game.with_(L_G=L_G, L_D=L_D, structure=st, equilibrium=eq, params=gp)
    else:
        game = make_game(system, loss, p, (), "thesis" if system == "gaussian" else None)
    for i, spec in enumerate(reg_specs):
        if spec.name not in REGULARIZERS:
            from stabcheck.regularizers import make_regularizer

            make_regularizer(str(spec))  # raises the standard BadInput
        fn, allowed, required = REGULARIZERS[spec.name]
        kw = check_params(spec, allowed, what="regularizer")
        for key in list(allowed):
            if ("reg", i, key) in values:
                if key in kw:
                    raise BadInput(f"{spec.name}.{key} is both in --reg {spec} and on --grid; drop one")
                kw[key] = values[("reg", i, key)]
        missing = [k for k in required if k not in kw]
        if missing:
            raise BadInput(f"regularizer {spec.name!r} needs {', '.join(missing)} (in --reg, or on --grid)")
        game = fn(**kw)(game)
    if convention is not None:
        game = game.in_convention(convention)
    return game


def _method_parts(method_spec):
    """(rule name, fixed rule params, transform name or None, fixed gamma or None)."""
    from stabcheck.fields import TRANSFORM_BLOCKS
    from stabcheck.rules import RULES
    from stabcheck.specs import check_params, parse_spec

    from stabcheck.optimizers import OPTIMIZER_KEYS

    if method_spec.name in RULES:
        _, allowed = RULES[method_spec.name]
        return (method_spec.name, check_params(method_spec, {**allowed, **OPTIMIZER_KEYS}, what="update rule"),
                None, None)
    if method_spec.name in TRANSFORM_BLOCKS:
        params = dict(method_spec.params)
        rule = params.pop("rule", "sim")
        if not isinstance(rule, str) or parse_spec(rule).name not in RULES:
            raise BadInput(f"method {method_spec}: rule must be one of {', '.join(RULES)}")
        from stabcheck.specs import Spec

        tparams = {k: params.pop(k) for k in list(params) if k == "gamma"}
        kw = check_params(Spec(method_spec.name, tparams), {"gamma": float}, what="field transform")
        if "gamma" in kw and not kw["gamma"] >= 0:
            raise BadInput(f"{method_spec.name}: gamma must be >= 0, got {kw['gamma']}")
        rspec = parse_spec(rule)
        rspec = Spec(rspec.name, {**rspec.params, **params})
        return (rspec.name, check_params(rspec, {**RULES[rspec.name][1], **OPTIMIZER_KEYS}, what="update rule"),
                method_spec.name, kw.get("gamma"))
    raise BadInput(f"unknown method {method_spec.name!r}; valid: {', '.join(list(RULES) + list(TRANSFORM_BLOCKS))}")


@dataclass
class SweepResult:
    """A stability map: spectral radius and verdict over a grid.

    Attributes
    ----------
    axes : list of Axis
        The grid axes (first varies slowest).
    spectral_radius : ndarray, shape = grid shape
    codes : ndarray of int8, shape = grid shape
        0 converges, 1 neutral, 2 diverges, 3 unbounded (:data:`VERDICTS`).
    info : dict
        System, method, regularizers, convention, path, executor, timing.
    """

    axes: list
    spectral_radius: np.ndarray
    codes: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple:
        return tuple(a.n for a in self.axes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def verdict_names(self) -> np.ndarray:
        return np.array(VERDICTS, dtype=object)[self.codes]

    def counts(self) -> dict:
        c = np.bincount(self.codes.reshape(-1).astype(np.int64), minlength=len(VERDICTS))
        return {name: int(c[i]) for i, name in enumerate(VERDICTS)}

    def point(self, flat_index: int) -> dict:
        """Parameter values (qualified names) of one grid point (C-order index)."""
        idx = np.unravel_index(int(flat_index), self.shape)
        return {a.qualified or a.name: float(a.values[i]) for a, i in zip(self.axes, idx)}

    def analyze_command(self, flat_index: int) -> str:
        """A ``stabcheck analyze`` command that checks one grid point."""
        p = self.point(flat_index)
        info = self.info
        regs = [dict(r) for r in info["regularizers_parsed"]]
        for q, v in p.items():
            owner, _, key = q.partition(".")
            for r in regs:
                if r["name"] == owner and key:
                    r["params"][key] = v
        game_params = dict(info.get("game_params", {}))
        method = dict(info["method_parsed"])
        for q, v in p.items():
            if q == f"{method['name']}.gamma":
                method["params"]["gamma"] = v
            elif q.startswith("alt."):
                method["params"][q[4:]] = int(v)
            elif q.startswith("gaussian."):
                game_params[q[9:]] = v
            elif q != "eta" and "." not in q:
                game_params[q] = v
        from stabcheck.specs import format_spec

        parts = ["stabcheck analyze", f"--system {info['system']['name']}"]
        if info["system"].get("loss"):
            parts.append(f"--loss {info['system']['loss']}")
        for k, v in game_params.items():
            if info["system"]["name"] == "gaussian" and k in ("mean", "sigma2", "dim"):
                parts.append(f"--{k} {','.join(repr(float(x)) for x in np.atleast_1d(v))}")
            else:
                parts.append(f"--param {k}={v!r}")
        for r in regs:
            parts.append(f"--reg {format_spec(r['name'], r['params'])}")
        if info.get("convention_arg"):
            parts.append(f"--convention {info['convention_arg']}")
        parts.append(f"--method {format_spec(method['name'], method['params'])}")
        parts.append(f"--eta {p.get('eta', info.get('eta_fixed'))!r}")
        return " ".join(parts)

    # ---------------------------------------------------------------- output
    def to_json(self) -> dict:
        rho = self.spectral_radius
        return {
            "system": self.info["system"], "method": self.info["method"],
            "regularizers": self.info["regularizers"], "convention": self.info["convention"],
            **({"eta": self.info["eta_fixed"]} if self.info.get("eta_fixed") is not None else {}),
            "grid": {"axes": [a.to_json() for a in self.axes], "shape": list(self.shape), "order": "C (first axis slowest)"},
            "spectral_radius": np.where(np.isfinite(rho), rho, np.nan).tolist(),
            "verdict": self.verdict_names().tolist(),
            "counts": self.counts(),
            "tolerance": {"spectral_radius": self.info["tol"], "verdicts": "floating point (numeric_verdict_matrix)"},
            "path": self.info["path"], "executor": self.info.get("executor"),
            "timing": self.info.get("timing"),
        }

    def csv_text(self) -> str:
        """CSV: one row per point, columns = parameters (qualified), spectral_radius, verdict."""
        grids = np.meshgrid(*[a.values for a in self.axes], indexing="ij")
        cols = [g.reshape(-1) for g in grids]
        rho = self.spectral_radius.reshape(-1)
        names = self.verdict_names().reshape(-1)
        head = ",".join([a.qualified or a.name for a in self.axes] + ["spectral_radius", "verdict"])
        lines = [head]
        for i in range(self.size):
            lines.append(",".join([repr(float(c[i])) for c in cols] + [repr(float(rho[i])), names[i]]))
        return "\n".join(lines) + "\n"

    def write_csv(self, path) -> None:
        from stabcheck.io import write_text_atomic

        write_text_atomic(path, self.csv_text())

    def write_json(self, path) -> None:
        from stabcheck.io import write_text_atomic
        from stabcheck.jsonout import dumps

        write_text_atomic(path, dumps(self.to_json(), indent=None, kind="sweep") + "\n")

    def plot(self, path=None, *, ax=None, title: Optional[str] = None, colorbar: bool = True):
        """Heat map of the verdicts and rates (2 axes) or ``rho`` against the parameter (1 axis).

        Colours: converging cells blue by ``log10(1 - rho)`` (lighter = slower, never white,
        down to ``1 - rho = 10^-8``; ``-2`` is about 230 map steps per decade of distance),
        diverging cells red by ``log10 rho`` (capped at ``rho = 10^2``), neutral cells grey (an
        eigenvalue on the unit circle within the tolerance), unbounded cells pink-violet (a
        Jordan block on the unit circle); each number-carrying colour has its colorbar, and the
        black line is the edge of the converging region. Log-spaced axes are drawn on log
        scales. Writes ``path`` atomically when given; returns the matplotlib Axes.
        """
        return plot_map(self, path, ax=ax, title=title, colorbar=colorbar)


# ============================================================================ the sweep

def sweep(system: str, loss: Optional[str], method: str, grid, *, regs: Sequence[str] = (),
          params: Optional[dict] = None, convention: Optional[str] = None, eta: Optional[float] = None,
          executor=None, chunk: int = DEFAULT_CHUNK, symbolic: bool = True, tol: float = RHO_TOL,
          closed_form: bool = True, progress=None) -> SweepResult:
    """Spectral radius and verdict of ``method`` at every point of ``grid``.

    Parameters
    ----------
    system, loss, params, regs, convention
        The game, as for :func:`stabcheck.games.make_game`; a regularizer spec may leave
        out a parameter that is on the grid (``regs=["noise"]`` with ``sigma`` swept).
    method : str
        One method spec (``sim``, ``alt:n_d=5``, ``jare``, ``conopt:rule=eg``, ...); a swept
        ``gamma`` may be left out of it.
    grid : str, sequence of str, or list of Axis
        ``name=lo:hi:n[:log],...`` (module docstring).
    eta : float, optional
        The step size when ``eta`` is not on the grid.
    executor : Executor, optional
        :mod:`stabcheck.executors` executor (default: serial).
    chunk : int
        Grid points per task.
    symbolic : bool
        Use the symbolic path when the game allows it (False forces the loop path; the two
        agree to rounding, which the tests check).
    tol : float
        Verdict tolerance (:data:`stabcheck.linearize.RHO_TOL`).
    closed_form : bool
        Closed-form eigenvalues where the map splits into 1x1 and 2x2 blocks (False forces the
        reference path, ``eigvals`` everywhere; the verdicts are identical and ``rho`` agrees to
        rounding, which the tests check).
    progress : callable, optional
        ``progress(done, total, None)`` in grid points, as each task finishes
        (:class:`stabcheck.progress.Progress` draws a bar with it).

    Returns
    -------
    SweepResult
    """
    from stabcheck.analysis import check_eta
    from stabcheck.executors import SerialExecutor
    from stabcheck.specs import parse_spec

    t0, c0 = time.perf_counter(), time.process_time()
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise BadInput(f"--chunk must be an integer >= 1, got {chunk!r}")
    mspec = parse_spec(method, what="method")
    rule_name, rule_params, tname, tgamma = _method_parts(mspec)
    reg_specs = [parse_spec(r, what="regularizer") for r in regs]
    axes = parse_grid(grid) if not (isinstance(grid, list) and grid and isinstance(grid[0], Axis)) else list(grid)
    resolved = resolve(axes, system, mspec, reg_specs)
    axes = [a for a, _ in resolved]
    by_q = {p.qualified: (i, p) for i, (_, p) in enumerate(resolved)}
    if "eta" in by_q:
        if eta is not None:
            raise BadInput("eta is both given (--eta) and on --grid; drop one")
        eta_fixed = None
    else:
        if eta is None:
            raise BadInput("give --eta, or put eta on --grid (e.g. eta=1e-3:1:200:log)")
        eta_fixed = check_eta(eta)
    rule_axes = {p.key: i for i, (_, p) in enumerate(resolved) if p.owner == "rule"}
    for k in rule_axes:
        if k in rule_params:
            raise BadInput(f"{rule_name}.{k} is both in --method {method} and on --grid; drop one")
    if tname is not None and f"{tname}.gamma" in by_q and tgamma is not None:
        raise BadInput(f"{tname}.gamma is both in --method {method} and on --grid; drop one")
    _make_rule(rule_name, dict(rule_params, **{k: _AXIS_PROBE[k] for k in rule_axes}))  # validate fixed params

    user = ":" in system
    jac_params = [(i, p) for i, (_, p) in enumerate(resolved) if p.owner not in ("eta", "rule")]
    values_shape = tuple(a.n for a in axes)
    plan = _Plan(rule_name=rule_name, rule_params=dict(rule_params), n_gen=0, dim=0,
                 axes_values=[a.values for a in axes], eta_axis=by_q["eta"][0] if "eta" in by_q else None,
                 eta_fixed=eta_fixed, rule_axes=rule_axes, tol=tol, closed_form=bool(closed_form))
    path = "symbolic"
    game = None
    if symbolic and not user:
        syms = {}
        values: dict = {}
        for n_sym, (i, p) in enumerate(jac_params):
            s = _symbol(p, n_sym)
            syms[i] = s
            values[("game", p.key) if p.owner == "game" else ("reg", p.index, p.key) if p.owner == "reg"
                   else ("transform",)] = s
        game = _symbolic_game(system, loss, params, reg_specs, convention, values)
        f = _field(game, tname, values.get(("transform",), tgamma if tgamma is not None else 1.0))
        J_expr = f.jacobian_exact()
        if J_expr is None:
            path = "loop"
        else:
            free = J_expr.free_symbols
            order = [i for i in syms if syms[i] in free]
            plan.J_expr, plan.sym_axes, plan.symbols = J_expr, tuple(order), tuple(syms[i] for i in order)
            plan.J_key = (str(J_expr), tuple(str(s) for s in plan.symbols))
            plan.J_const = tuple(e.free_symbols.isdisjoint(plan.symbols) for e in J_expr)
    else:
        path = "loop"
    if path == "loop":
        table_axes = tuple(i for i, _ in jac_params)
        combos = list(itertools.product(*[axes[i].values for i in table_axes])) if table_axes else [()]
        Js = []
        for combo in combos:
            game = _numeric_game(system, loss, params, reg_specs, convention,
                                 {jac_params[j][1]: float(v) for j, v in enumerate(combo)})
            gamma = next((float(v) for j, v in enumerate(combo) if jac_params[j][1].owner == "transform"), None)
            f = _field(game, tname, gamma if gamma is not None else (tgamma if tgamma is not None else 1.0))
            Js.append(f.jacobian_numeric())
        plan.J_table = np.array(Js, dtype=float)
        plan.table_axes = table_axes
    plan.n_gen, plan.dim = game.n_gen, game.dim
    t_setup = time.perf_counter() - t0
    c_setup = time.process_time() - c0

    total = int(np.prod(values_shape))
    blocks = [(s, min(s + int(chunk), total)) for s in range(0, total, int(chunk))]
    ex = executor if executor is not None else SerialExecutor()
    task = functools.partial(evaluate_block, plan)
    t1, c1 = time.perf_counter(), time.process_time()
    from stabcheck.executors import map_with_progress

    parts = map_with_progress(ex, task, blocks, progress, [b - a for a, b in blocks])
    t_eval, c_eval = time.perf_counter() - t1, time.process_time() - c1
    rho = np.concatenate([p[0] for p in parts]).reshape(values_shape) if parts else np.zeros(values_shape)
    codes = np.concatenate([p[1] for p in parts]).reshape(values_shape) if parts else np.zeros(values_shape, np.int8)

    from stabcheck.analysis import _convention_text

    rule_obj = _make_rule(rule_name, dict(rule_params, **{k: _AXIS_PROBE[k] for k in rule_axes}))
    info = {
        "system": {"name": system, "loss": loss, "params": _jsonable(params or {}), "dim": game.dim,
                   "n_gen": game.n_gen, "n_disc": game.dim - game.n_gen},
        "method": method, "regularizers": list(regs),
        "method_parsed": {"name": mspec.name, "params": dict(mspec.params)},
        "regularizers_parsed": [{"name": s.name, "params": dict(s.params)} for s in reg_specs],
        "game_params": _jsonable(params or {}), "convention_arg": convention,
        "convention": _convention_text(game),
        "order": f"{rule_obj.first} first" if rule_name == "alt" else None,
        "eta_fixed": eta_fixed, "tol": tol, "path": path,
        "executor": ex.describe(), "chunk": int(chunk), "tasks": len(blocks),
        "timing": {"setup": {"wall_s": t_setup, "cpu_s": c_setup}, "evaluate": {"wall_s": t_eval, "cpu_s": c_eval},
                   "points": total,
                   "points_per_s": total / t_eval if t_eval > 0 else None},
    }
    return SweepResult(axes=axes, spectral_radius=rho, codes=codes, info=info)


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.ndarray):
            v = v.tolist()
        out[k] = v if isinstance(v, (int, float, str, list, bool, type(None))) else str(v)
    return out


def _field(game, tname, gamma):
    from stabcheck.fields import FieldTransform, game_field

    f = game_field(game)
    return FieldTransform(tname, gamma)(f) if tname else f


def _numeric_game(system, loss, params, reg_specs, convention, vals: dict):
    """The game at one combination of (non-eta, non-rule) parameter values."""
    from stabcheck.games import make_game
    from stabcheck.specs import format_spec

    p = dict(params or {})
    regs = []
    for i, s in enumerate(reg_specs):
        rp = dict(s.params)
        for q, v in vals.items():
            if q.owner == "reg" and q.index == i:
                if q.key in rp:
                    raise BadInput(f"{s.name}.{q.key} is both in --reg {s} and on --grid; drop one")
                rp[q.key] = v
        regs.append(format_spec(s.name, rp))
    for q, v in vals.items():
        if q.owner in ("game", "user"):
            if q.key in p:
                raise BadInput(f"{q.qualified} is both fixed and on --grid; drop one")
            if q.owner == "game" and q.key == "mean":
                v = [v]
            p[q.key] = v
    return make_game(system, loss, p, regs, convention)


# ============================================================================ plotting

def plot_map(result: SweepResult, path=None, *, ax=None, title: Optional[str] = None, colorbar: bool = True):
    """See :meth:`SweepResult.plot` (drawn by :func:`stabcheck.plots.sweep_map`)."""
    from stabcheck.plots import sweep_map

    return sweep_map(result, path, ax=ax, title=title, colorbar=colorbar)
