"""Claims of Nie & Patel (UAI 2019), *Towards a Better Understanding and Regularization of
GAN Training Dynamics* (papers/002).

Conventions: Nie & Patel's generator phi is stabcheck's theta, their discriminator theta is
stabcheck's psi; their objective ``f = E g1(D(x)) + E g2(D(G(z)))`` is stabcheck's ``gaussian``
system in the thesis convention (discriminator scores real data high); ``s2 = sigma^2``,
``beta2 = sigma^2 + ||v||^2``. Regularizers (genreg, ConOpt, discreg, JARE) are stabcheck's
field transforms (gradient-norm penalties, weight gamma as in the paper). Spectra are
invariant under psi -> -psi, so they do not depend on the sign convention.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
import sympy as sp

from stabcheck.claims import _engine as E
from stabcheck.claims.registry import claim
from stabcheck.claims.domain import Domain, Var
from stabcheck.claims.verdicts import decide, outcome

SRC = "Nie & Patel (UAI 2019), 'Towards a Better Understanding and Regularization of GAN Training Dynamics'"
CONV = ("phi (generator) = stabcheck theta; theta (discriminator) = stabcheck psi; the simple example is "
        "`--system gaussian --loss bce --mean 0,...,0,mu --sigma2 s2` (thesis convention, equilibrium (v, 0)).")
GAMMA = sp.Symbol("gamma", positive=True)


def _cmd(mean, s2, method="sim", eta=0.1):
    return (f"stabcheck analyze --system gaussian --loss bce --mean {','.join(str(m) for m in mean)} "
            f"--sigma2 {s2} --eta {eta} --method {method}")


@functools.lru_cache(maxsize=64)
def _J(mean: tuple, s2, transform: str = ""):
    """Exact field Jacobian of the simple example (transform with symbolic gamma)."""
    g = E.gaussian("bce", list(mean), s2)
    if not transform:
        return E.field_jacobian(g)
    return E.transformed_jacobian(g, transform, GAMMA)


def _num(J: sp.Matrix, gamma=None) -> np.ndarray:
    if gamma is not None:
        J = J.xreplace({GAMMA: sp.Rational(str(gamma))})
    return np.array(J.evalf(30).tolist(), dtype=float)


def _beta2(mean, s2):
    return sp.Rational(str(s2)) + sum(sp.Rational(str(m)) ** 2 for m in mean)


def _factors(J: np.ndarray) -> tuple:
    from stabcheck.analysis import field_factors

    ff = field_factors(E.eig_numeric(J))
    z, t = ff["phase_factor"], ff["conditioning_factor"]
    return (math.inf if z is None else z), (math.inf if t is None else t)


# ----------------------------------------------------------------------------- Lemma 1

def check_lemma1(sense: str = "per-player", n_points: int = 30):
    """Concavity of f: ``per-player`` (in phi for fixed theta and in theta for fixed phi:
    the usual meaning of concave-concave) or ``joint``."""
    from stabcheck.games.base import lambdify_vector

    g = E.gaussian("bce", [0, 1], 1)
    f = g.L_D  # Nie & Patel's objective (real-high orientation)
    syms = g.symbols
    H = sp.hessian(f, syms)
    Hf = lambdify_vector(list(H), syms, "numpy")
    X = np.asarray(g.equilibrium_numeric) + E.seeded_starts(n_points, len(syms), seed=3, scale=1.5)
    Hs = Hf(X).reshape(n_points, len(syms), len(syms))
    n = g.n_gen
    worst_g = max(float(np.max(np.linalg.eigvalsh(Hk[:n, :n]))) for Hk in Hs)
    worst_d = max(float(np.max(np.linalg.eigvalsh(Hk[n:, n:]))) for Hk in Hs)
    H0 = np.array(H.xreplace(dict(zip(syms, g.equilibrium))).doit().evalf(30).tolist(), dtype=float)
    joint_max = float(np.max(np.linalg.eigvalsh(H0)))
    rng = f"{n_points} seeded points (v, 0) + 1.5 N(0, I), n = 2, v = (0, 1), s2 = 1"
    if sense == "joint":
        ok = joint_max <= 1e-12
        return decide(outcome(ok, f"joint Hessian of f at the equilibrium has largest eigenvalue {E.fmt(joint_max)}",
                              "exact arithmetic", counterexample=None if ok else
                              f"(phi, theta) = (v, 0), v = (0, 1), s2 = 1: Hessian eigenvalue {E.fmt(joint_max)} > 0",
                              command=_cmd([0, 1], 1)))
    tol = 1e-10
    ok = worst_g <= tol and worst_d <= tol
    # the proof: f = E g1(theta^T x) + E g2(theta^T (phi + z)) (eq. 3), so
    #   d^2 f/d phi^2 = E g2''(.) theta theta^T,  d^2 f/d theta^2 = E g1''(.) x x^T + E g2''(.) (phi+z)(phi+z)^T:
    # expectations of g'' times positive semidefinite rank-one matrices; NSD for every (phi, theta) iff g1'', g2'' <= 0
    from stabcheck.claims.domain import sign_of

    t = sp.Symbol("t", real=True)
    g1 = -sp.log(1 + sp.exp(-t))
    g2 = g1.xreplace({t: -t})
    s1, st1 = sign_of(sp.simplify(sp.diff(g1, t, 2)))
    s2_, st2 = sign_of(sp.simplify(sp.diff(g2, t, 2)))
    proved = s1 == -1 and s2_ == -1
    fuzz = (f"cross-check on the engine's game: Hessians in phi (fixed theta) and in theta (fixed phi) negative "
            f"semidefinite on {rng}: largest eigenvalues {E.fmt(worst_g)} and {E.fmt(worst_d)}")
    joint = (f"f is not jointly concave: the joint Hessian at the equilibrium has the positive eigenvalue "
             f"{E.fmt(joint_max)} (concave-concave holds per player only)")
    if proved and ok:
        return decide(outcome(True, f"proof: with eq. 3's structure the per-player Hessians are expectations of g''(.) times "
                                    f"positive semidefinite rank-one matrices, and g1''(t) = {sp.simplify(sp.diff(g1, t, 2))} "
                                    f"< 0, g2''(t) = {sp.simplify(sp.diff(g2, t, 2))} < 0 for every real t (" +
                                    "; ".join(st1 + st2) + "): negative semidefinite for every (phi, theta) and every v, s2",
                              "symbolic identity", evidence_kind="proof", details=[fuzz, joint], draws=n_points,
                              domain=Domain((Var("phi", -math.inf, math.inf), Var("theta", -math.inf, math.inf),
                                             Var("s2", 0, None)), (("vanilla loss g1(t) = g2(-t) = -log(1 + e^-t)",
                                                                    "Section 4, after eq. 4"),)).to_json()))
    return decide(outcome(ok if not ok else None, fuzz, "fuzzed", counterexample=None if ok else
                          "a sampled point with a positive eigenvalue", details=[joint]))


@claim(id="nie-patel/lemma1", source=SRC, location="Lemma 1",
       statement="The objective f(phi, theta) of the simple vanilla GAN (eq. 3) is concave-concave w.r.t. (phi, theta).",
       convention=CONV,
       domain=Domain((Var("phi", -math.inf, math.inf), Var("theta", -math.inf, math.inf)), (("vanilla loss", "Section 4, after eq. 4"),)),
       mutants={"joint": ("f is jointly concave in (phi, theta)", lambda: check_lemma1("joint"))})
def lemma1():
    return check_lemma1("per-player")


# ----------------------------------------------------------------------------- Theorem 1

NP_GRID = (([4], "1/25"), ([1], "1/2"), ([0], 3), ([0, 4], "1/25"), ([0, 1], "1/2"), ([0, 0], 1), ([0, 0, 2], 1))


def _thm1_printed(s2, b2):
    l12 = [(-s2 + sp.sqrt(s2 ** 2 - 4)) / 4, (-s2 - sp.sqrt(s2 ** 2 - 4)) / 4]
    l34 = [(-b2 + sp.sqrt(b2 ** 2 - 4)) / 4, (-b2 - sp.sqrt(b2 ** 2 - 4)) / 4]
    return l12, l34


def check_thm1(printed: Callable, grid=NP_GRID):
    """``printed(s2, beta2) -> (l12, l34)``; l12 each with multiplicity n-1, l34 once."""
    for mean, s2 in grid:
        s2e = sp.Rational(str(s2))
        b2 = _beta2(mean, s2)
        l12, l34 = printed(s2e, b2)
        eigs = list(l12) * (len(mean) - 1) + list(l34)
        J = _J(tuple(mean), s2)
        d = E.charpoly_difference(J, eigs)
        if d != 0:
            got = ", ".join(E.fmt(complex(e)) for e in E.eig_numeric(J))
            ce = f"n = {len(mean)}, v = {mean}, s2 = {s2}: engine eigenvalues {got}"
            return decide(outcome(False, ce + " differ from the printed ones", "exact arithmetic", counterexample=ce,
                                  command=_cmd(mean, s2)))
    return decide(outcome(True, f"exact characteristic polynomial of the engine's field Jacobian at (v, 0) equals the "
                                f"printed eigenvalues (l12 with multiplicity n-1, l34 once) on {len(grid)} games "
                                f"(n = 1..3, s2 in {{1/25, 1/2, 1, 3}}, ||v|| in {{0, 1, 2, 4}})", "exact arithmetic",
                          command=_cmd([0, 4], 0.04)))


@claim(id="nie-patel/thm1", source=SRC, location="Theorem 1",
       statement="In the simple vanilla GAN trained via SimGD, the Jacobian at the equilibrium has eigenvalues "
                 "lambda_{1,2} = (-s2 +- sqrt(s2^2 - 4))/4 and lambda_{3,4} = (-beta2 +- sqrt(beta2^2 - 4))/4.",
       convention=CONV,
       domain=Domain((Var("s2", 0, None), Var("v", -math.inf, math.inf)), (("a point of B_delta(w*); checked at w*", "Theorem 1"),), note="decided on 7 games (n = 1..3)"),
       mutants={"swapped": ("lambda_{1,2} and lambda_{3,4} swapped", lambda: check_thm1(lambda s2, b2: tuple(reversed(_thm1_printed(s2, b2))), grid=(([4], "1/25"), ([0, 0, 2], 1))))})
def thm1():
    return check_thm1(_thm1_printed)


# ----------------------------------------------------------------------------- Corollaries 1, 2

def _best_contraction(J: np.ndarray, eta_hi: float) -> float:
    from scipy.optimize import minimize_scalar

    from stabcheck.rules import Sim

    r = minimize_scalar(lambda e: E.spectral_radius(E.map_matrix(Sim(), J, e, J.shape[0] // 2)),
                        bounds=(eta_hi * 1e-6, eta_hi), method="bounded", options={"xatol": eta_hi * 1e-12})
    return float(r.fun)


def check_cor1(step_bound: Callable, contraction: Callable, s2s=(0.01, 0.1, 0.5, 1, 1.9)):
    """``step_bound(zeta)`` the largest stable step, ``contraction(zeta)`` the best per-step
    factor ``(1 + 1/zeta^2)^(-1/2)`` implied by the iteration bound; v = 0 so that every
    eigenvalue is lambda_{1,2}."""
    from stabcheck.rules import Sim

    worst_b = worst_c = 0.0
    for s2 in s2s:
        J = _num(_J((0,), s2))
        zeta, _ = _factors(J)
        eta_max = E.sup_stable_eta(Sim(), J, 1)
        rb = abs(eta_max - step_bound(zeta)) / step_bound(zeta) if eta_max else math.inf
        rc = abs(_best_contraction(J, eta_max) - contraction(zeta)) / contraction(zeta)
        worst_b, worst_c = max(worst_b, rb), max(worst_c, rc)
        if rb > 1e-6 or rc > 1e-6:
            ce = (f"s2 = {s2}, v = 0: zeta = {E.fmt(zeta)}, engine's largest stable eta {E.fmt(eta_max)} vs printed "
                  f"{E.fmt(step_bound(zeta))}; best contraction {E.fmt(_best_contraction(J, eta_max))} vs "
                  f"{E.fmt(contraction(zeta))}")
            return decide(outcome(False, ce, "numerical", counterexample=ce, command=_cmd([0], s2)))
    return decide(outcome(True, f"on s2 in {list(s2s)} (v = 0): the engine's largest stable Sim-GDA step (scan + "
                                f"bisection) matches 4/sqrt(1+zeta^2) to {E.fmt(worst_b, 2)} and its best spectral radius "
                                f"over eta matches (1 + 1/zeta^2)^(-1/2) (so N >= 2 log(C0/eps)/log(1+1/zeta^2)) to "
                                f"{E.fmt(worst_c, 2)} (relative)", "numerical", command=_cmd([0], 0.5)))


@claim(id="nie-patel/cor1", source=SRC, location="Corollary 1",
       statement="(Phase factor, 0 < s2 < 2.) Non-asymptotic local convergence needs 0 < eta < 4/sqrt(1+zeta^2); the "
                 "number of iterations to an eps-error satisfies N >= 2 log(C0/eps)/log(1 + 1/zeta^2).",
       convention=CONV,
       domain=Domain((Var("s2", 0, 2),), (("0 < sigma^2 < 2", "Section 4, before Corollary 1"),), {"v": 0, "method": "SimGD"}, note="decided on the grid s2 in {0.01, 0.1, 0.5, 1, 1.9}"),
       mutants={"2/sqrt": ("step bound 2/sqrt(1 + zeta^2)", lambda: check_cor1(lambda z: 2 / math.sqrt(1 + z * z), lambda z: (1 + 1 / (z * z)) ** -0.5, s2s=(0.5,)))})
def cor1():
    return check_cor1(lambda z: 4 / math.sqrt(1 + z * z), lambda z: (1 + 1 / (z * z)) ** -0.5)


def check_cor2(step_bound: Callable, slow_rate: Callable, tau_formula: Callable, mus=(1.5, 2, 4, 10), s2="1/25"):
    """``step_bound(tau)``, the slow mode's factor ``slow_rate(tau)`` at that step, and
    ``tau_formula(beta2)``; n = 1 so that the eigenvalues are lambda_{3,4}."""
    from stabcheck.rules import Sim

    worst = 0.0
    for mu in mus:
        J = _num(_J((mu,), s2))
        _, tau = _factors(J)
        b2 = float(_beta2([mu], s2))
        eta_max = E.sup_stable_eta(Sim(), J, 1)
        ev = np.abs(np.linalg.eigvals(E.map_matrix(Sim(), J, step_bound(tau), 1)))
        errs = [abs(tau - tau_formula(b2)) / tau, abs(eta_max - step_bound(tau)) / step_bound(tau),
                abs(float(np.min(ev)) - slow_rate(tau)) / slow_rate(tau)]
        worst = max(worst, *errs)
        if max(errs) > 1e-6:
            ce = (f"mu = {mu}, s2 = {s2}: tau {E.fmt(tau)} vs formula {E.fmt(tau_formula(b2))}; largest stable eta "
                  f"{E.fmt(eta_max)} vs {E.fmt(step_bound(tau))}; slow factor {E.fmt(float(np.min(ev)))} vs {E.fmt(slow_rate(tau))}")
            return decide(outcome(False, ce, "numerical", counterexample=ce, command=_cmd([mu], s2)))
    return decide(outcome(True, f"n = 1, s2 = 1/25, ||v|| in {list(mus)} (beta2 > 2): engine's conditioning factor = "
                                f"(beta2 + sqrt(beta2^2-4))^2/4, largest stable Sim-GDA step = 4/sqrt(tau), slow mode factor "
                                f"at that step = 1 - 2/tau; worst relative error {E.fmt(worst, 2)}", "numerical",
                          command=_cmd([4], 0.04)))


@claim(id="nie-patel/cor2", source=SRC, location="Corollary 2",
       statement="(Conditioning factor, beta2 > 2, tau = |lambda_3/lambda_4| = (beta2 + sqrt(beta2^2-4))^2/4.) The "
                 "step size must satisfy 0 < eta < 4/sqrt(tau); for tau > 2, N > log(eps/C1)/log(1 - 2/tau).",
       convention=CONV,
       domain=Domain((Var("beta2", 2, None),), (("beta^2 > 2", "Section 4, before Corollary 2"),), {"n": 1, "s2": "1/25", "method": "SimGD"}, note="decided on ||v|| in {1.5, 2, 4, 10}"),
       mutants={"8/sqrt": ("step bound 8/sqrt(tau)", lambda: check_cor2(lambda t: 8 / math.sqrt(t), lambda t: 1 - 2 / t, lambda b2: (b2 + math.sqrt(b2 * b2 - 4)) ** 2 / 4, mus=(4,)))})
def cor2():
    return check_cor2(lambda t: 4 / math.sqrt(t), lambda t: 1 - 2 / t,
                      lambda b2: (b2 + math.sqrt(b2 * b2 - 4)) ** 2 / 4)


# ----------------------------------------------------------------------------- Theorem 2

GAMMAS = (0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 1000)

THM2_DOMAIN = Domain(
    variables=(Var("s2", 0, 2), Var("beta2", 2, 100, hi_open=False), Var("gamma", 0, 100, hi_open=False)),
    hypotheses=(("0 < sigma^2 < 2 and beta^2 > 2 (both factors present)", "Section 4, 'In summary'"),),
    constants={"zeta": "|Im/Re| of lambda_{1,2} (sigma block)", "tau": "|lambda_3/lambda_4| (beta block)",
               "alleviate": "lower than at gamma = 0"},
    note="search bounds: beta2, gamma <= 100 (the proof, where one is found, has no bound)")


def _zeta_tau(kappa, disc):
    """Numeric zeta (complex pair) and tau (real pair) of a block from kappa = p1^2/p0."""
    fk = sp.lambdify((A_, GAMMA), kappa, "math")
    fd = sp.lambdify((A_, GAMMA), disc, "math")

    def zeta(a, g):
        return math.sqrt(max(4 / fk(a, g) - 1, 0.0)) if fd(a, g) < 0 else 0.0

    def tau(a, g):
        k = fk(a, g)
        return ((math.sqrt(k) + math.sqrt(max(k - 4, 0.0))) / 2) ** 2 if fd(a, g) >= 0 else 1.0

    return zeta, tau


def check_thm2(methods=("genreg", "conopt", "discreg"), domain: Domain = THM2_DOMAIN, n_search: int = None):
    """Theorem 2 over ``domain``: for no gamma > 0 does a method lower both zeta (sigma block,
    a = s2) and tau (beta block, a = beta2) below their gamma = 0 values. Per method:
    the block model (:func:`_block`, checked against the engine) gives kappa(a, gamma); if
    kappa(beta2, gamma) - kappa(beta2, 0) > 0 is proved (tau never decreases), the method is
    decided by proof; otherwise a seeded Hypothesis search over the domain looks for a point
    where both decrease (shrunk)."""
    from stabcheck.claims.domain import draws as ndraws, point_text, search, sign_of

    n_search = n_search or ndraws(300)
    dom = domain.to_json()
    parts, total, kinds = [], 0, []
    for m in methods:
        ok_b, b_txt = _block_matches_engine(m)
        if not ok_b:
            return decide(outcome(None, b_txt, domain=dom))
        kappa, disc = _kappa(_block(m))
        b_lo = domain.var("beta2")
        inc = sp.factor(sp.together(kappa - kappa.xreplace({GAMMA: 0})))
        sgn, st = sign_of(inc.xreplace({A_: sp.Rational(str(b_lo.lo)) + _P}))
        if sgn == 1:
            parts.append(f"{m}: kappa(beta2, gamma) - kappa(beta2, 0) = {inc} > 0 for every gamma > 0 and beta2 > "
                         f"{E.fmt(b_lo.lo)} (" + "; ".join(st) + "), so tau (tau + 1/tau + 2 = kappa) only grows")
            kinds.append("proof")
            continue
        zeta, tau = _zeta_tau(kappa, disc)

        def both(pt, zeta=zeta, tau=tau):
            s2, b2, g = float(pt["s2"]), float(pt["beta2"]), float(pt["gamma"])
            if g <= 0:
                return False
            return zeta(s2, g) < zeta(s2, 0) * (1 - 1e-9) and tau(b2, g) < tau(b2, 0) * (1 - 1e-9)

        sr = search(both, domain, n=n_search)
        total += sr.draws
        kinds.append("search")
        if sr.counterexample is not None:
            pt = sr.counterexample
            s2, b2, g = (float(pt[k]) for k in ("s2", "beta2", "gamma"))
            ce = (f"{m} at {point_text(pt)}: zeta {E.fmt(zeta(s2, 0))} -> {E.fmt(zeta(s2, g))}, tau {E.fmt(tau(b2, 0))} -> "
                  f"{E.fmt(tau(b2, g))}: both lowered")
            return decide(outcome(False, f"seeded search over the domain ({sr.draws} draws, shrunk): {ce}",
                                  ("symbolic identity", "fuzzed"), evidence_kind="search", counterexample=ce,
                                  draws=total, domain=dom, details=parts,
                                  command=_cmd([0, 4], 0.04, f"{m}:gamma={E.fmt(g)}")))
        parts.append(f"{m}: tau's monotonicity not proved; {sr.draws} draws over the domain found no gamma lowering both")
    kind = "proof" if all(k == "proof" for k in kinds) else "search"
    return decide(outcome(True, "; ".join(parts), "symbolic identity" if kind == "proof" else ("symbolic identity", "fuzzed"),
                          evidence_kind=kind, draws=total or None, domain=dom,
                          command=_cmd([0, 4], 0.04, "genreg:gamma=10")))


@claim(id="nie-patel/thm2", source=SRC, location="Theorem 2",
       statement="In the simple vanilla GAN, none of only regularizing the generator, ConOpt, and only regularizing "
                 "the discriminator can simultaneously alleviate the phase factor and the conditioning factor.",
       convention=CONV + " zeta and tau as the paper defines them (sigma block, beta block).", domain=THM2_DOMAIN,
       mutants={"jare-too": ("JARE cannot alleviate both factors either", lambda: check_thm2(methods=("jare",)))})
def thm2():
    return check_thm2()


# ----------------------------------------------------------------------------- Theorem 3

def _thm3_printed(s2, b2, g):
    def pair(a):
        r = sp.sqrt((a + g) ** 2 - (g ** 2 + 4))
        return [(-(a + g) + r) / 4, (-(a + g) - r) / 4]

    return pair(s2), pair(b2)


def check_thm3(printed: Callable, games=(((0, 4), "1/25"), ((0, 1), "1/2"), ((3,), 1))):
    """``printed(s2, beta2, gamma) -> (l12, l34)`` for JARE; gamma symbolic."""
    for mean, s2 in games:
        s2e, b2 = sp.Rational(str(s2)), _beta2(mean, s2)
        l12, l34 = printed(s2e, b2, GAMMA)
        J = _J(tuple(mean), s2, "jare")
        d = E.charpoly_difference(J, list(l12) * (len(mean) - 1) + list(l34))
        if d != 0:
            ce = E.first_counter_sample(d, [GAMMA], [[0.1], [1], [10]])
            g = ce["gamma"] if ce else "1"
            got = ", ".join(E.fmt(complex(e)) for e in E.eig_numeric(J.xreplace({GAMMA: sp.Rational(g)})))
            text = f"v = {list(mean)}, s2 = {s2}, gamma = {g}: engine eigenvalues {got} differ from the printed ones"
            return decide(outcome(False, text, "symbolic identity", counterexample=text,
                                  command=_cmd(list(mean), s2, f"jare:gamma={g}")))
    return decide(outcome(True, f"the engine's JARE field Jacobian at (v, 0), symbolic in gamma, has exactly the printed "
                                f"characteristic polynomial on {len(games)} games (n = 1, 2; s2 in {{1/25, 1/2, 1}})",
                          ("symbolic identity", "exact arithmetic"), command=_cmd([0, 4], 0.04, "jare:gamma=1")))


@claim(id="nie-patel/thm3", source=SRC, location="Theorem 3",
       statement="In the simple vanilla GAN trained via JARE, the Jacobian's eigenvalues are "
                 "lambda_{1,2} = (-(s2+gamma) +- sqrt((s2+gamma)^2 - (gamma^2+4)))/4 and "
                 "lambda_{3,4} = (-(beta2+gamma) +- sqrt((beta2+gamma)^2 - (gamma^2+4)))/4.", convention=CONV,
       domain=Domain((Var("gamma", 0, None), Var("s2", 0, None)), (("gamma > 0", "Section 5.2"),), note="gamma symbolic; 3 games"),
       mutants={"det-2": ("gamma^2 + 2 instead of gamma^2 + 4 under the root", lambda: check_thm3(lambda s2, b2, g: tuple([(-(a + g) + sp.sqrt((a + g) ** 2 - (g ** 2 + 2))) / 4, (-(a + g) - sp.sqrt((a + g) ** 2 - (g ** 2 + 2))) / 4] for a in (s2, b2)), games=(((3,), 1),)))})
def thm3():
    return check_thm3(_thm3_printed)


# ----------------------------------------------------------------------------- Corollary 3

A_ = sp.Symbol("a", positive=True)      # the diagonal of one 2x2 block: s2 (sigma pair) or beta2 (beta pair)
_P = sp.Symbol("p", positive=True)      # slack variables of the domain's parametrizations
_Q = sp.Symbol("q", nonnegative=True)
_R = sp.Symbol("r", positive=True)


@functools.lru_cache(maxsize=8)
def _block(transform: str = "") -> sp.Matrix:
    """The 2x2 block of the simple example's (transformed) field Jacobian with diagonal
    parameter ``a``, symbolic in ``a`` and gamma, built by the engine: stabcheck's transform of
    the quadratic game L = -psi theta/2 - a psi^2/4, whose field Jacobian is the simple example's
    block [[0, 1/2], [-1/2, -a/2]] (the example's Jacobian is block diagonal: one block with
    a = beta2 along v, n - 1 blocks with a = s2). :func:`_block_matches_engine` checks this."""
    from stabcheck.fields import FieldTransform, game_field
    from stabcheck.games import custom_game

    th, ps = sp.symbols("theta psi", real=True)
    g = custom_game([th], [ps], L=-ps * th / 2 - A_ * ps ** 2 / 4, equilibrium=[0, 0], name="nie-patel-block")
    f = game_field(g)
    return (FieldTransform(transform, GAMMA)(f) if transform else f).jacobian_exact()


def _block_matches_engine(transform: str, mean=(0, 4), s2="1/25") -> tuple:
    """Exact check: the engine's (transformed) Jacobian of the Gaussian game (n = 2) has the
    characteristic polynomial of the blocks at a = beta2 and a = s2 (gamma symbolic)."""
    J = _J(tuple(mean), s2, transform)
    B = _block(transform)
    prod = B.xreplace({A_: _beta2(mean, s2)}).charpoly(E.Z).as_expr() * \
        B.xreplace({A_: sp.Rational(str(s2))}).charpoly(E.Z).as_expr()
    ok = sp.expand(J.charpoly(E.Z).as_expr() - prod) == 0
    return ok, (f"the engine's {transform or 'SimGD'} Jacobian of the Gaussian game v = {list(mean)}, s2 = {s2} (gamma "
                f"symbolic) has exactly the characteristic polynomial of the blocks at a = beta2 and a = s2" if ok else
                f"the block model does not match the engine's {transform} Jacobian on v = {list(mean)}, s2 = {s2}")


def _kappa(B: sp.Matrix) -> tuple:
    """(kappa, disc) of a 2x2 block with characteristic polynomial z^2 + p1 z + p0:
    kappa = p1^2/p0 (= tau + 1/tau + 2 for real roots, = 4/(1 + zeta^2) for complex ones),
    disc = p1^2 - 4 p0."""
    p1, p0 = -B.trace(), B.det()
    return sp.simplify(p1 ** 2 / p0), sp.expand(p1 ** 2 - 4 * p0)


COR3_DOMAIN = Domain(
    variables=(Var("s2", 0, 2), Var("beta2", 2, None), Var("gamma", 0, None)),
    hypotheses=(("0 < sigma^2 < 2 (lambda_{1,2} complex: the phase factor)", "Section 4, before Corollary 1; "
                 "restated after Theorem 3"),
                ("beta^2 > 2 (lambda_{3,4} real: the conditioning factor)", "Section 4, before Corollary 2; restated "
                 "after Theorem 3")),
    constants={"loss": "vanilla, g1(t) = g2(-t) = -log(1 + e^-t)", "method": "JARE (weight gamma)",
               "zeta": "|Im/Re| of lambda_{1,2}", "tau": "|lambda_3/lambda_4|"})


def check_cor3(gamma_threshold=2, domain: Domain = COR3_DOMAIN, game=None, n_search: int = None):
    """Corollary 3 over ``domain``: zeta non-increasing in gamma (sigma block, a = s2), tau
    non-increasing for gamma >= ``gamma_threshold`` (beta block, a = beta2), zeta -> 0 and
    tau -> 1. Decided symbolically: d kappa/d gamma factor by factor, on the domain's
    parametrization by slack variables; where that fails, a seeded Hypothesis search over the
    domain for a point where tau increases (shrunk to a minimal one). ``game = (mean, s2)``
    decides it on one game (out of domain if the game violates the hypotheses)."""
    from stabcheck.claims.domain import draws as ndraws, point_text, search, sign_of

    n_search = n_search or ndraws(200)
    t0 = sp.Rational(str(gamma_threshold))
    dom_json = domain.to_json()
    b_lo = domain.var("beta2")
    s_var = domain.var("s2")
    fixed_b = None
    if game is not None:
        mean, s2g = game
        b = _beta2(mean, s2g)
        why = domain.violated({"s2": sp.Rational(str(s2g)), "beta2": b})
        if why:
            return decide(outcome(None, f"v = {list(mean)}, s2 = {s2g} (beta2 = {b}): {why} (the hypothesis the paper "
                                        "states before Corollary 3)", domain=dom_json, out_of_domain=True))
        fixed_b = b
    ok_b, b_txt = _block_matches_engine("jare")
    if not ok_b:
        return decide(outcome(None, b_txt, "symbolic identity", domain=dom_json))
    B = _block("jare")
    kappa, disc = _kappa(B)
    dk = sp.factor(sp.diff(kappa, GAMMA))
    steps = [b_txt, f"kappa = p1^2/p0 = {sp.factor(kappa)}, d kappa/d gamma = {dk}"]
    # (1) tau: beta block, a = beta2, gamma >= t0. tau + 1/tau + 2 = kappa, so dtau/dgamma has dkappa's sign
    lo = sp.Rational(str(b_lo.lo))
    a_sub = {A_: fixed_b} if fixed_b is not None else {A_: lo + (_P if b_lo.lo_open else _Q)}
    sub = {**a_sub, GAMMA: t0 + _Q}
    sgn_disc, _ = sign_of(disc.xreplace(sub))
    sgn, st = sign_of(dk.xreplace(sub))
    draws_n = None
    tau_ok = sgn == -1 and sgn_disc == 1
    if tau_ok:
        tau_txt = (f"tau: roots real on the domain (disc = p1^2 - 4 p0 > 0 proved) and d kappa/d gamma < 0 for "
                   f"{'beta2 = ' + str(fixed_b) if fixed_b is not None else b_lo.text()}, gamma >= {t0}: " + "; ".join(st))
        kind = "proof"
    else:
        # search the domain (beta2, gamma >= t0) for a point where tau increases
        from stabcheck.claims.domain import Domain as _D

        dsearch = _D((b_lo if fixed_b is None else Var("beta2", float(fixed_b), float(fixed_b), False, False),
                      Var("gamma", float(t0), None, False)))
        dkf = sp.lambdify((A_, GAMMA), dk, "sympy")
        dsf = sp.lambdify((A_, GAMMA), disc, "sympy")

        def fails(pt):
            a, g = sp.Rational(pt["beta2"]), sp.Rational(pt["gamma"])
            return dsf(a, g) > 0 and dkf(a, g) > 0

        sr = search(fails, dsearch, n=n_search)
        draws_n = sr.draws
        kind = "search"
        if sr.counterexample is None:
            return decide(outcome(None, f"tau: the sign of d tau/d gamma could not be proved on {dsearch.variables[0].text()}, "
                                        f"gamma >= {t0}, and {sr.draws} draws found no increase", domain=dom_json,
                                  draws=sr.draws, evidence_kind="search"))
        pt = sr.counterexample
        a, g = sp.Rational(pt["beta2"]), sp.Rational(pt["gamma"])
        tau_at = lambda gg: ((sp.sqrt(kappa.xreplace({A_: a, GAMMA: gg})) + sp.sqrt(kappa.xreplace({A_: a, GAMMA: gg}) - 4)) / 2) ** 2  # noqa: E731
        ce = (f"beta2 = {a}, gamma = {g}: d kappa/d gamma = {dk.xreplace({A_: a, GAMMA: g})} > 0 (exact), so tau increases "
              f"(tau({g}) = {E.fmt(tau_at(g))}, tau({g + 1}) = {E.fmt(tau_at(g + 1))}); d tau/d gamma < 0 exactly when "
              f"gamma > 4/beta2")
        return decide(outcome(False, f"tau is not non-increasing for gamma >= {t0} on {dsearch.variables[0].text()}: "
                                     f"seeded search ({sr.draws} draws, shrunk) found {point_text(pt)}; {ce}",
                              ("symbolic identity", "fuzzed"), counterexample=ce, evidence_kind="search",
                              draws=sr.draws, domain=dom_json, details=steps,
                              command=_cmd([0, 4], 0.04, f"jare:gamma={g}")))
    # (2) zeta: sigma block, a = s2 in (0, 2); complex where disc < 0, i.e. gamma = (4 - a^2 - r)/(2a), r > 0
    kz = kappa.xreplace({})
    dkz = sp.factor(sp.diff(kz, GAMMA))
    sub_z = {GAMMA: (4 - A_ ** 2 - _R) / (2 * A_)}
    sgn_z, st_z = sign_of(dkz, [sub_z])
    zeta_ok = sgn_z == 1    # zeta^2 = 4/kappa - 1 decreases where kappa increases; 0 once the roots are real
    zeta_txt = ("zeta: where lambda_{1,2} are complex (disc < 0, parametrized gamma = (4 - a^2 - r)/(2a), r > 0), "
                "d kappa/d gamma > 0, so zeta^2 = 4/kappa - 1 decreases; where they are real zeta = 0: " + "; ".join(st_z))
    # (3) limits
    lim_k = sp.limit(kappa, GAMMA, sp.oo)
    lim_d = sp.limit(disc, GAMMA, sp.oo)
    lim_ok = lim_k == 4 and lim_d == sp.oo
    lim_txt = (f"limits: disc -> {lim_d} (roots real for large gamma, so zeta = 0 from some gamma on) and kappa -> "
               f"{lim_k} (tau + 1/tau + 2 = 4, tau -> 1)")
    ok = tau_ok and zeta_ok and lim_ok
    ev = "; ".join([tau_txt, zeta_txt, lim_txt])
    return decide(outcome(ok if ok else False, ev, "symbolic identity", evidence_kind=kind, domain=dom_json,
                          draws=draws_n, counterexample=None if ok else ev, details=steps,
                          command=_cmd([0, 4], 0.04, "jare:gamma=10")))


def _cor3_widened():
    return check_cor3(2, COR3_DOMAIN.widened(beta2=Var("beta2", 1, None, lo_open=False)))


@claim(id="nie-patel/cor3", source=SRC, location="Corollary 3",
       statement="With JARE, zeta decreases monotonically as gamma increases, and if gamma >= 2, tau also decreases "
                 "monotonically; as gamma -> infinity, zeta -> 0 and tau -> 1 (under the hypotheses 0 < sigma^2 < 2 "
                 "and beta^2 > 2 stated before it).", convention=CONV, domain=COR3_DOMAIN,
       mutants={"beta2>=1": ("the same statement on the widened domain beta^2 >= 1", _cor3_widened),
                "gamma>=1/10": ("tau decreases for gamma >= 1/10", lambda: check_cor3("1/10"))})
def cor3():
    return check_cor3(2)


# ----------------------------------------------------------------------------- eta_max

def _eta_max_printed(s2, b2, g):
    return 8 * min((g + s2) / (g * g + 4), 1 / ((b2 + g) + math.sqrt(2 * b2 * g + b2 * b2 - 4)))


def check_eta_max(printed: Callable, games=(((0, 4), "1/25"), ((0, 2), "1/2")), gammas=(0,) + GAMMAS + (10000,)):
    """``printed(s2, beta2, gamma)``: the JARE step bound, compared with the engine's largest
    stable Sim-GDA step; then "eta_max decreases with gamma" on the engine's values."""
    from stabcheck.rules import Sim

    worst, rows, incr = 0.0, [], []
    for mean, s2 in games:
        Jg = _J(tuple(mean), s2, "jare")
        s2f, b2 = float(sp.Rational(s2)), float(_beta2(mean, s2))
        vals = []
        for g in gammas:
            J = _num(Jg, g) if g > 0 else _num(_J(tuple(mean), s2))
            e = E.sup_stable_eta(Sim(), J, len(mean))
            p = printed(s2f, b2, g)
            err = abs(e - p) / p if e else math.inf
            worst = max(worst, err)
            if err > 1e-6:
                ce = f"v = {list(mean)}, s2 = {s2}, gamma = {g}: engine's largest stable step {E.fmt(e)}, printed {E.fmt(p)}"
                return decide(outcome(False, ce, "numerical", counterexample=ce,
                                      command=_cmd(list(mean), s2f, f"jare:gamma={g}")))
            vals.append(e)
        up = [(a, b, va, vb) for a, b, va, vb in zip(gammas, gammas[1:], vals, vals[1:]) if vb > va * (1 + 1e-9)]
        incr += [(mean, s2) + u for u in up]
        peak = gammas[int(np.argmax(vals))]
        rows.append((mean, s2, peak, vals))
    formula = outcome(True, f"printed eta_max equals the engine's largest stable step on {len(games)} games x "
                            f"{len(gammas)} gammas (worst relative error {E.fmt(worst, 2)})", "numerical")
    if incr:
        m, s2, a, b, va, vb = incr[0]
        peak = max(r[2] for r in rows)
        printed_o = outcome(False, f"eta_max increases from {E.fmt(va)} (gamma = {a}) to {E.fmt(vb)} (gamma = {b}) on "
                                   f"v = {list(m)}, s2 = {s2}", "numerical",
                            counterexample=f"v = {list(m)}, s2 = {s2}: eta_max({a}) = {E.fmt(va)} < eta_max({b}) = {E.fmt(vb)}",
                            command=_cmd(list(m), float(sp.Rational(s2)), f"jare:gamma={b}"))
        dec = all(all(v2 <= v1 * (1 + 1e-9) for g1, v1, v2 in zip(gammas, r[3], r[3][1:]) if g1 >= peak) for r in rows)
        corr = outcome(dec and formula.ok, formula.evidence + f"; decreasing for gamma >= {peak} on the grid", "numerical")
        return decide(printed_o, correction=corr,
                      printed_text="eta_max = 8 min{(gamma + s2)/(gamma^2 + 4), 1/((beta2 + gamma) + sqrt(2 beta2 gamma + "
                                   "beta2^2 - 4))} decreases with gamma and goes to 0",
                      correction_text=f"the formula is exact, eta_max -> 0, but it decreases only beyond a gamma of order "
                                      f"1 (from gamma = {peak} on in these games); for small gamma it increases")
    return decide(outcome(True, formula.evidence + "; eta_max non-increasing in gamma on the grid", "numerical",
                          command=_cmd([0, 4], 0.04, "jare:gamma=1")))


