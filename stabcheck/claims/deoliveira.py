"""Claims of DeOliveira (2023), *Stabilizing GANs Under Limited Resources via Dynamic Machine
Ordering* (MS thesis, WPI; papers/000).

Convention: the thesis's - WGAN Dirac-GAN ``L = -psi*theta`` (discriminator scores real data
high), BCE ``L = log sig(0) + log(1 - sig(psi*theta))``: stabcheck's ``dirac`` system with
``--convention thesis``. Fields V1 = (-grad_theta L, 0), V2 = (0, grad_psi L), V3 = V1 + V2;
Algorithm 1 steps ``x <- x + eta V`` (the thesis's eq. 11 writes ``x - eta V1``, which
contradicts Algorithm 1; Algorithm 1 is used). The Dirac oracle (eq. 7): V1 if psi*theta < 0,
V2 if psi*theta > 0; on the boundary psi*theta = 0 (left open by the thesis) the checks use V3
(``dirac:boundary=V3``), the only choice that never stops away from the equilibrium.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np
import sympy as sp

from stabcheck.claims import _engine as E
from stabcheck.claims.registry import claim
from stabcheck.claims.domain import Domain, Var
from stabcheck.claims.verdicts import all_of, decide, outcome

SRC = "DeOliveira (2023), 'Stabilizing GANs Under Limited Resources via Dynamic Machine Ordering' (MS thesis, WPI)"
CONV = ("stabcheck `--system dirac --convention thesis` (L = -psi theta for WGAN); oracle `dirac:boundary=V3`; "
        "steps x <- x + eta V as in Algorithm 1.")
ORACLE = "dirac:boundary=V3"


def _game(loss):
    return E.dirac(loss, convention="thesis")


def _sim_cmd(loss, eta, x0, steps, what=ORACLE):
    return (f"stabcheck simulate --system dirac --loss {loss} --convention thesis --eta {eta} --compare {what} "
            f"--x0={x0[0]},{x0[1]} --steps {steps}")


def _fields(loss):
    """(theta, psi, v_theta, v_psi) of the thesis-convention game (engine's field)."""
    g = _game(loss)
    return g.theta[0], g.psi[0], g.field_expr[0], g.field_expr[1]


def _oracle_step_exact(loss, x, eta):
    """One Dirac-oracle step in exact arithmetic (WGAN: rational; BCE: sympy exact)."""
    th, ps, vt, vp = _fields(loss)
    t, p = x
    s = t * p
    sub = {th: t, ps: p}
    if s < 0:
        return (t + eta * vt.xreplace(sub), p)
    if s > 0:
        return (t, p + eta * vp.xreplace(sub))
    return (t + eta * vt.xreplace(sub), p + eta * vp.xreplace(sub))


def _H(x):
    return (x[0] ** 2 + x[1] ** 2) / 2


# ----------------------------------------------------------------------------- eq. 9

def check_eq9(printed: Callable):
    """``printed(l) -> bound`` for one field eigenvalue l (Re l < 0); the Sim-GDA bound is the
    minimum over eigenvalues; compared with the engine's largest stable step (scan)."""
    from stabcheck.rules import Sim

    games = [(E.dirac("bce", [f"noise:sigma={s}"]), f"--system dirac --loss bce --reg noise:sigma={s}") for s in (0.5, 1, 2, 3)]
    games += [(E.gaussian("bce", m, s2), f"--system gaussian --loss bce --mean {','.join(map(str, m))} --sigma2 {s2}")
              for m, s2 in (([0, 4], 0.04), ([0, 1], 0.5))]
    worst = 0.0
    for g, args in games:
        J = np.array(E.field_jacobian(g).evalf(30).tolist(), dtype=float)
        ev = np.linalg.eigvals(J)
        b = min(printed(complex(l)) for l in ev)
        e = E.sup_stable_eta(Sim(), J, g.n_gen)
        err = abs(e - b) / b if e else math.inf
        worst = max(worst, err)
        if err > 1e-6:
            ce = f"{args}: printed bound {E.fmt(b)}, engine's largest stable step {E.fmt(e)}"
            return decide(outcome(False, ce, "numerical", counterexample=ce,
                                  command=f"stabcheck analyze {args} --eta 0.1 --method sim"))
    return decide(outcome(True, f"on {len(games)} games (Dirac-GAN BCE with instance noise sigma in {{0.5, 1, 2, 3}}, two "
                                f"Gaussian GANs) the printed bound min_l (2/|Re l|)/(1 + (Im l/Re l)^2) equals the engine's "
                                f"largest stable Sim-GDA step (scan + bisection on the map's spectrum) to "
                                f"{E.fmt(worst, 2)} (relative)", "numerical",
                          command="stabcheck analyze --system dirac --loss bce --reg noise:sigma=1 --eta 0.1 --method sim"))


@claim(id="deoliveira/eq9-sim-step", source=SRC, location="Appendix A.1, eq. 9",
       statement="Sim-GDA converges locally iff eta_SIM < (1/|Re l|) * 2/(1 + (Im l / Re l)^2) for every eigenvalue l of "
                 "the field's Jacobian at the equilibrium.", convention=CONV,
       mutants={"factor-1": ("1 instead of 2 in the numerator", lambda: check_eq9(lambda l: (1 / abs(l.real)) * 1 / (1 + (l.imag / l.real) ** 2)))})
def eq9():
    return check_eq9(lambda l: (1 / abs(l.real)) * 2 / (1 + (l.imag / l.real) ** 2))


# ----------------------------------------------------------------------------- eq. 13

def check_eq13(printed: Callable, corrected_bound: Callable, losses=("wgan", "bce"), nds=(1, 2, 3, 4, 5)):
    """``printed(n_d, n_g, grad)`` with grad = |grad L| at the equilibrium (the printed
    formula), ``corrected_bound(n_d, n_g, fp)`` with fp = f'(0): Alt-GDA is non-divergent iff
    eta below the bound (engine's exact verdicts at 0.99 and 1.01 times the bound)."""
    from stabcheck.linearize import method_jacobian
    from stabcheck.methods import make_method

    def verdict(game, spec, eta):
        return E.exact_verdict(method_jacobian(game, make_method(spec), eta).exact)

    printed_fail, corr_fail, n = None, None, 0
    for loss in losses:
        g = _game(loss)
        fp, _ = E.f_derivs(loss)
        at = dict(zip(g.symbols, g.equilibrium))
        grad = float(sp.sqrt(sum(e.xreplace(at) ** 2 for e in g.field_expr)))
        for nd in nds:
            spec = f"alt:n_d={nd}"
            b_p = printed(nd, 1, grad)
            b_c = float(corrected_bound(nd, 1, fp))
            # printed: non-divergent for every eta <= b_p; test 1.5x the corrected bound if below b_p
            probe = 1.5 * b_c
            if probe <= b_p and verdict(g, spec, probe) == "diverges" and printed_fail is None:
                printed_fail = (f"loss {loss}, {spec}, eta = {E.fmt(probe)}: |grad L| = {grad:g} at the equilibrium makes "
                                f"the printed bound {b_p}, yet the exact verdict is 'diverges'",
                                f"stabcheck analyze --system dirac --loss {loss} --convention thesis --eta {E.fmt(probe)} --method {spec}")
            below, above = verdict(g, spec, 0.99 * b_c), verdict(g, spec, 1.01 * b_c)
            # at the bound itself (exact, possibly irrational): a Jordan block at -1 means (A + I) != 0, (A + I)^2 = 0
            from stabcheck.rules import Alt

            A = E.map_matrix(Alt(nd, 1), E.field_jacobian(g), corrected_bound(nd, 1, fp), 1)
            N = (A + sp.eye(2)).applyfunc(sp.simplify)
            jordan = N != sp.zeros(2, 2) and (N * N).applyfunc(sp.simplify) == sp.zeros(2, 2)
            n += 1
            if below == "diverges" or above != "diverges" or not jordan:
                corr_fail = corr_fail or f"loss {loss}, {spec}: verdicts {below} (0.99 x) / {above} (1.01 x), Jordan block at the bound {jordan}"
    drift = []
    if "bce" in losses:   # the nonlinear BCE game below the linear bound (not decided by the linearization)
        from stabcheck.claims.domain import profile

        N = 100000 if profile() == "thorough" else 20000
        b_bce = float(corrected_bound(1, 1, E.f_derivs("bce")[0]))
        x0 = [0.1, -0.05]
        bb = E.simulate_starts(_game("bce"), "alt:n_d=1", 0.99 * b_bce, [x0], N, kind="method")
        ratio = float(bb.final_distance[0] / np.linalg.norm(x0))
        drift.append(f"nonlinear BCE game, alt:n_d=1 at eta = 0.99 x {E.fmt(b_bce)} (below the bound), x0 = (0.1, -0.05): "
                     f"distance x{E.fmt(ratio, 3)} after {N} steps (float64): the 'iff' is a statement about the "
                     "linearization, not about the nonlinear game")
    printed_o = outcome(printed_fail is None, printed_fail[0] if printed_fail else
                        "the printed bound agrees with the exact verdicts", "exact arithmetic",
                        counterexample=printed_fail[0] if printed_fail else None,
                        command=printed_fail[1] if printed_fail else None)
    corr_o = outcome(corr_fail is None, corr_fail or
                     f"exact verdicts for {n} cases (losses {', '.join(losses)}, n_d in {list(nds)}, n_g = 1): 'neutral' "
                     "(bounded, never convergent) at 0.99 x bound, a Jordan block at -1 (linear growth) at the bound, "
                     "'diverges' at 1.01 x bound", "exact arithmetic", details=drift)
    return decide(printed_o, correction=corr_o,
                  printed_text="Alt-GDA on the Dirac-GAN is non-divergent only when eta <= 2/(sqrt(n_g n_d) grad L(theta, psi))",
                  correction_text="the linearization at x* is non-divergent iff eta < 2/(sqrt(n_g n_d) |f'(0)|) (WGAN "
                                  "2/sqrt(n_g n_d), BCE 4/sqrt(n_g n_d)); strict: at equality a Jordan block makes it grow. "
                                  "This is a statement about the linearized map only (exact for WGAN, whose field is "
                                  "linear); it does not decide the nonlinear BCE game's long-run behaviour below the bound")


@claim(id="deoliveira/eq13-alt-step", source=SRC, location="Appendix A.2, eq. 13",
       statement="Alt-GDA on the Dirac-GAN is non-divergent only when eta <= 2/(sqrt(n_g n_d) grad L(theta, psi)).",
       convention=CONV,
       mutants={"4/sqrt": ("corrected bound 4/(sqrt(n_g n_d) |f'(0)|)", lambda: check_eq13(lambda nd, ng, grad: math.inf if grad == 0 else 2 / (math.sqrt(ng * nd) * grad), lambda nd, ng, fp: 4 / (sp.sqrt(ng * nd) * abs(fp)), losses=("wgan",), nds=(1,)))})
def eq13():
    return check_eq13(lambda nd, ng, grad: math.inf if grad == 0 else 2 / (math.sqrt(ng * nd) * grad),
                      lambda nd, ng, fp: 2 / (sp.sqrt(ng * nd) * abs(fp)))


# ----------------------------------------------------------------------------- Lemma D.2

def _grid_states():
    vals = [Fraction(1, 100), Fraction(1, 10), Fraction(1, 2), Fraction(1), Fraction(2)]
    return [(a * s, b * t) for a in vals for b in vals for s in (1, -1) for t in (1, -1)]


def check_lemma_d2(printed_dH: Callable, printed_cond: Callable, etas=(Fraction(1, 100), Fraction(1, 10), Fraction(1, 2), Fraction(1))):
    """WGAN, V1 branch (psi*theta < 0): ``printed_dH(theta, psi, eta, g)`` the printed
    H(x_{k+1}) - H(x_k), ``printed_cond(theta, psi, eta, g)`` the printed step condition
    (g = grad_theta L). Both are compared with exact one-step computations."""
    th, ps, vt, vp = _fields("wgan")
    wrong_dH, bad_cond = None, None
    for (t, p) in _grid_states():
        if t * p >= 0:
            continue
        g = -vt.xreplace({th: t, ps: p})       # grad_theta L
        g = Fraction(int(sp.Rational(g).p), int(sp.Rational(g).q))
        for eta in etas:
            x1 = (t - eta * g, p)
            dH = _H(x1) - _H((t, p))
            if wrong_dH is None and printed_dH(t, p, eta, g) != dH:
                wrong_dH = (t, p, eta, printed_dH(t, p, eta, g), dH)
            if bad_cond is None and printed_cond(t, p, eta, g) and dH > 0:
                bad_cond = (t, p, eta, dH)
    if bad_cond is None and wrong_dH is None:
        return decide(outcome(True, "printed Delta H and step condition agree with exact one-step computations on the grid",
                              "exact arithmetic"))
    parts = []
    if wrong_dH:
        t, p, eta, a, b = wrong_dH
        parts.append(f"at (theta, psi) = ({t}, {p}), eta = {eta}: printed Delta H = {a}, exact H(x1) - H(x0) = {b}")
    if bad_cond:
        t, p, eta, dH = bad_cond
        parts.append(f"at (theta, psi) = ({t}, {p}), eta = {eta} the printed condition holds but H grows by {dH}")
    ref = bad_cond or wrong_dH
    return decide(outcome(False, "; ".join(parts), "exact arithmetic", counterexample=parts[-1],
                          command=_sim_cmd("wgan", float(ref[2]), (float(ref[0]), float(ref[1])), 1),
                          details=["exact: Delta H = -eta theta g + eta^2 g^2/2 on a V1 step (g = grad_theta L); "
                                   "no fixed eta > 0 keeps it <= 0 near the axes"]))


@claim(id="deoliveira/lemma-d2", source=SRC, location="Appendix D, Lemma D.2",
       statement="For a V1 step of the Dirac oracle (psi theta < 0), H(x_{k+1}) - H(x_k) = theta - eta grad_theta L - "
                 "theta^2/2 (psi part -psi^2/2), so H is non-increasing when eta <= (theta^2 - 2 theta)/(2 grad_theta L); "
                 "symmetrically for V2.", convention=CONV,
       mutants={"2x": ("Delta H twice the exact one-step change", lambda: check_lemma_d2(lambda t, p, eta, g: 2 * (-eta * t * g + eta * eta * g * g / 2), lambda t, p, eta, g: t * g > 0 and eta <= 2 * t / g))})
def lemma_d2():
    return check_lemma_d2(lambda t, p, eta, g: (t - eta * g - t * t / 2) - p * p / 2,
                          lambda t, p, eta, g: g != 0 and eta <= (t * t - 2 * t) / (2 * g))


# ----------------------------------------------------------------------------- W = max(|theta|, |psi|)

def _w_fuzz(loss: str, etas, n: int = 400, steps: int = 60, seed: int = 7) -> tuple:
    """Worst ratio W(x_{k+1}) / W(x_k) over fuzzed starts and steps (engine's simulate_many)."""
    g = _game(loss)
    worst = 0.0
    X0 = E.seeded_starts(n, seed=seed, scale=2.0)
    for eta in etas:
        from stabcheck.simulate import simulate

        # record states to measure W step by step (a few starts in detail; all starts via batches)
        for x0 in X0[: max(1, n // 20)]:
            r = simulate(g, ORACLE, eta, x0, steps, record_states=True)
            S = r.states_float()
            W = np.max(np.abs(S), axis=1)
            worst = max(worst, float(np.max(W[1:] / W[:-1])))
        b = E.simulate_starts(g, ORACLE, eta, X0, steps)
        W0 = np.max(np.abs(X0), axis=1)
        worst = max(worst, float(np.max(np.max(np.abs(b.X), axis=1) / W0)))
    return worst


def _escapes(loss, eta, steps=2000, eps_log10=-1.0):
    """Not Lyapunov stable, shown: starts at distances 1e-2, 1e-4, 1e-6 (one direction) all
    leave the ball of radius 10^eps_log10 within ``steps`` (float64). Returns (x0 list, max log10
    distances) if they all escape, else None."""
    from stabcheck.simulate import simulate

    d = np.array([1.0, -2.0]) / math.sqrt(5.0)
    outs = []
    for sc in (1e-2, 1e-4, 1e-6):
        r = simulate(_game(loss), ORACLE, eta, d * sc, steps)
        outs.append((tuple(float(f"{v:.3g}") for v in d * sc), float(np.max(r.log10_distance))))
    return outs if all(m >= eps_log10 for _, m in outs) else None


def _divergence(loss, eta, x0, steps=500):
    from stabcheck.simulate import simulate

    r = simulate(_game(loss), ORACLE, eta, x0, steps)
    return r.final_distance_log10 - r.log10_distance[0]


# ----------------------------------------------------------------------------- Lemma D.5 / D.6 / Theorem 3.1

def _h_counterexample(loss, cond: Callable, etas=(Fraction(1, 10), Fraction(1, 2))):
    for (t, p) in _grid_states():
        for eta in etas:
            if not cond(t, p, eta):
                continue
            x1 = _oracle_step_exact(loss, (sp.Rational(t.numerator, t.denominator), sp.Rational(p.numerator, p.denominator)),
                                    sp.Rational(eta.numerator, eta.denominator))
            dH = sp.nsimplify(_H(x1) - _H((sp.Rational(t.numerator, t.denominator), sp.Rational(p.numerator, p.denominator))))
            if float(dH) > 0:
                return (t, p, eta, dH)
    return None


def _d5_cond(t, p, eta, c=1):
    """The printed condition of Lemma D.5: eta <= c - theta/2 on V1 steps, c - psi/2 on V2 steps."""
    if t * p < 0:
        return eta <= c - t / 2
    if t * p > 0:
        return eta <= c - p / 2
    return False


def w_lemma(loss: str = "wgan") -> tuple:
    """(c_max, text): W = max(|theta|, |psi|) never grows on a Dirac-oracle step when
    eta * c <= 1, where c = v_theta/psi on V1 steps and -v_psi/theta on V2 steps (the engine's
    field; both in (0, c_max]). Proof: a V1 step (psi theta < 0) moves theta only, to
    theta + eta c psi, whose modulus is at most max(|theta|, eta c |psi| - |theta|) <= W; V2
    alike; a V3 step on the boundary moves one coordinate, to eta c times the other."""
    th, ps, vt, vp = _fields(loss)
    c1, c2 = sp.simplify(vt / ps), sp.simplify(-vp / th)
    if c1.is_number and c2.is_number:
        cmax = max(c1, c2) if min(c1, c2) > 0 else None
    else:  # BCE: c = sigmoid(psi theta) for every state: 0 < c < 1 (proved with psi theta -> a real w)
        w = sp.Symbol("w", real=True)
        cs = [sp.simplify(e.xreplace({th * ps: w, ps * th: w})) for e in (c1, c2)]
        ok = all(not c.has(th, ps) and sp.simplify(c).is_positive and sp.simplify(1 - c).is_positive for c in cs)
        cmax = sp.Integer(1) if ok else None   # a supremum (not attained)
    return cmax, f"c = v_theta/psi = {c1} (V1), -v_psi/theta = {c2} (V2), 0 < c <= {cmax}"


def check_lemma_d5(cond=_d5_cond, loss: str = "wgan", etas=None, div_steps: int = 500):
    """Lemma D.5's conclusion: the Dirac oracle is Lyapunov stable for the step sizes the printed
    condition ``cond(theta, psi, eta)`` allows on a neighbourhood of x* (the condition is
    state-dependent; stability is a local property). Those step sizes are found on an exact
    grid of small states; for eta * c_max <= 1 :func:`w_lemma` proves stability; for larger
    allowed steps a divergent run from a small start refutes it."""
    from stabcheck.simulate import simulate

    etas = etas or [Fraction(k, 20) for k in range(1, 81)]
    small = [Fraction(s1, 10 ** 4) for s1 in (1, 3)]
    states = [(a * s, b * t) for a in small for b in small for s in (1, -1) for t in (1, -1)]
    allowed = [e for e in etas if all(cond(x, y, e) for x, y in states)]
    eta_nb = max(allowed) if allowed else Fraction(0)
    cmax, wtxt = w_lemma(loss)
    if eta_nb == 0:
        return decide(outcome(None, "the printed condition holds on no neighbourhood of x* for any eta on the grid: "
                                    "the conclusion is vacuous there", "exact arithmetic"))
    if cmax is not None and eta_nb * cmax <= 1:
        return decide(outcome(True, f"the printed condition holds on a neighbourhood of x* for eta up to {eta_nb} on the step grid "
                                    f"(exact grid of small states; eta < 1 in the limit); for eta <= {eta_nb}, eta c <= 1 and W = max(|theta|, |psi|) "
                                    f"never grows on an oracle step ({wtxt}; case analysis in w_lemma), so the oracle is "
                                    "Lyapunov stable: the lemma's conclusion holds (its proof's H step does not: see "
                                    "deoliveira/lemma-d5-proof-step)", "symbolic identity", evidence_kind="proof",
                              command=_sim_cmd(loss, float(eta_nb), (0.3, -0.2), 2000)))
    for x0 in ((0.01, -0.02), (0.02, 0.01), (-0.013, 0.007)):
        growth = _divergence(loss, float(eta_nb), x0, div_steps)
        if growth > 3:
            ce = (f"the printed condition allows eta = {eta_nb} on a neighbourhood of x*, and from x0 = {x0} the distance "
                  f"grows 10^{E.fmt(growth, 3)}-fold in {div_steps} steps (float64)")
            return decide(outcome(False, ce, "simulation", counterexample=ce,
                                  command=_sim_cmd(loss, float(eta_nb), x0, div_steps)))
    return decide(outcome(None, f"allowed eta up to {eta_nb}: beyond the W proof (eta c <= 1) and no divergence found",
                          "simulation"))


@claim(id="deoliveira/lemma-d5", source=SRC, location="Appendix D, Lemma D.5",
       statement="With Wasserstein loss and a non-infinitesimal learning rate, the Dirac oracle is Lyapunov stable "
                 "when eta <= 1 - theta/2 on V1 steps and eta <= 1 - psi/2 on V2 steps.", convention=CONV,
       domain=Domain(variables=(Var("eta", 0, math.inf), Var("x0", -math.inf, math.inf)),
                     hypotheses=(("eta <= 1 - theta/2 (V1), eta <= 1 - psi/2 (V2), along the trajectory",
                                  "Lemma D.5"),)),
       mutants={"eta<=3": ("the condition eta <= 3 - theta/2 (V1), 3 - psi/2 (V2)",
                           lambda: check_lemma_d5(lambda t, p, eta: _d5_cond(t, p, eta, 3)))})
def lemma_d5():
    return check_lemma_d5()


def check_d5_step(cond=_d5_cond, exact_cond=None):
    """The proof device of Lemma D.5: H = (theta^2 + psi^2)/2 does not increase on an oracle step
    under ``cond``. Exact grid search for a step where H grows; the correction is the exact
    one-step condition, derived: on a V1 step Delta H = eta psi (theta + eta psi/2), <= 0 iff
    eta |psi| <= 2 |theta| (V2: eta |theta| <= 2 |psi|)."""
    th, ps, vt, vp = _fields("wgan")
    eta = sp.Symbol("eta", positive=True)
    dH1 = sp.factor(sp.expand(((th + eta * vt) ** 2 - th ** 2) / 2))
    dH2 = sp.factor(sp.expand(((ps + eta * vp) ** 2 - ps ** 2) / 2))
    hce = _h_counterexample("wgan", cond)
    exact_cond = exact_cond or (lambda t, p, e: (t * p < 0 and e * abs(p) <= 2 * abs(t)) or
                                (t * p > 0 and e * abs(t) <= 2 * abs(p)))
    hce2 = _h_counterexample("wgan", exact_cond)
    deriv = f"exact: V1 step Delta H = {dH1}, V2 step Delta H = {dH2} (engine's field)"
    if hce is None:
        printed = outcome(True, "no H increase on the exact grid under the printed condition; " + deriv, "exact arithmetic")
    else:
        t, p, e, dH = hce
        ce = f"H grows by {dH} in one oracle step from (theta, psi) = ({t}, {p}) with eta = {e}, where the condition holds"
        printed = outcome(False, ce + "; " + deriv, "exact arithmetic", evidence_kind="proof", counterexample=ce,
                          command=_sim_cmd("wgan", float(e), (float(t), float(p)), 1))
    corr = outcome(hce2 is None, ("no H increase on the exact grid under eta |other| <= 2 |own| (the moving coordinate's "
                                  "own modulus): from the factored Delta H, the condition is necessary and sufficient")
                   if hce2 is None else f"exact condition fails at {hce2}", ("symbolic identity", "exact arithmetic"),
                   evidence_kind="proof")
    return decide(printed, correction=corr,
                  printed_text="under eta <= 1 - theta/2 (V1), 1 - psi/2 (V2), H never increases",
                  correction_text="H never increases on a step iff eta |psi| <= 2 |theta| (V1) and eta |theta| <= 2 |psi| "
                                  "(V2): sharp (derived from Delta H)")


@claim(id="deoliveira/lemma-d5-proof-step", source=SRC, location="Appendix D, proof of Lemma D.5",
       statement="(Step of the proof of Lemma D.5.) Under eta <= 1 - theta/2 on V1 steps and eta <= 1 - psi/2 on V2 "
                 "steps, H = (theta^2 + psi^2)/2 does not increase on a Dirac-oracle step.", convention=CONV,
       mutants={"exact-x2": ("the exact condition with a factor 4: eta |psi| <= 4 |theta|",
                             lambda: check_d5_step(lambda t, p, e: (t * p < 0 and e * abs(p) <= 4 * abs(t)) or
                                                   (t * p > 0 and e * abs(t) <= 4 * abs(p)),
                                                   exact_cond=lambda t, p, e: (t * p < 0 and e * abs(p) <= 4 * abs(t)) or
                                                   (t * p > 0 and e * abs(t) <= 4 * abs(p))))})
def lemma_d5_step():
    return check_d5_step()


def check_stable_eta(losses=("wgan", "bce"), printed_etas=(0.1, 0.5, 1.0, 1.5, 2.5), corrected_max: float = 1.0,
                     w_etas=(0.1, 0.5, 0.9, 1.0)):
    """"The Dirac oracle is Lyapunov stable for a non-infinitesimal eta" (every eta in
    ``printed_etas``): divergence searched by simulation; correction: W non-increasing for
    eta <= ``corrected_max`` (fuzzed) for every loss."""
    div = None
    X0 = E.seeded_starts(20, seed=9, scale=1.0)
    for loss in losses:
        for eta in printed_etas:
            b = E.simulate_starts(_game(loss), ORACLE, eta, X0, 2000)
            ratio = b.final_distance / np.linalg.norm(X0, axis=1)
            if np.max(ratio) > 1e3:
                i = int(np.argmax(ratio))
                div = (loss, eta, X0[i], float(ratio[i]))
                break
        if div:
            break
    cmd = None
    if div:
        loss, eta, x0, ratio = div
        x0s = (round(float(x0[0]), 4), round(float(x0[1]), 4))
        cmd = _sim_cmd(loss, eta, x0s, 2000)
        printed = outcome(False, f"loss {loss}, eta = {eta}: the Dirac oracle's distance grows {E.fmt(ratio, 3)}-fold from "
                                 f"x0 = {x0s} in 2000 steps (float64)", "simulation",
                          counterexample=f"loss {loss}, eta = {eta}, x0 = {x0s}", command=cmd)
    else:
        printed = outcome(True, f"no divergence for eta in {list(printed_etas)} (20 starts, 2000 steps)", "simulation")
    parts = []
    for loss in losses:
        cmax, wtxt = w_lemma(loss)
        ok = cmax is not None and Fraction(corrected_max).limit_denominator(1000) * cmax <= 1
        parts.append(outcome(ok, f"{loss}: {wtxt}, so for 0 < eta <= {corrected_max:g} eta c <= 1 and W = max(|theta|, "
                                 f"|psi|) never grows on an oracle step" if ok else
                             f"{loss}: the W argument needs eta c <= 1, not met for eta = {corrected_max:g} ({wtxt})",
                             "symbolic identity", evidence_kind="proof"))
    corr = all_of(parts)
    return printed, corr


def _lyap_claim(losses, printed_text):
    printed, corr = check_stable_eta(losses)
    return decide(printed, correction=corr, printed_text=printed_text,
                  correction_text="Lyapunov stable for 0 < eta <= 1 with W = max(|theta|, |psi|) as the Lyapunov "
                                  "function (not H); larger steps can diverge")


def check_lyapunov_eta(loss: str = "bce", eta_max=Fraction(1), div_steps: int = 1000):
    """"The Dirac oracle is Lyapunov stable for every 0 < eta <= ``eta_max``": by
    :func:`w_lemma` when eta_max * c_max <= 1 (a proof); otherwise a divergent run from a
    small start at eta_max refutes it."""
    cmax, wtxt = w_lemma(loss)
    eta_max = Fraction(eta_max)
    if cmax is not None and eta_max * cmax <= 1:
        return decide(outcome(True, f"for 0 < eta <= {eta_max}: eta c <= 1, so W = max(|theta|, |psi|) never grows on an "
                                    f"oracle step ({wtxt}; case analysis in w_lemma): Lyapunov stable (loss {loss})",
                              "symbolic identity", evidence_kind="proof",
                              command=_sim_cmd(loss, float(eta_max), (0.3, -0.2), 2000)))
    esc = _escapes(loss, float(eta_max), div_steps)
    if esc:
        ce = (f"loss {loss}, eta = {eta_max}: starts at distance 1e-2, 1e-4, 1e-6 all leave the ball of radius 0.1 "
              f"(max log10 distance {', '.join(E.fmt(m, 3) for _, m in esc)} within {div_steps} steps): not Lyapunov stable")
        return decide(outcome(False, ce + " (float64)", "simulation", counterexample=ce,
                              command=_sim_cmd(loss, float(eta_max), esc[-1][0], div_steps)))
    return decide(outcome(None, f"eta = {eta_max} is beyond the W proof and small starts did not escape", "simulation"))


@claim(id="deoliveira/lemma-d6", source=SRC, location="Appendix D, Lemma D.6",
       statement="With BCE loss and a non-infinitesimal learning rate eta, the Dirac oracle is Lyapunov stable "
                 "(no condition on eta is printed: decided for 0 < eta <= 1, the range the W argument gives).",
       convention=CONV,
       domain=Domain(variables=(Var("eta", 0, 1, hi_open=False),), hypotheses=(("BCE loss", "Lemma D.6"),)),
       mutants={"eta<=5": ("Lyapunov stable for every eta up to 5", lambda: check_lyapunov_eta("bce", 5))})
def lemma_d6():
    return check_lyapunov_eta("bce", 1)


def check_d6_step(etas=(Fraction(1, 10), Fraction(1, 2))):
    """The proof device of Lemma D.6: H = (theta^2 + psi^2)/2 does not increase on a BCE oracle
    step (for the step sizes ``etas``): exact search on a grid of states."""
    hce = _h_counterexample("bce", lambda t, p, eta: True, etas=etas)
    if hce is None:
        return decide(outcome(True, f"no H increase on the exact grid for eta in {[str(e) for e in etas]}", "exact arithmetic"))
    t, p, eta, dH = hce
    ce = f"H grows by {E.fmt(dH)} in one BCE oracle step from ({t}, {p}) with eta = {eta} (exact)"
    return decide(outcome(False, ce, "exact arithmetic", evidence_kind="proof", counterexample=ce,
                          command=_sim_cmd("bce", float(eta), (float(t), float(p)), 1),
                          details=["Lyapunov stability itself holds (deoliveira/lemma-d6): W = max(|theta|, |psi|) is a "
                                   "Lyapunov function where H is not"]))


@claim(id="deoliveira/lemma-d6-proof-step", source=SRC, location="Appendix D, proof of Lemma D.6",
       statement="(Step of the proof of Lemma D.6.) H = (theta^2 + psi^2)/2 does not increase on a BCE Dirac-oracle step "
                 "with a non-infinitesimal eta.", convention=CONV,
       mutants={"eta=1/10": ("H does not increase for eta = 1/10", lambda: check_d6_step(etas=(Fraction(1, 10),)))})
def lemma_d6_step():
    return check_d6_step()


@claim(id="deoliveira/thm3.1", source=SRC, location="Theorem 3.1",
       statement="The Dirac oracle is Lyapunov stable for Dirac-GANs with Wasserstein and BCE losses for a "
                 "non-infinitesimal learning rate, with tighter step-size bounds than Alt-GDA and Sim-GDA.",
       convention=CONV,
       mutants={"eta-3": ("Lyapunov stable for eta = 3 (WGAN)", lambda: decide(check_stable_eta(("wgan",), printed_etas=(3.0,))[0]))})
def thm31():
    from stabcheck.linearize import method_jacobian
    from stabcheck.methods import make_method

    printed, corr = check_stable_eta(("wgan", "bce"))
    # "tighter than Sim/Alt": Sim-GDA is not stable for any eta (exact verdicts)
    sims = [E.exact_verdict(method_jacobian(_game(l), make_method("sim"), e).exact) for l in ("wgan", "bce")
            for e in (0.01, 0.1, 1)]
    comp = outcome(all(v == "diverges" for v in sims), "Sim-GDA diverges for eta in {0.01, 0.1, 1} (exact verdicts, "
                   "WGAN and BCE)", "exact arithmetic")
    # sharpness: the smallest eta on a grid above 1 where a WGAN run diverges
    X0 = E.seeded_starts(20, seed=9, scale=1.0)
    first_div = None
    for k in range(11, 26):
        e = k / 10
        b = E.simulate_starts(_game("wgan"), ORACLE, e, X0, 500)
        if np.max(b.final_distance / np.linalg.norm(X0, axis=1)) > 1e3:
            first_div = e
            break
    sharp = (f"not sharp: W proves eta <= 1; simulation (20 starts, 500 steps, eta = 1.1, 1.2, ...) finds the first "
             f"divergence at eta = {first_div}" if first_div else "not sharp: no divergence found up to eta = 2.5")
    return decide(printed, correction=all_of([corr, comp]),
                  printed_text="Lyapunov stable for any non-infinitesimal eta, both losses",
                  correction_text="Lyapunov stable for 0 < eta <= 1 (W = max(|theta|, |psi|)), where Sim-GDA diverges "
                                  f"for every eta; larger steps can diverge (WGAN). The range is sufficient, {sharp}")


# ----------------------------------------------------------------------------- Lemmas D.1, D.3, D.4

def check_continuous(losses=("wgan", "bce"), H=None):
    """dH/dt = grad H . V_i <= 0 on the region where the oracle picks V_i (V1: psi theta < 0,
    V2: psi theta > 0), with the engine's fields; decided symbolically as sign(psi theta) times
    a positive factor, else by sampling."""
    parts = []
    for loss in losses:
        th, ps, vt, vp = _fields(loss)
        Hx = (th ** 2 + ps ** 2) / 2 if H is None else H(th, ps)
        u = th * ps
        for name, dH, sign in (("V1", sp.diff(Hx, th) * vt, -1), ("V2", sp.diff(Hx, ps) * vp, 1)):
            ratio = sp.simplify(dH / u)
            # region: sign(u) = sign; dH = ratio * u <= 0 iff ratio * sign <= 0
            proved = (ratio * sign).is_nonpositive
            if proved:
                parts.append(outcome(True, f"{loss} {name}: dH/dt = ({ratio}) psi theta", "symbolic identity"))
                continue
            f = sp.lambdify((th, ps), dH, "numpy")
            X = E.seeded_starts(4000, seed=10, scale=2.0)
            m = sign * X[:, 0] * X[:, 1] > 0
            vals = np.asarray(f(X[m, 0], X[m, 1]), dtype=float)
            worst = float(np.max(vals))
            ok = worst <= 1e-14
            parts.append(outcome(ok, f"{loss} {name}: max dH/dt on {int(m.sum())} sampled region points = {E.fmt(worst)}",
                                 "fuzzed", counterexample=None if ok else f"{loss} {name}: dH/dt = {E.fmt(worst)} > 0"))
    return decide(all_of(parts), command="stabcheck simulate --system dirac --loss wgan --convention thesis --eta 0.001 "
                                         "--compare dirac:boundary=V3 --x0 1,1 --steps 2000")


@claim(id="deoliveira/lemma-d1-d3-d4", source=SRC, location="Appendix D, Lemmas D.1, D.3, D.4",
       statement="In continuous time (infinitesimal eta), H = (theta^2 + psi^2)/2 is non-increasing along the Dirac "
                 "oracle's switched flow for the Wasserstein (D.3) and BCE (D.4) Dirac-GANs: dH/dt <= 0 on both "
                 "regions (D.1).", convention=CONV,
       mutants={"psi*theta": ("H = psi theta is non-increasing", lambda: check_continuous(losses=("wgan",), H=lambda th, ps: th * ps))})
def lemma_d1_d3_d4():
    return check_continuous()


# ----------------------------------------------------------------------------- Figure 2

FIG2_STEPS = (1000, 2000, 5000, 10000)


def _fig2_domain(n, steps):
    return Domain(variables=(Var("x0", -math.inf, math.inf),),
                  hypotheses=(("eta = 0.1, Wasserstein loss", "Section 3.2 and the caption of Figure 2"),),
                  constants={"eta": 0.1, "starts": f"{n} seeded N(0, I) (seed 11)", "step counts": list(steps),
                             "precision": "float64 (float32 runs shown in the details)"},
                  note="the figure shows one run of unstated start and length: start and step count are hidden "
                       "parameters, so the statement is decided as a distribution over them")


def check_fig2(target_log10: float = -21.0, gap_orders: float = 20.0, steps=FIG2_STEPS, n: int = None,
               eta: float = 0.1, n_f32: int = None):
    """Figure 2 as the distribution it is: for each step count in ``steps`` and each of ``n``
    seeded starts N(0, I), does the Dirac oracle end within 10^target_log10 of x* and
    ``gap_orders`` orders of magnitude closer than the best distance Sim-GDA or Alt-GDA
    (n_d = 1..5) ever reach from the same start? The runs are chained (the oracle is
    memoryless), so one 10^4-step run gives every step count."""
    from stabcheck.claims.domain import draws as nd
    from stabcheck.simulate import simulate

    n = n or nd(20, 100)
    n_f32 = n_f32 if n_f32 is not None else nd(3, 20)
    steps = tuple(sorted(steps))
    g = _game("wgan")
    X0 = E.seeded_starts(n, seed=11)
    # best Sim/Alt distance from each start (Sim's distance grows every step, Alt's orbits are
    # closed curves: 2000 steps sample them)
    other_steps = min(2000, steps[-1])
    best_other = np.full(n, np.inf)
    for spec in ["sim"] + [f"alt:n_d={k}" for k in range(1, 6)]:
        o = E.simulate_starts(g, spec, eta, X0, other_steps)
        best_other = np.minimum(best_other, np.log10(np.minimum(o.min_distance, np.linalg.norm(X0, axis=1))))
    X, done, rows, frac = X0, 0, [], {}
    for N in steps:
        b = E.simulate_starts(g, ORACLE, eta, X, N - done)
        X, done = b.X, N
        with np.errstate(divide="ignore"):
            lg = np.log10(np.maximum(np.linalg.norm(X, axis=1), 1e-320))
        ok = (lg <= target_log10) & (best_other - lg >= gap_orders)
        frac[N] = float(np.mean(ok))
        rows.append(f"{N} steps: {int(ok.sum())}/{n} starts (median log10 distance {E.fmt(float(np.median(lg)), 3)}, "
                    f"worst {E.fmt(float(lg.max()), 3)})")
    stalled = int(np.sum(lg > -3))
    # float32: where psi*theta first rounds to an exact tie (0), the oracle's decision is lost
    ties = []
    for x0 in X0[:n_f32]:
        r = simulate(g, ORACLE, eta, x0, steps[-1], precision="float32", record_states=True)
        S = np.asarray(r.states, dtype=np.float32)
        prod = S[:, 0] * S[:, 1]
        k = np.where((prod == 0) & (np.abs(S).max(axis=1) > 0))[0]
        if len(k):
            ties.append(float(r.log10_distance[k[0]]))
    f32 = (f"float32 ({n_f32} of the starts, {steps[-1]} steps, `--precision float32`): psi*theta first rounds to an "
           f"exact tie 0 at log10 distance {', '.join(E.fmt(t, 3) for t in ties)} in {len(ties)} of {n_f32} runs"
           if n_f32 else "float32 not run")
    dom = _fig2_domain(n, steps).to_json()
    ev = (f"simulation (float64, eta = {eta}, {n} seeded starts N(0, I), chained step counts {list(steps)}): the printed "
          f"figure (distance <= 1e{E.fmt(target_log10, 3)}, >= {E.fmt(gap_orders, 3)} orders closer than the best Sim/Alt "
          f"n_d = 1..5 distance from the same start over {other_steps} steps) holds for " +
          "; ".join(f"{E.fmt(100 * frac[N], 3)}% of starts at {N} steps" for N in steps) +
          f"; {stalled} of {n} starts are still above 1e-3 after {steps[-1]} steps")
    details = rows + [f32]
    cmd = _sim_cmd("wgan", eta, tuple(round(float(v), 4) for v in X0[int(np.argmax(lg))]), steps[-1],
                   "sim,alt:n_d=1,alt:n_d=5," + ORACLE)
    all_ok = all(frac[N] == 1.0 for N in steps)
    printed = outcome(all_ok, ev, "simulation", counterexample=None if all_ok else
                      f"start {tuple(round(float(v), 4) for v in X0[int(np.argmax(lg))])}: log10 distance "
                      f"{E.fmt(float(lg.max()), 3)} after {steps[-1]} steps", command=cmd, details=details,
                      draws=n * len(steps), domain=dom)
    some = outcome(any(frac[N] > 0 for N in steps), "the fractions above are the statement that holds", "simulation",
                   draws=n * len(steps), domain=dom)
    best_n = max(steps, key=lambda N: frac[N])
    return decide(printed, correction=some,
                  printed_text="the Dirac oracle reaches 1e-21, 20 orders closer than Sim/Alt (read as: from every "
                               "start, at the figure's step count)",
                  correction_text=(f"holds only as a distribution: for {E.fmt(100 * frac[best_n], 3)}% of N(0, I) starts "
                                   f"at {best_n} steps (" + ", ".join(f"{E.fmt(100 * frac[N], 3)}% at {N}" for N in steps)
                                   + "); other starts stall far from x*"))


@claim(id="deoliveira/fig2", source=SRC, location="Section 3, Figure 2",
       statement="On the Wasserstein Dirac-GAN with eta = 0.1, the Dirac oracle approaches the saddle point to a "
                 "distance of 1e-21, over 20 orders of magnitude closer than Sim-GDA or any Alt-GDA variation "
                 "(n_d = 1..5).", convention=CONV, domain=_fig2_domain(20, FIG2_STEPS),
       mutants={"1e-60": ("the oracle reaches 1e-60 (instead of 1e-21)",
                          lambda: check_fig2(target_log10=-60.0, steps=(1000, 2000), n=6, n_f32=0)),
                "gap-80": ("80 orders closer than Sim/Alt (instead of 20)",
                           lambda: check_fig2(gap_orders=80.0, steps=(1000, 2000), n=6, n_f32=0))})
def fig2():
    return check_fig2()


# ----------------------------------------------------------------------------- superlinear convergence (Section 3.2)

def check_rate(order: str = "superlinear", min_decades_per_1000: float = 0.0, eta: float = 0.1, n: int = None,
               steps: int = 2000, digits: int = 50):
    """"The Dirac oracle converges ``order`` (superlinear | linear) [at >= ``min_decades_per_1000``
    decades per 1000 steps]" on the WGAN Dirac-GAN. Exact bound: the field is linear, so every
    oracle step is x -> M_i x with M_i = I + eta J_i (J_i the engine's masked field Jacobian),
    and |x_{k+1}| >= sigma_min(M_i) |x_k|: no start converges faster than linearly, at most
    -1000 log10(min_i sigma_min(M_i)) decades per 1000 steps. Measured: the rate from seeded
    starts in mpmath (``digits``)."""
    from stabcheck.claims.domain import draws as nd
    from stabcheck.fields import game_field
    from stabcheck.simulate import simulate

    n = n or nd(3, 12)
    g = _game("wgan")
    f = game_field(g)
    J = sp.Matrix([[sp.diff(e, x) for x in g.symbols] for e in g.field_expr])
    linear = all(sp.diff(e, x, y) == 0 for e in g.field_expr for x in g.symbols for y in g.symbols)
    etar = sp.Rational(str(eta))
    smins = []
    for name, mask in (("V1", sp.diag(1, 0)), ("V2", sp.diag(0, 1)), ("V3", sp.eye(2))):
        M = sp.eye(2) + etar * mask * J
        ev = (M.T * M).eigenvals()
        smins.append((name, sp.sqrt(min(ev, key=lambda e: float(e)))))
    smin = min(smins, key=lambda t: float(t[1]))
    max_rate = -1000 * math.log10(float(smin[1]))
    bound = (f"the engine's WGAN field is linear ({'yes' if linear else 'no'}), so each oracle step multiplies x by "
             f"M_i = I + eta J_i; exact smallest singular values at eta = {eta}: " +
             ", ".join(f"{k} {E.fmt(v, 6)}" for k, v in smins) +
             f"; hence |x_(k+1)| >= {E.fmt(smin[1], 6)} |x_k| from every start: convergence is at most linear, at most "
             f"{E.fmt(max_rate, 4)} decades per 1000 steps")
    X0 = E.seeded_starts(n, seed=12)
    rates, stalls = [], 0
    for x0 in X0:
        r = simulate(g, ORACLE, eta, x0, steps, precision=digits)
        lg = r.log10_distance
        if lg[-1] - lg[0] > -3:
            stalls += 1
            continue
        half = len(lg) // 2
        rates.append((1000 * (lg[0] - lg[half]) / half, 1000 * (lg[half] - lg[-1]) / (len(lg) - 1 - half)))
    meas = (f"measured (mpmath {digits} digits, {n} seeded starts N(0, I), {steps} steps): decades per 1000 steps in the "
            f"first / second half: " + "; ".join(f"{E.fmt(a, 3)} / {E.fmt(b, 3)}" for a, b in rates) +
            f"; {stalls} start(s) did not converge (less than 3 decades)")
    if not linear:
        return decide(outcome(None, "the field is not linear: the bound does not apply; " + meas, "simulation"))
    dom = Domain(variables=(Var("x0", -math.inf, math.inf),), constants={"eta": eta, "loss": "wgan", "oracle": ORACLE},
                 hypotheses=(("Wasserstein Dirac-GAN, eta = 0.1", "Section 3.2, Figure 2"),)).to_json()
    if order == "superlinear":
        ok = False
        ce = (f"every start: |x_(k+1)|/|x_k| >= {E.fmt(smin[1], 6)} > 0, so the ratio cannot tend to 0 (superlinear "
              f"convergence needs it to); measured rates are linear")
    else:
        ok = max_rate >= min_decades_per_1000
        ce = None if ok else (f"linear at >= {E.fmt(min_decades_per_1000, 4)} decades per 1000 steps is impossible: the "
                              f"exact bound allows at most {E.fmt(max_rate, 4)}")
    return decide(outcome(ok, bound + "; " + meas, ("exact arithmetic", "simulation"), evidence_kind="proof",
                          counterexample=ce, domain=dom, draws=n,
                          command=_sim_cmd("wgan", eta, (round(float(X0[0][0]), 4), round(float(X0[0][1]), 4)), steps)
                          + f" --precision {digits}"))


@claim(id="deoliveira/superlinear", source=SRC, location="Section 3.2",
       statement="We show that we achieve superlinear convergence during Dirac-GAN training by using the decision "
                 "oracle zeta^Dirac (eq. 7).", convention=CONV,
       mutants={"linear>=30": ("the oracle converges linearly at >= 30 decades per 1000 steps",
                               lambda: check_rate("linear", 30.0, n=1, steps=400))})
def superlinear():
    return check_rate("superlinear")


# ----------------------------------------------------------------------------- Theorem 4.1

def check_thm41(discriminators: Sequence = ("linear", "quadratic")):
    """If d(fake) > d(real), a generator step (theta += eta d'(theta)) does not decrease the
    1-D Wasserstein distance |theta| between delta_0 and delta_theta. Tested on linear d (the
    Dirac-GAN, exact grid) and on d(x) = p1 x + p2 x^2 (stabcheck custom game, exact)."""
    from stabcheck.fields import game_field
    from stabcheck.games import custom_game

    th = sp.Symbol("theta", real=True)
    p1, p2 = sp.symbols("p1 p2", real=True)
    found_lin, found_quad = None, None
    etas = [sp.Rational(1, 10), sp.Rational(1, 2)]
    grid = [sp.Rational(k, 10) for k in (-20, -6, -1, 1, 6, 20)]
    if "linear" in discriminators:
        g = _game("wgan")
        t0, s0 = g.theta[0], g.psi[0]
        vt = g.field_expr[0]
        for t in grid:
            for p in grid:
                d_fake, d_real = p * t, 0  # thesis convention: d(x) = psi x
                if d_fake <= d_real:
                    continue
                for eta in etas:
                    t1 = t + eta * vt.xreplace({t0: t, s0: p})
                    if abs(t1) < abs(t):
                        found_lin = (t, p, eta, t1)
    if "quadratic" in discriminators:
        gq = custom_game([th], [p1, p2], L=-(p1 * th + p2 * th ** 2), equilibrium=[0, 0, 0], name="dirac-quadratic-d",
                         convention="thesis")
        v = game_field(gq).expr
        for t in grid:
            for a in grid:
                for b in grid:
                    if a * t + b * t ** 2 <= 0:
                        continue
                    for eta in etas:
                        t1 = t + eta * v[0].xreplace({th: t, p1: a, p2: b})
                        if abs(t1) < abs(t) and found_quad is None:
                            found_quad = (t, a, b, eta, t1)
    printed = outcome(found_lin is None and found_quad is None,
                      "no decrease found" if found_lin is None and found_quad is None else
                      (f"d(x) = {found_quad[1]} x + {found_quad[2]} x^2, fake at theta = {found_quad[0]}, eta = {found_quad[3]}: "
                       f"d(fake) > d(real) = 0 but the generator step moves theta to {found_quad[4]}: W1 decreases "
                       f"from {abs(found_quad[0])} to {abs(found_quad[4])} (exact)") if found_quad else
                      f"linear d: decrease at {found_lin}", "exact arithmetic",
                      counterexample=None if found_quad is None else f"d(x) = {found_quad[1]} x + {found_quad[2]} x^2, theta = {found_quad[0]}")
    corr = outcome(found_lin is None, "linear d (the Dirac-GAN): on an exact grid of 36 states x 2 step sizes with "
                   "d(fake) > d(real), every generator step increases |theta| (W1)" if found_lin is None else
                   f"linear d fails at {found_lin}", "exact arithmetic")
    return decide(printed, correction=corr,
                  printed_text="for any discriminator, d(fake) > d(real) makes a generator step not decrease the divergence",
                  correction_text="holds for linear discriminators (the Dirac-GAN: |theta + eta psi| > |theta| when "
                                  "psi theta > 0); false for non-linear d")


@claim(id="deoliveira/thm4.1", source=SRC, location="Theorem 4.1",
       statement="If d(x_fake) > d(x_real) for all samples, updating the generator will generally not decrease the "
                 "divergence between the real and synthetic distributions.", convention=CONV,
       mutants={"quadratic-d": ("the statement for quadratic discriminators d(x) = p1 x + p2 x^2", lambda: check_thm41(discriminators=("quadratic",)))})
def thm41():
    return check_thm41()


# ----------------------------------------------------------------------------- Theorem 5.1

def check_thm51(etas=(2.5, 1.5, 1.0, 0.5, 0.1), starts=((1.0, 1.0), (0.7, -0.3), (-1.3, 0.4)), steps: int = 3000,
                max_growth_log10: float = 6.0):
    """First half: Dyn-GDA (c1 = 1.2, c2 = 0.8) on the WGAN Dirac-GAN is Lyapunov stable for
    every eta in ``etas``: a divergent run (growth > 10^max_growth_log10, or past the boundary)
    refutes it (engine's simulate, batch 4, seed 0)."""
    from stabcheck.simulate import simulate

    g = _game("wgan")
    worst = (0.0, None, None)
    for eta in etas:
        for x0 in starts:
            r = simulate(g, "dyn-gda", eta, list(x0), steps, batch=4, seed=0)
            growth = float(np.max(r.log10_distance) - r.log10_distance[0])
            if growth > worst[0]:
                worst = (growth, eta, x0)
            if r.stopped or growth > max_growth_log10:
                cmd = _sim_cmd("wgan", eta, x0, steps, "dyn-gda") + " --batch 4"
                return outcome(False, f"Dyn-GDA with eta = {eta} from x0 = {x0}: distance grows 10^{E.fmt(growth, 3)}-fold"
                                      f"{' (run stopped: ' + str(r.stopped) + ', distance > 1e12)' if r.stopped else ''} within "
                                      f"{r.steps_done} steps (float64)", "simulation",
                               counterexample=f"eta = {eta}, x0 = {x0}", command=cmd, draws=len(etas) * len(starts))
    return outcome(True, f"no divergent Dyn-GDA run for eta in {list(etas)} from {len(starts)} starts ({steps} steps); "
                         f"largest growth 10^{E.fmt(worst[0], 3)}", "simulation", draws=len(etas) * len(starts))


THM51_GAMES = (("dirac-bce-noise1", "--system dirac --loss bce --reg noise:sigma=1 --convention thesis"),
               ("gaussian-v1-s2half", "--system gaussian --loss bce --mean 1 --sigma2 0.5"))


def _thm51_game(name):
    if name == "dirac-wgan":
        return _game("wgan")
    if name == "dirac-bce-noise1":
        return E.dirac("bce", ["noise:sigma=1"], convention="thesis")
    return E.gaussian("bce", [1], "1/2")


def _thm51_domain(etas, n, steps):
    return Domain(variables=(Var("eta", 0, math.inf),),
                  hypotheses=(("Sim-GDA and Alt-GDA (n_d = 1) locally convergent at (game, eta): exact verdict "
                               "'converges' of the linearized maps", "Theorem 5.1, second half"),),
                  constants={"games": [a for _, a in THM51_GAMES], "etas tried": list(etas),
                             "starts": f"{n} per (game, eta): x* + 0.1 N(0, I), seed 13", "steps": steps,
                             "dyn-gda": "c1 = 1.2, c2 = 0.8, batch 4, seed 0"})


def _thm51_cases(thorough: bool):
    if thorough:
        return [(name, eta, 8) for name, _ in THM51_GAMES for eta in (0.1, 0.5, 1.0)]
    return [("dirac-bce-noise1", 0.1, 2), ("dirac-bce-noise1", 0.5, 2), ("gaussian-v1-s2half", 0.5, 1)]


def check_thm51_convergent(cases=None, steps: int = None, contraction_log10: float = -3.0, long_steps: int = None,
                           require_hypothesis: bool = True):
    """Second half: wherever Sim- and Alt-GDA (n_d = 1) are locally convergent (exact verdicts
    of the linearized maps), Dyn-GDA converges too. ``cases``: (game, eta, number of seeded
    starts x* + 0.1 N(0, I)). A start converges when the distance shrinks by
    10^-contraction_log10 within ``steps``; a run that grows 10^3-fold refutes the statement;
    a run that does neither (Dyn-GDA stalls: it stops choosing V2 and the discriminator
    freezes) is rerun for ``long_steps`` (thorough profile) or left undecided - a finite run
    cannot refute eventual convergence."""
    from stabcheck.claims.domain import profile
    from stabcheck.linearize import method_jacobian
    from stabcheck.methods import make_method
    from stabcheck.simulate import simulate

    thorough = profile() == "thorough"
    cases = cases or _thm51_cases(thorough)
    steps = steps or 2000
    long_steps = long_steps if long_steps is not None else (60000 if thorough else 0)
    args_of = dict(THM51_GAMES) | {"dirac-wgan": "--system dirac --loss wgan --convention thesis"}
    rng = np.random.default_rng(13)
    rows, tried, fast, late, stalled = [], 0, 0, [], []
    for name, eta, n in cases:
        g = _thm51_game(name)
        vs = [E.exact_verdict(method_jacobian(g, make_method(m), eta).exact) for m in ("sim", "alt:n_d=1")]
        if require_hypothesis and any(v != "converges" for v in vs):
            rows.append(f"{name}, eta = {eta}: Sim/Alt {vs[0]}/{vs[1]} (outside the hypothesis, skipped)")
            continue
        for _ in range(n):
            x0 = np.asarray(g.equilibrium_numeric, dtype=float) + 0.1 * rng.standard_normal(g.dim)
            x0s = ",".join(repr(float(v)) for v in x0)
            cmd = f"stabcheck simulate {args_of[name]} --eta {eta} --compare dyn-gda,sim --x0={x0s} --steps {{}} --batch 4"
            tried += 1
            r = simulate(g, "dyn-gda", eta, x0, steps, batch=4, seed=0)
            lg = r.log10_distance
            if r.stopped or float(np.max(lg) - lg[0]) > 3:
                return outcome(False, f"{name}, eta = {eta} (Sim/Alt: {vs[0]}/{vs[1]}): Dyn-GDA from x0 = ({x0s}) grows "
                                      f"10^{E.fmt(float(np.max(lg) - lg[0]), 3)}-fold", "simulation",
                               counterexample=f"{name}, eta = {eta}, x0 = ({x0s})", draws=tried, command=cmd.format(steps))
            if float(lg[-1] - lg[0]) <= contraction_log10:
                fast += 1
                continue
            codes = np.asarray(r.codes)
            v2_tail = int(np.sum(codes[-1000:] == 2))
            if long_steps:
                r2 = simulate(g, "dyn-gda", eta, x0, long_steps, batch=4, seed=0)
                hit = np.where(r2.log10_distance - r2.log10_distance[0] <= contraction_log10)[0]
                if len(hit):
                    late.append(f"{name}, eta = {eta}, x0 = ({x0s}): stalled ({v2_tail} V2 steps in the last 1000 of "
                                f"{steps}), converged after {int(hit[0])} steps")
                    continue
            stalled.append(f"{name}, eta = {eta}, x0 = ({x0s}): distance 10^{E.fmt(float(lg[-1]), 3)} after {steps} steps, "
                           f"{v2_tail} discriminator (V2) steps in the last 1000: the discriminator is frozen"
                           + (f"; not converged within {long_steps} steps either" if long_steps else ""))
    if not tried:
        return outcome(None, "no (game, eta) where Sim and Alt both converge: " + "; ".join(rows))
    dom = _thm51_domain([c[1] for c in cases], tried, steps).to_json()
    dist = (f"{len(cases)} (game, eta) cases where Sim-GDA and Alt-GDA converge (exact verdicts), {tried} seeded starts: "
            f"{fast} converged (distance / 10^{E.fmt(-contraction_log10, 3)}) within {steps} steps, {len(late)} after a "
            f"stall, {len(stalled)} undecided")
    if stalled:
        first = stalled[0].split(": distance")[0]
        return outcome(None, dist + "; " + "; ".join(stalled), "simulation", draws=tried, details=rows + late, domain=dom,
                       command=f"stabcheck simulate {args_of[first.split(',')[0]]} --eta {first.split('eta = ')[1].split(',')[0]} "
                               f"--compare dyn-gda,sim --x0={first.split('x0 = (')[1].rstrip(')')} --steps {steps} --batch 4")
    return outcome(True, dist + ("; " + "; ".join(late) if late else ""), "simulation", draws=tried, details=rows,
                   domain=dom, command=f"stabcheck simulate {THM51_GAMES[0][1]} --eta 0.5 --compare dyn-gda,sim "
                                       f"--steps {steps} --batch 4")


@claim(id="deoliveira/thm5.1", source=SRC, location="Theorem 5.1",
       statement="Dynamic-GDA is Lyapunov stable for any learning rate eta on the Dirac-GAN, and converges where "
                 "Sim-GDA and Alt-GDA converge (e.g. on the Gaussian game).",
       convention=CONV + " Dyn-GDA: `dyn-gda` oracle, c1 = 1.2, c2 = 0.8, batch 4. Both halves are decided; the second "
                         "half on its own is deoliveira/thm5.1-convergent.",
       mutants={"growth<=1e13": ("Lyapunov stable means growth below 10^13 only, for eta up to 2.5",
                                 lambda: decide(check_thm51(etas=(2.5,), starts=((1.0, 1.0),), steps=400,
                                                            max_growth_log10=13.0)))})
def thm51():
    first = check_thm51()
    if first.ok is False:   # a conjunction with a false half is false; the second half is its own claim
        return decide(first, command=first.command)
    return decide(all_of([first, check_thm51_convergent()]))


@claim(id="deoliveira/thm5.1-convergent", source=SRC, location="Theorem 5.1 (second half)",
       statement="Where Sim-GDA and Alt-GDA are locally convergent, Dynamic-GDA is locally convergent too.",
       convention=CONV + " Dyn-GDA: `dyn-gda` oracle, c1 = 1.2, c2 = 0.8, batch 4, seed 0.",
       domain=_thm51_domain((0.1, 0.5), 5, 2000),
       mutants={"no-hypothesis": ("Dyn-GDA converges whether or not Sim and Alt do (the WGAN Dirac-GAN, eta = 2.5)",
                                  lambda: decide(check_thm51_convergent(cases=[("dirac-wgan", 2.5, 1)], steps=300,
                                                                        long_steps=0, require_hypothesis=False)))})
def thm51_convergent():
    return decide(check_thm51_convergent())


# ----------------------------------------------------------------------------- eq. 11 against Algorithm 1

def check_eq11(s1: int = -1, s2: int = 1, states=((Fraction(1), Fraction(-1)), (Fraction(-1, 2), Fraction(2)),
                                                   (Fraction(1, 2), Fraction(1, 2)), (Fraction(-2), Fraction(-1, 3))),
               eta=Fraction(1, 10)):
    """Eq. 11 writes the oracle's update as x + s1 eta V1 (psi theta < 0), x + s2 eta V2
    (psi theta > 0), with (s1, s2) = (-1, +1) as printed; Algorithm 1 steps x + eta V. The
    statement "eq. 11 is Algorithm 1's update" is decided by one exact step from each state,
    and by what the printed sign does to the distance."""
    th, ps, vt, vp = _fields("wgan")
    bad = []
    for t, p in states:
        sub = {th: sp.Rational(t.numerator, t.denominator), ps: sp.Rational(p.numerator, p.denominator)}
        e = sp.Rational(eta.numerator, eta.denominator)
        if t * p < 0:
            alg = (sub[th] + e * vt.xreplace(sub), sub[ps])
            eq = (sub[th] + s1 * e * vt.xreplace(sub), sub[ps])
        else:
            alg = (sub[th], sub[ps] + e * vp.xreplace(sub))
            eq = (sub[th], sub[ps] + s2 * e * vp.xreplace(sub))
        if alg != eq:
            grow = _H(eq) > _H((sub[th], sub[ps]))
            bad.append(f"(theta, psi) = ({t}, {p}), eta = {eta}: eq. 11 gives {tuple(map(str, eq))}, Algorithm 1 gives "
                       f"{tuple(map(str, alg))}" + (" (eq. 11's step moves away from x*)" if grow else ""))
    ok = not bad
    return decide(outcome(ok, f"{len(states)} exact oracle steps (both regions): " +
                          ("eq. 11 and Algorithm 1 agree" if ok else bad[0]), "exact arithmetic", evidence_kind="proof",
                          counterexample=None if ok else bad[0],
                          command=_sim_cmd("wgan", float(eta), (1.0, -1.0), 1)))


@claim(id="deoliveira/eq11-sign", source=SRC, location="Appendix D, eq. 11 (against Algorithm 1)",
       statement="The Dirac oracle's update is zeta(x; eta) = x - eta V1 if psi theta < 0, x + eta V2 if psi theta > 0 "
                 "(eq. 11), the same update as Algorithm 1 (x <- x + eta V).", convention=CONV,
       mutants={"both-minus": ("x - eta V1 and x - eta V2", lambda: check_eq11(-1, -1))})
def eq11():
    return check_eq11()


# ----------------------------------------------------------------------------- the W-divergence of the Dirac-GAN

def check_w_divergence(printed=lambda t, p: t - p, corrected=lambda t, p: abs(t)):
    """"The Wasserstein divergence in the feature space is exactly printed(theta, psi)"
    between the real delta_0 and the generated delta_theta. For two Dirac measures the only
    coupling is the product, so W1(delta_0, delta_theta) = |theta| (exact; psi plays no part)."""
    grid = [Fraction(k, 2) for k in (-3, -1, 0, 1, 4)]
    pts = [(t, p) for t in grid for p in grid]
    wrong = [(t, p) for t, p in pts if printed(t, p) != abs(t)]
    wrong_c = [(t, p) for t, p in pts if corrected(t, p) != abs(t)]
    txt = "W1(delta_0, delta_theta) = |theta - 0| = |theta| (the only coupling of two Dirac measures)"
    if not wrong:
        return decide(outcome(True, f"the printed formula equals {txt} on {len(pts)} exact states", "exact arithmetic",
                              draws=len(pts)))
    t, p = wrong[0]
    ce = f"(theta, psi) = ({t}, {p}): printed {printed(t, p)}, W1 = {abs(t)}"
    return decide(outcome(False, f"{ce}; {txt}", "exact arithmetic", evidence_kind="proof", counterexample=ce,
                          draws=len(pts), command=_sim_cmd("wgan", 0.1, (float(t), float(p)), 1)),
                  correction=outcome(not wrong_c, f"|theta| on all {len(pts)} states (the definition)", "exact arithmetic",
                                     evidence_kind="proof"),
                  printed_text="the W-divergence is theta - psi", correction_text="the W-divergence is |theta|")


@claim(id="deoliveira/w-divergence", source=SRC, location="Section 4, after Theorem 4.4",
       statement="In the Dirac-GAN the Wasserstein divergence in the feature space is exactly (theta - psi).",
       convention=CONV, mutants={"theta+psi": ("the divergence is theta + psi, corrected to theta^2",
                                               lambda: check_w_divergence(lambda t, p: t + p, lambda t, p: t * t))})
def w_divergence():
    return check_w_divergence()


# ----------------------------------------------------------------------------- Lemmas 4.2, 4.3

def _families():
    """Parametric discriminator families d(x; p): (name, d(x, p) sympy, p-range text)."""
    x, p = sp.symbols("x p", real=True)
    return x, p, (("linear", p * x), ("quadratic", p * x ** 2), ("cosine", p * sp.cos(2 * sp.pi * x)))


def check_lemma43(need_optimal: bool = True, families=("linear", "quadratic", "cosine"), thetas=(1, 2)):
    """Lemma 4.3: d optimal for a fixed generator, and d(P_theta) meets d(P_r) => P_theta meets
    P_r. Instances: real delta_0, generated delta_theta (theta != 0: disjoint supports),
    WGAN objective E_real d - E_fake d over |p| <= 1; "optimal" = a maximizer (exact). The
    lemma fails on an instance where an optimal d has d(0) = d(theta)."""
    x, p, fams = _families()
    for name, d in fams:
        if name not in families:
            continue
        for th in thetas:
            obj = sp.simplify(d.xreplace({x: 0}) - d.xreplace({x: th}))       # linear in p
            slope = sp.diff(obj, p)
            optimal = [sp.Integer(1) if slope > 0 else sp.Integer(-1)] if slope != 0 else [sp.Integer(-1), sp.Integer(0), sp.Integer(1)]
            cands = optimal if need_optimal else [sp.Integer(0), sp.Integer(1)]
            for pv in cands:
                if sp.simplify(d.xreplace({x: 0, p: pv}) - d.xreplace({x: th, p: pv})) == 0:
                    ce = (f"d(x) = {d.xreplace({p: pv})} ({name} family, p = {pv}"
                          f"{', optimal: the objective ' + str(obj) + ' is maximal there' if need_optimal else ''}), real "
                          f"delta_0, generated delta_{th}: the projections {{d(0)}} = {{d({th})}} = {{{d.xreplace({x: 0, p: pv})}}} "
                          f"meet, yet the supports {{0}} and {{{th}}} are disjoint")
                    return decide(outcome(False, ce + " (exact)", "exact arithmetic", evidence_kind="proof",
                                          counterexample=ce, command="stabcheck claims --id deoliveira/lemma-4.3"))
    return decide(outcome(True, f"no instance found among families {list(families)}, theta in {list(thetas)}",
                          "exact arithmetic"))


@claim(id="deoliveira/lemma-4.3", source=SRC, location="Lemma 4.3 (Section 4; proof in the appendix)",
       statement="If a discriminator is optimal with respect to a fixed generator, and the real and synthetic "
                 "distributions remain not disjoint in the discriminator's projection-space, then these distributions "
                 "are not disjoint in the feature-space.", convention=CONV,
       domain=Domain(variables=(Var("p", -1, 1, False, False),), hypotheses=(
           ("d optimal for the fixed generator (maximizes the WGAN objective over the family)", "Lemma 4.3"),),
           constants={"families": ["p x", "p x^2", "p cos(2 pi x)"], "real": "delta_0", "generated": "delta_theta, theta in {1, 2}"}),
       mutants={"no-optimality": ("the same without the optimality hypothesis", lambda: check_lemma43(need_optimal=False))})
def lemma43():
    return check_lemma43()


def check_lemma42(converse: bool = False, thetas=(0, 1, 2)):
    """Lemma 4.2: supports meet => projections meet, for every d (a common point x0 gives the
    common value d(x0): a one-line proof, checked on the instances). ``converse``: the
    statement "projections meet => supports meet" instead (Lemma 4.3 without optimality)."""
    x, p, fams = _families()
    n = 0
    for name, d in fams:
        for th in thetas:
            for pv in (sp.Integer(-1), sp.Integer(1)):
                supports_meet = th == 0
                proj_meet = sp.simplify(d.xreplace({x: 0, p: pv}) - d.xreplace({x: th, p: pv})) == 0
                n += 1
                if (not converse and supports_meet and not proj_meet) or (converse and proj_meet and not supports_meet):
                    ce = f"d(x) = {d.xreplace({p: pv})}, real delta_0, generated delta_{th}: supports meet {supports_meet}, projections meet {proj_meet}"
                    return decide(outcome(False, ce, "exact arithmetic", evidence_kind="proof", counterexample=ce, draws=n))
    return decide(outcome(True, "proof: if x0 lies in both supports, d(x0) lies in both projections, for every d; checked "
                                f"on {n} instances (families p x, p x^2, p cos(2 pi x); theta in {list(thetas)}; p = +-1)",
                          "symbolic identity", evidence_kind="proof", draws=n))


@claim(id="deoliveira/lemma-4.2", source=SRC, location="Lemma 4.2 (Section 4)",
       statement="If the real and synthetic distributions are not disjoint in the feature-space, then their projections "
                 "in an optimal discriminator space are not disjoint either.", convention=CONV,
       mutants={"converse": ("projections not disjoint => supports not disjoint (for every d)",
                             lambda: check_lemma42(converse=True))})
def lemma42():
    return check_lemma42()


# ----------------------------------------------------------------------------- Table 1 / Friedman (gpu_validation records)

RUNS_ENV = "STABCHECK_VALIDATION_RUNS"


def _synthetic_obs(dyn_rank_last: bool = True) -> dict:
    """A synthetic record grid (8 blocks x 3 seeds x 4 methods) on which Dyn-GDA ranks last
    everywhere: the statements must come out refuted on it (the mutants)."""
    ms = ["alt:n_d=1", "alt:n_d=5", "dyn-gda", "sim"]
    return {(f"gan{b}", "ring", m, sd): (10.0 if (m == "dyn-gda" and dyn_rank_last) else i + 1.0) + 0.01 * sd + 0.001 * b
            for b in range(8) for sd in range(3) for i, m in enumerate(ms)}


def check_validation_statement(sid: str, alpha: float = 0.02, obs=None):
    """A Table 1 / Friedman statement of the thesis, decided by gpu_validation/stats.py from
    gpu_validation's run records in the runs directory named by $STABCHECK_VALIDATION_RUNS
    (or from ``obs[(gan, dataset, method, seed)] = value`` when given); inconclusive (no
    records) when there are none."""
    import os

    d = os.environ.get(RUNS_ENV)
    if obs is None and not d:
        return decide(outcome(None, f"inconclusive: no records - set {RUNS_ENV} to a gpu_validation runs directory "
                                    "(`python -m gpu_validation run --out DIR`) to decide it from the trained GANs"))
    try:
        from gpu_validation import report, stats
    except Exception as exc:  # noqa: BLE001
        return decide(outcome(None, f"gpu_validation could not be imported: {type(exc).__name__}: {exc}"))
    from stabcheck.errors import BadInput

    try:
        if obs is None:
            recs = report.load_records(d)
            a = report.rank_table(recs, alpha=alpha)["stats"]
            where, n = f"{len(recs)} run records in {d}", len(recs)
        else:
            a = stats.analyze(obs, alpha=alpha)
            where, n = f"{len(obs)} given observations", len(obs)
        v = next(x for x in a["verdicts"] if x["id"] == sid)
    except (BadInput, KeyError, StopIteration) as exc:
        return decide(outcome(None, f"inconclusive: the records could not decide it ({type(exc).__name__}: {exc})"))
    ok = {"holds": True, "refuted": False}.get(v.get("verdict"))
    return decide(outcome(ok, f"from {where} (gpu_validation.stats): {v.get('evidence', v)}", "numerical",
                          evidence_kind="search", draws=n,
                          counterexample=None if ok is not False else str(v.get("evidence"))))


@claim(id="deoliveira/table1", source=SRC, location="Section 6.1, Table 1",
       statement="Dyn-GDA is the best method in aggregate over the (GAN, 2-D data set) pairs (lowest average rank).",
       convention="decided from gpu_validation's records ($STABCHECK_VALIDATION_RUNS)",
       mutants={"dyn-last": ("the statement on a synthetic record grid where Dyn-GDA ranks last in all 8 blocks",
                             lambda: check_validation_statement("dyn-best", obs=_synthetic_obs()))})
def table1():
    return check_validation_statement("dyn-best")


@claim(id="deoliveira/friedman", source=SRC, location="Section 6, Friedman test (p < .02; p = .0192)",
       statement="Dyn-GDA's rank over the (GAN, data set) pairs is statistically significant with p < .02 (Friedman test).",
       convention="decided from gpu_validation's records ($STABCHECK_VALIDATION_RUNS)",
       mutants={"dyn-last": ("the statement on a synthetic record grid where Dyn-GDA ranks last in all 8 blocks",
                             lambda: check_validation_statement("friedman-p02", obs=_synthetic_obs()))})
def friedman():
    return check_validation_statement("friedman-p02")
