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


def _save(fig, path, dpi: int = 130, *, palette: bool = False) -> None:
    """Save atomically. ``palette``: a PNG is stored with an adaptive 256-colour palette (smooth
    colour fields compress badly as RGB; the palette keeps them readable at a third of the size)."""
    from stabcheck.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        if palette and str(path).lower().endswith(".png"):
            from PIL import Image

            with Image.open(tmp) as im:
                q = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
            q.save(tmp, format="PNG", optimize=True)
    import matplotlib.pyplot as plt

    plt.close(fig)


def distance_plot(results: Sequence, path, *, title: str = "", ax=None) -> None:
    """``||x_k - x*||`` against the number of gradient evaluations, one line per run, on a log axis.

    The x-axis counts *gradient (field) evaluations* for every run, so oracles and methods
    compare at equal cost: an oracle's step is one gradient update (1 evaluation), a method's
    map step costs ``gradient_evaluations`` of them (extragradient 2, the ``alt`` method
    ``n_d + n_g``, Sim-GDA and optimistic GDA 1). Runs whose distance falls below 1e-300
    (mpmath) are plotted as ``log10`` distance on a linear axis instead (a log axis cannot
    show them). The legend is outside the axes (it never covers a curve).
    """
    plt = _plt()
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(8.4, 4.8))
    lows = [float(np.min(r.log10_distance[np.isfinite(r.log10_distance)], initial=0.0)) for r in results]
    use_log10 = min(lows, default=0.0) < -300
    styles = ("-", "--", ":", "-.")
    for i, r in enumerate(results):
        ls = styles[i // 10 % len(styles)] if len(results) > 1 else "-"
        if i and np.array_equal(r.log10_distance, results[i - 1].log10_distance):
            ls = "--"  # identical to the previous run: keep both visible
        per = int(getattr(r, "gradient_evaluations", 1) or 1)
        k = np.arange(len(r.log10_distance)) * per
        lg = r.log10_distance
        label = r.name + ("" if r.precision == "float64" else f" ({r.precision})")
        if per != 1:
            label += f" ({per} evaluations per map step)"
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
    ax.set_xlabel("gradient evaluations (oracles: 1 per update; a method's map step: its cost, e.g. EG 2)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
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
    (``grid``: the result of :func:`field_on_grid`, to draw it again without re-evaluating).
    Returns the norm's image (for a colorbar), or None."""
    T, P, U, W, N = grid if grid is not None else field_on_grid(game, which, lim, n)
    im = None
    if norm:
        im = ax.imshow(N, origin="lower", extent=(T.min(), T.max(), P.min(), P.max()), cmap="viridis",
                       aspect="auto")
    if np.any(N > 0):
        ax.streamplot(T[0], P[:, 0], U, W, color="white" if norm else "0.3", density=0.8, linewidth=0.6,
                      arrowsize=0.7)
    ax.set_xlim(T.min(), T.max())
    ax.set_ylim(P.min(), P.max())
    names = coordinate_names(game)
    ax.set_xlabel(f"{names[0]} (generator)")
    ax.set_ylabel(f"{names[1]} (discriminator)")
    return im


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
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"wspace": 0.38})
    grid = field_on_grid(game, which, lim, 41 if getattr(game, "symbols", None) is not None else 25)
    im = draw_field(axes[0], game, which, lim, norm=True, grid=grid)
    cb = fig.colorbar(im, ax=axes[0], fraction=0.05, pad=0.02)
    cb.set_label(f"|{which}| (norm of the field {which} at the point)")
    axes[0].set_title(f"|{which}| (colour) and the streamlines of {which}", fontsize=10)
    draw_field(axes[1], game, which, lim, norm=False, grid=grid)
    axes[1].set_title(f"trajectories over the streamlines of {which}", fontsize=10)
    for r, t in zip([r for r in results if r.states is not None], trajs):
        t = t[np.all(np.isfinite(t), axis=1)]
        for ax in axes:
            ax.plot(t[:, 0], t[:, 1], lw=0.9, label=r.name)
            ax.plot(t[:1, 0], t[:1, 1], "o", ms=3, color="k")
    axes[1].plot([eq[0]], [eq[1]], "r*", ms=8, label="equilibrium")
    axes[1].plot([], [], "o", ms=3, color="k", label="start")
    # outside the axes: the legend never covers a trajectory
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path)


# ============================================================================ sweep maps

#: colours of the verdicts that carry no number on a sweep map
NEUTRAL_COLOUR = "0.62"  # grey: an eigenvalue on the unit circle (bounded, no convergence)
UNBOUNDED_COLOUR = "#e7a1e0"  # pink-violet: a Jordan block on the unit circle (polynomial growth)
#: the converging scale stops here: 1 - rho < 10^-8 is drawn as 10^-8
CONV_FLOOR = -8.0


