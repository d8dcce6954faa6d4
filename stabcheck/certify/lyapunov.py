"""Quadratic Lyapunov certificates for linear maps, found by an SDP and checked exactly.

Convention: a matrix ``A`` acts as ``x_{k+1} = A x_k`` (discrete time) or ``dx/dt = A x``
(continuous time), ``x`` a column vector. The certificate is ``V(x) = x^T P x`` with

* discrete time:   ``P > 0`` and ``A^T P A - P < 0``   (transpose on the *left*);
* continuous time: ``P > 0`` and ``A^T P + P A < 0``.

(scipy's ``solve_discrete_lyapunov(a, q)`` solves ``a X a^H - X + Q = 0``: for ``x+ = A x``
one must pass ``a = A.T``; stabcheck's functions take ``A`` itself.)

How a certificate is produced (and why it can be trusted): a ladder from cheap to expensive
(docs/certify.md), every rung's candidate checked exactly on the caller's original maps.

1. Shared block-diagonal structure: each block on its own (below), assembled, checked.
2. One common diagonal balancing ``T = diag(2^e)`` (exact), candidates mapped back exactly.
3. Rungs: one map, the Lyapunov equation (float64, then exactly over the rationals for small
   n); several maps, the Stein equation ``P - sum A_i^T P A_i = I``; then a loose SCS SDP
   (32 <= n <= 64); then the requested solver's SDP ``P >= I``, decrease ``<= -I``, min ``t``
   with ``P <= t I`` (n <= 48 with CLARABEL).
4. Exact check in integer arithmetic (:mod:`stabcheck.certify.exact`), using the *exact*
   ``A`` (a float matrix at its exact binary value, or the caller's rational ``A_exact``):
   strict: ``P - m I >= 0`` and ``-(A^T P A - P) - m I >= 0`` with a rational margin
   ``m > 0``; non-strict: ``P > 0`` and ``A^T P A - P <= 0``.
5. Non-strict: the strict ladder first (a strict certificate is a non-strict one), then the
   exact split into conserved and strictly stable invariant subspaces
   (:mod:`stabcheck.certify.neutral`), the non-strict SDP, and an exactly conserved form.
6. For one map, before any SDP: the exact spectral class (factored characteristic polynomial)
   decides whether a (strict) certificate cannot exist; that is the only way "none can
   exist" is ever said.

Only a certificate that passes step 4 is reported ``certified``. A solver that reports
infeasibility gives ``not certified`` (with eigenvalue and trajectory evidence); a solver
failure gives ``inconclusive``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional, Sequence

import numpy as np

from stabcheck.certify import exact as ex
from stabcheck.errors import BadInput

SOLVERS = ("CLARABEL", "SCS")
#: solver options (tolerances are reported with every result)
SOLVER_OPTIONS = {
    "CLARABEL": {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9},
    "SCS": {"eps_abs": 1e-7, "eps_rel": 1e-7, "max_iters": 200000},
}
SOLVER_TOL = {"CLARABEL": 1e-9, "SCS": 1e-7}
#: the largest size given to each SDP solver: CLARABEL took 77 s CPU at n = 48 (4 maps) and did
#: not finish in 18 min at n = 64 (5.7 GB); above these the ladder's equation rungs only
SDP_MAX_N = {"CLARABEL": 48, "SCS": 64}


# --------------------------------------------------------------------------- result


@dataclass
class CertificateResult:
    """Outcome of a certificate search (see DESIGN.md, the ``certify`` JSON contract).

    Attributes
    ----------
    status : {"certified", "not certified", "inconclusive"}
        ``certified`` only when the exact rational check passed.
    strict : bool
        Strict decrease (exponential stability) or non-strict (Lyapunov stability).
    P : list of lists of float or None
        The certificate (the exactly checked rational matrix, shown as floats).
    margin : float or None
        Strict: ``m`` with ``P >= m I`` and ``V(x+) - V(x) <= -m |x|^2`` (``||P||_2 ~ 1``).
        Non-strict: ``m`` with ``P >= m I`` (the decrease margin is 0).
    exact_check : bool
        Whether the exact check passed.
    solver, solver_status : str
    statement : str
        One sentence: what was proven (or why not).
    dynamics : str
        What was certified: ``discrete``, ``continuous``, ``switched``, ``lifted (k=K)``,
        ``piecewise``, ``candidate`` (the JSON key ``dynamics``; ``kind`` is the document's).
    wall_s, solve_wall_s, exact_wall_s : float
        Wall-clock seconds: in all, in the solver, in the exact check.
    """

    status: str
    strict: bool
    P: Optional[list] = None
    margin: Optional[float] = None
    exact_check: bool = False
    solver: str = "CLARABEL"
    solver_status: str = "not run"
    statement: str = ""
    dynamics: str = "discrete"
    wall_s: float = 0.0
    solve_wall_s: float = 0.0
    exact_wall_s: float = 0.0
    solver_tolerance: Optional[float] = None
    max_violation: Optional[float] = None
    counterexample: Optional[dict] = None
    evidence: Optional[dict] = None
    P_exact: Optional[list] = None  # rational entries as strings "p/q"
    extras: dict = field(default_factory=dict)

    @property
    def certified(self) -> bool:
        return self.status == "certified"

    def to_json(self) -> dict:
        """The ``certify`` JSON contract plus extras."""
        out = {
            "status": self.status, "strict": self.strict, "P": self.P, "margin": self.margin,
            "exact_check": self.exact_check, "solver": self.solver,
            "solver_status": self.solver_status, "statement": self.statement,
            "dynamics": self.dynamics, "wall_s": self.wall_s, "solve_wall_s": self.solve_wall_s,
            "exact_wall_s": self.exact_wall_s, "solver_tolerance": self.solver_tolerance,
            "max_violation": self.max_violation, "counterexample": self.counterexample,
            "evidence": self.evidence,
        }
        if self.P_exact is not None:
            out["P_exact"] = self.P_exact
        out.update(self.extras)
        return out


# --------------------------------------------------------------------------- validation


def check_solver(solver: str) -> str:
    """Normalize a solver name; BadInput naming the valid choices otherwise."""
    s = str(solver).upper()
    if s not in SOLVERS:
        raise BadInput(f"unknown solver {solver!r}; valid solvers: clarabel, scs")
    return s


def check_matrix(A: Any, name: str = "A") -> np.ndarray:
    """A finite, square, real float matrix (BadInput otherwise)."""
    try:
        M = np.asarray(A, dtype=float)
    except (TypeError, ValueError):
        try:
            M = np.array([[float(ex.to_fraction(v)) for v in row] for row in ex.to_fraction_matrix(A)])
        except Exception:  # noqa: BLE001
            raise BadInput(f"{name} is not a numeric matrix") from None
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise BadInput(f"{name} must be a non-empty square matrix (n, n), got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise BadInput(f"{name} has non-finite entries (NaN or inf)")
    return M


def exact_of(A: np.ndarray, A_exact: Any = None, name: str = "A") -> list:
    """The exact matrix to check against: ``A_exact`` if given (consistent with ``A``), else
    the float ``A`` at its exact binary value."""
    if A_exact is None:
        return ex.to_fraction_matrix(A)
    F = ex.to_fraction_matrix(A_exact)
    if len(F) != A.shape[0] or len(F[0]) != A.shape[1]:
        raise BadInput(f"{name}_exact has shape ({len(F)}, {len(F[0])}) but {name} has {A.shape}")
    Ff = np.array([[float(v) for v in r] for r in F])
    if not np.allclose(Ff, A, rtol=1e-9, atol=1e-12 * max(1.0, float(np.abs(A).max()))):
        raise BadInput(f"{name}_exact does not match {name} (max difference {np.abs(Ff - A).max():.3g})")
    return F


# --------------------------------------------------------------------------- solving


def solve_problem(problem: Any, solver: str, options: Optional[dict] = None) -> tuple[str, float, Optional[str]]:
    """Solve a cvxpy problem; return ``(status, seconds, error or None)``. Never raises.
    ``options`` replace the solver's default options (``SOLVER_OPTIONS``)."""
    import cvxpy as cp

    import warnings

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 'may be inaccurate': reported via the status
            problem.solve(solver=solver, **(SOLVER_OPTIONS[solver] if options is None else options))
        status = str(problem.status)
        err = None
    except cp.error.SolverError as exc:
        status, err = "solver_error", str(exc).splitlines()[0] if str(exc) else "solver error"
    except Exception as exc:  # noqa: BLE001 - a solver crash is 'inconclusive', never a crash
        status, err = "solver_error", f"{type(exc).__name__}: {exc}"
    return status, time.perf_counter() - t0, err


def _stats(prob: Any) -> dict:
    """cvxpy's split of the time: compilation (canonicalization) vs the solver itself."""
    out = {}
    try:
        out["compile_wall_s"] = prob.compilation_time
        out["solver_wall_s"] = prob.solver_stats.solve_time if prob.solver_stats else None
        out["iterations"] = prob.solver_stats.num_iters if prob.solver_stats else None
    except Exception:  # noqa: BLE001 - stats are informative only
        pass
    return out


def decrease_expr(A: np.ndarray, P: Any, continuous: bool) -> Any:
    """``A^T P A - P`` (discrete) or ``A^T P + P A`` (continuous), for cvxpy or numpy ``P``."""
    if continuous:
        return A.T @ P + P @ A
    return A.T @ P @ A - P


def sym(X: Any) -> Any:
    return (X + X.T) / 2


def sdp_common_quadratic(As: Sequence[np.ndarray], *, continuous: bool, strict: bool, solver: str,
                         options: Optional[dict] = None):
    """Solve ``P >= I``, decrease ``<= -I`` (strict) or ``<= 0`` for every A; min ||P||.

    Returns ``(P or None, status, seconds, error)``.
    """
    import cvxpy as cp

    n = As[0].shape[0]
    P = cp.Variable((n, n), symmetric=True)
    t = cp.Variable()
    eye = np.eye(n)
    cons = [P >> eye, P << t * eye]
    for A in As:
        D = sym(decrease_expr(A, P, continuous))
        cons.append(D << (-eye if strict else 0 * eye))
    prob = cp.Problem(cp.Minimize(t), cons)
    status, secs, err = solve_problem(prob, solver, options)
    sdp_common_quadratic.last_stats = _stats(prob)
    Pv = None
    if status in ("optimal", "optimal_inaccurate") and P.value is not None:
        Pv = (P.value + P.value.T) / 2
    return Pv, status, secs, err


# --------------------------------------------------------------------------- exact check


def exact_decrease(A_frac: list, P_frac: list, continuous: bool) -> tuple[np.ndarray, int]:
    """Exact decrease matrix as ``(M, d)``: ``A^T P A - P`` or ``A^T P + P A`` equals ``M/d``."""
    n = len(P_frac)
    Pi, dp = ex.to_int_matrix(P_frac)
    if continuous:
        Ai, da = ex.to_int_matrix(A_frac)
        M1 = Ai.T.dot(Pi)
        return M1 + M1.T, da * dp
    M, d = ex.congruence(A_frac, P_frac)
    return ex.combine([(1, (M, d)), (-1, (Pi, dp))], n)


def exact_check(P_frac: list, A_fracs: Sequence[list], *, continuous: bool, strict: bool,
                margin: Fraction) -> tuple[bool, float, list]:
    """Check a rational certificate exactly against every exact map.

    Strict: ``P - m I >= 0`` and ``-(decrease) - m I >= 0`` (``m = margin > 0``).
    Non-strict: ``P - m I >= 0`` with ``m > 0`` (or ``P > 0`` when ``margin == 0``) and
    ``-(decrease) >= 0``.

    Returns ``(passed, max_violation, details)``; ``max_violation`` is the largest
    eigenvalue (float, for reporting) by which a condition fails, 0.0 when all hold.
    """
    n = len(P_frac)
    eye = ex.identity_int(n)
    Pi = ex.to_int_matrix(P_frac)
    details = []
    worst = 0.0
    ok = True
    pos, dpos = ex.combine([(1, Pi), (-margin, eye)], n)
    st = _definiteness(pos, margin != 0)
    need = "pd" if margin == 0 else None
    good = (st == "pd") if need == "pd" else st in ("pd", "psd")
    details.append({"condition": "P - m I >= 0" if margin else "P > 0", "holds": good})
    if not good:
        ok = False
        worst = max(worst, -float(np.linalg.eigvalsh(ex.as_float(pos, dpos)).min()))
    for k, A in enumerate(A_fracs):
        D = exact_decrease(A, P_frac, continuous)
        neg, dneg = ex.combine([(-1, D), (-(margin if strict else 0), eye)], n)
        st = _definiteness(neg, strict and margin != 0)
        good = st in ("pd", "psd")
        details.append({"condition": f"decrease of map {k}" + (" <= -m I" if strict else " <= 0"), "holds": good})
        if not good:
            ok = False
            worst = max(worst, -float(np.linalg.eigvalsh(ex.as_float(neg, dneg)).min()))
    return ok, worst, details


#: from this size on, positive definiteness is first tried by an exact congruence + Gershgorin
#: (:func:`stabcheck.certify.exact.pd_by_congruence`), elimination only when that is not enough
FAST_PD_MIN_N = 24


def _definiteness(M: np.ndarray, expect_pd: bool) -> str:
    """Exact ``"pd"`` / ``"psd"`` / ``"indefinite"``; a strict condition (which has a margin, so
    the matrix is expected to be definite) first tries the fast exact proof."""
    if expect_pd and M.shape[0] >= FAST_PD_MIN_N and ex.pd_by_congruence(M):
        return "pd"
    return ex.psd_status(M)


def fraction_strings(F: list) -> list:
    return [[str(v) for v in row] for row in F]


def dyadic_floor(x: float, bits: int = 20) -> Fraction:
    """A rational ``<= x`` with about ``bits`` significant bits (0 for x <= 0)."""
    if not (x > 0 and math.isfinite(x)):
        return Fraction(0)
    e = math.frexp(x)[1]
    q = Fraction(2) ** (e - bits)
    return Fraction(math.floor(Fraction(x) / q)) * q


def normalized_margin(Pn: np.ndarray, As: Sequence[np.ndarray], continuous: bool, strict: bool) -> Fraction:
    """Half the numerically observed margin of a normalized float certificate (rational)."""
    vals = [np.linalg.eigvalsh(Pn).min()]
    if strict:
        for A in As:
            vals.append(np.linalg.eigvalsh(-sym(decrease_expr(A, Pn, continuous))).min())
    return dyadic_floor(0.5 * float(min(vals)))


# --------------------------------------------------------------------------- evidence


def spectral_evidence(As: Sequence[np.ndarray], continuous: bool) -> dict:
    """Per-map spectral radius (or spectral abscissa), the float evidence for 'no certificate'."""
    out = []
    for A in As:
        ev = np.linalg.eigvals(A)
        val = float(np.max(ev.real)) if continuous else float(np.max(np.abs(ev)))
        out.append(val)
    key = "spectral_abscissa" if continuous else "spectral_radius"
    return {key: out}


def growth_trajectory(As: Sequence[np.ndarray], steps: Optional[int] = None) -> dict:
    """Simulate ``x_{k+1} = A x_k`` (the most unstable single map, from its dominant
    eigenvector's real part) and report the growth of ``|x_k|`` (log10).

    ``steps`` defaults to enough steps for a growth of about 100x (at most 20000)."""
    best = None
    for i, A in enumerate(As):
        ev, V = np.linalg.eig(A)
        if steps is None:
            rho = float(np.max(np.abs(ev)))
            n_steps = 50 if rho <= 1 else int(min(20000, max(50, math.ceil(2 / math.log10(rho)))))
        else:
            n_steps = steps
        j = int(np.argmax(np.abs(ev)))
        x0 = np.real(V[:, j])
        if np.linalg.norm(x0) < 1e-12:
            x0 = np.imag(V[:, j])
        x0 = x0 / np.linalg.norm(x0)
        x = x0.copy()
        logn = 0.0
        for _ in range(n_steps):
            x = A @ x
            nx = np.linalg.norm(x)
            if nx == 0 or not np.isfinite(nx):
                break
            logn += math.log(nx)
            x = x / nx
        if best is None or logn > best["log10_growth"] * math.log(10):
            best = {"map": i, "x0": x0.tolist(), "steps": n_steps, "log10_growth": logn / math.log(10)}
    return best


# --------------------------------------------------------------------------- invariants


def _sym_operator(F: list, continuous: bool) -> list:
    """Rows (sympy QQ) of the linear map ``P -> A^T P A - P`` (``A^T P + P A``) on symmetric
    ``P``: unknowns and equations are the entries ``(i, j)``, ``i <= j`` (``n(n+1)/2`` each)."""
    from sympy import QQ

    n = len(F)
    q = [[QQ(v.numerator, v.denominator) for v in row] for row in F]
    idx = [(i, j) for i in range(n) for j in range(i, n)]
    pos = {ij: t for t, ij in enumerate(idx)}
    N = len(idx)
    rows = []
    for i, j in idx:
        row = [QQ(0)] * N
        if continuous:
            for k in range(n):
                if q[k][i]:
                    row[pos[(min(k, j), max(k, j))]] += q[k][i]  # (A^T P)_ij = sum_k A_ki P_kj
                if q[k][j]:
                    row[pos[(min(i, k), max(i, k))]] += q[k][j]  # (P A)_ij = sum_k P_ik A_kj
        else:
            for k in range(n):
                if not q[k][i] and not q[k][j]:
                    continue
                for l in range(k, n):
                    c = q[k][i] * q[l][j] + (q[l][i] * q[k][j] if l != k else 0)
                    if c:
                        row[pos[(k, l)]] += c
            row[pos[(i, j)]] -= QQ(1)
        rows.append(row)
    return rows, idx


def _from_sym(vec, idx, n) -> list:
    P = [[Fraction(0)] * n for _ in range(n)]
    for v, (i, j) in zip(vec, idx):
        P[i][j] = P[j][i] = Fraction(int(v.numerator), int(v.denominator))
    return P


def invariant_forms(A_fracs: Sequence[list], continuous: bool) -> list:
    """Exact basis (Fraction matrices) of ``{P = P^T : A^T P A = P (or A^T P + P A = 0) for all A}``."""
    from sympy import QQ
    from sympy.polys.matrices import DomainMatrix

    n = len(A_fracs[0])
    rows, idx = [], None
    for A in A_fracs:
        r, idx = _sym_operator(A, continuous)
        rows.extend(r)
    M = DomainMatrix(rows, (len(rows), len(idx)), QQ)
    basis = []
    for v in M.nullspace().to_Matrix().tolist():
        basis.append(_from_sym([QQ(x.p, x.q) for x in v], idx, n))
    return basis


def conserved_certificate(As: Sequence[np.ndarray], A_fracs: Sequence[list], continuous: bool,
                          solver: str) -> Optional[list]:
    """A positive definite exactly conserved quadratic form, or None (small SDP over the basis)."""
    import cvxpy as cp

    n = As[0].shape[0]
    if n > 12:  # the symbolic nullspace is for small neutral systems
        return None
    basis = invariant_forms(A_fracs, continuous)
    if not basis:
        return None
    Bf = [np.array([[float(v) for v in r] for r in B]) for B in basis]
    P = _conserved_from_eigenvectors(As, basis, Bf)
    if P is not None:
        return P
    c = cp.Variable(len(basis))
    t = cp.Variable()
    S = sum(c[k] * Bf[k] for k in range(len(basis)))
    prob = cp.Problem(cp.Minimize(t), [sym(S) >> np.eye(n), sym(S) << t * np.eye(n)])
    status, _, _ = solve_problem(prob, solver)
    if status not in ("optimal", "optimal_inaccurate") or c.value is None:
        return None
    coeffs = [Fraction(float(v)).limit_denominator(2 ** 20) for v in c.value]
    P = [[sum(ck * B[i][j] for ck, B in zip(coeffs, basis)) for j in range(n)] for i in range(n)]
    return P


def _conserved_from_eigenvectors(As, basis, Bf) -> Optional[list]:
    """One map: ``Re(V^-H V^-1)`` (``V`` its eigenvectors) is conserved when the eigenvalues lie
    on the circle (axis) and ``A`` is diagonalizable; projected onto the exact basis of
    conserved forms (rational coefficients), it is an exact conserved form, positive definite
    when the projection is accurate enough (checked here in floats, exactly by the caller)."""
    if len(As) != 1:
        return None
    try:
        _, V = np.linalg.eig(np.asarray(As[0], dtype=float))
        Vi = np.linalg.inv(V)
        Pe = np.real(Vi.conj().T @ Vi)
        Pe = (Pe + Pe.T) / 2
        Pe /= np.linalg.norm(Pe, 2)
        M = np.array([B.ravel() for B in Bf]).T
        cf, *_ = np.linalg.lstsq(M, Pe.ravel(), rcond=None)
    except (np.linalg.LinAlgError, ValueError):
        return None
    if not np.all(np.isfinite(cf)):
        return None
    n = len(basis[0])
    coeffs = [Fraction(float(v)).limit_denominator(2 ** 40) for v in cf]
    P = [[sum(ck * B[i][j] for ck, B in zip(coeffs, basis)) for j in range(n)] for i in range(n)]
    try:
        if np.linalg.eigvalsh(np.array([[float(v) for v in r] for r in P])).min() <= 0:
            return None
    except np.linalg.LinAlgError:
        return None
    return P


# --------------------------------------------------------------------------- rung 1: a Lyapunov equation

#: the largest size whose Lyapunov equation is solved exactly (n^2 rational unknowns)
EXACT_LYAPUNOV_MAX_N = 10


def exact_lyapunov_solution(F: list, continuous: bool) -> Optional[list]:
    """The exact solution ``P`` of ``A^T P A - P = -I`` (``A^T P + P A = -I`` when continuous)
    for a rational matrix ``F`` (Fractions), or None when the equation is singular on symmetric
    matrices (an eigenvalue pair with ``l_i l_j = 1``, resp. ``l_i + l_j = 0``). ``P`` is
    positive definite iff the map is stable; that is checked separately (exactly), not assumed.
    Unknowns are the ``n(n+1)/2`` entries of a symmetric ``P``."""
    from sympy import QQ
    from sympy.polys.matrices import DomainMatrix

    n = len(F)
    rows, idx = _sym_operator(F, continuous)
    N = len(idx)
    M = DomainMatrix(rows, (N, N), QQ)
    b = DomainMatrix([[QQ(-1) if i == j else QQ(0)] for i, j in idx], (N, 1), QQ)
    try:
        x = M.lu_solve(b)
    except Exception:  # noqa: BLE001 - singular: no unique solution, nothing proven
        return None
    return _from_sym(x.to_list_flat(), idx, n)


def _lyapunov_candidates(A: np.ndarray, F: list, continuous: bool):
    """Rung 1 for one map: the Lyapunov equation ``A^T P A - P = -I`` (``A^T P + P A = -I``),
    first in float64 (rationalized; milliseconds), then, for n <= 10 with small entries,
    exactly over the rationals (which certifies every stable map, however badly conditioned).
    Yields ``(how, P, m)`` candidates; the caller checks them exactly."""
    from stabcheck.certify.ladder import stein_candidate

    n = A.shape[0]
    Pf = stein_candidate([A], continuous)
    if Pf is not None:
        yield ("float64 solution of the Lyapunov equation, rationalized", ex.rationalize(Pf),
               normalized_margin(Pf, [A], continuous, True))
    bits = max((max(v.numerator.bit_length(), v.denominator.bit_length()) for row in F for v in row), default=0)
    # rational growth: a budget of entry bits times n^2 (256 bits at n = 10; 6400 at n = 2,
    # e.g. eta = 1e-300 as an exact decimal)
    if n <= EXACT_LYAPUNOV_MAX_N and bits * n * n <= 25600:
        P = exact_lyapunov_solution(F, continuous)
        if P is not None and max(max(v.numerator.bit_length(), v.denominator.bit_length())
                                 for row in P for v in row) <= 65536 // max(1, n):
            # exact P: discrete P = sum (A^T)^k A^k >= I and the decrease is exactly -|x|^2;
            # continuous A^T P + P A = -I gives lambda_min(P) >= 1 / (2 ||A||_2). The exact
            # check confirms (a P of an unstable map fails it).
            if continuous:
                norm = float(np.linalg.norm(A, 2))
                m = min(Fraction(1, 2), dyadic_floor(0.5 / (2 * norm * 1.01))) if norm > 0 else Fraction(0)
            else:
                m = Fraction(1, 2)
            yield "exact solution of the Lyapunov equation", P, m


def _accept(res: CertificateResult, P: list, m: Fraction, e: Optional[list], A_fracs: Sequence[list],
            continuous: bool, what: str, rung: str, how: str, nmaps: int, asked_strict: bool) -> bool:
    """Map a strict candidate of the balanced maps back (exactly) and check it exactly against
    the caller's original maps. True (and ``res`` filled) when it passes."""
    from stabcheck.certify.ladder import unbalance

    if m <= 0:
        return False
    t0 = time.perf_counter()
    Po, mo = unbalance(P, m, e)
    if mo <= 0:
        return False
    ok, viol, details = exact_check(Po, A_fracs, continuous=continuous, strict=True, margin=mo)
    res.exact_wall_s += time.perf_counter() - t0
    res.extras.setdefault("tried", []).append({"rung": rung, "passed": bool(ok)})
    if not ok:
        res.max_violation = viol if res.max_violation is None else min(res.max_violation, viol)
        res.extras["_last_failed"] = Po
        return False
    res.extras["checks"] = details
    res.extras["method"] = how
    res.extras["rung"] = rung
    if e:
        res.extras["balancing"] = f"diag(2^e), e = {e} (certificate mapped back exactly)"
    _fill_certified(res, Po, mo, what, continuous, True, nmaps)
    if not asked_strict:  # a strict certificate is a non-strict one
        res.strict = False
        res.extras["strict_certificate"] = True
    return True


def _strict_ladder(res: CertificateResult, As: Sequence[np.ndarray], A_fracs: Sequence[list], *,
                   continuous: bool, solver: str, what: str, asked_strict: bool) -> Optional[tuple]:
    """The ladder, cheap to expensive; every rung's candidate is checked exactly on the original
    maps (see docs/certify.md). Returns None when certified, else the last SDP's
    ``(Pf, status, err)`` for the caller's "not certified" / "inconclusive" wording."""
    from stabcheck.certify.ladder import (SCS_LOOSE_MIN_N, SCS_LOOSE_OPTIONS, balance_exponents, balanced,
                                          stein_candidate)

    n = As[0].shape[0]
    k = len(As)
    # shared blocks: several maps, or one map too large for the exact Lyapunov rung as a whole
    if (k > 1 or n > EXACT_LYAPUNOV_MAX_N) and _try_blocks(res, As, A_fracs, continuous=continuous, solver=solver,
                                                            what=what, asked_strict=asked_strict):
        return None
    e = balance_exponents(As)
    Ab, Fb = balanced(As, A_fracs, e) if e else (list(As), list(A_fracs))
    if not all(np.all(np.isfinite(A)) for A in Ab):
        e, Ab, Fb = None, list(As), list(A_fracs)
    # rung 1 (one map) / rung 2 (several maps): an equation, no solver
    if k == 1:
        for how, P, m in _lyapunov_candidates(Ab[0], Fb[0], continuous):
            if _accept(res, P, m, e, A_fracs, continuous, what, "lyapunov-equation", how, k, asked_strict):
                res.solver_status = "not used (Lyapunov equation)"
                return None
        # exact algebra before any solver: an eigenvalue on or beyond the circle (axis) means
        # no strict certificate exists, so the SDP is not run
        info = _exact_info(A_fracs[0], continuous)
        res.extras["_exact_info"] = info
        if info is not None and info["class"] in ("unstable", "boundary"):
            return (None, "not solved", None, solver)
    else:
        t0 = time.perf_counter()
        Pf = stein_candidate(Ab, continuous)
        res.extras["stein_wall_s"] = time.perf_counter() - t0
        if Pf is not None:
            how = ("Stein equation P - sum A_i^T P A_i = I" if not continuous
                   else "Lyapunov equation of sum A_i") + " (float64, rationalized)"
            if _accept(res, ex.rationalize(Pf), normalized_margin(Pf, Ab, continuous, True), e, A_fracs,
                       continuous, what, "stein", how, k, asked_strict):
                res.solver_status = "not used (Stein equation)"
                return None
    # rung 3: a loose first-order SDP (large n only), rung 4: the requested solver, tight
    rungs = []
    if SCS_LOOSE_MIN_N <= n <= SDP_MAX_N["SCS"]:
        rungs.append(("sdp-scs-loose", "SCS", SCS_LOOSE_OPTIONS))
    if n <= SDP_MAX_N[solver]:
        rungs.append(("sdp", solver, None))
    last = (None, "size limit", f"the SDP is not attempted above n = {SDP_MAX_N[solver]} with {solver} "
            f"(memory and time; n = {n}), and the cheaper rungs did not answer", solver)
    stats = {}
    for rung, slv, opts in rungs:
        Pf, status, secs, err = sdp_common_quadratic(Ab, continuous=continuous, strict=True, solver=slv, options=opts)
        res.solve_wall_s += secs
        stats[rung] = dict(getattr(sdp_common_quadratic, "last_stats", {}), status=status, wall_s=secs)
        res.extras["solver_stats"] = stats
        last = (Pf, status, err, slv)
        if Pf is None:
            continue
        lam = float(np.linalg.eigvalsh(Pf).max())
        Pn = Pf / lam
        m = normalized_margin(Pn, Ab, continuous, True)
        how = f"SDP ({slv}{', loose tolerance' if opts else ''}), rationalized"
        if _accept(res, ex.rationalize(Pn), m, e, A_fracs, continuous, what, rung, how, k, asked_strict):
            res.solver = slv
            res.solver_status = status
            res.solver_tolerance = (opts or {}).get("eps_abs", SOLVER_TOL[slv])
            return None
    return last


def common_blocks(As: Sequence[np.ndarray]) -> Optional[list]:
    """Index sets of a block-diagonal structure that every map shares (up to one common
    permutation): the connected components of the union of the maps' sparsity graphs. None
    when there is a single block."""
    n = As[0].shape[0]
    G = sum((np.asarray(A) != 0).astype(int) for A in As)
    G = (G + G.T) > 0
    seen, comps = [False] * n, []
    for s0 in range(n):
        if seen[s0]:
            continue
        stack, comp = [s0], []
        seen[s0] = True
        while stack:
            i = stack.pop()
            comp.append(i)
            for j in np.nonzero(G[i])[0]:
                if not seen[j]:
                    seen[j] = True
                    stack.append(int(j))
        comps.append(sorted(comp))
    return comps if len(comps) > 1 else None


def _try_blocks(res: CertificateResult, As, A_fracs, *, continuous: bool, solver: str, what: str,
                asked_strict: bool) -> bool:
    """Shared block-diagonal structure: certify every block on its own (the whole ladder), put
    the blocks' certificates on the diagonal, and check the assembled ``P`` exactly on the full
    original maps (its margin is the smallest block margin)."""
    blocks = common_blocks(As)
    if blocks is None:
        return False
    n = As[0].shape[0]
    P = [[Fraction(0)] * n for _ in range(n)]
    margin, info = None, []
    for idx in blocks:
        sub = [np.asarray(A)[np.ix_(idx, idx)] for A in As]
        subF = [[[F[i][j] for j in idx] for i in idx] for F in A_fracs]
        r = CertificateResult(status="inconclusive", strict=True, solver=solver)
        if _strict_ladder(r, sub, subF, continuous=continuous, solver=solver, what=what, asked_strict=True) is not None:
            res.extras["blocks_failed_at"] = len(info)
            return False  # fall through to the full-size ladder
        Pb = [[Fraction(v) for v in row] for row in r.P_exact]
        for a, i in enumerate(idx):
            for b, j in enumerate(idx):
                P[i][j] = Pb[a][b]
        mb = Fraction(r.margin)
        margin = mb if margin is None else min(margin, mb)
        info.append({"size": len(idx), "rung": r.extras.get("rung")})
        res.solve_wall_s += r.solve_wall_s
        res.exact_wall_s += r.exact_wall_s
    if _accept(res, P, margin, None, A_fracs, continuous, what, "block-diagonal",
               f"{len(blocks)} blocks of a shared block-diagonal structure, each certified on its own", len(As),
               asked_strict):
        res.extras["blocks"] = info
        res.solver_status = "per block: " + ", ".join(str(b["rung"]) for b in info)
        return True
    return False


# --------------------------------------------------------------------------- main search


def certify_maps(As: Sequence[np.ndarray], A_fracs: Sequence[list], *, continuous: bool = False,
                 strict: bool = True, solver: str = "CLARABEL", dynamics: str = "discrete",
                 what: str = "x_{k+1} = A x_k") -> CertificateResult:
    """Common quadratic certificate for every map in ``As`` (exact maps ``A_fracs``).

    One map gives an ordinary Lyapunov certificate; several give a common quadratic Lyapunov
    function (stability under arbitrary switching). The search is a ladder from cheap to
    expensive (equation, loose SDP, tight SDP; docs/certify.md); non-strict searches try the
    strict ladder first (a strict certificate is also a non-strict one), then exact conserved
    forms, then the non-strict SDP. Only an exactly checked certificate is reported.
    """
    solver = check_solver(solver)
    t_start = time.perf_counter()
    res = CertificateResult(status="inconclusive", strict=strict, solver=solver, dynamics=dynamics,
                            solver_tolerance=SOLVER_TOL[solver])
    res.evidence = spectral_evidence(As, continuous)
    last = _strict_ladder(res, As, A_fracs, continuous=continuous, solver=solver, what=what, asked_strict=strict)
    if last is None:
        return _done(res, t_start)
    Pf, status, err, slv = last
    pre = res.extras.pop("_exact_info", None)
    if not strict and not (pre is not None and (pre["class"] == "unstable" or pre["defective"])):
        # non-strict: exact structure first (conserved directions), then the non-strict SDP
        _try_neutral_split(res, As, A_fracs, continuous, what)
        if res.certified:
            return _done(res, t_start)
        Pf, status, secs, err = sdp_common_quadratic(As, continuous=continuous, strict=False, solver=solver)
        slv = solver
        res.solve_wall_s += secs
        res.extras.setdefault("solver_stats", {})["sdp-nonstrict"] = dict(
            getattr(sdp_common_quadratic, "last_stats", {}), status=status, wall_s=secs)
        if Pf is not None:
            t1 = time.perf_counter()
            Pn = Pf / float(np.linalg.eigvalsh(Pf).max())
            m = normalized_margin(Pn, As, continuous, False)
            Pr = ex.rationalize(Pn)
            ok, viol, details = exact_check(Pr, A_fracs, continuous=continuous, strict=False, margin=m)
            res.exact_wall_s += time.perf_counter() - t1
            res.extras.setdefault("tried", []).append({"rung": "sdp-nonstrict", "passed": bool(ok)})
            if ok:
                res.extras["checks"] = details
                res.extras["rung"] = "sdp-nonstrict"
                res.solver_status = status
                _fill_certified(res, Pr, m, what, continuous, False, len(As))
                return _done(res, t_start)
            res.max_violation = viol
            res.extras["_last_failed"] = Pr
        _try_conserved(res, As, A_fracs, continuous, solver)
        if res.certified:
            res.extras["rung"] = "conserved-form"
            return _done(res, t_start)
    res.solver = slv
    res.solver_status = ("not run (decided by exact algebra)" if status == "not solved"
                         else status if err is None else f"{status}: {err}")
    res.solver_tolerance = SOLVER_TOL[slv]
    res.extras["rung"] = None
    sense = "strict" if strict else "non-strict"
    failed = res.extras.pop("_last_failed", None)
    info = pre if pre is not None else (_exact_info(A_fracs[0], continuous) if len(As) == 1 else None)
    if info is not None and (info["class"] == "unstable" or (info["class"] == "boundary" and
                                                             (strict or info["defective"]))):
        # exact algebra, not the solver, decides: no certificate of this kind exists
        res.status = "not certified"
        res.statement = _no_cert_sentence(res, As, continuous, strict, what,
                                          status if status in ("infeasible", "infeasible_inaccurate")
                                          else "not solved", A_fracs, info)
    elif status in ("infeasible", "infeasible_inaccurate"):
        res.status = "not certified"
        res.statement = _no_cert_sentence(res, As, continuous, strict, what, status, A_fracs)
    elif Pf is None and status == "size limit":
        res.status = "inconclusive"
        res.statement = f"Inconclusive: {err}; nothing is proven."
    elif Pf is None:
        res.status = "inconclusive"
        res.statement = (f"Inconclusive: solver {slv} returned status {status!r}"
                         f"{' (' + err + ')' if err else ''}; nothing is proven.")
    else:
        res.status = "not certified"
        if failed is not None:
            res.P = [[float(v) for v in r] for r in failed]
        viol = res.max_violation if res.max_violation is not None else float("nan")
        res.statement = (f"Not certified: the {sense} {slv} solution ({status}) failed the exact "
                         f"rational check (largest violation {viol:.3g}); nothing is proven.")
    return _done(res, t_start)


def _done(res: CertificateResult, t_start: float) -> CertificateResult:
    res.extras.pop("_last_failed", None)
    res.wall_s = time.perf_counter() - t_start
    return res


def _fill_certified(res: CertificateResult, Pr: list, m: Fraction, what: str, continuous: bool,
                    strict: bool, nmaps: int, conserved: bool = False) -> None:
    res.status = "certified"
    res.exact_check = True
    res.P = [[float(v) for v in r] for r in Pr]
    res.P_exact = fraction_strings(Pr)
    res.margin = float(m)
    res.max_violation = 0.0
    every = "every one of the maps" if nmaps > 1 else "the map"
    if strict:
        kind = "exponentially stable (x -> 0)"
        rate = "dV/dt" if continuous else "V(x_{k+1}) - V(x_k)"
        res.statement = (f"Proven by an exact rational check: V(x) = x^T P x with P >= {float(m):.3g} I "
                         f"decreases along {every} {what} ({rate} <= -{float(m):.3g} |x|^2), "
                         f"so the origin is {kind}"
                         f"{' under arbitrary switching' if nmaps > 1 else ''}.")
    else:
        how = "is exactly conserved" if conserved else "never increases"
        res.statement = (f"Proven by an exact rational check: V(x) = x^T P x (P >= {float(m):.3g} I) {how} "
                         f"along {every} {what}, so the origin is Lyapunov stable (bounded, "
                         f"not necessarily convergent){' under arbitrary switching' if nmaps > 1 else ''}.")


def _try_neutral_split(res: CertificateResult, As, A_fracs, continuous: bool, what: str) -> None:
    """Non-strict, one map: the exact split into conserved and strictly stable invariant
    subspaces (:mod:`stabcheck.certify.neutral`), checked exactly on the original map."""
    from stabcheck.certify.neutral import neutral_split_candidate

    if len(As) != 1:
        return
    t0 = time.perf_counter()
    try:
        P = neutral_split_candidate(A_fracs[0], continuous)
    except Exception:  # noqa: BLE001 - a failed candidate proves nothing either way
        P = None
    if P is None:
        res.exact_wall_s += time.perf_counter() - t0
        return
    Pf = np.array([[float(v) for v in r] for r in P])
    m = dyadic_floor(0.5 * float(np.linalg.eigvalsh(Pf).min()), bits=20)
    ok, viol, details = exact_check(P, A_fracs, continuous=continuous, strict=False, margin=m)
    res.exact_wall_s += time.perf_counter() - t0
    res.extras.setdefault("tried", []).append({"rung": "neutral-split", "passed": bool(ok and m > 0)})
    if ok and m > 0:
        res.extras["checks"] = details
        res.extras["rung"] = "neutral-split"
        res.extras["method"] = ("exact split into conserved and strictly stable invariant subspaces "
                                "(conserved form + exact Lyapunov equation)")
        _fill_certified(res, P, m, what, continuous, False, 1)


def _try_conserved(res: CertificateResult, As, A_fracs, continuous: bool, solver: str) -> None:
    t0 = time.perf_counter()
    try:
        P = conserved_certificate(As, A_fracs, continuous, solver)
    except Exception:  # noqa: BLE001 - a failed fallback proves nothing either way
        P = None
    if P is None:
        return
    Pf = np.array([[float(v) for v in r] for r in P])
    m = dyadic_floor(0.5 * float(np.linalg.eigvalsh(Pf).min()))
    ok, viol, details = exact_check(P, A_fracs, continuous=continuous, strict=False, margin=m)
    res.exact_wall_s += time.perf_counter() - t0
    if ok and m > 0:
        res.extras["checks"] = details
        res.extras["method"] = "exact conserved quadratic form (A^T P A = P solved over the rationals)"
        _fill_certified(res, P, m, "x_{k+1} = A x_k" if not continuous else "dx/dt = A x",
                        continuous, False, len(As), conserved=True)


#: the largest size for which "none can exist" is decided on the exact characteristic polynomial
EXACT_IMPOSSIBILITY_MAX_N = 16


def _exact_class(F, continuous: bool) -> Optional[str]:
    """``"unstable"`` (an eigenvalue with |l| > 1, or Re l > 0), ``"boundary"`` (none beyond,
    one on the unit circle / the imaginary axis), ``"stable"``, or None when it cannot be
    decided exactly here. Decided exactly on the factored characteristic polynomial of the
    rational matrix ``F`` (floats were taken at their exact binary value):
    :func:`stabcheck.certify.neutral.exact_spectral_class`."""
    info = _exact_info(F, continuous)
    return None if info is None else info["class"]


def _exact_info(F, continuous: bool) -> Optional[dict]:
    from stabcheck.certify.neutral import exact_spectral_class

    if len(F) > EXACT_IMPOSSIBILITY_MAX_N:
        return None
    try:
        return exact_spectral_class(F, continuous)
    except Exception:  # noqa: BLE001 - undecided: no statement is made
        return None


def _routh_class(c) -> Optional[str]:
    """Roots in the open right half plane by the Routh array (exact; None on a zero pivot)."""
    import sympy as sp

    n = len(c) - 1
    if n == 0:
        return "stable"
    if c[-1] == 0:
        return "boundary" if all(x >= 0 for x in c) or all(x <= 0 for x in c) else None
    row1, row2 = c[0::2], c[1::2]
    rows = [row1, row2 + [sp.Integer(0)] * (len(row1) - len(row2))]
    for _ in range(n - 1):
        a, b = rows[-2], rows[-1]
        if b[0] == 0:
            return None
        rows.append([(b[0] * a[i + 1] - a[0] * b[i + 1]) / b[0] for i in range(len(a) - 1)] + [sp.Integer(0)])
    first = [r[0] for r in rows[: n + 1]]
    changes = sum(1 for x, y in zip(first, first[1:]) if (x > 0) != (y > 0))
    return "unstable" if changes > 0 else "stable"


def _frac_product(Fs: list, word) -> list:
    """The exact product ``A_{w_k} ... A_{w_1}`` of Fraction matrices along a switching word."""
    n = len(Fs[0])
    P = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    for k in word:
        A = Fs[int(k)]
        P = [[sum(A[i][t] * P[t][j] for t in range(n)) for j in range(n)] for i in range(n)]
    return P


def _no_cert_sentence(res, As, continuous, strict, what, status, A_fracs=None, info=None) -> str:
    """Why no certificate was found. "None can exist" is said only when it is proven exactly:
    a map (or a repeated switching word) has an eigenvalue beyond the unit circle (discrete) or
    in the right half plane (continuous) by its exact characteristic polynomial; "no strict one
    can exist" only when an exact eigenvalue lies on the circle / the axis. Floating-point
    spectral radii are reported as evidence, never as a proof."""
    key = "spectral_abscissa" if continuous else "spectral_radius"
    vals = res.evidence[key]
    worst = max(vals)
    thr = 0.0 if continuous else 1.0
    sense = "strict" if strict else "non-strict"
    base = (f"No {sense} quadratic certificate: the SDP is {status.replace('_', ' ')}" if status != "not solved"
            else f"No {sense} quadratic certificate")
    classes = [None] * len(As)
    if A_fracs is not None:
        order = sorted(range(len(As)), key=lambda i: -vals[i])
        for i in order:
            classes[i] = info["class"] if (info is not None and len(As) == 1) else _exact_class(A_fracs[i], continuous)
            if classes[i] == "unstable":
                break
    res.evidence["exact_classes"] = classes
    if "unstable" in classes:
        i = classes.index("unstable")
        res.counterexample = growth_trajectory([As[i]]) if not continuous else None
        g = res.counterexample
        extra = (f"; a trajectory grows by a factor 10^{g['log10_growth']:.2f} in {g['steps']} steps, so every "
                 "candidate V grows on it") if g else ""
        edge = "outside the unit circle" if not continuous else "in the open right half plane"
        return (f"{base}, and none can exist: map {i} has an eigenvalue {edge} (exact characteristic polynomial; "
                f"floating-point {key.replace('_', ' ')} {vals[i]:.6g}){extra}.")
    if len(As) > 1 and not continuous:
        from stabcheck.certify.switched import jsr_lower, product

        lo, w, _ = jsr_lower(As, max_length=6, max_words=3000)
        res.evidence["jsr_lower"] = lo
        res.evidence["jsr_lower_word"] = w
        if A_fracs is not None and lo >= 1 - 1e-6 and w:
            cls = _exact_class(_frac_product(A_fracs, w), False)
            if cls == "unstable":
                res.counterexample = growth_trajectory([product(As, w)])
                res.counterexample["word"] = w
                return (f"{base}, and none can exist: the switching word {w} repeated grows (its product has an "
                        f"eigenvalue outside the unit circle, exactly; rho^(1/{len(w)}) = {lo:.6g}), so the "
                        "joint spectral radius exceeds 1.")
            if strict and cls == "boundary":
                return (f"{base}, and no strict one can exist: the product along the switching word {w} has an "
                        "eigenvalue on the unit circle (exactly), so V cannot decrease along it.")
    if not strict and info is not None and info["class"] == "boundary" and info["defective"]:
        edge = "on the unit circle" if not continuous else "on the imaginary axis"
        return (f"{base}, and none can exist: an eigenvalue {edge} has a Jordan block (exact: factored "
                "characteristic polynomial and the rank of h(A)), so trajectories grow polynomially.")
    if strict and "boundary" in classes:
        i = classes.index("boundary")
        edge = "on the unit circle" if not continuous else "on the imaginary axis"
        return (f"{base}, and no strict one can exist: map {i} has an eigenvalue {edge} (exact characteristic "
                "polynomial), so V is conserved along its eigenvector.")
    proven = ""
    if worst > thr - 1e-9:
        proven = (f"; in floating point a map has {key.replace('_', ' ')} {worst:.6g}, but that is not a proof "
                  "that none exists")
    return f"{base} (every single map has {key.replace('_', ' ')} <= {worst:.6g}){proven}; nothing is proven."


def certify_linear(A: Any, A_exact: Any = None, *, solver: str = "CLARABEL", strict: bool = True,
                   continuous: bool = False) -> CertificateResult:
    """Search and exactly check a quadratic Lyapunov certificate of one linear map.

    Parameters
    ----------
    A : array_like, shape (n, n)
        The map: ``x_{k+1} = A x_k`` (or ``dx/dt = A x`` when ``continuous``). The transpose
        is on the left in the conditions: ``A^T P A - P`` (``A^T P + P A``).
    A_exact : sympy Matrix, nested lists of Fractions / ints / "p/q" strings, optional
        The exact map, e.g. a Jacobian with rational entries. The exact check uses it (not the
        rounded float ``A``); without it, the float ``A`` is checked at its exact binary value.
    solver : {"CLARABEL", "SCS"}
    strict : bool
        Strict (exponential stability, with a margin) or non-strict (Lyapunov stability,
        e.g. for neutral maps with eigenvalues on the unit circle).
    continuous : bool
        Continuous-time condition ``A^T P + P A``.

    Returns
    -------
    CertificateResult

    Examples
    --------
    >>> certify_linear([[0.5, 1.0], [0.0, 0.5]]).status
    'certified'
    >>> certify_linear([[1.0, -0.1], [0.1, 1.0]], strict=False).status   # Sim-GDA, WGAN Dirac-GAN
    'not certified'
    """
    Af = check_matrix(A)
    note = "A_exact (rational)" if A_exact is not None else "float64 A at its exact binary value"
    try:
        F = exact_of(Af, A_exact)
    except BadInput as exc:
        if A_exact is None or "not rational" not in str(exc):
            raise
        F = ex.to_fraction_matrix(Af)  # irrational exact entries: check the float matrix instead
        note = "float64 A at its exact binary value (A_exact has irrational entries)"
    what = "dx/dt = A x" if continuous else "x_{k+1} = A x_k"
    res = certify_maps([Af], [F], continuous=continuous, strict=strict, solver=solver,
                       dynamics="continuous" if continuous else "discrete", what=what)
    res.extras["exact_matrix"] = note
    return res
