"""``analyze``: the eigen-analysis of every method at the equilibrium (the JSON contract).

For each method: the Jacobian of ``F_eta`` at the equilibrium, its eigenvalues (sorted by real
part, then imaginary part), the spectral radius, a verdict (exact where decidable), the linear
rate (iterations per decade of error), and the set of stable step sizes. For the game's own
field: the Jacobian's eigenvalues and whether it is Hurwitz (the continuous-time verdict),
plus Nie & Patel's phase factor ``zeta = max |Im/Re|`` and conditioning factor
``tau = max|lambda| / min|lambda|``.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.linearize import (RHO_TOL, exact_hurwitz, hurwitz, iterations_per_decade,
                                 linear_map_matrix, method_jacobian, numeric_verdict_matrix,
                                 sorted_eigenvalues, verdict_of)
from stabcheck.methods import DEFAULT_METHODS, Method, make_method


def check_eta(eta) -> float:
    """Validate a step size: finite and > 0."""
    try:
        e = float(eta)
    except (TypeError, ValueError):
        raise BadInput(f"--eta must be a number > 0, got {eta!r}") from None
    if not math.isfinite(e) or e <= 0:
        raise BadInput(f"--eta must be a finite number > 0, got {eta!r}")
    return e


def eig_pairs(ev: np.ndarray) -> list:
    """Eigenvalues as ``[[re, im], ...]`` (JSON form)."""
    return [[float(np.real(z)), float(np.imag(z))] for z in ev]


def field_factors(eigs: np.ndarray) -> dict:
    """Nie & Patel's phase factor and conditioning factor of a field Jacobian's spectrum.

    ``phase_factor`` = max |Im/Re| over eigenvalues with Re != 0 (inf if some eigenvalue is
    purely imaginary and non-zero); ``conditioning_factor`` = max|l| / min|l| (inf if an
    eigenvalue is 0). Lower bounds on Sim-GDA's iterations per decade of error, for the best
    step size (Nie & Patel Cor. 1 and 2, as derived in docs/theory.md):
    ``2 ln 10 / ln(1 + 1/zeta^2)`` from the phase factor and, when ``tau > 2``,
    ``ln 10 / -ln(1 - 2/tau)`` from the conditioning factor.
    """
    eigs = np.asarray(eigs)
    mags = np.abs(eigs)
    re, im = np.real(eigs), np.imag(eigs)
    scale = max(float(mags.max()), 1e-300) if mags.size else 1.0
    cplx = np.abs(im) > 1e-12 * scale
    if np.any(cplx & (np.abs(re) <= 1e-12 * scale)):
        zeta = math.inf
    elif np.any(cplx):
        zeta = float(np.max(np.abs(im[cplx] / re[cplx])))
    else:
        zeta = 0.0
    tau = math.inf if mags.size == 0 or mags.min() <= 1e-14 * scale else float(mags.max() / mags.min())
    out = {"phase_factor": _json_float(zeta), "conditioning_factor": _json_float(tau)}
    if 0 < zeta < math.inf:
        out["iterations_per_decade_bound_phase"] = 2 * math.log(10) / math.log1p(1 / zeta ** 2)
    if 2 < tau < math.inf:
        out["iterations_per_decade_bound_conditioning"] = math.log(10) / -math.log1p(-2 / tau)
    return out


def _json_float(x: float):
    """Non-finite factors stay floats: JSON writes them as ``"inf"`` (:mod:`stabcheck.jsonout`)."""
    return float(x)


def sim_stable_eta_closed_form(field_eigs: np.ndarray, J_exact=None) -> dict:
    """Mescheder et al. (2017) / thesis eq. 9: Sim-GDA is stable iff every field eigenvalue
    has ``Re < 0`` and ``eta < -2 Re(l) / |l|^2 = 2 / |Re l| / (1 + (Im l / Re l)^2)``.

    With the exact field Jacobian ``J_exact`` (sympy, small) the bound is also computed
    exactly: ``max_exact`` is its string (e.g. ``"1/2"``) and ``max`` the float nearest to it;
    ``max_exact`` is None when only the float is known."""
    ev = np.asarray(field_eigs)
    rule = "closed form (thesis eq. 9)"
    if ev.size == 0 or np.any(np.real(ev) >= 0):
        return {"max": None, "max_exact": None, "intervals": [], "exact": True, "rule": rule}
    bound = float(np.min(-2 * np.real(ev) / np.abs(ev) ** 2))
    exact_bound = _exact_sim_bound(J_exact)
    if exact_bound is not None:
        bound = float(exact_bound.evalf(30))
    return {"max": bound, "max_exact": None if exact_bound is None else str(exact_bound),
            "intervals": [[0.0, bound]], "exact": True, "rule": rule}


def _exact_sim_bound(J_exact):
    """``min -2 Re(l) / |l|^2`` over the exact eigenvalues of a small rational matrix (None
    when it is not small, not rational, or sympy cannot resolve the eigenvalues)."""
    import sympy as sp

    if J_exact is None or J_exact.shape[0] > 4 or not all(e.is_Rational for e in J_exact):
        return None
    try:
        vals = []
        for lam in J_exact.eigenvals():
            re, im = sp.re(lam), sp.im(lam)
            vals.append(sp.nsimplify(sp.simplify(-2 * re / (re ** 2 + im ** 2))))
        if not vals or not all(v.is_real and v.is_finite for v in vals):
            return None
        return sp.Min(*vals) if len(vals) > 1 else vals[0]
    except Exception:  # noqa: BLE001 - the float bound stands
        return None


def _skew_2x2(J) -> Optional[float]:
    """``c`` if the exact field Jacobian is ``[[0, -c], [c, 0]]`` (the Dirac-GAN without
    regularization), else None."""
    if J is None or J.shape != (2, 2):
        return None
    if J[0, 0] == 0 and J[1, 1] == 0 and J[0, 1] == -J[1, 0] and J[1, 0] != 0:
        return float(J[1, 0])
    return None


def alt_stable_eta_closed_form(c: float, n_d: int, n_g: int) -> dict:
    """Mescheder et al. (2018), Lemma 2.4: with field Jacobian ``[[0, -c], [c, 0]]`` Alt-GDA's
    eigenvalues lie on the unit circle iff ``alpha = sqrt(n_g n_d) eta |c| <= 2`` (at
    ``alpha = 2`` a Jordan block: the double eigenvalue -1 grows linearly) and outside it for
    ``alpha > 2``. It never converges: no step size has spectral radius < 1."""
    edge = 2.0 / (math.sqrt(n_g * n_d) * abs(c))
    return {"max": None, "intervals": [], "neutral": [[0.0, edge]], "unbounded": [edge], "exact": True,
            "rule": "closed form (Mescheder et al. 2018, Lemma 2.4): neutral for 0 < eta < edge, a Jordan "
                    "block (polynomial growth) at eta = edge, diverges beyond"}


def stable_eta_scan(rule, J: np.ndarray, n_gen: int, *, n_grid: int = 400, tol: float = RHO_TOL) -> dict:
    """Step sizes with spectral radius < 1, by a log-spaced scan plus bisection at each edge.

    The map's Jacobian for step size ``eta`` is rebuilt from the field Jacobian ``J`` by the
    rule itself (:func:`stabcheck.linearize.linear_map_matrix`). Intervals are reported with
    relative precision ~1e-10 at the edges found; features narrower than the grid spacing
    (factor ``10^(9/n_grid)``) can be missed, so ``exact`` is False.
    """
    scale = float(np.max(np.abs(np.linalg.eigvals(J)))) if J.size else 0.0
    if scale == 0:
        return {"max": None, "intervals": [], "neutral": [], "unbounded": [], "exact": False, "rule": "scan"}
    etas = np.logspace(-6, 3, n_grid) / scale

    def cls(e):
        v = numeric_verdict_matrix(linear_map_matrix(rule, J, e, n_gen), tol).verdict
        return {"converges": 0, "neutral": 1, "diverges": 2, "unbounded": 3}[v]

    labels = [cls(e) for e in etas]

    def edge(a, b, la):
        for _ in range(60):
            m = math.sqrt(a * b)
            if cls(m) == la:
                a = m
            else:
                b = m
        return a if la == 0 else b

    def collect(target):
        out, start = [], None
        for i, lab in enumerate(labels):
            if lab == target and start is None:
                start = 0.0 if i == 0 else edge(etas[i - 1], etas[i], labels[i - 1])
            if lab != target and start is not None:
                out.append([start, edge(etas[i - 1], etas[i], target)])
                start = None
        if start is not None:
            out.append([start, float(etas[-1])])
        return [[float(a), float(b)] for a, b in out]

    conv = collect(0)
    # a crossing of rho = 1 leaves a sliver within the tolerance: not a neutral range
    neutral = [[a, b] for a, b in collect(1) if b - a > 1e-6 * b]
    # a Jordan block at a neutral range's end: floating point sees it only (nearly) at the point
    unbounded = []
    for _, b in neutral:
        for e in dict.fromkeys((float(f"{b:.12g}"), b)):
            if e > 0 and cls(e) == 3:
                unbounded.append(e)
                break
    return {"max": conv[-1][1] if conv else None, "intervals": conv, "neutral": neutral, "unbounded": unbounded,
            "exact": False, "rule": f"scan of {n_grid} log-spaced step sizes + bisection"}


def _step_scale(rule, d: int, n_gen: int) -> np.ndarray:
    """The optimizer's per-coordinate step scale (precond x ratio) as floats."""
    from stabcheck.rules import FieldFns

    return np.asarray(rule.optimizer.scale(FieldFns(lambda x: x, n_gen, d)), dtype=float)


