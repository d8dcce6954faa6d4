import numpy as np
import pytest
import torch

from gpu_validation import data, gans, models
from stabcheck.errors import BadInput


def _s(name, n=2000):
    return data.load(name).sample(n, torch.Generator().manual_seed(0)).numpy()


def test_two_d_sets_have_the_thesis_geometry():
    c = _s("circle")
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 0.5, atol=1e-6)
    ln = _s("line")
    np.testing.assert_allclose(ln[:, 0], ln[:, 1]) and None
    assert ln.min() >= -0.5 and ln.max() <= 0.5
    r = _s("ring:std=0.0")
    np.testing.assert_allclose(np.linalg.norm(r, axis=1), 0.5, atol=1e-6)
    ang = np.round(np.degrees(np.arctan2(r[:, 1], r[:, 0])) % 360, 3)
    assert set(np.unique(ang)) == {0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0}
    sp = _s("spiral")
    assert np.abs(sp).max() < 0.6 and np.abs(sp).max() > 0.4


def test_digits_and_missing_files():
    d = data.load("digits")
    assert d.images.shape == (1797, 1, 8, 8) and d.images.min() >= -1 and d.images.max() <= 1
    with pytest.raises(BadInput, match="--data-root"):
        data.load("cifar10")
    with pytest.raises(BadInput, match="not found"):
        data.load("mnist", data_root=str(__import__("pathlib").Path(__file__).parent))


def _linear_d(w, b):
    return lambda x: x @ w + b


def test_penalties_on_a_linear_discriminator():
    """d(x) = w.x + b has grad_x d = w everywhere: R1 = gamma/2 |w|^2, WGAN-GP = gamma (|w| - 1)^2."""
    w = torch.tensor([0.6, 0.8], dtype=torch.float64) * 3  # |w| = 3
    d = _linear_d(w, 0.1)
    x = torch.randn(5, 2, dtype=torch.float64)
    r1 = gans.GradientPenalty(2.0, "real", 0.0).penalty(d, x, x, {})
    assert float(r1) == pytest.approx(0.5 * 2.0 * 9.0)
    gp = gans.GradientPenalty(2.0, "interp", 1.0).penalty(d, x, x + 1, {"eps": torch.rand(5, 1, dtype=torch.float64)})
    assert float(gp) == pytest.approx(2.0 * (3.0 - 1.0) ** 2)
    g = gans.GradNorm(K=0.83, eps=1e-4).wrap_d(d)(x)
    torch.testing.assert_close(g, 0.83 * (x @ w + 0.1) / (3.0 + 1e-4))


def test_losses_at_chance():
    ns = gans.NonSaturating()
    z = torch.zeros(4)
    assert float(ns.d_objective(z, z)) == pytest.approx(2 * np.log(0.5))
    assert float(ns.g_objective(z)) == pytest.approx(np.log(2))
    assert float(gans.Wasserstein().d_objective(z + 1, z)) == 1.0


def test_spectral_norm_divides_by_the_top_singular_value():
    pair = models.build("mlp", (2,), sn=True, width=6, depth=1)
    params, bufs = models.params_of(pair.disc), models.buffers_of(pair.disc)
    for _ in range(50):
        bufs = pair.disc.sn_buffers({**params, **bufs})
    from gpu_validation.models import _sn_weight

    w = _sn_weight(params["layers.0.weight"], bufs["u0"])
    assert float(torch.linalg.matrix_norm(w, ord=2)) == pytest.approx(1.0, rel=1e-4)


def test_unknown_gan_and_bad_params():
    with pytest.raises(BadInput, match="choose one of"):
        gans.make_gan("lsgan")
    with pytest.raises(BadInput):
        gans.make_gan("r1:gamma=-1")
    assert set(gans.THESIS_EIGHT) <= set(gans.NAMES) and len(gans.THESIS_EIGHT) == 8
