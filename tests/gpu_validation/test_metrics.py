import numpy as np
import pytest

from gpu_validation import metrics


def test_w1_exact_matches_the_transport_linear_program():
    """W1 between two uniform empirical measures against an independent solver: the full
    optimal-transport LP (all couplings, not only permutations) solved by HiGHS."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(1)
    n = 20
    x, y = rng.standard_normal((n, 2)), rng.standard_normal((n, 2)) + 0.3
    cost = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=-1).ravel()
    rows = np.kron(np.eye(n), np.ones(n))  # sum_j P_ij = 1/n
    cols = np.kron(np.ones(n), np.eye(n))  # sum_i P_ij = 1/n
    lp = linprog(cost, A_eq=np.vstack([rows, cols]), b_eq=np.full(2 * n, 1 / n), bounds=(0, None), method="highs")
    assert lp.status == 0
    assert metrics.wasserstein1_exact(x, y) == pytest.approx(lp.fun, rel=1e-9)


def test_w1_of_a_translation_is_its_length():
    x = np.random.default_rng(2).standard_normal((40, 2))
    assert metrics.wasserstein1_exact(x, x + np.array([0.3, -0.4])) == pytest.approx(0.5, rel=1e-12)
    assert metrics.wasserstein1_exact(x, np.full_like(x, np.nan)) == float("inf")


def test_frechet_distance_of_gaussians():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((20000, 3))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    # N(0, I) vs N(m, 4I): |m|^2 + tr(I + 4I - 2*2I) = |m|^2 + 3
    b = 2 * rng.standard_normal((20000, 3)) + np.array([1.0, 0, 0])
    assert metrics.frechet_distance(a, b) == pytest.approx(4.0, rel=0.05)


def test_digits_classifier_and_fd_evaluator():
    torch = pytest.importorskip("torch")
    from gpu_validation import data
    from gpu_validation.train import config_from_profile

    d = data.load("digits")
    ev = metrics.evaluator(d, config_from_profile("test", dataset="digits", gan="bce", method="sim"), {})
    real = torch.from_numpy(d.images[:200])
    noise = torch.rand(200, 1, 8, 8) * 2 - 1
    r, n = ev(real), ev(noise)
    assert r["classifier_acc"] > 0.9
    assert r["fd"] < n["fd"]  # real digits are closer to real digits than uniform noise is
