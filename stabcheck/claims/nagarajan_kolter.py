"""Claims of Nagarajan & Kolter (NeurIPS 2017), *Gradient descent GAN optimization is locally
stable* (talk slides, papers/001).

Convention: ``V(theta_G, theta_D) = E_data f(D(x)) + E_z f(-D(G(z)))``, D maximizes (scores real
data high): stabcheck's thesis convention. Their dynamics are continuous time (infinitesimal
simultaneous gradient steps): the verdicts below are about the field's Jacobian (Hurwitz or
not); discrete-time facts are reported as details.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import sympy as sp

from stabcheck.claims import _engine as E
from stabcheck.claims.registry import claim
from stabcheck.claims.domain import Domain, Var
from stabcheck.claims.verdicts import all_of, decide, outcome

SRC = "Nagarajan & Kolter (NeurIPS 2017), 'Gradient descent GAN optimization is locally stable' (slides)"
CONV = ("theta_G = stabcheck theta (minimizes), theta_D = stabcheck psi (maximizes); V is stabcheck's L in the thesis "
        "convention (D scores real data high); continuous-time Sim dynamics = the field v.")

NK_GAMES = (([0], 1), ([1], "1/4"), ([3], "1/100"))


def _assumptions(game) -> tuple:
    """(A1, A2, A3) evaluated exactly at the game's equilibrium, with their values."""
    syms = game.symbols
    at = dict(zip(syms, game.equilibrium))
    a1 = all(sp.simplify(e.xreplace(at).doit()) == 0 for e in game.field_expr)
    Hd = sp.hessian(game.L_D, game.psi).xreplace(at).doit()
    a2 = all(ev < 0 for ev in np.linalg.eigvalsh(np.array(Hd.evalf(30).tolist(), dtype=float)))
    grad = sp.Matrix([sp.diff(game.L_D, p) for p in game.psi])
    gn = (grad.T * grad)[0, 0]
    # the Hessian in theta of ||grad_psi V||^2 at psi = psi*: substitute psi first (cheaper, same value)
    gn_psi = gn.xreplace(dict(zip(game.psi, game.equilibrium[game.n_gen:]))).doit()
    H3 = sp.hessian(gn_psi, game.theta).xreplace(at).doit()
    a3 = all(ev > 0 for ev in np.linalg.eigvalsh(np.array(H3.evalf(30).tolist(), dtype=float)))
    return a1, a2, a3


def check_local_stability(games=NK_GAMES, require_full_rank: bool = True, n_fuzz: int = 40, seed: int = 6):
    """Theorem: A1-A3 imply a Hurwitz Jacobian. Concrete games (exact) + the main lemma fuzzed
    on random ``[[N, B], [-B^T, 0]]`` (N negative definite; B of full column rank if
    ``require_full_rank``)."""
    from stabcheck.games import make_game
    from stabcheck.linearize import exact_hurwitz

    parts = []
    for mean, s2 in games:
        g = E.gaussian("bce", mean, s2)
        a1, a2, a3 = _assumptions(g)
        J = E.field_jacobian(g)
        hur = exact_hurwitz(J)
        ok = (not (a1 and a2 and a3)) or hur
        txt = f"v = {mean}, s2 = {s2}: A1 {a1}, A2 {a2}, A3 {a3}, Hurwitz (exact Routh-Hurwitz) {hur}"
        parts.append(outcome(ok, txt, "exact arithmetic", counterexample=None if ok else txt,
                             command=f"stabcheck analyze --system gaussian --loss bce --mean {','.join(map(str, mean))} "
                                     f"--sigma2 {s2} --eta 0.1 --method sim"))
    rng = np.random.default_rng(seed)
    worst, count = -np.inf, 0
    shapes = [(1, 1), (1, 3), (2, 2), (2, 4), (3, 3)] + ([] if require_full_rank else [(2, 1), (3, 2)])
    for k in range(n_fuzz):
        m, n = shapes[k % len(shapes)]   # m generator (columns of B), n discriminator (rows)
        P = rng.standard_normal((m, n)).round(3)
        M = rng.standard_normal((n, n)).round(3)
        Q = -(M @ M.T + 1e-3 * np.eye(n))
        if require_full_rank and np.linalg.matrix_rank(P) < m:
            continue
        A = np.array(E.field_jacobian(make_game("general", None, {"P": P.tolist(), "Q": Q.tolist()})).evalf(30).tolist(),
                     dtype=float)
        worst = max(worst, float(np.max(np.linalg.eigvals(A).real)))
        count += 1
    ok = worst < 0 and max(abs(worst), 0) > 1e-12
    rng_txt = f"{count} random instances, (generator, discriminator) dims in {shapes}, N = -(M M^T + 1e-3 I)"
    parts.append(outcome(ok, f"main lemma fuzzed on {rng_txt}: max Re(lambda) = {E.fmt(worst, 3)}", "fuzzed",
                         counterexample=None if ok else f"an instance with max Re(lambda) = {E.fmt(worst, 3)} "
                                                        "(B rank deficient: more generator than discriminator parameters)"))
    res = all_of(parts)
    return decide(res, command="stabcheck analyze --system gaussian --loss bce --mean 1 --sigma2 0.25 --eta 0.1 --method sim")