def _band(name: str, lo: float = 0.3, hi: float = 1.0):
    """A sequential colormap without its near-white end (slow convergence must not look empty)."""
    import matplotlib
    from matplotlib.colors import ListedColormap

    return ListedColormap(matplotlib.colormaps[name](np.linspace(lo, hi, 256)))


def sweep_layers(result) -> dict:
    """What a sweep map draws, per cell: ``conv`` = ``log10(1 - rho)`` where the verdict is
    converges (else NaN), ``div`` = ``log10 rho`` where it diverges, and boolean masks
    ``neutral`` and ``unbounded``."""
    rho = np.asarray(result.spectral_radius, dtype=float)
    codes = np.asarray(result.codes)
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(codes == 0, np.log10(np.clip(1.0 - rho, 10.0 ** CONV_FLOOR, 1.0)), np.nan)
        div = np.where(codes == 2, np.log10(np.where(np.isfinite(rho), rho, 1e300)), np.nan)
    return {"conv": conv, "div": div, "neutral": codes == 1, "unbounded": codes == 3, "rho": rho}


def sweep_ranges(results: Sequence) -> tuple:
    """Colour ranges shared by several maps: (lowest ``log10(1 - rho)``, highest ``log10 rho``),
    the first rounded down to a whole decade (at most :data:`CONV_FLOOR`), the second capped at 2."""
    lo, hi = -1.0, 0.5
    for r in results:
        L = sweep_layers(r)
        c, d = L["conv"][np.isfinite(L["conv"])], L["div"][np.isfinite(L["div"])]
        if c.size:
            lo = min(lo, float(np.floor(c.min())))
        if d.size:
            hi = max(hi, min(float(d.max()), 2.0))
    return max(lo, CONV_FLOOR), hi


def draw_sweep_map(ax, result, *, conv_lo: Optional[float] = None, div_hi: Optional[float] = None) -> dict:
    """Draw a 2-parameter sweep on ``ax``: converging cells coloured by ``log10(1 - rho)`` (blue,
    lighter = slower, never white), diverging cells by ``log10 rho`` (red, darker = faster),
    neutral cells grey, unbounded (Jordan block on the unit circle) pink-violet, and the edge of
    the converging region as a black line. Returns ``{"conv": mesh, "div": mesh, "present": set}``
    for :func:`sweep_colorbars` / :func:`sweep_legend`."""
    from matplotlib.colors import ListedColormap, Normalize

    xa, ya = result.axes[0], result.axes[1]  # first grid axis on x, second on y
    x, y = xa.values, ya.values
    L = sweep_layers(result)
    if conv_lo is None or div_hi is None:
        lo, hi = sweep_ranges([result])
        conv_lo = lo if conv_lo is None else conv_lo
        div_hi = hi if div_hi is None else div_hi
    kw = dict(shading="nearest", rasterized=True)
    conv = ax.pcolormesh(x, y, L["conv"].T, cmap=_band("Blues"), norm=Normalize(conv_lo, 0.0), **kw)
    div = ax.pcolormesh(x, y, np.clip(L["div"], 0.0, div_hi).T, cmap=_band("Reds", 0.25),
                        norm=Normalize(0.0, div_hi), **kw)
    present = set()
    for key, colour in (("neutral", NEUTRAL_COLOUR), ("unbounded", UNBOUNDED_COLOUR)):
        if np.any(L[key]):
            present.add(key)
            ax.pcolormesh(x, y, np.where(L[key], 1.0, np.nan).T, cmap=ListedColormap([colour]), **kw)
    inside = np.asarray(result.codes) == 0
    if 0 < inside.sum() < inside.size and min(len(x), len(y)) >= 2:
        # the edge: rho = 1 on a smooth field (cells that do not converge count as rho >= 1)
        edge = np.where(inside, np.minimum(L["rho"], 1.0 - 1e-12), np.maximum(np.nan_to_num(L["rho"], nan=1e300,
                                                                                               posinf=1e300), 1.0))
        ax.contour(x, y, edge.T, levels=[1.0], colors="k", linewidths=1.0)
        present.add("edge")
    ax.set_xlabel(_axis_label(xa))
    ax.set_ylabel(_axis_label(ya))
    if xa.log:
        ax.set_xscale("log")
    if ya.log:
        ax.set_yscale("log")
    return {"conv": conv, "div": div, "present": present}


def _axis_label(a) -> str:
    name = a.qualified or a.name
    if name == "eta":
        return "eta (step size" + (", log scale)" if a.log else ")")
    what = {"gamma": "weight", "sigma": "noise std", "n_d": "discriminator steps per period",
            "n_g": "generator steps per period", "sigma2": "data variance"}.get(name.rsplit(".", 1)[-1])
    return f"{name} ({what}" + (", log scale)" if a.log else ")") if what else name + (" (log scale)" if a.log else "")


