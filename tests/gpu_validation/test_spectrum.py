"""Must hold (issue 7, issue 11 point 3): the harness's checkpoint spectra come from
stabcheck.nn (one implementation of the map); the matrix-free spectrum agrees with the dense
Jacobian of the same map on networks small enough to form it; a live Trainer is analysed with
the optimizer that trained it."""

import numpy as np
import pytest
import torch

from gpu_validation import gans, methods, models, spectrum


def _tiny(gan_spec, method_spec, seed=0):
    torch.manual_seed(seed)
    gan = gans.make_gan(gan_spec)
    method = methods.make_method(method_spec)
    pair = models.build("mlp", (2,), width=3, depth=1, latent=2, seed=seed, sn=gan.arch.get("sn", False))
    gp = {k: v.double() for k, v in models.params_of(pair.gen).items()}
    dp = {k: v.double() for k, v in models.params_of(pair.disc).items()}
    db = {k: v.double() for k, v in models.buffers_of(pair.disc).items()}
    g = torch.Generator().manual_seed(seed + 1)
    draws = {"z": torch.randn(8, 2, generator=g, dtype=torch.float64),
             "real": torch.randn(8, 2, generator=g, dtype=torch.float64) * 0.5}
    draws.update({k: v.double() for k, v in gan.draw(8, (2,), g).items()})
    return gan, pair, method, gp, dp, db, draws


@pytest.mark.parametrize("gan_spec, method_spec, choice", [
    ("bce", "sim", "V3"),
    ("wgan", "sim", "V3"),
    ("r1:gamma=1", "sim", "V3"),
    ("bce", "alt:n_d=2", "V2"),
    ("bce", "jare:gamma=0.5", "V3"),
    ("bce", "dyn-gda", "V1"),
])
def test_matrix_free_matches_dense(gan_spec, method_spec, choice):
    gan, pair, method, gp, dp, db, draws = _tiny(gan_spec, method_spec)
    eta = 0.05
    res, pm, label = spectrum._spectrum(gan, pair, method, gp, dp, db, draws, choice, eta=eta, k=4,
                                        arpack_tol=1e-13, field_k=0)
    dense = torch.func.jacfwd(pm.step)(pm.z).numpy()  # test only: the network is tiny (n = 30)
    assert dense.shape == (30, 30)
    lam = np.linalg.eigvals(dense)
    assert res.arpack_status.startswith("converged") and res.n_converged >= 4
    for w in res.eigenvalues:  # every eigenvalue found matrix-free is one of the dense Jacobian's
        assert np.min(np.abs(lam - w)) < 1e-9
    top = np.sort(np.abs(lam))[::-1][: len(res.eigenvalues)]  # and they have the largest moduli
    np.testing.assert_allclose(np.sort(np.abs(res.eigenvalues))[::-1], top, atol=1e-9)
    assert res.spectral_radius == pytest.approx(np.max(np.abs(lam)), abs=1e-9)
    # the map is the method's: one V3 step, one Alt period (2 V2 + 1 V1), or the oracle's one choice
    want_rule = {"sim": "sim", "alt:n_d=2": "alt:n_d=2,n_g=1,first=discriminator"}.get(method_spec.split("+")[0],
                                                                                       "sim" if "jare" in method_spec
                                                                                       else f"choice:field={choice}")
    assert res.rule == want_rule


def test_perturbation_follows_the_leading_eigenvalue_on_a_linear_map():
    """On a linear map the perturbation test is exact: measured = predicted growth."""
    rng = np.random.default_rng(0)
    A = torch.from_numpy(np.eye(12) + 0.05 * rng.standard_normal((12, 12)))
    F = lambda x: A @ x  # noqa: E731
    x = torch.from_numpy(rng.standard_normal(12))
    w, V = np.linalg.eig(A.numpy())
    i = int(np.argmax(np.abs(w)))
    p = spectrum.perturbation_test(F, x, complex(w[i]), V[:, i], K=15)
    assert p["agrees"]
    assert p["measured_growth"] == pytest.approx(p["predicted_growth"], rel=1e-6)
    # a linear map's Jacobian is the same along the trajectory
    assert p["trajectory_growth"] == pytest.approx(p["predicted_growth"], rel=1e-9)
    assert p["one_step_log_error"] < 1e-9 and p["trajectory_log_error"] < 1e-6