@claim(id="nie-patel/eta-max", source=SRC, location="Section 5.2, after Corollary 3",
       statement="JARE's step size must satisfy 0 < eta < eta_max = 8 min{(gamma + s2)/(gamma^2 + 4), "
                 "1/((beta2 + gamma) + sqrt(2 beta2 gamma + beta2^2 - 4))}; eta_max decreases as gamma increases and "
                 "goes to 0 as gamma -> infinity.", convention=CONV,
       domain=Domain((Var("gamma", 0, None, lo_open=False),), (("0 < sigma^2 < 2, beta^2 > 2", "Section 5.2"),), note="2 games x 12 gammas"),
       mutants={"half": ("eta_max half as large", lambda: check_eta_max(lambda s2, b2, g: 0.5 * _eta_max_printed(s2, b2, g), games=(((0, 4), "1/25"),), gammas=(0, 1, 10)))})
def eta_max():
    return check_eta_max(_eta_max_printed)


# ----------------------------------------------------------------------------- Theorems 4, 5 (random P, Q)

SHAPES = ((3, 3), (2, 5), (1, 2), (5, 2), (2, 1))  # (m = generator dim, n = discriminator dim)


def _random_PQ(rng, m, n):
    P = rng.standard_normal((m, n)).round(3)
    M = rng.standard_normal((n, n)).round(3)
    Q = -(M @ M.T)
    return P, Q


