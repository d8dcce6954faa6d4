"""Check a *given* quadratic candidate ``V(x) = x^T P x`` exactly (e.g. the thesis's H).

For every mode ``i`` (``x_{k+1} = A_i x_k`` on the closed cone ``R_i``, see
:mod:`stabcheck.certify.piecewise`) the question is whether ``V(A_i x) <= V(x)`` for all
``x`` in ``R_i``. Each answer is exact:

* *decreases everywhere*: ``P - A_i^T P A_i >= 0`` (exact definiteness check);
* *decreases on the region*: rational multipliers ``tau >= 0`` with
  ``P - A_i^T P A_i - sum tau_k S_k >= 0`` (S-procedure, exactly checked);
* *grows*: a rational state ``x`` strictly inside ``R_i`` with ``V(A_i x) > V(x)`` in exact
  arithmetic (found by a dense search over unit directions, then rounded and re-checked);
  the worst such state is reported with its growth ratio ``V(A_i x) / V(x)``;
* otherwise *inconclusive* for that mode.

The thesis (DeOliveira 2023, eq. 12, Lemmas D.2 and D.5) uses ``H = (theta^2 + psi^2)/2``,
i.e. ``P = I/2``, for the Dirac oracle.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, Optional, Sequence

import numpy as np

from stabcheck.certify import exact as ex
from stabcheck.certify.lyapunov import CertificateResult, SOLVER_TOL, check_matrix, check_solver, solve_problem
from stabcheck.certify.piecewise import parse_model
from stabcheck.errors import BadInput


def _directions(n: int, count: int, seed: int = 0) -> np.ndarray:
    if n == 1:
        return np.array([[1.0], [-1.0]])
    if n == 2:
        ang = (np.arange(count) + 0.5) * (2 * np.pi / count)
        return np.stack([np.cos(ang), np.sin(ang)], axis=1)
    X = np.random.default_rng(seed).standard_normal((count, n))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _qf(x: list, M: list) -> Fraction:
    n = len(x)
    return sum(x[i] * M[i][j] * x[j] for i in range(n) for j in range(n))


def check_candidate(P: Any, modes: Sequence[Any], regions: Optional[Sequence[Sequence[Any]]] = None, *,
                    solver: str = "CLARABEL", samples: int = 20000, eta: Optional[float] = None) -> CertificateResult:
    """Check whether ``V(x) = x^T P x`` never increases along every mode on its region.

    Parameters
    ----------
    P : (n, n) symmetric matrix (floats at their exact binary value, or rationals)
    modes : list of ``(name, A, A_exact)`` or bare matrices (``x_{k+1} = A x_k``)
    regions : list of lists of ``S`` (mode ``i`` applies where ``x^T S x >= 0``), or None
        (every mode may apply anywhere: arbitrary switching).
    eta : float, optional
        Only recorded in the counterexample (the step size the modes were built with).

    Returns
    -------
    CertificateResult (``dynamics="candidate"``, ``strict=False``): ``certified`` when ``P > 0``
    and every mode provably does not increase ``V`` on its region; ``not certified`` with an
    exact counterexample (``counterexample = {"mode", "x", "x_exact", "growth_ratio", "eta"}``)
    when some step increases ``V``; otherwise ``inconclusive``.
    """
    solver = check_solver(solver)
    t0 = time.perf_counter()
    Pf = check_matrix(P, "candidate P")
    if regions is None:
        regions = [[] for _ in modes]
    names, mats, fr, Ss, Ss_fr = parse_model(modes, regions)
    n = mats[0].shape[0]
    if Pf.shape != (n, n):
        raise BadInput(f"candidate P has shape {Pf.shape}, the modes are ({n}, {n})")
    Pr = ex.to_fraction_matrix(P)
    if not ex.is_exactly_symmetric(Pr):
        raise BadInput("candidate P must be symmetric")
    res = CertificateResult(status="inconclusive", strict=False, solver=solver, dynamics="candidate",
                            solver_tolerance=SOLVER_TOL[solver], solver_status="not needed")
    res.P = Pf.tolist()
    res.P_exact = [[str(v) for v in r] for r in Pr]
    Pint = ex.to_int_matrix(Pr)
    pd = ex.psd_status(Pint[0]) == "pd"
    per_mode = []
    worst_ce = None
    X = _directions(n, samples)
    for i, name in enumerate(names):
        D = ex.combine([(1, ex.congruence(fr[i], Pr)), (-1, Pint)], n)  # A^T P A - P
        negD = (-D[0], D[1])
        entry = {"mode": name, "decreases": None, "how": None}
        if ex.psd_status(negD[0]) in ("pd", "psd"):
            entry.update(decreases=True, how="everywhere (P - A^T P A >= 0)")
            per_mode.append(entry)
            continue
        # search a growing state strictly inside the region
        Df = ex.as_float(*D)
        inside = np.ones(len(X), dtype=bool)
        for S in Ss[i]:
            inside &= np.einsum("ij,jk,ik->i", X, S, X) > 1e-12
        ce = None
        if inside.any():
            Xi = X[inside]
            g = np.einsum("ij,jk,ik->i", Xi, Df, Xi) / np.einsum("ij,jk,ik->i", Xi, Pf, Xi)
            for k in np.argsort(-g)[:20]:
                if g[k] <= 0:
                    break
                xr = [Fraction(float(v)).limit_denominator(10 ** 6) for v in Xi[k]]
                if all(_qf(xr, S) > 0 for S in Ss_fr[i]):
                    grow = _qf(xr, ex.frac_matmul(ex.frac_matmul([list(r) for r in zip(*fr[i])], Pr), fr[i]))
                    v0 = _qf(xr, Pr)
                    if grow > v0:
                        ce = {"mode": name, "x": [float(v) for v in xr], "x_exact": [str(v) for v in xr],
                              "growth_ratio": float(grow / v0) if v0 else None,
                              "V_before": str(v0), "V_after": str(grow), "eta": eta}
                        break
        if ce is not None:
            entry.update(decreases=False, how="exact growing state", counterexample=ce)
            if worst_ce is None or (ce["growth_ratio"] or 0) > (worst_ce["growth_ratio"] or 0):
                worst_ce = ce
            per_mode.append(entry)
            continue
        if Ss[i]:
            ok = _s_procedure(negD, Df, Ss[i], Ss_fr[i], n, solver)
            if ok:
                entry.update(decreases=True, how="on its region (S-procedure, exactly checked)")
        per_mode.append(entry)
    res.extras["modes"] = per_mode
    res.extras["P_positive_definite"] = pd
    res.exact_check = pd and all(e["decreases"] for e in per_mode)
    if worst_ce is not None:
        res.status = "not certified"
        res.counterexample = worst_ce
        res.max_violation = worst_ce["growth_ratio"] - 1 if worst_ce["growth_ratio"] else None
        at = f" at eta = {eta:g}" if eta is not None else ""
        res.statement = (f"The candidate V(x) = x^T P x is not a Lyapunov function{at}: mode "
                         f"{worst_ce['mode']} maps the state x = {np.round(worst_ce['x'], 6).tolist()} (inside its "
                         f"region) to V(Ax) = (1 + {worst_ce['growth_ratio'] - 1:.3g}) V(x) > V(x) (exact).")
    elif res.exact_check:
        res.status = "certified"
        res.max_violation = 0.0
        res.statement = ("Proven by an exact rational check: the candidate V(x) = x^T P x is positive definite "
                         "and never increases on any step, so the origin is Lyapunov stable.")
    elif not pd:
        res.status = "not certified"
        res.statement = "The candidate is not a Lyapunov function: P is not positive definite (exact check)."
    else:
        res.statement = ("Inconclusive: no growing state was found, but the decrease could not be proven "
                         "exactly for every mode.")
    res.wall_s = time.perf_counter() - t0
    return res


def _s_procedure(negD, Df, Sf, S_fr, n, solver) -> bool:
    import cvxpy as cp

    tau = cp.Variable(len(Sf), nonneg=True)
    E = -Df - sum(tau[k] * Sf[k] for k in range(len(Sf)))
    prob = cp.Problem(cp.Minimize(0), [(E + E.T) / 2 >> 0])
    status, _, _ = solve_problem(prob, solver)
    if tau.value is None:
        return False
    for max_den in (10, 100, 1000, 10 ** 6, 2 ** 40):
        terms = [(1, negD)] + [(-Fraction(max(float(t), 0.0)).limit_denominator(max_den), ex.to_int_matrix(S))
                               for t, S in zip(tau.value, S_fr)]
        M, _ = ex.combine(terms, n)
        if ex.psd_status(M) in ("pd", "psd"):
            return True
    return False
