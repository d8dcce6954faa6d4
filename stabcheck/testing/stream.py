"""Property verdicts of many runs at numpy speed: the states are streamed, never stored.

:func:`stream_failures` runs ``B`` starts of a vectorised oracle (one with ``choose_many``)
step by step exactly as :func:`stabcheck.testing.run_batch` does (the same float64
operations in the same order, the same stopping rule) and keeps, per start and property,
only whether the property fails - not the ``(B, N + 1, d)`` array of states and the
per-step arrays that :func:`run_batch` and the ``*_violations`` functions build. That is
what ``check-oracle``'s search needs (counts, and which draw failed first); the failing
draw is then re-run through the reference path, which reports the step, the values and the
reproducing command.

The verdicts equal those of the reference path (``run_batch`` followed by
:func:`~stabcheck.testing.bounded_violations`, :func:`~stabcheck.testing.lyapunov_violations`,
:func:`~stabcheck.testing.never_v3_violations`, :func:`~stabcheck.testing.convergence_failures`
and :func:`~stabcheck.testing.convention_violations`) start by start; tests/testing/test_stream.py
checks that on random and edge-case draws, for correct and deliberately broken oracles.

Not covered (the caller falls back to the reference path): oracles without
``choose_many`` or with ``needs_batches``, oracles run through an optimizer, and methods.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from stabcheck.errors import BadInput

#: properties :func:`stream_failures` decides
STREAMED = ("bounded", "lyapunov", "never_v3", "converges", "convention")


def streamable(runner) -> bool:
    """Whether :func:`stream_failures` can run this runner (a vectorised oracle, no optimizer)."""
    return (runner.kind == "oracle" and callable(getattr(runner.obj, "choose_many", None))
            and not getattr(runner.obj, "needs_batches", False) and getattr(runner, "optimizer", None) is None)


#: a squared distance below (limit * SAFE)^2 is below the limit whatever the rounding of hypot
SAFE = 1.0 - 1e-9


def _screen(lim2: np.ndarray) -> np.ndarray:
    """A squared limit usable as a screen: -1 (never sure) where it over- or underflowed."""
    return np.where(np.isfinite(lim2) & (lim2 > 1e-280), lim2, -1.0)


class _Run:
    """One streamed run of a block of starts (the loop body of ``run_batch``, oracle branch).

    The stopping rule ``dist <= bound`` is screened on the squared distance ``s`` (no square
    root) and decided exactly, as ``run_batch`` decides it, only where the screen is not sure.
    """

    def __init__(self, game, runner, E: np.ndarray, X0: np.ndarray, convert: bool, max_distance: float):
        from stabcheck.fields import game_field
        from stabcheck.simulate import _check_convention, boundary_distance

        self.r = runner
        self.oracle = runner.obj
        conversion = _check_convention(game, runner, convert)
        self.target = self.oracle.convention if conversion else None
        self.game = game
        self.v = game_field(game).numpy
        self.n = game.n_gen
        B, d = X0.shape
        self.B, self.d = B, d
        self.x_star = game.equilibrium_numeric
        gen = np.zeros(d)
        gen[: self.n] = 1.0
        self.masks = np.stack([np.zeros(d), gen, 1.0 - gen, np.ones(d)])
        self.Ecol = E[:, None]
        self.Z = np.array(X0, dtype=float)
        D0 = self.Z - self.x_star
        self.bound = boundary_distance(max_distance, np.sqrt(np.sum(D0 * D0, axis=1)))
        self.bound2 = _screen((self.bound * SAFE) ** 2)
        self.active = np.ones(B, dtype=bool)
        self.all_active = True
        self.stopped = np.zeros(B, dtype=np.int8)
        self.s = self.sq(self.Z)
        self.oracle.reset()

    def sq(self, X: np.ndarray) -> np.ndarray:
        """``||x - x*||^2`` per row (as potential_H sums it: exactly 2 H)."""
        D = X - self.x_star
        if self.d == 2:
            return D[:, 0] * D[:, 0] + D[:, 1] * D[:, 1]
        return np.sum(D * D, axis=-1)

    def dist(self, X: np.ndarray) -> np.ndarray:
        """As run_batch's stopping rule measures it."""
        D = X - self.x_star
        return np.hypot(D[:, 0], D[:, 1]) if self.d == 2 else np.sqrt(np.sum(D * D, axis=1))

    def pdist(self, X: np.ndarray) -> np.ndarray:
        """As the properties measure it (:meth:`Trajectories.distances`)."""
        D = X - self.x_star
        return np.hypot(D[:, 0], D[:, 1]) if self.d == 2 else np.linalg.norm(D, axis=-1)

    def step(self, k: int):
        """One step (call under ``np.errstate(all="ignore")``): returns ``(take, codes)``, which
        starts took step ``k`` (None: all) and their choices; ``self.s`` is the new ``s``."""
        Z = self.Z
        Xo = self.game.convert_state(Z, self.target) if self.target else Z
        c = np.asarray(self.oracle.choose_many(k, Xo, self.n))
        if c.shape != (self.B,) or not np.issubdtype(c.dtype, np.integer) or c.min(initial=1) < 1 \
                or c.max(initial=3) > 3:
            raise BadInput(f"oracle {self.r.name!r}: choose_many must return {self.B} integer codes in 1..3 "
                           "(V1, V2, V3)")
        Z_new = Z + self.Ecol * (self.v(Z) * self.masks.take(c, axis=0))  # take: 10x faster than masks[c]
        s = self.sq(Z_new)
        if self.all_active and (s <= self.bound2).all():
            self.Z, self.s = Z_new, s
            return None, c  # every start took the step
        ok = self.dist(Z_new) <= self.bound
        if self.all_active and ok.all():
            self.Z, self.s = Z_new, s
            return None, c
        finite = np.all(np.isfinite(Z_new), axis=1)
        take = self.active & finite
        newly = self.active & ~ok
        self.stopped[newly & finite] = 1
        self.stopped[newly & ~finite] = 2
        self.Z = np.where(take[:, None], Z_new, Z)
        self.s = np.where(take, s, self.s)
        self.active = self.active & ok
        self.all_active = False
        return take, c