def _general_A(P, Q) -> np.ndarray:
    from stabcheck.games import make_game

    return _num(E.field_jacobian(make_game("general", None, {"P": P.tolist(), "Q": Q.tolist()})))


def _thm4_fits(lam: complex, Q, PtP, tol=1e-8) -> bool:
    """Are there real a1 in hull(eig Q), a2 in hull(eig P^T P) with lam^2 - a1 lam + a2 = 0?"""
    q, p = np.linalg.eigvalsh(Q), np.linalg.eigvalsh(PtP)
    sc = 1 + abs(lam) ** 2
    if abs(lam.imag) > tol * sc:
        a1, a2 = 2 * lam.real, abs(lam) ** 2
        return q[0] - tol * sc <= a1 <= q[-1] + tol * sc and p[0] - tol * sc <= a2 <= p[-1] + tol * sc
    x = lam.real
    # a2 = a1 x - x^2 with a1 in [q0, q1]: an interval; intersect with [p0, p1]
    lo, hi = sorted((q[0] * x - x * x, q[-1] * x - x * x))
    return hi >= p[0] - tol * sc and lo <= p[-1] + tol * sc


def check_thm4(shapes=SHAPES, per_shape: int = 8, seed: int = 4, extra=(([[1.0], [0.0]], [[-1.0]]),)):
    """Every eigenvalue of A = [[0, -P], [P^T, Q]] is a root of l^2 - a1 l + a2 with a1, a2 in the
    convex hulls of eig(Q), eig(P^T P). Fuzzed; failures are sorted by whether rank P = m."""
    rng = np.random.default_rng(seed)
    fails, fails_full, n_inst = [], [], 0
    for m, n in shapes:
        for _ in range(per_shape):
            P, Q = _random_PQ(rng, m, n)
            A = _general_A(P, Q)
            bad = [l for l in np.linalg.eigvals(A) if not _thm4_fits(complex(l), Q, P.T @ P)]
            n_inst += 1
            if bad:
                (fails_full if np.linalg.matrix_rank(P) == m else fails).append((m, n, bad[0]))
    rng_txt = f"{n_inst} random instances, (m, n) in {list(shapes)}, P Gaussian, Q = -M M^T"
    clean_bad = []
    for P0, Q0 in extra:  # hand-picked instances (default: the smallest one with rank P < m)
        P0, Q0 = np.array(P0), np.array(Q0)
        clean_bad += [l for l in np.linalg.eigvals(_general_A(P0, Q0)) if not _thm4_fits(complex(l), Q0, P0.T @ P0)]
    cmd = ("echo '[[1],[0]]' > P.json && echo '[[-1]]' > Q.json && "
           "stabcheck analyze --system general --P P.json --Q Q.json --eta 0.1 --method sim")
    printed_ok = not fails and not fails_full and not clean_bad
    ce = None
    if not printed_ok:
        ce = ("m = 2, n = 1, P = [[1], [0]], Q = [[-1]]: eigenvalue "
              f"{E.fmt(complex(clean_bad[0])) if clean_bad else '?'} of A is no root of any such quadratic "
              "(eig(P^T P) = {1} would need a2 = 0)") if clean_bad else f"(m, n, eigenvalue) = {(fails + fails_full)[0]}"
    printed = outcome(printed_ok, f"{rng_txt}: {len(fails) + len(fails_full)} instances with an eigenvalue outside the "
                                  f"form" + ("" if printed_ok else f"; {ce}"), "fuzzed", counterexample=ce, command=cmd)
    corr = outcome(not fails_full, f"every failing instance has rank P < m ({len(fails)} such instances, all with m > n); "
                                   f"none among the instances with rank P = m", "fuzzed")
    return decide(printed, correction=corr,
                  printed_text="every eigenvalue of A is (a1 +- sqrt(a1^2 - 4 a2))/2 with a1, a2 convex combinations "
                               "(sums over i = 1..m) of the eigenvalues of Q and P^T P",
                  correction_text="holds when rank P = m (so m <= n), with the sums over i = 1..n (Q and P^T P are "
                                  "n x n); if rank P < m, A has m - rank P eigenvalues 0 outside the form")


