"""Figures: distance to the equilibrium vs. iteration (thesis Figure 2) and phase portraits
over the gradient field and its norm (thesis Figure 6).

matplotlib is imported inside the functions (the CLI stays fast to start); every figure is
written atomically (:func:`stabcheck.io.atomic_path`) with the Agg backend.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, dpi: int = 130) -> None:
    from stabcheck.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)


def distance_plot(results: Sequence, path, *, title: str = "", ax=None) -> None:
    """``||x_k - x*||`` vs. ``k``, one line per run, on a log axis.

    Runs whose distance falls below 1e-300 (mpmath) are plotted as ``log10`` distance on a
    linear axis instead (a log axis cannot show them).
    """
    plt = _plt()
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7, 4.2))
    lows = [float(np.min(r.log10_distance[np.isfinite(r.log10_distance)], initial=0.0)) for r in results]
    use_log10 = min(lows, default=0.0) < -300
    styles = ("-", "--", ":", "-.")
    for i, r in enumerate(results):
        ls = styles[i // 10 % len(styles)] if len(results) > 1 else "-"
        if i and np.array_equal(r.log10_distance, results[i - 1].log10_distance):
            ls = "--"  # identical to the previous run: keep both visible
        k = np.arange(len(r.log10_distance))
        lg = r.log10_distance
        label = r.name + ("" if r.precision == "float64" else f" ({r.precision})")
        if r.stopped:
            label += f" [{r.stopped}]"
        if use_log10:
            ax.plot(k, np.where(np.isfinite(lg), lg, np.nan), label=label, lw=1.2, ls=ls)
        else:
            with np.errstate(under="ignore"):
                ax.plot(k, np.where(np.isfinite(lg), 10.0 ** np.clip(lg, -320, 320), np.nan), label=label, lw=1.2,
                        ls=ls)
    if use_log10:
        ax.set_ylabel("log10 distance to equilibrium")
    else:
        ax.set_yscale("log")
        ax.set_ylabel("distance to equilibrium")
    ax.set_xlabel("iteration")
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    if own:
        _save(fig, path)


def coordinate_names(game) -> list:
    """Names of the state's coordinates: the game's symbols, or ``theta``/``psi`` (indexed when
    a block has several) for games without symbols (torch user games)."""
    syms = getattr(game, "symbols", None)
    if syms is not None:
        return [str(s) for s in syms]
    n, d = game.n_gen, game.dim
    th = ["theta"] if n == 1 else [f"theta{i}" for i in range(n)]
    ps = ["psi"] if d - n == 1 else [f"psi{i}" for i in range(d - n)]
    return th + ps


def field_on_grid(game, which: str = "V3", lim: Optional[tuple] = None, n: int = 41):
    """The field ``V1``/``V2``/``V3`` of a 2-parameter game on a grid: (T, P, U, W, norm)."""
    from stabcheck.errors import BadInput
    from stabcheck.fields import game_field

    if game.dim != 2:
        raise BadInput(f"phase portraits need a game with 2 parameters; system {game.name!r} has {game.dim}")
    (t0, t1), (p0, p1) = lim or ((-2.0, 2.0), (-2.0, 2.0))
    T, P = np.meshgrid(np.linspace(t0, t1, n), np.linspace(p0, p1, n))
    V = game_field(game).numpy(np.stack([T, P], axis=-1))
    U, W = V[..., 0].copy(), V[..., 1].copy()
    if which == "V1":
        W[:] = 0.0
    elif which == "V2":
        U[:] = 0.0
    elif which != "V3":
        raise BadInput(f"unknown field {which!r}; valid: V1, V2, V3")
    return T, P, U, W, np.hypot(U, W)


def draw_field(ax, game, which: str = "V3", lim=None, *, norm: bool = True, n: int = 41, grid=None) -> None:
    """Field norm (background, brighter = larger) and streamlines of one partial field
    (``grid``: the result of :func:`field_on_grid`, to draw it again without re-evaluating)."""
    T, P, U, W, N = grid if grid is not None else field_on_grid(game, which, lim, n)
    if norm:
        ax.imshow(N, origin="lower", extent=(T.min(), T.max(), P.min(), P.max()), cmap="viridis", aspect="auto")
    if np.any(N > 0):
        ax.streamplot(T[0], P[:, 0], U, W, color="white" if norm else "0.3", density=0.8, linewidth=0.6,
                      arrowsize=0.7)
    ax.set_xlim(T.min(), T.max())
    ax.set_ylim(P.min(), P.max())
    names = coordinate_names(game)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])


def phase_portrait(game, results: Sequence, path, *, title: str = "", which: str = "V3") -> None:
    """Trajectories of 2-parameter runs over the field ``which`` and its norm (thesis Figure 6)."""
    plt = _plt()
    trajs = [r.states_float() for r in results if r.states is not None]
    pts = np.concatenate([t for t in trajs if t is not None and len(t)] or [np.zeros((1, 2))])
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    eq = game.equilibrium_numeric
    starts = np.array([r.states_float()[0] for r in results if r.states is not None] or [eq + 1.0])
    start_span = float(np.max(np.abs(starts - eq)))
    reach = float(np.max(np.abs(pts - eq))) if len(pts) else 1.0
    span = max(min(reach, 3.0 * start_span), 1e-12) * 1.15  # diverging runs leave the frame
    lim = ((eq[0] - span, eq[0] + span), (eq[1] - span, eq[1] + span))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    grid = field_on_grid(game, which, lim, 41 if getattr(game, "symbols", None) is not None else 25)
    draw_field(axes[0], game, which, lim, norm=True, grid=grid)
    axes[0].set_title(f"|{which}| (brighter = larger) and {which}", fontsize=9)
    draw_field(axes[1], game, which, lim, norm=False, grid=grid)
    axes[1].set_title("trajectories", fontsize=9)
    for r, t in zip([r for r in results if r.states is not None], trajs):
        t = t[np.all(np.isfinite(t), axis=1)]
        for ax in axes:
            ax.plot(t[:, 0], t[:, 1], lw=0.9, label=r.name)
            ax.plot(t[:1, 0], t[:1, 1], "o", ms=3, color="k")
    axes[1].plot([eq[0]], [eq[1]], "r*", ms=8, label="equilibrium")
    axes[1].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=9)
    _save(fig, path)


def field_grid_figure(games: Sequence, labels: Sequence[str], path, lim=((-2, 2), (-2, 2))) -> None:
    """Thesis Figure 6: for each game, the norms (top row) and fields (bottom row) of V3, V1, V2."""
    plt = _plt()
    fig, axes = plt.subplots(2, 3 * len(games), figsize=(3.0 * 3 * len(games), 6.2))
    axes = np.atleast_2d(axes)
    for g_i, (game, label) in enumerate(zip(games, labels)):
        for f_i, which in enumerate(("V3", "V1", "V2")):
            c = 3 * g_i + f_i
            T, P, U, W, N = field_on_grid(game, which, lim)
            axes[0, c].imshow(N, origin="lower", extent=(T.min(), T.max(), P.min(), P.max()), cmap="viridis",
                              aspect="auto")
            axes[0, c].set_title(f"{label}: |{which}|", fontsize=8)
            draw_field(axes[1, c], game, which, lim, norm=False)
            axes[1, c].set_title(f"{label}: {which}", fontsize=8)
    _save(fig, path, dpi=80)


__all__ = ["coordinate_names", "distance_plot", "phase_portrait", "field_grid_figure", "field_on_grid", "draw_field"]
