import numpy as np
import pytest

from stabcheck.certify import certify_local
from stabcheck.errors import BadInput


def _sim_bce_r1(eta=0.1, gamma=1.0):
    """Sim-GDA on the BCE Dirac-GAN with R1 (Mescheder convention, f'(t) = sigmoid(-t))."""
    def F(x):
        th, ps = x
        fp = 1.0 / (1.0 + np.exp(ps * th))
        return np.array([th - eta * fp * ps, ps + eta * (fp * th - gamma * ps)])
    return F


def test_local_certificate_and_region_estimate():
    F = _sim_bce_r1()
    res = certify_local(F, [0.0, 0.0], J_exact=[["1", "-1/20"], ["1/20", "9/10"]])
    assert res.certificate.status == "certified"
    assert res.level is not None and res.level > 0
    assert "not a proof" in res.statement and res.to_json()["region_is_estimate"] is True
    # independent check: V decreases on fresh random samples inside the estimated level set
    P = np.array(res.certificate.P)
    rng = np.random.default_rng(123)
    L = np.linalg.cholesky(P)
    for _ in range(2000):
        u = rng.standard_normal(2)
        u /= np.linalg.norm(u)
        x = np.linalg.solve(L.T, u) * np.sqrt(res.level * rng.uniform(0.01, 1.0))
        y = F(x)
        assert y @ P @ y < x @ P @ x


def test_no_local_claim_without_certificate():
    eta = 0.1

    def F(x):  # Sim-GDA on the WGAN Dirac-GAN: rho = sqrt(1 + eta^2) > 1
        return np.array([x[0] - eta * x[1], x[1] + eta * x[0]])

    res = certify_local(F, [0.0, 0.0])
    assert res.certificate.status == "not certified" and res.level is None


def test_not_a_fixed_point():
    with pytest.raises(BadInput):
        certify_local(lambda x: x + 1.0, [0.0, 0.0])
