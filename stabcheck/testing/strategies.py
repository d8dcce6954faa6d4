"""Hypothesis strategies for GAN training dynamics (step sizes, starts, games, seeds, matrices).

Every strategy is built from Hypothesis primitives so that failing examples *shrink* to
clean values: step sizes shrink towards the range ends and the theory's critical values,
starts towards ``x* + (1, 1, ...)`` with short decimals, games towards the WGAN Dirac-GAN
without regularizer. Numbers are rounded to a few significant digits when drawn, so a
counterexample prints as a short decimal that reproduces it exactly on the command line.

Conventions: states are ``x = (theta, psi)`` (generator first) in the sign convention of the
game they are drawn for; ``x*`` is that game's equilibrium.

Example
-------
>>> from hypothesis import given
>>> from stabcheck.games import make_game
>>> game = make_game("dirac", "wgan", convention="thesis")
>>> @given(x0=initial_conditions(game), eta=step_sizes(1e-3, 0.5))
... def test_runs(x0, eta):
...     assert len(x0) == 2 and 1e-3 <= eta <= 0.5
>>> test_runs()
"""

from __future__ import annotations

import functools
import math
from typing import Optional, Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

#: scale of ``x0 - x*`` for each kind of start drawn by :func:`initial_conditions`
SCALES = {"unit": 1.0, "near": 1e-3, "far": 1e2, "tiny": 1e-8, "huge": 1e6, "extreme": 1e-170}
#: kinds of starts drawn by default, in shrinking order (Hypothesis shrinks towards the first);
#: ``extreme`` (scale 1e-170: products of two coordinates underflow to 0 in float64) is opt-in
KINDS = ("unit", "near", "far", "boundary", "tiny", "huge")
ALL_KINDS = KINDS + ("extreme",)


def _round_sig(v: float, digits: int) -> float:
    return float(f"{v:.{digits}g}")


# --------------------------------------------------------------------------- step sizes

def step_sizes(lo: float = 1e-3, hi: float = 0.5, *, critical: Sequence[float] = (),
               digits: int = 3) -> st.SearchStrategy[float]:
    """Step sizes ``eta`` in ``[lo, hi]``: log-uniform, plus the range ends and ``critical``.

    Parameters
    ----------
    lo, hi : float
        The range, ``0 < lo <= hi`` (finite).
    critical : sequence of float
        The theory's critical step sizes (e.g. a stability bound); those inside the range
        are drawn as explicit examples, like the range ends.
    digits : int
        Significant decimal digits of the drawn values (a counterexample prints exactly).

    Returns
    -------
    A strategy that draws an explicit value (range ends, critical values) half of the time
    and a log-uniform value otherwise; it shrinks towards ``lo``, then the other explicit
    values, then towards 10^k.
    """
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
        raise InvalidArgument(f"step_sizes needs 0 < lo <= hi (finite), got lo={lo!r}, hi={hi!r}")
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise InvalidArgument(f"digits must be an integer >= 1, got {digits!r}")
    specials = [lo] + [float(c) for c in critical if lo <= float(c) <= hi and float(c) not in (lo, hi)]
    if hi != lo:
        specials.append(hi)
    if lo == hi:
        return st.just(lo)
    a, b = math.log10(lo), math.log10(hi)

    def to_eta(u: float) -> float:
        return min(max(_round_sig(10.0 ** u, digits), lo), hi)

    return st.one_of(st.sampled_from(specials), st.floats(a, b).map(to_eta))


def critical_step_sizes(game) -> list:
    """The theory's critical step sizes of a game, from its field Jacobian ``J`` at ``x*``.

    * ``1 / r`` and ``2 / r``, ``r = max |lambda(J)|``: for the WGAN Dirac-GAN (``r = 1``) the
      Dirac oracle keeps ``max(|theta|, |psi|)`` non-increasing for ``eta <= 1`` and diverges
      for ``eta > 2`` (docs/testing.md), and Alt-GDA (n_d = 1) is bounded for ``eta < 2``;
    * Sim-GDA's closed-form bound ``min -2 Re(lambda) / |lambda|^2`` (thesis eq. 9), when every
      ``Re(lambda) < 0``.
    """
    from stabcheck.fields import game_field

    J = game_field(game).jacobian_numeric()
    ev = np.linalg.eigvals(J)
    out = []
    r = float(np.max(np.abs(ev))) if ev.size else 0.0
    if r > 0:
        out += [1.0 / r, 2.0 / r]
    if ev.size and np.all(np.real(ev) < 0):
        out.append(float(np.min(-2 * np.real(ev) / np.abs(ev) ** 2)))
    return sorted({_round_sig(v, 12) for v in out})


