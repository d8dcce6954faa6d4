"""Must hold (issue 7): the matrix-free spectrum agrees with the dense Jacobian's eigenvalues
on a network small enough to form it."""

import numpy as np
import pytest
import torch

from gpu_validation import gans, methods, models, spectrum


def _tiny(gan_spec, method_spec, seed=0):
    torch.manual_seed(seed)
    gan = gans.make_gan(gan_spec)
    method = methods.make_method(method_spec)
    pair = models.build("mlp", (2,), width=3, depth=1, latent=2, seed=seed, sn=gan.arch.get("sn", False))
    pair.gen.double()
    pair.disc.double()
    gp = {k: v.double() for k, v in models.params_of(pair.gen).items()}
    dp = {k: v.double() for k, v in models.params_of(pair.disc).items()}
    db = {k: v.double() for k, v in models.buffers_of(pair.disc).items()}
    g = torch.Generator().manual_seed(seed + 1)
    draws = {"z": torch.randn(8, 2, generator=g, dtype=torch.float64),
             "real": torch.randn(8, 2, generator=g, dtype=torch.float64) * 0.5}
    draws.update({k: v.double() for k, v in gan.draw(8, (2,), g).items()})
    return gan, pair, method, gp, dp, db, draws


@pytest.mark.parametrize("gan_spec, method_spec, seq", [
    ("bce", "sim", ["V3"]),
    ("wgan", "sim", ["V3"]),
    ("r1:gamma=1", "sim", ["V3"]),
    ("bce", "alt:n_d=2", ["V2", "V2", "V1"]),
    ("bce", "jare:gamma=0.5", ["V3"]),
])
def test_matrix_free_matches_dense(gan_spec, method_spec, seq):
    gan, pair, method, gp, dp, db, draws = _tiny(gan_spec, method_spec)
    eta = 0.05
    F = spectrum.build_map(gan, pair, method, db, draws, gp, dp, eta, seq)
    x = torch.cat([v.reshape(-1) for v in list(gp.values()) + list(dp.values())])
    dense = torch.func.jacfwd(F)(x).numpy()  # test only: the network is tiny (n = 30)
    assert dense.shape == (30, 30)
    lam = np.linalg.eigvals(dense)
    mu = (lam - 1) / eta
    res = spectrum.top_eigs(F, x, eta, k=4, tol=1e-12)
    assert res["status"] == "ok"
    got = np.array([complex(a, b) for a, b in res["mu"]])
    # every eigenvalue found matrix-free is an eigenvalue of the dense Jacobian
    for m in got:
        assert np.min(np.abs(mu - m)) < 1e-6 * max(1.0, abs(m))
    # the largest real parts agree
    top_dense = np.sort(mu.real)[::-1][:4]
    top_free = np.sort(got.real)[::-1][:4]
    np.testing.assert_allclose(top_free, top_dense, rtol=1e-6, atol=1e-8)
    # the spectral radius of the map agrees
    assert res["spectral_radius"] == pytest.approx(np.max(np.abs(lam)), rel=1e-9, abs=1e-12)


def test_perturbation_follows_the_leading_eigenvalue_on_a_linear_map():
    """On a linear map the perturbation test is exact: measured = predicted growth."""
    rng = np.random.default_rng(0)
    A = torch.from_numpy(np.eye(12) + 0.05 * rng.standard_normal((12, 12)))
    F = lambda x: A @ x  # noqa: E731
    x = torch.from_numpy(rng.standard_normal(12))
    res = spectrum.top_eigs(F, x, 0.05, k=3, tol=1e-12, vectors=True)
    assert res["spectral_radius"] == pytest.approx(max(abs(np.linalg.eigvals(A.numpy()))), rel=1e-9)
    p = spectrum.perturbation_test(F, x, res["lead_lambda"], res["lead_vec"], K=15)
    assert p["agrees"]
    assert p["measured_growth"] == pytest.approx(p["predicted_growth"], rel=1e-6)


def test_analyze_state_end_to_end():
    from gpu_validation.train import Trainer, config_from_profile

    tr = Trainer(config_from_profile("test", dataset="line", gan="wgan", method="sim", width=4, iterations=5))
    for _ in range(5):
        d = tr.draw()
        tr.step(d)
    out = spectrum.analyze_trainer(tr, d, k=3, perturb=True)
    assert out["status"] in ("ok", "partial") and out["map"] == "V3"
    assert np.isfinite(out["spectral_radius"]) and out["n_params"] == (10 * 4 + 4) + 4 * (4 * 4 + 4) + (4 * 2 + 2) + (2 * 4 + 4) + 4 * (4 * 4 + 4) + (4 + 1)
    assert out["perturbation"]["K"] == 20
