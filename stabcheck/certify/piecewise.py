"""Piecewise-quadratic certificates for state-dependent switching (oracles), S-procedure.

Model: mode ``i`` (``x_{k+1} = A_i x_k``) applies on the closed quadratic-form cone
``R_i = {x : x^T S x >= 0 for every S in regions[i]}``; the cones must cover the state space
and the oracle must apply a mode whose cone contains the state (closed cones make the
certificate independent of how ties on boundaries are broken).

Certificate: ``V(x) = x^T P_i x`` for ``x`` in ``R_i`` with, for some multipliers ``>= 0``,

* positivity on the cone: ``P_i - sum_k lam_ik S_ik >= m I``;
* decrease over every transition ``i -> j`` (``x`` in ``R_i`` and ``A_i x`` in ``R_j``):
  ``A_i^T P_j A_i - P_i + sum_k tau_ijk S_ik + sum_l mu_ijl A_i^T S_jl A_i <= -m I``
  (strict) or ``<= 0`` (non-strict).

By the S-procedure these LMIs imply ``V(x) >= m |x|^2`` on ``R_i`` and
``V_j(A_i x) <= V_i(x) - m |x|^2`` whenever ``x`` is in ``R_i`` and ``A_i x`` in ``R_j`` (the
converse can fail: infeasibility proves only that no certificate of *this form* exists). All
LMIs are re-checked in exact rational arithmetic with the rounded ``P_i`` and multipliers.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction
from typing import Any, Optional, Sequence

import numpy as np

from stabcheck.certify import exact as ex
from stabcheck.certify.lyapunov import (CertificateResult, SOLVER_TOL, check_matrix, check_solver,
                                        dyadic_floor, exact_of, fraction_strings, solve_problem)
from stabcheck.errors import BadInput


def parse_model(modes: Sequence[Any], regions: Sequence[Sequence[Any]]):
    """Validate ``modes`` (``(name, A, A_exact)`` tuples or bare matrices) and ``regions``."""
    if not modes:
        raise BadInput("a switched model needs at least one mode")
    names, mats, fr = [], [], []
    for i, md in enumerate(modes):
        if isinstance(md, tuple) and len(md) == 3 and isinstance(md[0], str):
            name, A, Ae = md
        else:
            name, A, Ae = f"mode{i}", md, None
        Af = check_matrix(A, f"mode {name}")
        names.append(name)
        mats.append(Af)
        fr.append(exact_of(Af, Ae, f"mode {name}"))
    n = mats[0].shape[0]
    if any(A.shape != (n, n) for A in mats):
        raise BadInput(f"all modes must be ({n}, {n}) matrices")
    if len(regions) != len(mats):
        raise BadInput(f"{len(regions)} regions given for {len(mats)} modes; need one list of S per mode")
    Ss, Ss_fr = [], []
    for i, reg in enumerate(regions):
        row, row_fr = [], []
        for S in reg:
            Sf = check_matrix(S, f"region S of mode {names[i]}")
            if Sf.shape != (n, n):
                raise BadInput(f"region matrix of mode {names[i]} has shape {Sf.shape}, expected ({n}, {n})")
            F = ex.to_fraction_matrix(S)
            if not ex.is_exactly_symmetric(F):
                raise BadInput(f"region matrix of mode {names[i]} is not symmetric")
            row.append(Sf)
            row_fr.append(F)
        Ss.append(row)
        Ss_fr.append(row_fr)
    return names, mats, fr, Ss, Ss_fr


def mode_of(x: np.ndarray, Ss: Sequence[Sequence[np.ndarray]]) -> int:
    """The first mode whose cone contains ``x`` (-1 if none)."""
    for i, reg in enumerate(Ss):
        if all(x @ S @ x >= 0 for S in reg):
            return i
    return -1


def simulate_switched(mats, Ss, x0: np.ndarray, steps: int) -> tuple[float, float, list]:
    """Run the state-dependent switched system; return (log10 max growth, log10 final growth, modes)."""
    x = np.array(x0, dtype=float)
    n0 = np.linalg.norm(x)
    mx, used = 0.0, []
    logscale = 0.0
    for _ in range(steps):
        i = mode_of(x, Ss)
        if i < 0:
            break
        used.append(i)
        x = mats[i] @ x
        nx = np.linalg.norm(x)
        if nx == 0 or not np.isfinite(nx):
            break
        logscale += math.log10(nx)
        x = x / nx
        mx = max(mx, logscale - math.log10(n0))
    return mx, logscale - math.log10(n0), used


def _lmis(mats, Ss, P, lam, tau, mu):
    """The LMI matrices (as expressions over P and the multipliers); a dict name -> expr."""
    m = len(mats)
    out = {}
    for i in range(m):
        out[("pos", i)] = P[i] - sum((lam[i][k] * Ss[i][k] for k in range(len(Ss[i]))), 0 * P[i])
    for i in range(m):
        A = mats[i]
        for j in range(m):
            T = A.T @ P[j] @ A - P[i]
            for k in range(len(Ss[i])):
                T = T + tau[i][j][k] * Ss[i][k]
            for l_ in range(len(Ss[j])):
                T = T + mu[i][j][l_] * (A.T @ Ss[j][l_] @ A)
            out[("dec", i, j)] = T
    return out


def piecewise_certificate(modes: Sequence[Any], regions: Sequence[Sequence[Any]], *,
                          strict: bool = True, solver: str = "CLARABEL",
                          sim_steps: int = 2000, sim_starts: int = 64) -> CertificateResult:
    """Search a piecewise-quadratic certificate (S-procedure), check it exactly.

    Parameters
    ----------
    modes : list of ``(name, A, A_exact)`` (or bare matrices)
        ``x_{k+1} = A x_k`` in each mode; ``A_exact`` (rational, optional) is used by the exact check.
    regions : list (one per mode) of lists of symmetric matrices ``S``
        Mode ``i`` applies where ``x^T S x >= 0`` for every ``S`` in ``regions[i]``.
    strict : bool
        Strict decrease (asymptotic stability) or non-strict (Lyapunov stability).

    Returns
    -------
    CertificateResult with ``P = None`` and ``extras["P_pieces"]`` (one matrix per mode), plus
    ``extras["simulation"]``: the growth of simulated trajectories (evidence, not proof).
    """
    import cvxpy as cp

    solver = check_solver(solver)
    t_start = time.perf_counter()
    names, mats, fr, Ss, Ss_fr = parse_model(modes, regions)
    n, m = mats[0].shape[0], len(mats)
    res = CertificateResult(status="inconclusive", strict=strict, solver=solver, dynamics="piecewise",
                            solver_tolerance=SOLVER_TOL[solver])
    res.extras["modes"] = names
    P = [cp.Variable((n, n), symmetric=True) for _ in range(m)]
    lam = [[cp.Variable(nonneg=True) for _ in Ss[i]] for i in range(m)]
    tau = [[[cp.Variable(nonneg=True) for _ in Ss[i]] for _ in range(m)] for i in range(m)]
    mu = [[[cp.Variable(nonneg=True) for _ in Ss[j]] for j in range(m)] for i in range(m)]
    t = cp.Variable()
    eye = np.eye(n)
    L = _lmis(mats, Ss, P, lam, tau, mu)
    cons = [P[i] << t * eye for i in range(m)]
    for key, E in L.items():
        E = (E + E.T) / 2
        if key[0] == "pos":
            cons.append(E >> eye)
        else:
            cons.append(E << (-eye if strict else 0 * eye))
    prob = cp.Problem(cp.Minimize(t), cons)
    status, secs, err = solve_problem(prob, solver)
    res.solver_status = status if err is None else f"{status}: {err}"
    res.solve_wall_s = secs
    # evidence from simulation (always: it is cheap)
    sim = _simulation_evidence(mats, Ss, n, sim_steps, sim_starts)
    res.extras["simulation"] = sim
    sense = "strict" if strict else "non-strict"
    if status in ("infeasible", "infeasible_inaccurate"):
        res.status = "not certified"
        res.counterexample = sim["worst"] if sim["worst"]["log10_final_growth"] > 0 else None
        tail = (f"; a simulated trajectory grows by 10^{sim['worst']['log10_final_growth']:.2f} in "
                f"{sim_steps} steps, so every candidate V grows on it" if res.counterexample and
                sim['worst']['log10_final_growth'] > 1 else
                f"; simulated trajectories ({sim_starts} starts, {sim_steps} steps) grow by at most "
                f"10^{sim['max_log10_growth']:.2f} (evidence, not proof)")
        res.statement = (f"No {sense} piecewise-quadratic certificate of this form: the S-procedure SDP is "
                         f"{status.replace('_', ' ')}{tail}.")
        res.wall_s = time.perf_counter() - t_start
        return res
    if P[0].value is None or status not in ("optimal", "optimal_inaccurate"):
        res.statement = (f"Inconclusive: solver {solver} returned status {status!r}"
                         f"{' (' + err + ')' if err else ''}; nothing is proven.")
        res.wall_s = time.perf_counter() - t_start
        return res
    t1 = time.perf_counter()
    scale = max(float(np.linalg.eigvalsh((Pi.value + Pi.value.T) / 2).max()) for Pi in P)
    Pv = [(Pi.value + Pi.value.T) / 2 / scale for Pi in P]

    def val(v):
        return max(float(v.value), 0.0) / scale

    lamv = [[val(v) for v in row] for row in lam]
    tauv = [[[val(v) for v in r2] for r2 in r1] for r1 in tau]
    muv = [[[val(v) for v in r2] for r2 in r1] for r1 in mu]
    Lnum = _lmis(mats, Ss, Pv, lamv, tauv, muv)
    slack = [np.linalg.eigvalsh((E + E.T) / 2).min() if k[0] == "pos" else
             np.linalg.eigvalsh(-(E + E.T) / 2).min() for k, E in Lnum.items()
             if strict or k[0] == "pos"]
    mgn = dyadic_floor(0.5 * float(min(slack)))
    # Rounding: 40-bit first; for non-strict certificates an exact equality must survive,
    # so also try snapping every entry to the nearest fraction with a small denominator
    # (continued fractions), which recovers rational structure such as P = [[1, -eta/2], ...].
    for max_den in ([None] if strict else [None, 10, 100, 1000, 10 ** 4, 10 ** 6]):
        ok, viol, details, Pr = _exact_check(fr, Ss_fr, Pv, lamv, tauv, muv, mgn, strict, max_den)
        if ok:
            res.extras["rounding"] = "40-bit" if max_den is None else f"denominators <= {max_den}"
            break
        if max_den is None:
            first = (viol, details, Pr)
    if not ok:
        viol, details, Pr = first
    res.exact_wall_s = time.perf_counter() - t1
    res.extras["checks"] = details
    res.extras["P_pieces"] = [[[float(v) for v in r] for r in Pi] for Pi in Pr]
    if ok and mgn > 0:
        res.status = "certified"
        res.exact_check = True
        res.margin = float(mgn)
        res.max_violation = 0.0
        res.extras["P_pieces_exact"] = [fraction_strings(Pi) for Pi in Pr]
        what = ("V_j(A_i x) <= V_i(x) - %.3g |x|^2 on every transition" % float(mgn) if strict
                else "V never increases on any transition")
        res.statement = (f"Proven by an exact rational check: the piecewise-quadratic V(x) = x^T P_i x on "
                         f"region i is >= {float(mgn):.3g} |x|^2 and {what}, so the origin is "
                         f"{'exponentially' if strict else 'Lyapunov'} stable under the state-dependent switching.")
    else:
        res.status = "not certified"
        res.max_violation = viol
        res.statement = (f"Not certified: the {sense} {solver} solution ({status}) failed the exact rational "
                         f"check (largest violation {viol:.3g}); nothing is proven.")
    res.wall_s = time.perf_counter() - t_start
    return res


def _rat(x: float, max_den: Optional[int] = None) -> Fraction:
    if x <= 0:
        return Fraction(0)
    return Fraction(x).limit_denominator(max_den or 2 ** 40)


def _snap(P: np.ndarray, max_den: Optional[int]) -> list:
    if max_den is None:
        return ex.rationalize(P)
    n = P.shape[0]
    R = [[Fraction(float(P[i, j])).limit_denominator(max_den) for j in range(n)] for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            R[i][j] = R[j][i] = (R[i][j] + R[j][i]) / 2
    return R


def _exact_check(fr, Ss_fr, Pv, lamv, tauv, muv, mgn: Fraction, strict: bool, max_den=None):
    n, m = len(fr[0]), len(fr)

    def rat(x):  # the chosen rounding for this attempt
        return _rat(x, max_den)

    Pr = [_snap(Pi, max_den) for Pi in Pv]
    Pint = [ex.to_int_matrix(Pi) for Pi in Pr]
    Sint = [[ex.to_int_matrix(S) for S in reg] for reg in Ss_fr]
    eye = ex.identity_int(n)
    ok, worst, details = True, 0.0, []

    def judge(name, M, d, need_pd):
        nonlocal ok, worst
        st = ex.psd_status(M)
        good = st == "pd" if need_pd else st in ("pd", "psd")
        details.append({"condition": name, "holds": good})
        if not good:
            ok = False
            worst = max(worst, -float(np.linalg.eigvalsh(ex.as_float(M, d)).min()))

    for i in range(m):
        terms = [(1, Pint[i]), (-mgn, eye)] + [(-rat(lamv[i][k]), Sint[i][k]) for k in range(len(Sint[i]))]
        M, d = ex.combine(terms, n)
        judge(f"V_{i} >= m|x|^2 on region {i}", M, d, mgn == 0)
    for i in range(m):
        for j in range(m):
            terms = [(1, ex.congruence(fr[i], Pr[j])), (-1, Pint[i])]
            terms += [(rat(tauv[i][j][k]), Sint[i][k]) for k in range(len(Sint[i]))]
            terms += [(rat(muv[i][j][l_]), ex.congruence(fr[i], Ss_fr[j][l_])) for l_ in range(len(Ss_fr[j]))]
            if strict:
                terms.append((mgn, eye))
            M, d = ex.combine(terms, n)
            M = -M
            judge(f"transition {i} -> {j}", M, d, False)
    return ok, worst, details, Pr


def _simulation_evidence(mats, Ss, n, steps, starts) -> dict:
    """Vectorized simulation of the switched system from ``starts`` unit initial states."""
    rng = np.random.default_rng(0)
    if n == 2:
        ang = np.linspace(0, 2 * np.pi, starts, endpoint=False) + 1e-3
        X = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    else:
        X = rng.standard_normal((starts, n))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    X0 = X.copy()
    logs = np.zeros(len(X))
    mx = np.zeros(len(X))
    used = [set() for _ in range(len(X))]
    alive = np.ones(len(X), dtype=bool)
    for _ in range(steps):
        mode = np.full(len(X), -1)
        for i in range(len(mats) - 1, -1, -1):  # first matching mode wins
            inside = np.ones(len(X), dtype=bool)
            for S in Ss[i]:
                inside &= np.einsum("ij,jk,ik->i", X, S, X) >= 0
            mode[inside] = i
        alive &= mode >= 0
        Y = X.copy()
        for i in range(len(mats)):
            sel = (mode == i) & alive
            Y[sel] = X[sel] @ mats[i].T
        nrm = np.linalg.norm(Y, axis=1)
        ok = alive & (nrm > 0) & np.isfinite(nrm)
        logs[ok] += np.log10(nrm[ok])
        Y[ok] /= nrm[ok, None]
        alive &= ok
        X = np.where(alive[:, None], Y, X)
        mx = np.maximum(mx, logs)
        for i in range(len(mats)):
            if np.any((mode == i) & alive):
                for r in np.nonzero((mode == i) & alive)[0]:
                    used[r].add(i)
    w = int(np.argmax(logs))
    worst = {"x0": X0[w].tolist(), "steps": steps, "log10_final_growth": float(logs[w]),
             "log10_max_growth": float(mx[w]), "modes_used": sorted(used[w])}
    return {"starts": len(X0), "steps": steps, "max_log10_growth": float(mx.max()), "worst": worst}