# --------------------------------------------------------------------------- starts

def initial_conditions(game=None, *, dim: Optional[int] = None, n_gen: Optional[int] = None,
                       equilibrium: Optional[Sequence[float]] = None, kinds: Sequence[str] = KINDS,
                       digits: int = 4) -> st.SearchStrategy[list]:
    """Starts ``x0 = x* + s * u`` near and far from the equilibrium, on the oracle boundary,
    at tiny and huge scales.

    Parameters
    ----------
    game : Game, optional
        Gives ``dim``, ``n_gen`` and ``x*``; or pass ``dim`` (and ``n_gen``, default
        ``dim // 2``, and ``equilibrium``, default 0).
    kinds : sequence of str
        Which kinds of start to draw, from :data:`ALL_KINDS`: ``unit`` (``s = 1``), ``near``
        (1e-3), ``far`` (1e2), ``tiny`` (1e-8), ``huge`` (1e6), ``boundary`` (``s = 1`` with
        the generator block or the discriminator block of ``u`` set to 0, so that
        ``psi . theta = 0``: the Dirac oracle's boundary) and, opt-in, ``extreme`` (1e-170,
        where products of two coordinates underflow in float64). Default :data:`KINDS`.
    digits : int
        Significant digits of the components of ``u``: ``1e-3 <= |u_i| <= 10``, so only
        ``boundary`` starts have zero components.

    Returns
    -------
    A strategy of lists of floats (length ``dim``), never equal to ``x*``.
    """
    if game is not None:
        dim, n_gen = game.dim, game.n_gen
        equilibrium = game.equilibrium_numeric.tolist()
    if dim is None or isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise InvalidArgument(f"initial_conditions needs a game or dim >= 1, got dim={dim!r}")
    dim = int(dim)
    n_gen = dim // 2 if n_gen is None else int(n_gen)
    if not 0 <= n_gen <= dim:
        raise InvalidArgument(f"n_gen must be in 0..{dim}, got {n_gen}")
    x_star = np.zeros(dim) if equilibrium is None else np.asarray(equilibrium, dtype=float)
    if x_star.shape != (dim,):
        raise InvalidArgument(f"equilibrium has shape {x_star.shape}, expected ({dim},)")
    kinds = list(kinds)
    bad = [k for k in kinds if k not in ALL_KINDS]
    if bad or not kinds:
        raise InvalidArgument(f"unknown kinds {bad or kinds!r}; valid: {', '.join(ALL_KINDS)}")
    # components of u: |u_i| in [1e-3, 10] (short decimals); exact zeros only for "boundary"
    # (|v| < 1e-3 becomes 1.0: the shrinker's 0 maps to the simple value 1)
    comp = st.floats(-10, 10).map(lambda v: _round_sig(v, digits) if abs(v) >= 1e-3 else 1.0)
    block = 0 < n_gen < dim

    def build(args):
        kind, u, which = args
        u = np.array(u, dtype=float)
        if kind == "boundary" and block:
            if which:
                u[:n_gen] = 0.0  # theta = theta*: on psi . theta = 0
            else:
                u[n_gen:] = 0.0  # psi = psi*
        s = 1.0 if kind == "boundary" else SCALES[kind]
        return [float(v) for v in x_star + s * u]

    return st.tuples(st.sampled_from(kinds), st.lists(comp, min_size=dim, max_size=dim), st.booleans()).map(build)


# --------------------------------------------------------------------------- numpy mirrors