def stable_eta(rule, lin, n_gen: int) -> dict:
    """The set of stable step sizes: closed forms where they hold, else a scan.

    * Sim-GDA with a memoryless optimizer (per-player ``ratio``, a diagonal ``precond``
      ``D``): the map is ``I + eta P J`` with ``P = diag(D * (1, ratio))``, so thesis eq. 9
      applies to the eigenvalues of ``P J`` (Sim-GDA on the field ``P v``).
    * Alt-GDA on ``[[0, -c], [c, 0]]`` with a scalar preconditioner ``p`` and ``ratio``:
      Mescheder's Lemma 2.4 with ``a = sqrt(n_d n_g ratio) p eta |c|``.
    * Everything else (momentum, Adam's first moment, other rules, other games): the scan.
    """
    from stabcheck.rules import Alt, Sim

    opt = rule.optimizer
    d = lin.field_jacobian.shape[0]
    if isinstance(rule, Sim) and opt.slots == 0:
        P = _step_scale(rule, d, n_gen)
        exact_J = lin.field_jacobian_exact if opt.plain else None
        stable = sim_stable_eta_closed_form(sorted_eigenvalues(P[:, None] * lin.field_jacobian), exact_J)
        stable["neutral"] = []
        stable["unbounded"] = []
        if not opt.plain:
            stable["rule"] += " on the field P v (P = precond x step ratio)"
        return stable
    c = _skew_2x2(lin.field_jacobian_exact)
    if isinstance(rule, Alt) and c is not None and opt.slots == 0 and not isinstance(opt.precond, np.ndarray):
        p = 1.0 if opt.precond is None else float(opt.precond)
        stable = alt_stable_eta_closed_form(c * p * math.sqrt(opt.ratio), rule.n_d, rule.n_g)
        if not opt.plain:
            stable["rule"] += "; a = sqrt(n_d n_g ratio) p eta |c|"
        return stable
    return stable_eta_scan(rule, lin.field_jacobian, n_gen)