@claim(id="nagarajan-kolter/thm-local-stability", source=SRC, location="slides 'Assumption 1-3', 'Main result', 'Main lemma'",
       statement="Under Assumptions 1-3 (p_G = p_data and D* = 0; grad^2_D V negative definite; grad^2_G ||grad_D V||^2 "
                 "positive definite at the equilibrium), the Jacobian of simultaneous gradient descent at the equilibrium "
                 "has eigenvalues with strictly negative real parts (locally exponentially stable).",
       convention=CONV + " Concrete games: the 1-D and 2-D Gaussian GANs (`--system gaussian --loss bce`), which satisfy A1-A3.",
       mutants={"no-rank": ("the main lemma without B of full column rank (more generator than discriminator parameters)",
                            lambda: check_local_stability(games=(([1], "1/4"),), require_full_rank=False, n_fuzz=14))})
def thm_local_stability():
    return check_local_stability()


def check_exists_nonconvergent(candidates: Sequence = (("wgan", ()),), exhaustive: bool = False):
    """There exists an equilibrium (among Dirac-GAN ``candidates`` (loss, regularizers)) where
    simultaneous gradient descent does not converge locally. With ``exhaustive`` the candidates
    are the whole domain of the statement, so finding no witness refutes it (exactly)."""
    from stabcheck.linearize import exact_hurwitz

    tried = []
    for loss, regs in candidates:
        g = E.dirac(loss, regs, convention="thesis")
        J = E.field_jacobian(g)
        th, ps = g.theta[0], g.psi[0]
        conserved = sp.simplify(th * g.field_expr[0] + ps * g.field_expr[1]) == 0
        hur = exact_hurwitz(J)
        tried.append(f"{loss}{' ' + ' '.join(regs) if regs else ''}: Hurwitz {hur}, |x| conserved {conserved}")
        if conserved and not hur:
            reg_txt = "".join(f" --reg {r}" for r in regs)
            return decide(outcome(True, f"WGAN Dirac-GAN (V = -psi theta): field Jacobian {J.tolist()} has eigenvalues "
                                        f"+-i (not Hurwitz), and d|x|^2/dt = 0 identically: no trajectory from x0 != 0 "
                                        f"converges", ("symbolic identity", "exact arithmetic"), evidence_kind="proof",
                                  command=f"stabcheck simulate --system dirac --loss {loss}{reg_txt} --convention thesis "
                                          f"--eta 0.01 --compare sim --x0 1,1 --steps 1000"))
    if exhaustive:
        return decide(outcome(False, "every equilibrium of the stated domain is Hurwitz (exact Routh-Hurwitz): " +
                              "; ".join(tried), "exact arithmetic", evidence_kind="proof",
                              counterexample="no non-convergent equilibrium exists in the stated domain",
                              command="stabcheck analyze --system dirac --loss bce --reg noise:sigma=1 --eta 0.1 --method sim"))
    return decide(outcome(None, "no candidate equilibrium found: " + "; ".join(tried)))


