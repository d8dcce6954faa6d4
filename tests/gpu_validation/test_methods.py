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
    m = methods.make_method("dyn-gda")
    hi, lo = np.array([2.0, 3.0]), np.array([-1.0, 0.0])
    assert m.choose(0, lambda: (hi, lo)).value == "V2"
    assert m.choose(1, lambda: (hi, lo)).value == "V1"
    assert m.choose(2, lambda: (lo, hi)).value == "V2"
