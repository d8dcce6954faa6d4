"""The checks, fed statements made false on purpose and inputs whose answers are known
independently (hand-derived closed forms), must come out accordingly."""

import math

import sympy as sp

from stabcheck.claims import deoliveira as D
from stabcheck.claims import mescheder as M
from stabcheck.claims import nagarajan_kolter as NK
from stabcheck.claims import nie_patel as NP

I = sp.I


# ------------------------------------------------------------------ Mescheder

def test_field_eigenvalues_true_and_false():
    assert M.check_field_eigenvalues(lambda fp: [fp * I, -fp * I]).verdict == "holds"
    r = M.check_field_eigenvalues(lambda fp: [2 * fp * I, -2 * fp * I])   # a factor 2 too many
    assert r.verdict == "refuted" and r.command.startswith("stabcheck analyze")
    assert M.check_field_eigenvalues(lambda fp: [-fp, -fp]).verdict == "refuted"   # "convergent"


def test_invariant_true_and_false():
    assert M.check_invariant(M.theta ** 2 + M.psi ** 2).verdict == "holds"
    assert M.check_invariant(M.theta ** 2 + 2 * M.psi ** 2).verdict == "refuted"


def test_sim_gda_wrong_sign_or_modulus():
    ok = M.check_sim(lambda h, fp: [1 + h * fp * I, 1 - h * fp * I], lambda h, fp: sp.sqrt(1 + h ** 2 * fp ** 2))
    assert ok.verdict == "holds"
    bad = M.check_sim(lambda h, fp: [1 - h * fp + 0 * I, 1 - h * fp], lambda h, fp: 1 - h * fp)
    assert bad.verdict == "refuted"
    bad_mod = M.check_sim(lambda h, fp: [1 + h * fp * I, 1 - h * fp * I], lambda h, fp: 1 + h * fp)
    assert bad_mod.verdict == "refuted"


def test_alt_gda_wrong_alpha():
    def wrong(alpha):  # alpha without the square root: alpha^2 -> alpha
        a = 1 - alpha / 2
        return [a + sp.sqrt(a ** 2 - 1), a - sp.sqrt(a ** 2 - 1)]

    r = M.check_alt(wrong, losses=("wgan",), counts=(1, 2))
    assert r.verdict == "refuted" and "alt" in r.command


def test_instance_noise_one_sided_factor_is_refuted():
    half = lambda fp, fpp, s: [fpp * s ** 2 / 2 + sp.sqrt(fpp ** 2 * s ** 4 / 4 - fp ** 2),  # noqa: E731
                               fpp * s ** 2 / 2 - sp.sqrt(fpp ** 2 * s ** 4 / 4 - fp ** 2)]
    r = M.check_instance_noise(half, losses=("bce",))
    assert r.verdict == "refuted" and "--reg noise" in r.command


def test_nonconvergence_claim_fails_for_a_convergent_game():
    # BCE with instance noise converges for small steps (Re eig = -sigma^2/4 < 0): "does not converge" is false
    r = M.check_nonconvergence("bce", regs=("noise:sigma=1",), etas=(0.1,), nds=(1,))
    assert r.verdict == "refuted" and "--reg noise:sigma=1" in r.command


def test_wgan_qc_vector_form_holds_when_it_is_the_printed_one():
    # with the smooth vector form as the statement, the check holds outright
    assert M.check_wgan_qc(printed_gr="vector", corrected_gr="vector").verdict == "holds"


# ------------------------------------------------------------------ Nagarajan & Kolter

def test_main_lemma_needs_full_rank():
    r = NK.check_local_stability(games=(([1], "1/4"),), require_full_rank=False, n_fuzz=14)
    assert r.verdict == "refuted"


def test_exists_claim_without_a_witness_is_inconclusive():
    r = NK.check_exists_nonconvergent(candidates=(("bce", ("noise:sigma=1",)),))
    assert r.verdict == "inconclusive"


# ------------------------------------------------------------------ Nie & Patel

def test_thm1_swapped_pairs_are_refuted():
    def swapped(s2, b2):
        l12, l34 = NP._thm1_printed(s2, b2)
        return l34, l12

    grid = (([4], "1/25"), ([0, 0, 2], 1))
    assert NP.check_thm1(NP._thm1_printed, grid=grid).verdict == "holds"
    r = NP.check_thm1(swapped, grid=grid)
    assert r.verdict == "refuted" and "--system gaussian" in r.command


def test_cor1_wrong_bound():
    r = NP.check_cor1(lambda z: 2 / math.sqrt(1 + z * z), lambda z: (1 + 1 / (z * z)) ** -0.5, s2s=(0.5,))
    assert r.verdict == "refuted"