@claim(id="nagarajan-kolter/wgan-counterexample", source=SRC, location="slide 'WGAN', Theorem",
       statement="There exists an equilibrium for simultaneous gradient descent WGAN that does not converge locally.",
       convention=CONV,
       mutants={"bce-noise": ("there exists a non-convergent equilibrium of the BCE Dirac-GAN with instance noise sigma = 1",
                              lambda: check_exists_nonconvergent((("bce", ("noise:sigma=1",)),), exhaustive=True))})
def wgan_counterexample():
    return check_exists_nonconvergent()


def check_gradnorm(h_steps=(0.1, 0.5, 1.0), weight: str = "positive"):
    """Generator regularization ``r ||grad_D V||^2`` on the WGAN Dirac-GAN is locally
    exponentially stable for small weights r (``weight = "positive"``: r symbolic > 0;
    ``"zero"``: the statement for r = 0, i.e. without the regularizer)."""
    from stabcheck.regularizers import gradnorm
    from stabcheck.rules import Sim

    r = sp.Symbol("r", positive=True)
    g = gradnorm(r if weight == "positive" else 0)(E.dirac("wgan", convention="thesis"))
    J = E.field_jacobian(g)
    tr, det = sp.simplify(J.trace()), sp.simplify(J.det())
    hurwitz_all = bool((-tr).is_positive and det.is_positive)   # 2x2: Hurwitz iff tr < 0 < det
    details = []
    for hh in (h_steps if J.has(r) else ()):
        rs = np.logspace(-3, 2, 161)
        stable = [float(x) for x in rs if E.spectral_radius(E.map_matrix(Sim(), _n(J, r, x), hh, 1)) < 1]
        details.append(f"Sim-GDA with step h = {hh}: spectral radius < 1 for r in [{E.fmt(min(stable), 3)}, "
                       f"{E.fmt(max(stable), 3)}] on a log grid of r in [1e-3, 1e2] (numerical)" if stable else
                       f"Sim-GDA with step h = {hh}: no stable r on the grid")
    ok = hurwitz_all
    return decide(outcome(ok, f"WGAN Dirac-GAN with the generator term r ||grad_D V||^2 (stabcheck gradnorm:gamma=r), "
                              f"{'r symbolic' if J.has(r) else 'r = 0'}: field Jacobian {J.tolist()}, trace {tr}, det {det}: "
                              + ("trace < 0 < det for every r > 0: locally exponentially stable for every weight (so for "
                                 "small weights)" if ok else "not Hurwitz (2x2: Hurwitz iff trace < 0 < det)"),
                          "symbolic identity", counterexample=None if ok else f"trace {tr}, det {det}", evidence_kind="proof",
                          command="stabcheck analyze --system dirac --loss wgan --convention thesis --reg gradnorm:gamma=0.5 "
                                  "--eta 0.1 --method sim",
                          details=details))


def _n(J, r, x):
    return np.array(J.xreplace({r: sp.Float(x, 30)}).evalf(30).tolist(), dtype=float)


@claim(id="nagarajan-kolter/gradient-norm-reg", source=SRC, location="slide 'Gradient-norm based regularization'",
       statement="With the generator update theta_G' = -grad_G V - eta grad_G ||grad_D V||^2, the equilibrium of the "
                 "regularized simultaneous gradient descent (W)GAN is locally exponentially stable when eta is not too "
                 "large.",
       convention=CONV + " The slides' eta is the regularization weight r (stabcheck `--reg gradnorm:gamma=r`), not a step size.",
       domain=Domain(variables=(Var("r", 0, None),), hypotheses=(("WGAN Dirac-GAN, continuous-time SimGD",
                                                                  "slide 'Gradient-norm based regularization'"),)),
       mutants={"r=0": ("the equilibrium is locally exponentially stable without the regularizer (r = 0)",
                        lambda: check_gradnorm(weight="zero"))})