def test_perturbation_test_separates_a_moving_jacobian_from_nonlinearity():
    """On F(x) = x + h * (x - c)^3 / 3 (componentwise) away from its fixed point c the Jacobian
    changes along the trajectory: the K-step prediction from the start fails, the one-step
    prediction and the along-trajectory product hold."""
    h, c = 0.2, torch.zeros(3, dtype=torch.float64)
    F = lambda x: x + h * (x - c) ** 3 / 3  # noqa: E731
    x = torch.tensor([1.0, 0.5, 0.2], dtype=torch.float64)
    lam = 1 + h * 1.0 ** 2  # dF(x) = diag(1 + h (x - c)^2): the leading eigenvector is e_1
    p = spectrum.perturbation_test(F, x, complex(lam), np.array([1.0, 0, 0]), K=10, eps=1e-7)
    assert not p["agrees"]  # x_1 grows, so dF(x_k) grows with it: more growth than lam^K
    assert p["measured_growth"] > 3 * p["predicted_growth"]
    assert p["one_step_log_error"] < 1e-6
    assert p["trajectory_log_error"] < 1e-5


def _trainer(gan="wgan", method="sim", iters=5):
    from gpu_validation.train import Trainer, config_from_profile

    tr = Trainer(config_from_profile("test", dataset="line", gan=gan, method=method, width=4, iterations=iters))
    for _ in range(iters):
        d = tr.draw()
        tr.step(d)
    return tr, d


def test_analyze_trainer_uses_the_runs_optimizer():
    tr, d = _trainer("wgan", "sim")
    out = spectrum.analyze_trainer(tr, d, k=3, perturb=True)
    assert out["status"] in ("ok", "partial") and out["map"] == "V3"
    n = (10 * 4 + 4) + 4 * (4 * 4 + 4) + (4 * 2 + 2) + (2 * 4 + 4) + 4 * (4 * 4 + 4) + (4 + 1)
    assert np.isfinite(out["spectral_radius"]) and out["n_params"] == n
    assert out["perturbation"]["K"] == 20
    # the map that trained: RMSProp (unbounded critic) with the run's second moment and lr
    assert out["optimizer"]["kind"] == "rmsprop" and "torch.optim state" in out["analysed"]
    assert out["eta"] == tr.cfg.lr and out["nn"]["optimizer_source"]["source"] == "torch.optim"
    lam = np.array([complex(*e) for e in out["map_eigenvalues"]])
    mu = np.array([complex(*e) for e in out["mu"]])
    np.testing.assert_allclose(lam, 1 + out["eta"] * mu, atol=1e-12)
    assert list(mu.real) == sorted(mu.real, reverse=True)  # report.py's "leading mu (largest Re)"


def test_checkpoint_spectrum_adam_state_and_snapshot():
    tr, d = _trainer("bce", "sim", iters=3)
    res = spectrum.checkpoint_spectrum(tr, d, k=2, tol=1e-6, field_k=1)
    assert res["schema"] == "stabcheck.nn/1" and res["optimizer"]["kind"] == "adam"
    assert res["state_dim"] == 2 * res["dim"]  # Jacobian w.r.t. (x, m)
    assert res["rule"].startswith("sim:opt=adam")
    assert res["optimizer"]["bias_correction_t"] == 3 and res["optimizer_source"]["steps"] == {
        "generator": [3], "discriminator": [3]}
    assert res["outcome"] in ("all |lambda| <= 1 + tol", "some |lambda| > 1 + tol", "inconclusive")
    # a snapshot without optimizer state gives the plain gradient map, and says so
    snap = tr.snapshot(d, spectrum._last_choice(tr))
    assert snap["optim"]["kind"] == "adam"  # the harness's snapshots carry the optimizer's state
    bare = {k: v for k, v in snap.items() if k != "optim"}
    plain = spectrum.analyze_state(tr.gan, tr.pair, tr.method, bare, eta=tr.cfg.lr, k=2)
    assert plain["optimizer"]["kind"] == "sgd" and "plain gradient map" in plain["analysed"]
    assert plain["state_dim"] == plain["n_params"]
    # with the optimizer state in the snapshot it is the run's map again (same eigenvalues)
    again = spectrum.analyze_state(tr.gan, tr.pair, tr.method, snap, eta=tr.cfg.lr, k=2)
    assert again["optimizer"]["kind"] == "adam" and again["state_dim"] == res["state_dim"]
    top = lambda eigs: sorted(np.abs([complex(*e) for e in eigs]))[::-1][:2]  # noqa: E731
    conv = [e for e, c in zip(res["eigenvalues"], res["converged"]) if c]
    np.testing.assert_allclose(top(again["map_eigenvalues"]), top(conv), atol=1e-9)