def test_thm3_wrong_determinant():
    def wrong(s2, b2, g):
        def pair(a):
            r = sp.sqrt((a + g) ** 2 - (g ** 2 + 2))   # 2 instead of 4
            return [(-(a + g) + r) / 4, (-(a + g) - r) / 4]
        return pair(s2), pair(b2)

    r = NP.check_thm3(wrong, games=(((3,), 1),))
    assert r.verdict == "refuted" and "jare:gamma=" in r.command


def test_cor3_threshold_below_the_turning_point_is_refuted():
    # tau increases for gamma < 4/beta2 (about 0.25 here): claiming monotone decrease from 0.1 is false
    assert NP.check_cor3(gamma_threshold=0.1).verdict == "refuted"


def test_eta_max_wrong_factor():
    r = NP.check_eta_max(lambda s2, b2, g: 0.5 * NP._eta_max_printed(s2, b2, g), games=(((0, 4), "1/25"),),
                         gammas=(0, 1, 10))
    assert r.verdict == "refuted"


def test_thm4_holds_on_square_full_rank_instances():
    assert NP.check_thm4(shapes=((2, 2), (1, 3)), per_shape=4, extra=()).verdict == "holds"
    assert NP.check_thm4(shapes=((2, 1),), per_shape=2, extra=()).verdict == "holds with correction"


# ------------------------------------------------------------------ DeOliveira

def test_eq9_wrong_factor():
    r = D.check_eq9(lambda l: (1 / abs(l.real)) * 1 / (1 + (l.imag / l.real) ** 2))
    assert r.verdict == "refuted"


def test_eq13_with_f_prime_is_printed_correctly():
    r = D.check_eq13(lambda nd, ng, fp_or_grad: 2 / math.sqrt(ng * nd),   # WGAN: |f'(0)| = 1
                     lambda nd, ng, fp: 2 / (sp.sqrt(ng * nd) * abs(fp)), losses=("wgan",), nds=(1, 4))
    assert r.verdict == "holds"


def test_lemma_d2_true_formula_holds():
    # the exact one-step change of H for a V1 step: -eta theta g + eta^2 g^2 / 2
    r = D.check_lemma_d2(lambda t, p, eta, g: -eta * t * g + eta * eta * g * g / 2,
                         lambda t, p, eta, g: t * g > 0 and eta <= 2 * t / g)
    assert r.verdict == "holds"


def test_lemma_d5_conclusion_and_its_proof_step_are_separate():
    # conclusion: the printed condition allows eta < 1 near x*, where W = max(|theta|, |psi|) cannot grow
    assert D.check_lemma_d5().verdict == "holds"
    # the proof's device (H non-increasing) fails as printed; the exact one-step condition holds
    r = D.check_d5_step()
    assert r.verdict == "holds with correction" and "2 |theta|" in r.correction
    # a condition that allows eta = 4 near x* is refuted by a divergent run
    assert D.check_lemma_d5(lambda t, p, eta: D._d5_cond(t, p, eta, 4)).verdict == "refuted"


def test_continuous_time_with_a_growing_function_is_refuted():
    r = D.check_continuous(losses=("wgan",), H=lambda th, ps: th * ps)
    assert r.verdict == "refuted"


def test_fig2_with_an_impossible_target_is_refuted():
    r = D.check_fig2(target_log10=-200, steps=(2000,), n=4, n_f32=0)
    assert r.verdict == "refuted"


def test_thm41_linear_only_holds():
    assert D.check_thm41(discriminators=("linear",)).verdict == "holds"


def test_thm51_small_steps_only():
    o = D.check_thm51(etas=(0.5,), starts=((0.7, -0.3),), steps=300)   # the first half, as an Outcome
    assert o.ok is True and o.draws == 1
    assert D.check_thm51(etas=(2.5,), starts=((1.0, 1.0),), steps=300).ok is False


# ------------------------------------------------------------------ issue 13: domains, distributions, halves

def test_cor3_is_proved_on_its_stated_domain():
    r = NP.check_cor3(2)
    assert r.verdict == "holds" and r.evidence_kind == "proof"
    assert r.domain and any("beta^2 > 2" in h["statement"] for h in r.domain["hypotheses"])


def test_cor3_on_a_widened_domain_finds_the_counterexample():
    from stabcheck.claims.domain import Var

    r = NP.check_cor3(2, NP.COR3_DOMAIN.widened(beta2=Var("beta2", 1, None, lo_open=False)))
    assert r.verdict == "refuted" and r.evidence_kind == "search" and r.draws >= 1
    # by hand: d tau/d gamma has the sign of 4 - beta2 gamma, positive at beta2 = 1, gamma in [2, 4)
    assert "beta2 = 1" in r.counterexample