def round_sig_array(v: np.ndarray, digits: int) -> np.ndarray:
    """Round to ``digits`` significant decimal digits, vectorised: ``m / 10^k`` or ``m * 10^k``
    with an integer ``m`` (both correctly rounded), so every value is a short decimal that
    ``repr`` prints as such (as :func:`_round_sig` does, up to ties)."""
    v = np.asarray(v, dtype=float)
    out = v.copy()
    nz = np.isfinite(v) & (v != 0)
    e = np.floor(np.log10(np.abs(v[nz]))).astype(int) - (digits - 1)
    m = v[nz]
    r = np.where(e < 0, np.round(m * 10.0 ** np.maximum(-e, 0)) / 10.0 ** np.maximum(-e, 0),
                 np.round(m / 10.0 ** np.maximum(e, 0)) * 10.0 ** np.maximum(e, 0))
    out[nz] = r
    return out


def _specials(lo: float, hi: float, critical: Sequence[float]) -> list:
    specials = [lo] + [float(c) for c in critical if lo <= float(c) <= hi and float(c) not in (lo, hi)]
    if hi != lo:
        specials.append(hi)
    return specials


def draw_step_sizes(rng: np.random.Generator, size: int, lo: float = 1e-3, hi: float = 0.5, *,
                    critical: Sequence[float] = (), digits: int = 3) -> np.ndarray:
    """``size`` step sizes drawn as :func:`step_sizes` draws them, at numpy speed: half from
    the explicit values (``lo``, ``critical`` inside the range, ``hi``), half log-uniform in
    ``[lo, hi]`` rounded to ``digits`` significant digits. Used by check-oracle's search."""
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
        raise InvalidArgument(f"step sizes need 0 < lo <= hi (finite), got lo={lo!r}, hi={hi!r}")
    if lo == hi:
        return np.full(size, lo)
    specials = np.array(_specials(lo, hi, critical))
    u = rng.uniform(math.log10(lo), math.log10(hi), size)
    val = np.clip(round_sig_array(10.0 ** u, digits), lo, hi)
    pick = rng.random(size) < 0.5
    val[pick] = specials[rng.integers(0, len(specials), int(pick.sum()))]
    return val


def draw_initial_conditions(rng: np.random.Generator, size: int, game=None, *, dim: Optional[int] = None,
                            n_gen: Optional[int] = None, equilibrium: Optional[Sequence[float]] = None,
                            kinds: Sequence[str] = KINDS, digits: int = 4) -> np.ndarray:
    """``size`` starts (rows) drawn as :func:`initial_conditions` draws them, at numpy speed:
    a kind uniformly from ``kinds``, components of ``u`` uniform in ``[-10, 10]`` rounded to
    ``digits`` significant digits (``|u_i| < 1e-3`` becomes 1), ``x0 = x* + s u`` with the
    kind's scale; ``boundary`` starts zero the generator or the discriminator block."""
    if game is not None:
        dim, n_gen = game.dim, game.n_gen
        equilibrium = game.equilibrium_numeric.tolist()
    if dim is None or int(dim) < 1:
        raise InvalidArgument(f"draw_initial_conditions needs a game or dim >= 1, got dim={dim!r}")
    dim = int(dim)
    n_gen = dim // 2 if n_gen is None else int(n_gen)
    x_star = np.zeros(dim) if equilibrium is None else np.asarray(equilibrium, dtype=float)
    kinds = list(kinds)
    bad = [k for k in kinds if k not in ALL_KINDS]
    if bad or not kinds:
        raise InvalidArgument(f"unknown kinds {bad or kinds!r}; valid: {', '.join(ALL_KINDS)}")
    u = round_sig_array(rng.uniform(-10.0, 10.0, (size, dim)), digits)
    u[np.abs(u) < 1e-3] = 1.0
    kind = rng.integers(0, len(kinds), size)
    scale = np.array([1.0 if k == "boundary" else SCALES[k] for k in kinds])[kind]
    if "boundary" in kinds and 0 < n_gen < dim:
        on = kind == kinds.index("boundary")
        which = rng.random(size) < 0.5
        u[on & which, :n_gen] = 0.0
        u[on & ~which, n_gen:] = 0.0
    return x_star + scale[:, None] * u