def stream_failures(game, runner: Any, etas, X0: np.ndarray, steps: int, props: Sequence[str], *,
                    C: float = 10.0, V: Any = None, rtol: float = 1e-9, atol: float = 0.0,
                    exclude_axes: bool = False, tol: float = 1e-6, convert: bool = False,
                    max_distance: Optional[float] = None, other_game=None) -> dict:
    """Per start, whether each property in ``props`` fails (a dict ``prop -> bool array (B,)``).

    Same arguments and meaning as :func:`stabcheck.testing.run_batch` and the ``*_violations``
    functions (``C`` of ``bounded``, ``V``/``rtol``/``atol``/``exclude_axes`` of ``lyapunov``,
    ``tol`` of ``converges``); ``convention`` runs the start with ``psi -> -psi`` on
    ``other_game`` (the game in the other convention; built when not given) and requires the
    mirrored trajectory and the same choices exactly.
    """
    from stabcheck.simulate import make_runner
    from stabcheck.testing.properties import MAX_DISTANCE, batch_inputs, resolve_candidate

    r = make_runner(runner)
    if not streamable(r):
        raise BadInput(f"runner {r.name!r} cannot be streamed (needs an oracle with choose_many, no optimizer)")
    bad = [p for p in props if p not in STREAMED]
    if bad:
        raise BadInput(f"cannot stream properties {bad}; streamed: {', '.join(STREAMED)}")
    X, E = batch_inputs(game, X0, etas)
    max_distance = MAX_DISTANCE if max_distance is None else max_distance
    want = set(props)
    with np.errstate(all="ignore"):
        return _stream(game, r, E, X, steps, want, C, V, rtol, atol, exclude_axes, tol, convert, max_distance,
                       other_game, resolve_candidate)