def test_cor3_out_of_domain_is_not_a_refutation():
    r = NP.check_cor3(2, game=([0, 0, 1], "1/2"))        # beta2 = 3/2 < 2
    assert r.verdict == "inconclusive" and r.out_of_domain
    assert NP.check_cor3(2, game=([0, 4], "1/25")).verdict == "holds"


def test_tau_turning_point_matches_the_hand_derivation():
    # tau(gamma) on beta2 = 1 (tau + 1/tau + 2 = 4 (b + g)^2/(g^2 + 4)): increases on [2, 4), decreases after 4
    def tau(b, g):
        k = 4 * (b + g) ** 2 / (g * g + 4)
        return ((math.sqrt(k) + math.sqrt(k - 4)) / 2) ** 2
    assert tau(1, 2) < tau(1, 3) < tau(1, 4) > tau(1, 5)


def test_fig2_is_not_an_unqualified_holds():
    r = D.check_fig2(steps=(1000, 3000), n=6, n_f32=0)
    assert r.verdict != "holds"
    assert "% of starts at 1000 steps" in r.evidence and r.draws == 12


def test_superlinear_is_refuted_with_a_rate():
    r = D.check_rate("superlinear", n=1, steps=300)
    assert r.verdict == "refuted" and r.evidence_kind == "proof"
    # sigma_min of [[1, 0.1], [0, 1]] = (sqrt(0.1^2 + 4) - 0.1)/2, by hand
    smin = (math.sqrt(0.01 + 4) - 0.1) / 2
    assert f"{-1000 * math.log10(smin):.4g}" in r.evidence
    assert D.check_rate("linear", 20.0, n=1, steps=300).verdict == "holds"   # below the 21.71 bound


def test_thm51_second_half_is_decided_on_stated_games():
    o = D.check_thm51_convergent(cases=[("dirac-bce-noise1", 0.5, 1)], steps=800, long_steps=0)
    assert o.ok is True and o.draws == 1
    assert "dirac --loss bce --reg noise:sigma=1" in " ".join(o.domain["constants"]["games"])
    # a start from which Dyn-GDA stalls (the discriminator freezes) is undecided within the horizon, not refuted
    o = D.check_thm51_convergent(cases=[("dirac-bce-noise1", 0.1, 1)], steps=2000, long_steps=0)
    assert o.ok is None and "frozen" in o.evidence
    # dropping the hypothesis (Sim and Alt diverge at eta = 2.5 on the WGAN Dirac-GAN) refutes it
    o = D.check_thm51_convergent(cases=[("dirac-wgan", 2.5, 1)], steps=300, long_steps=0, require_hypothesis=False)
    assert o.ok is False


def test_thm2_takes_the_methods_and_jare_breaks_it():
    r = NP.check_thm2(methods=("jare",))
    assert r.verdict == "refuted" and "jare" in r.evidence and r.evidence_kind == "search"
    g = NP.check_thm2(methods=("genreg",))
    # by hand: genreg's beta block has p1 = gamma/4 + a/2, p0 = 1/4, so kappa grows with gamma: tau only grows
    assert g.verdict == "holds" and g.evidence_kind == "proof" and "gamma*(4*a + gamma)/4" in g.evidence


def test_lemma1_is_a_proof_and_joint_concavity_is_refuted():
    r = NP.check_lemma1("per-player")
    assert r.verdict == "holds" and r.evidence_kind == "proof"
    assert NP.check_lemma1("joint").verdict == "refuted"


def test_new_statements_have_derived_verdicts():
    assert D.check_w_divergence().verdict == "holds with correction"
    assert D.check_w_divergence(lambda t, p: abs(t)).verdict == "holds"       # the right formula
    assert D.check_lemma43().verdict == "refuted" and D.check_lemma42().verdict == "holds"
    assert D.check_eq11().verdict == "refuted" and D.check_eq11(1, 1).verdict == "holds"   # Algorithm 1's own signs
    assert D.check_validation_statement("dyn-best", obs=D._synthetic_obs()).verdict == "refuted"
    assert NP.check_lemma3().verdict == "holds with correction"
    assert NP.check_lemma3(lambda m, n: ((m, n), (n, n))).verdict == "holds"
    assert NK.check_linearization("asymptotic").verdict == "refuted"


def test_validation_claims_without_records_are_inconclusive(monkeypatch):
    monkeypatch.delenv(D.RUNS_ENV, raising=False)
    r = D.check_validation_statement("dyn-best")
    assert r.verdict == "inconclusive" and "no records" in r.evidence