@claim(id="nie-patel/thm4", source=SRC, location="Theorem 4 (eqs. 10-11)",
       statement="At an equilibrium satisfying Assumptions 1-2, the eigenvalues of the SimGD Jacobian "
                 "A = [[0, -P], [P^T, Q]] are lambda = (a1 +- sqrt(a1^2 - 4 a2))/2 with a1, a2 convex combinations "
                 "of the eigenvalues of Q and P^T P respectively.",
       convention="stabcheck `--system general --P P --Q Q` (P: m x n = generator x discriminator, Q: n x n, Q <= 0).",
       mutants={"m>n": ("Theorem 4 on shapes with more generator than discriminator parameters (m > n)", lambda: check_thm4(shapes=((2, 1),), per_shape=2, extra=()))})
def thm4():
    return check_thm4()


def check_thm5(shapes=((3, 3), (2, 4), (4, 2)), gammas=(1e4, 1e6), seed: int = 5, C: float = 10.0, factor: float = 1.0):
    """JARE with gamma -> infinity: the printed limit lambda(A) = -gamma lambda(P^T P) (as sets)
    vs the corrected multiset -gamma (lambda(P^T P) u lambda(P P^T)), error O(gamma^-1/2)."""
    from stabcheck.games import make_game

    rng = np.random.default_rng(seed)
    printed_fail, worst_c = None, 0.0
    # first the instance of the reproduction command: P = [[1,0],[0,2],[0,0],[0,0]] (m = 4, n = 2), Q = -I
    fixed = [(np.array([[1.0, 0], [0, 2], [0, 0], [0, 0]]), -np.eye(2))]
    inst = fixed + [_random_PQ(rng, m, n) for m, n in shapes]
    for P, Q in inst:
        m, n = P.shape
        Jg = E.transformed_jacobian(make_game("general", None, {"P": P.tolist(), "Q": Q.tolist()}), "jare", GAMMA)
        scale = float(np.max(np.linalg.eigvalsh(P.T @ P)))
        pred_p = -factor * np.linalg.eigvalsh(P.T @ P)   # factor: the printed one is 1
        pred_c = np.concatenate([pred_p, -factor * np.linalg.eigvalsh(P @ P.T)])
        for g in gammas:
            lam = np.linalg.eigvals(_num(Jg, g)) / g
            haus = max(max(np.min(np.abs(l - pred_p)) for l in lam), max(np.min(np.abs(p - lam)) for p in pred_p)) / scale
            if haus > C / math.sqrt(g) and printed_fail is None:
                which = "P = [[1,0],[0,2],[0,0],[0,0]], Q = -I" if P is fixed[0][0] else "a random P, Q"
                printed_fail = (f"(m, n) = ({m}, {n}), {which}, gamma = {g:g}: eigenvalues of A/gamma "
                                f"{', '.join(E.fmt(complex(v), 3) for v in sorted(lam, key=lambda z: z.real))}; "
                                f"-lambda(P^T P) = {', '.join(E.fmt(float(v), 3) for v in sorted(pred_p))}: one is "
                                f"{E.fmt(haus, 3)} (relative) away")
            worst_c = max(worst_c, E.multiset_distance(lam, pred_c) / scale * math.sqrt(g))
    printed = outcome(printed_fail is None, printed_fail or f"every eigenvalue of A/gamma is near -lambda(P^T P) and "
                      f"vice versa (shapes {list(shapes)}, gamma in {list(gammas)})", "numerical",
                      counterexample=printed_fail)
    corr = outcome(worst_c <= C, f"multiset distance between lambda(A)/gamma and -lambda(P^T P) u -lambda(P P^T) is at "
                                 f"most {E.fmt(worst_c, 3)} max(eig P^T P)/sqrt(gamma) (shapes {list(shapes)}, gamma in "
                                 f"{[f'{g:g}' for g in gammas]})", "numerical")
    return decide(printed, correction=corr,
                  printed_text="lambda(A) = -gamma lambda(P^T P) as gamma -> infinity",
                  correction_text="lambda(A)/gamma -> -lambda(P^T P) u -lambda(P P^T) (m + n values; each non-zero "
                                  "squared singular value of P twice, m - rank P exact zeros), error O(gamma^-1/2)",
                  command="echo '[[1,0],[0,2],[0,0],[0,0]]' > P.json && echo '[[-1,0],[0,-1]]' > Q.json && "
                          "stabcheck analyze --system general --P P.json --Q Q.json --eta 0.00001 --method jare:gamma=10000")