def gradient_norm_reg():
    return check_gradnorm()


# ----------------------------------------------------------------------------- linearization theorem

def _cubic_game():
    """theta' = -theta^3, psi' = -psi^3 (L = -theta^4/4 - psi^4/4 ... as a custom zero-sum game):
    asymptotically stable (d|x|^2/dt = -2(theta^4 + psi^4) < 0) with Jacobian 0 at x* = 0."""
    from stabcheck.games import custom_game

    th, ps = sp.symbols("theta psi", real=True)
    # thesis convention: v = (-dL/dtheta, dL/dpsi) = (-theta^3, -psi^3)
    return custom_game([th], [ps], L=th ** 4 / 4 - ps ** 4 / 4, equilibrium=[0, 0], name="cubic", convention="thesis")


def check_linearization(stability: str = "exponential"):
    """"x* is locally ``stability`` stable iff the Jacobian is Hurwitz", decided on instances
    where each side is known exactly: a Hurwitz Gaussian GAN (exponentially stable), the WGAN
    Dirac-GAN (|x| conserved: not asymptotically stable, not Hurwitz) and the cubic field
    -x^3 (asymptotically but not exponentially stable: Jacobian 0). An instance where the
    stability property and Hurwitz-ness differ refutes the "iff"."""
    from stabcheck.linearize import exact_hurwitz

    rows = []
    # the cubic field: |x|^2 strictly decreasing (asymptotic), |x(t)| ~ t^(-1/2) (not exponential)
    g = _cubic_game()
    th, ps = g.theta[0], g.psi[0]
    v = g.field_expr
    dV = sp.expand(2 * th * v[0] + 2 * ps * v[1])
    asym = sp.expand(-dV - 2 * (th ** 4 + ps ** 4)) == 0   # -dV/dt = 2(theta^4 + psi^4) > 0 off x*
    # exact solution of theta' = -theta^3: theta(t) = theta0 / sqrt(1 + 2 theta0^2 t)
    t, a = sp.symbols("t a", positive=True)
    sol = a / sp.sqrt(1 + 2 * a ** 2 * t)
    sol_ok = sp.simplify(sp.diff(sol, t) + sol ** 3) == 0
    expo = sp.limit(sol * sp.exp(sp.Rational(1, 1000) * t), t, sp.oo) == 0   # decays faster than e^(-t/1000)?
    hur_c = exact_hurwitz(E.field_jacobian(g))
    prop_c = asym if stability == "asymptotic" else (asym and expo)
    rows.append(("cubic -x^3", prop_c, hur_c, f"dV/dt = {sp.factor(dV)}, theta(t) = {sol} (solves theta' = -theta^3: "
                                              f"{sol_ok}), faster than any exponential: {expo}, Jacobian {E.field_jacobian(g).tolist()}"))
    # WGAN Dirac-GAN: |x| conserved
    gw = E.dirac("wgan", convention="thesis")
    cons = sp.simplify(gw.theta[0] * gw.field_expr[0] + gw.psi[0] * gw.field_expr[1]) == 0
    rows.append(("WGAN Dirac-GAN", not cons, exact_hurwitz(E.field_jacobian(gw)), f"|x| conserved: {cons}"))
    # a Hurwitz Gaussian GAN: exponential (a Hurwitz linearization gives exponential stability)
    gg = E.gaussian("bce", [1], "1/4")
    hur_g = exact_hurwitz(E.field_jacobian(gg))
    rows.append(("Gaussian v = [1], s2 = 1/4", hur_g, hur_g, "Hurwitz (exact Routh-Hurwitz)"))
    bad = [r for r in rows if r[1] != r[2]]
    txt = "; ".join(f"{n}: {stability} stable {p}, Hurwitz {h} ({w})" for n, p, h, w in rows)
    if bad:
        n, p, h, w = bad[0]
        ce = f"{n}: {stability}ally stable = {p} but Hurwitz = {h} ({w})"
        return decide(outcome(False, ce, ("symbolic identity", "exact arithmetic"), evidence_kind="proof",
                              counterexample=ce, draws=len(rows)))
    return decide(outcome(True, f"on {len(rows)} instances, {stability} stability and Hurwitz-ness agree: {txt}",
                          ("symbolic identity", "exact arithmetic"), evidence_kind="search", draws=len(rows),
                          details=["the 'iff' is the textbook linearization theorem for exponential stability (C^1 "
                                   "field with Lipschitz Jacobian); for asymptotic stability it is false (mutant)"]))