def sweep_colorbars(fig, drawn: dict, ax=None, *, caxes=None) -> list:
    """The two colorbars of a sweep map, side by side and horizontal: converging
    (``log10(1 - rho)``) and diverging (``log10 rho``). They go under ``ax`` (inset axes),
    or into ``caxes`` (two Axes) when given."""
    if caxes is None:
        caxes = (ax.inset_axes([0.0, -0.22, 0.46, 0.04]), ax.inset_axes([0.54, -0.22, 0.46, 0.04]))
    cb1 = fig.colorbar(drawn["conv"], cax=caxes[0], orientation="horizontal")
    cb1.set_label("converges: log10(1 - rho)   (lighter = slower;\n-2 is ~230 steps per decade, -4 ~23,000)")
    cb2 = fig.colorbar(drawn["div"], cax=caxes[1], orientation="horizontal")
    cb2.set_label("diverges: log10 rho   (darker = faster growth;\n0.3 doubles the distance per step)")
    return [cb1, cb2]


def sweep_legend(fig_or_ax, present, **kw):
    """Legend entries for the verdicts without a number (neutral, unbounded) and the edge line."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    if "neutral" in present:
        handles.append(Patch(color=NEUTRAL_COLOUR, label="neutral (|eigenvalue| = 1, bounded)"))
    if "unbounded" in present:
        handles.append(Patch(color=UNBOUNDED_COLOUR, label="unbounded (Jordan block at |eigenvalue| = 1)"))
    if "edge" in present:
        handles.append(Line2D([], [], color="k", lw=1.0, label="edge of the converging region"))
    if handles:
        return fig_or_ax.legend(handles=handles, **kw)
    return None


def sweep_map(result, path=None, *, ax=None, title: Optional[str] = None, colorbar: bool = True):
    """The map of :meth:`stabcheck.sweep.SweepResult.plot`: 2 parameters -> :func:`draw_sweep_map`
    with its colorbars and legend; 1 parameter -> the spectral radius against the parameter,
    coloured by verdict. Written atomically to ``path`` when given; returns the Axes."""
    from matplotlib.figure import Figure

    from stabcheck.errors import BadInput

    axes = result.axes
    if len(axes) not in (1, 2):
        raise BadInput(f"a map plot needs a grid with 1 or 2 parameters, this one has {len(axes)} "
                       "(use --csv or --json for the values)")
    own = ax is None
    if own:  # a bare Figure (no pyplot): no backend switch, nothing left open
        fig = Figure(figsize=(9.6, 6.4) if len(axes) == 2 else (9.0, 5.0), dpi=100)
        ax = fig.subplots()
    else:
        fig = ax.figure
    if len(axes) == 1:
        a = axes[0]
        rho = np.asarray(result.spectral_radius, dtype=float)
        codes = np.asarray(result.codes)
        ax.plot(a.values, rho, color="0.3", lw=1.0, zorder=1)
        styles = (("converges", "tab:blue"), ("neutral", NEUTRAL_COLOUR), ("diverges", "tab:red"),
                  ("unbounded", UNBOUNDED_COLOUR))
        for code, (name, colour) in enumerate(styles):
            m = codes == code
            if m.any():
                ax.scatter(a.values[m], rho[m], s=10, color=colour, label=name, zorder=2)
        ax.axhline(1.0, color="k", lw=0.8, ls="--", label="rho = 1")
        ax.set_xlabel(_axis_label(a))
        ax.set_ylabel("spectral radius rho (per map step)")
        if a.log:
            ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0.0)
    else:
        drawn = draw_sweep_map(ax, result)
        if colorbar:
            sweep_colorbars(fig, drawn, ax)
        sweep_legend(ax, drawn["present"], loc="upper center", bbox_to_anchor=(0.5, -0.40 if colorbar else -0.12),
                     ncol=3, fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    if own and path is not None:
        from stabcheck.io import atomic_path

        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, bbox_inches="tight")
    return ax


def field_grid_figure(games: Sequence, labels: Sequence[str], path, lim=((-2, 2), (-2, 2))) -> None:
    """Thesis Figure 6: one row per game, one column per field (V3, V1, V2): the field's norm
    as colour (with its colorbar) under the field's streamlines."""
    plt = _plt()
    fig, axes = plt.subplots(len(games), 3, figsize=(13.0, 3.9 * len(games)), squeeze=False)
    for g_i, (game, label) in enumerate(zip(games, labels)):
        for f_i, which in enumerate(("V3", "V1", "V2")):
            ax = axes[g_i, f_i]
            im = draw_field(ax, game, which, lim, norm=True)
            fig.colorbar(im, ax=ax, fraction=0.05, pad=0.03).set_label(f"|{which}| (field norm)")
            ax.set_title(f"{label}\n{which} (streamlines), |{which}| (colour)", fontsize=10)
    fig.tight_layout()
    _save(fig, path, dpi=100, palette=True)


__all__ = ["coordinate_names", "distance_plot", "phase_portrait", "field_grid_figure", "field_on_grid", "draw_field",
           "sweep_map", "draw_sweep_map", "sweep_colorbars", "sweep_legend", "sweep_ranges", "sweep_layers"]