def analyze_method(game, method: Method, eta: float, *, exact_path: bool = True) -> dict:
    """One entry of the ``methods`` list of the analyze contract."""
    lin = method_jacobian(game, method, eta, exact_path=exact_path)
    if not np.all(np.isfinite(lin.numeric)):
        raise BadInput(f"eta = {eta:g}: the Jacobian of {method.spec}'s map overflows float64 "
                       "(entries beyond 1.8e308); use a smaller step size")
    ev = sorted_eigenvalues(lin.numeric)
    rho = float(np.max(np.abs(ev))) if ev.size else 0.0
    v = verdict_of(lin)
    fev = sorted_eigenvalues(lin.field_jacobian)
    stable = stable_eta(method.rule, lin, game.n_gen)
    entry = {
        "method": method.name,
        "params": method.params,
        "spec": method.spec,
        "jacobian": lin.numeric.tolist(),
        "eigenvalues": eig_pairs(ev),
        "spectral_radius": rho,
        "verdict": v.verdict,
        "verdict_exact": v.exact,
        "defective": v.defective,
        "iterations_per_decade": iterations_per_decade(rho) if v.verdict == "converges" else None,
        "stable_eta": stable,
        "jacobian_path": lin.path,
        "gradient_evaluations": method.rule.gradient_evaluations(),
        "optimizer": method.rule.optimizer.describe(),
    }
    if v.note:
        entry["note"] = v.note
    if lin.exact is not None:
        entry["jacobian_exact"] = [[str(e) for e in lin.exact.row(i)] for i in range(lin.exact.shape[0])]
    if method.transform is not None:
        entry["field"] = {"eigenvalues": eig_pairs(fev), "hurwitz": _hurwitz(lin.field_jacobian_exact, fev),
                          **field_factors(fev)}
    if method.rule.name == "alt":
        entry["order"] = f"{method.rule.first} first"
    return entry