def _stream(game, r, E, X, steps, want, C, V, rtol, atol, exclude_axes, tol, convert, max_distance, other_game,
            resolve_candidate):
    B, d = X.shape
    run = _Run(game, r, E, X, convert, max_distance)
    x_star = run.x_star
    out: dict = {}
    keep_states = "convention" in want
    if keep_states:
        states = np.empty((steps + 1, B, d))
        states[0] = X
        codes = np.zeros((steps, B), dtype=np.int8)
    bounded, lyap, nv3 = "bounded" in want, "lyapunov" in want, "never_v3" in want
    if bounded:
        d0 = run.pdist(X)
        lim2 = _screen((C * d0 * SAFE) ** 2)  # s below this: d_k / d_0 <= C for sure
        over = np.zeros(B, dtype=bool)
    if lyap:
        name, fn = resolve_candidate(V)
        is_H = name == "H"
        V_prev = 0.5 * run.s if is_H else np.asarray(fn(X, x_star), dtype=float)
        up = np.zeros(B, dtype=bool)
        rt = 1 + rtol
    if nv3:
        v3 = np.zeros(B, dtype=bool)
    for k in range(steps):
        Z_before = run.Z
        take, c = run.step(k)
        Z = run.Z
        if keep_states:
            states[k + 1] = Z
            codes[k] = c if take is None else np.where(take, c, 0)
        if bounded:
            sure = run.s <= lim2
            if not sure.all():
                unsure = ~sure
                over[unsure] |= ~(run.pdist(Z[unsure]) / d0[unsure] <= C)
        if lyap:
            V_new = 0.5 * run.s if is_H else np.asarray(fn(Z, x_star), dtype=float)
            u = ~(V_new <= V_prev * rt + atol)
            if take is not None:
                u &= take
            if exclude_axes:
                u &= ~np.any(Z_before == x_star, axis=1)
            up |= u
            V_prev = V_new
        if nv3:
            v3 |= (c == 3) if take is None else ((c == 3) & take)
        if not run.all_active and not run.active.any():
            if keep_states:
                states[k + 2:] = Z
            break
    if bounded:
        out["bounded"] = over | (run.stopped > 0)
    if lyap:
        out["lyapunov"] = up
    if nv3:
        out["never_v3"] = v3
    if "converges" in want:
        ratio = run.pdist(run.Z) / run.pdist(X)
        out["converges"] = ~(ratio <= tol) | (run.stopped > 0)
    if keep_states:
        other = "thesis" if game.convention == "mescheder" else "mescheder"
        game2 = other_game if other_game is not None else game.in_convention(other)
        run2 = _Run(game2, r, E, game.convert_state(X, other), r.convention is not None, max_distance)
        n = game.n_gen
        bad = np.zeros(B, dtype=bool)
        for k in range(steps):
            take, c = run2.step(k)
            Z2 = run2.Z.copy()
            Z2[:, n:] = -Z2[:, n:]
            diff = ~(np.abs(Z2 - states[k + 1]) <= 0)
            both_nan = np.isnan(Z2).all(axis=1) & np.isnan(states[k + 1]).all(axis=1)
            bad |= (diff.any(axis=1) & ~both_nan) | (codes[k] != (c if take is None else np.where(take, c, 0)))
            if not run2.all_active and not run2.active.any():
                # the other run is frozen: its remaining states and codes (0) are compared at once
                if k + 1 < steps:
                    rest = ~(np.abs(Z2[None] - states[k + 2:]) <= 0)
                    both = np.isnan(Z2).all(axis=1)[None] & np.isnan(states[k + 2:]).all(axis=2)
                    bad |= ((rest.any(axis=2) & ~both) | (codes[k + 1:] != 0)).any(axis=0)
                break
        out["convention"] = bad
    return out


__all__ = ["stream_failures", "streamable", "STREAMED"]
