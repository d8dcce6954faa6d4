"""Gaussian expectations against mpmath.quad at 30 digits, up to |psi| = 10 (issue 16)."""

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
import torch

from stabcheck.games.gaussexp import TorchGaussExp, gaussexp_mpmath, gaussexp_numpy, is_smooth

t = sp.Symbol("t")
LOSSES = {
    "log-sigmoid": sp.Lambda(t, -sp.log(1 + sp.exp(-t))),
    "softplus'": sp.Lambda(t, 1 / (1 + sp.exp(-t))),
    "hinge": sp.Lambda(t, sp.Min(0, -1 + t)),
}


def reference(g_mp, m, s, dps=30):
    """E[g(m + s U)] by tanh-sinh on the real line, split wherever the integrand has structure."""
    with mp.workdps(dps):
        m, s = mp.mpf(m), mp.mpf(s)
        pts = sorted({mp.mpf(0), mp.mpf(12), mp.mpf(-12)} | {(k - m) / s for k in (-8, -1, 0, 1, 8)})
        f = lambda u: g_mp(m + s * u) * mp.exp(-u * u / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
        return mp.quad(f, [-mp.inf] + pts + [mp.inf])


CASES = [(m, s) for m in (-3.0, -0.7, 0.0, 0.4, 2.0) for s in (0.05, 0.5, 1.0, 1.5, 3.0, 6.0, 10.0)]


@pytest.mark.parametrize("name", list(LOSSES))
def test_float64_and_torch_agree_with_mpmath_quad(name):
    G = LOSSES[name]
    gn = sp.lambdify(t, G.expr, "numpy")
    gm = sp.lambdify(t, G.expr, "mpmath")
    ms = np.array([c[0] for c in CASES])
    ss = np.array([c[1] for c in CASES])
    ref = np.array([float(reference(gm, m, s)) for m, s in CASES])
    got = gaussexp_numpy(gn, ms, ss ** 2, is_smooth(G))
    scale = np.maximum(1.0, np.abs(ref))
    assert np.max(np.abs(got - ref) / scale) < 5e-14, name
    if name != "hinge":  # torch's lambdify of Min works, but keep the smooth ones for autodiff
        tg = TorchGaussExp(G)(torch.tensor(ms, dtype=torch.float64), torch.tensor(ss ** 2, dtype=torch.float64))
        assert np.max(np.abs(tg.numpy() - ref) / scale) < 5e-14


@pytest.mark.parametrize("dps", [30, 50])
def test_mpmath_backend_is_accurate_to_its_precision(dps):
    G = LOSSES["log-sigmoid"]
    gm = sp.lambdify(t, G.expr, "mpmath")
    for m, s in [(2.0, 3.0), (0.4, 10.0), (-0.7, 0.5)]:
        ref = reference(gm, m, s, dps=dps + 20)
        with mp.workdps(dps):
            got = gaussexp_mpmath(gm, mp.mpf(m), mp.mpf(s) ** 2)
        assert abs(got - ref) < mp.mpf(10) ** (-(dps - 3)), (m, s, dps)
