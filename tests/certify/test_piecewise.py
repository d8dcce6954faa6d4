"""The Dirac oracle on the WGAN Dirac-GAN (thesis Thm 3.1 / Lemma D.5) as a switched system."""


import numpy as np
import pytest

from stabcheck.certify import piecewise_certificate
from stabcheck.errors import BadInput

from certify_models import dirac_model


def _check_pieces_numerically(P, modes, regions, samples=4000):
    """Independent sampled check of V_j(A_i x) <= V_i(x) for x in R_i, A_i x in R_j."""
    ang = np.linspace(0, 2 * np.pi, samples, endpoint=False)
    X = np.stack([np.cos(ang), np.sin(ang)], 1)
    inr = lambda x, i: all(x @ S @ x >= -1e-12 for S in regions[i])
    worst = -np.inf
    for x in X:
        for i, (_, A, _) in enumerate(modes):
            if not inr(x, i):
                continue
            assert x @ P[i] @ x > 0
            y = A @ x
            for j in range(len(modes)):
                if inr(y, j):
                    worst = max(worst, y @ P[j] @ y - x @ P[i] @ x)
    return worst


@pytest.mark.parametrize("eta", ["1/10", "1/2", "19/10"])
def test_dirac_oracle_wgan_has_nonstrict_piecewise_certificate(eta):
    modes, regions = dirac_model(eta)
    res = piecewise_certificate(modes, regions, strict=False)
    assert res.status == "certified" and res.exact_check and not res.strict
    P = [np.array(p) for p in res.extras["P_pieces"]]
    assert _check_pieces_numerically(P, modes, regions) <= 1e-12


def test_dirac_oracle_has_no_strict_certificate():
    # (0, 1) is a fixed point of V2 (psi += eta*theta = 0) and lies in V2's closed region, so no
    # V can decrease strictly there: the strict search must fail.
    modes, regions = dirac_model("1/10")
    x = np.array([0.0, 1.0])
    assert np.array_equal(modes[1][1] @ x, x)
    res = piecewise_certificate(modes, regions, strict=True)
    assert res.status == "not certified"


def test_dirac_oracle_beyond_eta_2_diverges():
    modes, regions = dirac_model("21/10")
    res = piecewise_certificate(modes, regions, strict=False)
    assert res.status == "not certified"
    assert res.counterexample is not None and res.counterexample["log10_final_growth"] > 10
    # independent check of the trajectory evidence: simulate from the reported start
    x = np.array(res.counterexample["x0"])
    S = regions[0][0]
    lg = 0.0
    for _ in range(res.counterexample["steps"]):
        x = (modes[0][1] if x @ S @ x >= 0 else modes[1][1]) @ x
        lg += np.log10(np.linalg.norm(x))
        x /= np.linalg.norm(x)
    assert lg == pytest.approx(res.counterexample["log10_final_growth"], rel=1e-6)


def test_bad_regions():
    modes, regions = dirac_model("1/10")
    with pytest.raises(BadInput):
        piecewise_certificate(modes, regions[:1])
    with pytest.raises(BadInput):
        piecewise_certificate(modes, [[np.array([[0, 1.0], [0, 0]])], regions[1]])  # not symmetric