def corner_draws(game, lo: float, hi: float, *, critical: Sequence[float] = (),
                 kinds: Sequence[str] = KINDS) -> tuple[np.ndarray, np.ndarray]:
    """The simple draws Hypothesis tries first, as arrays ``(X0, etas)``: ``u`` in
    ``{(1, ..., 1), (-1, ..., -1), (1, -1, ...), (10, ..., 10)}`` at every kind of start
    (both boundary blocks), each with every explicit step size (range ends, critical values)."""
    dim, n_gen = game.dim, game.n_gen
    x_star = game.equilibrium_numeric
    alt = np.where(np.arange(dim) % 2 == 0, 1.0, -1.0)
    us = [np.ones(dim), -np.ones(dim), alt, 10.0 * np.ones(dim)]
    if 0 < n_gen < dim:  # the generator block against the discriminator block
        split = np.ones(dim)
        split[n_gen:] = -1.0
        us.append(split)
    starts = []
    for kind in kinds:
        for u in us:
            if kind == "boundary" and 0 < n_gen < dim:
                for blk in (slice(0, n_gen), slice(n_gen, dim)):
                    w = u.copy()
                    w[blk] = 0.0
                    starts.append(x_star + w)
            else:
                starts.append(x_star + (1.0 if kind == "boundary" else SCALES[kind]) * u)
    X = np.unique(np.array(starts), axis=0)
    etas = np.array(_specials(float(lo), float(hi), critical) if lo != hi else [float(lo)])
    return np.repeat(X, len(etas), axis=0), np.tile(etas, len(X))


# --------------------------------------------------------------------------- games

REG_SPECS = {
    "noise": st.floats(0.05, 2.0).map(lambda v: f"noise:sigma={_round_sig(v, 3)}"),
    "r1": st.floats(0.01, 10.0).map(lambda v: f"r1:gamma={_round_sig(v, 3)}"),
    "r2": st.floats(0.01, 10.0).map(lambda v: f"r2:gamma={_round_sig(v, 3)}"),
    "gradnorm": st.floats(0.01, 10.0).map(lambda v: f"gradnorm:gamma={_round_sig(v, 3)}"),
}


def game_specs(systems: Sequence[str] = ("dirac",), losses: Optional[Sequence[str]] = None,
               regularizers: Sequence[str] = ("noise", "r1", "r2"),
               conventions: Sequence[str] = ("mescheder", "thesis")) -> st.SearchStrategy[tuple]:
    """Specs ``(system, loss, regs, convention)`` of built-in games (shrink to WGAN Dirac-GAN).

    ``regs`` is a tuple of zero or one regularizer spec (``noise:sigma=0.3``,
    ``r1:gamma=1``, ...) with a drawn parameter.
    """
    from stabcheck.games.gan import LOSSES

    losses = list(LOSSES) if losses is None else list(losses)
    bad = [l for l in losses if l not in LOSSES]
    if bad:
        raise InvalidArgument(f"unknown losses {bad}; valid: {', '.join(LOSSES)}")
    bad = [r for r in regularizers if r not in REG_SPECS]
    if bad:
        raise InvalidArgument(f"unknown regularizers {bad}; valid: {', '.join(REG_SPECS)}")
    regs = st.one_of([st.just(())] + [REG_SPECS[r].map(lambda s: (s,)) for r in regularizers])
    return st.tuples(st.sampled_from(list(systems)), st.sampled_from(losses), regs,
                     st.sampled_from(list(conventions)))


@functools.lru_cache(maxsize=256)
def build_game(system: str, loss: Optional[str], regs: tuple = (), convention: Optional[str] = None):
    """:func:`stabcheck.games.make_game`, cached (games are immutable; building one runs sympy)."""
    from stabcheck.games import make_game

    return make_game(system, loss, None, list(regs), convention)


def games(**kwargs) -> st.SearchStrategy:
    """Built-in games (a :class:`stabcheck.games.Game`), from :func:`game_specs` (same arguments)."""
    return game_specs(**kwargs).map(lambda s: build_game(*s))


# --------------------------------------------------------------------------- seeds

def seeds() -> st.SearchStrategy[int]:
    """Seeds for batch sampling and other randomness (``0 <= seed < 2**32``)."""
    return st.integers(0, 2 ** 32 - 1)


# --------------------------------------------------------------------------- matrices

