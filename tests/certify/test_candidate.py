"""The thesis's potential H = (theta^2 + psi^2)/2 (eq. 12, Lemmas D.2, D.5) for the Dirac oracle."""

from fractions import Fraction

import numpy as np
import pytest

from stabcheck.certify import check_candidate
from stabcheck.oracles import DiracOracle, OracleInput, Choice

from certify_models import dirac_model

H = [["1/2", "0"], ["0", "1/2"]]


@pytest.mark.parametrize("eta", ["1/1000", "1/10", "1", "3"])
def test_thesis_H_grows_on_some_dirac_step(eta):
    modes, regions = dirac_model(eta)
    res = check_candidate(H, modes, regions, eta=float(Fraction(eta)))
    assert res.status == "not certified"
    ce = res.counterexample
    x = [Fraction(v) for v in ce["x_exact"]]
    theta, psi = x
    e = Fraction(eta)
    # independent exact recomputation; by hand, a V1 step changes H by e*psi*(e*psi - 2*theta)/2
    # (> 0 when theta*psi > 0 and e|psi| > 2|theta|); a V2 step by e*theta*(e*theta + 2*psi)/2.
    if ce["mode"] == "V1":
        assert theta * psi > 0
        new = (theta - e * psi, psi)
    else:
        assert theta * psi < 0
        new = (theta, psi + e * theta)
    Hx = (theta ** 2 + psi ** 2) / 2
    Hy = (new[0] ** 2 + new[1] ** 2) / 2
    assert Hy > Hx
    assert ce["growth_ratio"] == pytest.approx(float(Hy / Hx))
    # the thesis's own oracle (thesis convention L = -psi*theta, psi_thesis = -psi) makes that choice
    choice = DiracOracle()(OracleInput(step=0, x=np.array([float(theta), -float(psi)]), n_gen=1))
    assert choice == Choice(ce["mode"])


def test_candidate_that_holds():
    A = np.array([[0.6, -0.3], [0.3, 0.6]])  # a contracting rotation: |Ax| = 0.67 |x|
    res = check_candidate(np.eye(2), [A])
    assert res.status == "certified" and res.exact_check


def test_candidate_on_region_via_s_procedure():
    # Derived by hand: for a V1 step theta' = theta - e*psi and P = [[a, b], [b, c]],
    # V(x') - V(x) = -2 a e theta psi + (a e^2 - 2 b e) psi^2. With b = a e / 2 this is
    # -2 a e theta psi: <= 0 on the V1 cone theta*psi >= 0, > 0 off it.
    modes, regions = dirac_model("1/2")
    e = Fraction(1, 2)
    P = [[Fraction(1), e / 2], [e / 2, Fraction(1)]]
    on_region = check_candidate(P, modes[:1], regions[:1])
    everywhere = check_candidate(P, modes[:1], None)
    assert everywhere.status == "not certified"
    assert on_region.status == "certified"
    # independent sampled check on the region
    A1 = modes[0][1]
    Pf = np.array(P, dtype=float)
    for t in np.linspace(0, 2 * np.pi, 2000):
        x = np.array([np.cos(t), np.sin(t)])
        if x[0] * x[1] >= 0:
            assert (A1 @ x) @ Pf @ (A1 @ x) <= x @ Pf @ x + 1e-12