@claim(id="nagarajan-kolter/linearization-iff", source=SRC, location="slide 'Proving stability: Linearization theorem'",
       statement="The equilibrium of a (non-linear) system theta' = h(theta) is locally exponentially stable if and only "
                 "if its Jacobian at the equilibrium has eigenvalues with strictly negative real parts.", convention=CONV,
       mutants={"asymptotic": ("locally *asymptotically* stable iff Hurwitz", lambda: check_linearization("asymptotic"))})
def linearization_iff():
    return check_linearization("exponential")


# ----------------------------------------------------------------------------- the factor 2 of the proof outline

def check_factor2(factor=2, games=NK_GAMES):
    """The proof outline's identity ``factor * B^T B = grad^2_G ||grad_D V||^2`` at the
    equilibrium, B = grad_G grad_D V (the coefficient is lost in the slides' extraction; the
    chain rule gives 2, since grad_D V = 0 there). Exact on the Gaussian GANs."""
    for mean, s2 in games:
        g = E.gaussian("bce", mean, s2)
        at = dict(zip(g.symbols, g.equilibrium))
        grad = sp.Matrix([sp.diff(g.L_D, p) for p in g.psi])
        B = grad.jacobian(sp.Matrix(g.theta)).xreplace(at).doit()          # n_D x n_G
        gn = (grad.T * grad)[0, 0].xreplace(dict(zip(g.psi, g.equilibrium[g.n_gen:]))).doit()
        H = sp.hessian(gn, g.theta).xreplace(at).doit()
        lhs = (sp.sympify(factor) * B.T * B).applyfunc(sp.simplify)
        if (lhs - H).applyfunc(sp.simplify) != sp.zeros(*H.shape):
            ce = f"v = {mean}, s2 = {s2}: {factor} B^T B = {lhs.tolist()}, grad^2_G ||grad_D V||^2 = {H.tolist()}"
            return decide(outcome(False, ce + " (exact)", "exact arithmetic", evidence_kind="proof", counterexample=ce,
                                  command=f"stabcheck analyze --system gaussian --loss bce --mean {','.join(map(str, mean))} "
                                          f"--sigma2 {s2} --eta 0.1 --method sim"))
    return decide(outcome(True, f"{factor} B^T B equals grad^2_G ||grad_D V||^2 at the equilibrium exactly on {len(games)} "
                                "Gaussian GANs (chain rule: the Hessian of ||g||^2 is 2 (J^T J + sum g_i grad^2 g_i), "
                                "and g = grad_D V = 0 there)", "exact arithmetic", evidence_kind="search", draws=len(games)))


@claim(id="nagarajan-kolter/proof-factor-2", source=SRC, location="slides 'Proof outline' (Assumption 3 step)",
       statement="At the equilibrium, 2 (grad_G grad_D V)^T (grad_G grad_D V) = grad^2_G ||grad_D V||^2 (the coefficient, "
                 "lost in the slides' text extraction, is 2).", convention=CONV,
       mutants={"factor-1": ("the identity without the factor 2", lambda: check_factor2(1))})
def proof_factor2():
    return check_factor2(2)
