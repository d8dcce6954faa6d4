"""JARE's sign and the method specs."""

import numpy as np
import pytest
import torch

from gpu_validation import methods
from stabcheck.errors import BadInput
from stabcheck.oracles import AltOracle, DynGDAOracle, SimOracle


def test_jare_damps_the_bilinear_game():
    """L(theta, psi) = theta*psi: v = (-psi, theta); JARE gives (-psi - g*theta, theta - g*psi)
    (derived by hand: grad_theta 1/2 ||grad_psi L||^2 = theta, grad_psi 1/2 ||grad_theta L||^2 = psi)."""
    vg = lambda gp, dp: {"t": -dp["p"]}  # noqa: E731
    vd = lambda gp, dp: {"p": gp["t"]}  # noqa: E731
    g = 0.7
    vg2, vd2 = methods.Jare(g)(vg, vd)
    th, ps = torch.tensor([1.3], dtype=torch.float64), torch.tensor([-0.4], dtype=torch.float64)
    assert float(vg2({"t": th}, {"p": ps})["t"]) == pytest.approx(0.4 - g * 1.3)
    assert float(vd2({"t": th}, {"p": ps})["p"]) == pytest.approx(1.3 - g * -0.4)
    J = torch.func.jacfwd(lambda x: torch.cat([vg2({"t": x[:1]}, {"p": x[1:]})["t"],
                                               vd2({"t": x[:1]}, {"p": x[1:]})["p"]]))(torch.cat([th, ps]))
    ev = np.linalg.eigvals(J.numpy())
    np.testing.assert_allclose(sorted(ev.real), [-g, -g], atol=1e-12)  # damped: eigenvalues -g +- i


def test_method_specs_use_the_package_oracles():
    assert isinstance(methods.make_method("sim").oracle, SimOracle)
    m = methods.make_method("alt:n_d=5")
    assert isinstance(m.oracle, AltOracle) and m.oracle.n_d == 5
    d2 = methods.make_method("dyn-gda", "2d").oracle
    di = methods.make_method("dyn-gda", "image").oracle
    assert isinstance(d2, DynGDAOracle) and (d2.c1, d2.c2) == (1.1, 0.75) and (di.c1, di.c2) == (1.2, 0.8)
    j = methods.make_method("jare:gamma=2")
    assert isinstance(j.oracle, SimOracle) and j.transforms[0].gamma == 2.0
    k = methods.make_method("dyn-gda:c1=1.3,c2=0.7+jare")
    assert k.oracle.c1 == 1.3 and len(k.transforms) == 1


def test_user_oracle_by_import_path():
    m = methods.make_method("stabcheck.oracles:AltOracle:n_d=3")
    assert isinstance(m.oracle, AltOracle) and m.oracle.n_d == 3
    with pytest.raises(BadInput):
        methods.make_method("nosuchpkg.mod:Thing")


def test_dyn_gda_sees_real_high_projections():
    """Real scores above every fake -> V1 (after the first, forced V2, decision)."""
    m = methods.make_method("dyn-gda:reuse_real=false")
    hi, lo = np.array([2.0, 3.0]), np.array([-1.0, 0.0])
    assert m.choose(0, lambda: (hi, lo)).value == "V2"
    assert m.choose(1, lambda: (hi, lo)).value == "V1"
    assert m.choose(2, lambda: (lo, hi)).value == "V2"
    assert m.orders == ["f", "f", "r"] and m.divergences == [3.0, 3.0, 3.0]


def test_reuse_real_after_v1_only():
    """Section 4.3: after a V1 decision the previous real projections are reused (the
    discriminator did not move); after V2 the new real batch is projected."""
    m = methods.make_method("dyn-gda")  # reuse_real=true is the default
    assert m.reuse_real and m.spec.endswith("decide_on=logit,reuse_real=true")
    hi, lo = np.array([2.0, 3.0]), np.array([-1.0, 0.0])
    assert m.choose(0, lambda: (hi, lo)).value == "V2"  # first: V2
    assert m.choose(1, lambda: (hi, lo)).value == "V1"  # disjoint, fakes below: V1
    # after V1 the real batch's projections (lo, as the new batch says) are NOT used: hi is reused
    c = m.choose(2, lambda: (lo, hi))
    assert m.orders[-1] == "o" and m.divergences[-1] == 0.0 and c.value == "V1"  # w = W1(hi, hi) = 0
    m2 = methods.make_method("dyn-gda:reuse_real=false")
    for i, pr in enumerate([(hi, lo), (hi, lo), (lo, hi)]):
        m2.choose(i, lambda pr=pr: pr)
    assert m2.orders[-1] == "r"


def test_decide_on_prob_uses_the_sigmoid_for_bounded_discriminators():
    from scipy.special import expit

    r, f = np.array([0.5, 2.0, -1.0]), np.array([0.0, 1.0, 3.0])
    lo = methods.make_method("dyn-gda", bounded=True)
    pr = methods.make_method("dyn-gda:decide_on=prob", bounded=True)
    crit = methods.make_method("dyn-gda:decide_on=prob", bounded=False)  # a critic: its raw value is d
    for m in (lo, pr, crit):
        m.choose(0, lambda: (r, f))
    from stabcheck.oracles import wasserstein1_1d

    assert lo.divergences[0] == pytest.approx(wasserstein1_1d(r, f))
    assert pr.divergences[0] == pytest.approx(wasserstein1_1d(expit(r), expit(f)))
    assert crit.divergences[0] == lo.divergences[0]
    with pytest.raises(BadInput, match="bounded"):
        methods.make_method("dyn-gda:decide_on=prob")  # who does not say whether d is bounded cannot decide
    with pytest.raises(BadInput):
        methods.make_method("dyn-gda:decide_on=odds", bounded=True)