def spectra(n: int, *, max_modulus: float = 1.5, min_modulus: float = 0.0,
            complex_pairs: bool = True, digits: int = 4) -> st.SearchStrategy[np.ndarray]:
    """Spectra of real ``n x n`` matrices: real eigenvalues and conjugate pairs.

    Returns arrays of ``n`` complex numbers, closed under conjugation, with moduli in
    ``[min_modulus, max_modulus]``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidArgument(f"n must be an integer >= 1, got {n!r}")
    if not (0 <= min_modulus <= max_modulus) or not math.isfinite(max_modulus):
        raise InvalidArgument(f"need 0 <= min_modulus <= max_modulus < inf, got {min_modulus}, {max_modulus}")
    mod = st.floats(min_modulus, max_modulus).map(lambda v: _round_sig(v, digits))
    ang = st.floats(0.05, math.pi - 0.05).map(lambda v: _round_sig(v, digits))

    @st.composite
    def _draw(draw):
        out: list = []
        while len(out) < n:
            if complex_pairs and n - len(out) >= 2 and draw(st.booleans()):
                r, a = draw(mod), draw(ang)
                z = r * complex(math.cos(a), math.sin(a))
                if abs(z.imag) > 1e-6:
                    out += [z, z.conjugate()]
                    continue
            r = draw(mod)
            out.append(complex(r if draw(st.booleans()) else -r, 0.0))
        return np.array(out, dtype=complex)

    return _draw()


def real_matrix_with_spectrum(eigenvalues: Sequence[complex], basis: np.ndarray) -> np.ndarray:
    """``A = T B T^{-1}``: ``B`` block diagonal (1x1 real, 2x2 ``[[a, b], [-b, a]]`` per pair).

    ``eigenvalues`` must be closed under conjugation with each pair adjacent (as
    :func:`spectra` draws them); ``basis`` an invertible ``n x n`` matrix ``T``.
    """
    ev = list(eigenvalues)
    n = len(ev)
    B = np.zeros((n, n))
    i = 0
    while i < n:
        z = complex(ev[i])
        if abs(z.imag) > 0:
            if i + 1 >= n or abs(complex(ev[i + 1]) - z.conjugate()) > 1e-12 * max(1.0, abs(z)):
                raise InvalidArgument(f"eigenvalue {z} must be followed by its conjugate")
            B[i:i + 2, i:i + 2] = [[z.real, z.imag], [-z.imag, z.real]]
            i += 2
        else:
            B[i, i] = z.real
            i += 1
    T = np.asarray(basis, dtype=float)
    return T @ B @ np.linalg.inv(T)


def matrices_with_spectrum(n: int, *, max_modulus: float = 1.5, min_modulus: float = 0.0,
                           max_condition: float = 100.0, **kwargs) -> st.SearchStrategy[tuple]:
    """Pairs ``(A, eigenvalues)``: a random real ``n x n`` matrix with a prescribed spectrum.

    ``A = T B T^{-1}`` with ``B`` the real block-diagonal form of the drawn spectrum
    (:func:`spectra`) and ``T`` a random basis whose condition number is at most
    ``max_condition`` (so the eigenvalues of ``A`` are accurate to about
    ``max_condition * 1e-16`` relative; ``T = I`` is drawn as the simplest case). For the
    linear tools (:func:`stabcheck.certify.certify_linear`): ``x_{k+1} = A x_k``.
    """
    if not max_condition >= 1:
        raise InvalidArgument(f"max_condition must be >= 1, got {max_condition}")
    entry = st.floats(-1, 1).map(lambda v: _round_sig(v, 3))
    basis = st.one_of(st.just(None), st.lists(entry, min_size=n * n, max_size=n * n))

    def ok(T):
        if T is None:
            return True
        M = np.eye(n) + np.array(T).reshape(n, n)
        c = np.linalg.cond(M)
        return bool(np.isfinite(c) and c <= max_condition)

    def build(args):
        ev, T = args
        M = np.eye(n) if T is None else np.eye(n) + np.array(T).reshape(n, n)
        return real_matrix_with_spectrum(ev, M), ev

    return st.tuples(spectra(n, max_modulus=max_modulus, min_modulus=min_modulus, **kwargs),
                     basis.filter(ok)).map(build)


__all__ = ["draw_step_sizes", "draw_initial_conditions", "corner_draws", "round_sig_array", "step_sizes", "critical_step_sizes", "initial_conditions", "game_specs", "games", "build_game",
           "seeds", "spectra", "matrices_with_spectrum", "real_matrix_with_spectrum", "SCALES", "KINDS", "ALL_KINDS"]