@claim(id="nie-patel/thm5", source=SRC, location="Theorem 5 (eq. 12)",
       statement="At an equilibrium satisfying Assumptions 1-2, the eigenvalues of the Jacobian of JARE satisfy "
                 "lambda(A) = -gamma lambda(P^T P) in the limit gamma -> infinity.",
       convention="stabcheck `--system general` with the `jare:gamma=` field transform; P: m x n, Q: n x n.",
       mutants={"half-gamma": ("lambda(A) = -gamma lambda(P^T P)/2", lambda: check_thm5(shapes=((3, 3),), gammas=(1e4,), factor=0.5))})
def thm5():
    return check_thm5()


# ----------------------------------------------------------------------------- Lemma 2

def _lemma2_printed(n, g1pp, g2p, g2pp, s2, v):
    I_ = sp.eye(n)
    vv = sp.Matrix(v) * sp.Matrix(v).T
    return sp.BlockMatrix([[sp.zeros(n, n), g2p * I_], [g2p * I_, (g1pp + g2pp) * (s2 * I_ + vv)]]).as_explicit()


def check_lemma2(printed=_lemma2_printed, games=(((0, 4), "1/25"), ((1, 2), "1/2"), ((3,), 1))):
    """``printed(n, g1''(0), g2'(0), g2''(0), s2, v)``: the Hessian of f (eq. 4) at the
    equilibrium, against the engine's exact Hessian of the Gaussian game's objective
    (variables (phi, theta)). The printed matrix labels its top-right block nabla^2_thetatheta
    (a typo for nabla^2_phitheta); its value is what is checked."""
    t = sp.Symbol("t", real=True)
    g1 = -sp.log(1 + sp.exp(-t))
    g2 = g1.xreplace({t: -t})
    g1pp, g2p, g2pp = (sp.diff(g1, t, 2).subs(t, 0), sp.diff(g2, t).subs(t, 0), sp.diff(g2, t, 2).subs(t, 0))
    for mean, s2 in games:
        g = E.gaussian("bce", list(mean), s2)
        H = sp.hessian(g.L_D, g.symbols).xreplace(dict(zip(g.symbols, g.equilibrium))).doit()
        P = printed(len(mean), g1pp, g2p, g2pp, sp.Rational(str(s2)), [sp.Rational(str(m)) for m in mean])
        D_ = (H - P).applyfunc(sp.simplify)
        if D_ != sp.zeros(*H.shape):
            ce = f"v = {list(mean)}, s2 = {s2}: engine Hessian {H.tolist()} vs printed {P.tolist()}"
            return decide(outcome(False, ce, "exact arithmetic", evidence_kind="proof", counterexample=ce,
                                  command=_cmd(list(mean), s2)))
    return decide(outcome(True, f"the engine's exact Hessian of f at (v, 0) equals the printed matrix (g2'(0) = {g2p}, "
                                f"g1''(0) + g2''(0) = {g1pp + g2pp}) on {len(games)} games (n = 1, 2); the printed label "
                                "of the top-right block (nabla^2_thetatheta) is a typo for nabla^2_phitheta", "exact arithmetic",
                          draws=len(games), command=_cmd([0, 4], 0.04)))