def _hurwitz(J_exact, eigs) -> bool:
    if J_exact is not None:
        h = exact_hurwitz(J_exact)
        if h is not None:
            return h
    return hurwitz(eigs)


def resolve_methods(specs: Optional[Sequence[str]]) -> list:
    return [make_method(s) for s in (specs or DEFAULT_METHODS)]


def analyze(game, methods: Iterable[Method], eta: float, *, exact_path: bool = True) -> dict:
    """The full analyze report (JSON contract of DESIGN.md, with extra keys)."""
    from stabcheck.fields import game_field

    eta = check_eta(eta)
    f = game_field(game)
    J_exact = f.jacobian_exact() if exact_path else None
    J = np.array(J_exact.evalf(30).tolist(), dtype=float) if J_exact is not None else f.jacobian_numeric()
    fev = sorted_eigenvalues(J)
    report = {
        "system": game.describe(),
        "eta": eta,
        "equilibrium": game.equilibrium_numeric.tolist(),
        "convention": _convention_text(game),
        "field": {"jacobian": J.tolist(), "eigenvalues": eig_pairs(fev), "hurwitz": _hurwitz(J_exact, fev),
                  **field_factors(fev)},
        "methods": [analyze_method(game, m, eta, exact_path=exact_path) for m in methods],
        "tolerance": {"spectral_radius": RHO_TOL},
    }
    if J_exact is not None:
        report["field"]["jacobian_exact"] = [[str(e) for e in J_exact.row(i)] for i in range(J_exact.shape[0])]
    return report


def _convention_text(game) -> str:
    base = ("theta (generator) minimizes L_G, psi (discriminator) maximizes L_D; "
            "field v = (-grad_theta L_G, grad_psi L_D); ")
    if game.convention == "mescheder":
        return base + "Mescheder convention: discriminator scores generated data high (Dirac-GAN L = f(psi*theta) + f(0))"
    return base + "thesis / Nie & Patel convention: discriminator scores real data high (WGAN Dirac-GAN L = -psi*theta)"
