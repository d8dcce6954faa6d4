import numpy as np
import pytest

from gpu_validation import metrics


def test_w1_exact_matches_pot():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((60, 2)), rng.standard_normal((60, 2)) + 0.3
    m = ot.dist(x, y, metric="euclidean")
    ref = ot.emd2(np.full(60, 1 / 60), np.full(60, 1 / 60), m)
    assert metrics.wasserstein1_exact(x, y) == pytest.approx(ref, rel=1e-9)


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