@claim(id="nie-patel/lemma2", source=SRC, location="Lemma 2 (eq. 4)",
       statement="At the equilibrium the Hessian of f is [[0, g2'(0) I], [g2'(0) I, (g1''(0) + g2''(0))(sigma^2 I + v v^T)]].",
       convention=CONV,
       mutants={"g2pp-only": ("the bottom-right block is g2''(0) (sigma^2 I + v v^T) only",
                              lambda: check_lemma2(lambda n, a, b, c, s2, v: _lemma2_printed(n, 0, b, c, s2, v),
                                                   games=(((3,), 1),)))})
def lemma2():
    return check_lemma2()


# ----------------------------------------------------------------------------- Lemma 3

def check_lemma3(printed_shapes=lambda m, n: ((m, n), (m, m)), corrected_shapes=lambda m, n: ((m, n), (n, n))):
    """``printed_shapes(m, n) -> (shape of P, shape of Q)`` in A = [[0, -P], [P^T, Q]], m the
    generator's and n the discriminator's dimension. Decided on a GAN with m != n: generator
    delta_phi (m = 1), discriminator D(x) = theta1 x + theta2 x^2 (n = 2), real delta_0,
    vanilla loss; the engine's exact field Jacobian at (0, 0, 0) gives the blocks."""
    from stabcheck.games import custom_game

    ph = sp.Symbol("phi", real=True)
    t1, t2 = sp.symbols("theta1 theta2", real=True)
    u = sp.Symbol("u", real=True)
    g1 = lambda z: -sp.log(1 + sp.exp(-z))  # noqa: E731
    g2 = lambda z: g1(-z)  # noqa: E731
    f = g1(sp.Integer(0)) + g2(t1 * ph + t2 * ph ** 2)
    game = custom_game([ph], [t1, t2], L=f, equilibrium=[0, 0, 0], name="nie-patel-m1-n2", convention="thesis")
    J = E.field_jacobian(game)
    m, n = 1, 2
    shapes = {"P": (m, n), "Q": J[m:, m:].shape, "top-left": J[:m, :m]}
    zero_tl = J[:m, :m] == sp.zeros(m, m)
    pq = printed_shapes(m, n)
    ok = zero_tl and tuple(pq[1]) == tuple(shapes["Q"]) and tuple(pq[0]) == (m, n)
    txt = (f"engine's exact Jacobian of a GAN with m = {m} generator and n = {n} discriminator parameters: {J.tolist()}; "
           f"top-left block 0: {zero_tl}; P is {m} x {n}, Q is {shapes['Q'][0]} x {shapes['Q'][1]}")
    cq = corrected_shapes(m, n)
    corr = outcome(zero_tl and tuple(cq[1]) == tuple(shapes["Q"]), txt, "exact arithmetic", evidence_kind="proof")
    return decide(outcome(ok, txt, "exact arithmetic", evidence_kind="proof",
                          counterexample=None if ok else f"m = 1, n = 2: Q is {shapes['Q'][0]} x {shapes['Q'][1]}, printed "
                                                         f"{pq[1][0]} x {pq[1][1]}"),
                  correction=corr, printed_text="P in R^{m x n}, Q in R^{m x m}",
                  correction_text="Q in R^{n x n} (n the discriminator's dimension, as its definition in eq. 9 gives)")


@claim(id="nie-patel/lemma3", source=SRC, location="Lemma 3 (eqs. 8-9)",
       statement="Under Assumptions 1-2 the SimGD Jacobian is A = [[0, -P], [P^T, Q]] with P in R^{m x n} and Q in "
                 "R^{m x m}.", convention="m: generator dimension, n: discriminator dimension (as in the paper).",
       mutants={"Q-(m+n)": ("Q in R^{(m+n) x (m+n)}, corrected to m x m",
                            lambda: check_lemma3(lambda m, n: ((m, n), (m + n, m + n)), lambda m, n: ((m, n), (m, m))))})
def lemma3():
    return check_lemma3()
