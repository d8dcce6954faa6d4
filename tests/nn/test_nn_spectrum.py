"""Must hold (issue 11, point 3): the matrix-free spectrum of a PyTorch GAN's update map
matches the dense Jacobian of the same map, for Sim, Alt and optimistic GDA with plain steps,
heavy-ball momentum, and the state of live torch Adam / RMSprop optimizers; analytic
eigenvalues on a bilinear game; the outcome and tolerance semantics."""

import json

import numpy as np
import pytest
import torch
import torch.nn as nn

from nn_fixtures import LOSSES, batch, small_gan, trained
from stabcheck.nn import prepare_map, update_map_spectrum

K = 4
MATCH = 1e-8  # the acceptance tolerance on eigenvalues (absolute; |lambda| is O(1))


def _case(rule, opt):
    """(generator, discriminator, keyword arguments) for one map."""
    if opt == "adam":
        G, D, og, od = trained("adam", steps=4)
        return G, D, {"optimizer": (og, od)}
    if opt == "rmsprop":
        G, D, og, od = trained("rmsprop", steps=4)
        return G, D, {"optimizer": (og, od)}
    G, D = small_gan(0)
    if opt == "plain":
        return G, D, {"eta": 0.3}
    # heavy ball from a spec string, linearized at a non-zero momentum state
    dim = sum(p.numel() for p in list(G.parameters()) + list(D.parameters()))
    u = 0.05 * np.random.default_rng(3).standard_normal(dim)
    return G, D, {"eta": 0.3, "optimizer": "opt=sgd,momentum=-0.3,ratio=2", "opt_state": u}


def _dense_eigs(pm):
    J = torch.func.jacrev(pm.step)(pm.z).numpy()  # test only: the state has a few hundred components
    return J, np.linalg.eigvals(J)


@pytest.mark.parametrize("opt", ["plain", "momentum", "adam", "rmsprop"])
@pytest.mark.parametrize("rule", ["sim", "alt:n_d=2", "ogda"])
def test_matrix_free_matches_dense(rule, opt):
    G, D, kw = _case(rule, opt)
    b = batch()
    pm = prepare_map(G, D, LOSSES, b, rule=rule, **kw)
    J, lam = _dense_eigs(pm)
    assert J.shape == (pm.z.numel(),) * 2
    assert J.shape[0] == pm.rule.state_dim(pm.x.numel())
    check_field = rule == "sim"  # the field does not depend on the rule: check it once per point
    res = update_map_spectrum(G, D, LOSSES, b, rule=rule, k=K, arpack_tol=1e-13, field_k=2 if check_field else 0,
                              **kw)
    assert res.n_converged == K and res.arpack_status == "converged"
    got = res.eigenvalues
    # every eigenvalue found matrix-free is an eigenvalue of the dense Jacobian
    for w in got:
        assert np.min(np.abs(lam - w)) < MATCH
    # and they are the K of largest modulus
    np.testing.assert_allclose(np.sort(np.abs(got))[::-1], np.sort(np.abs(lam))[::-1][:K], rtol=0, atol=MATCH)
    assert res.spectral_radius == pytest.approx(np.max(np.abs(lam)), abs=MATCH)
    assert np.all(res.residuals < 1e-9)
    if not check_field:
        assert res.field is None and res.field_matvecs == 0
        return
    # the field Jacobian's extremes (largest real part, largest modulus) against dense dv/dx
    mu = np.linalg.eigvals(torch.func.jacrev(pm.v)(pm.x).numpy())
    lr, lm = res.field["largest_real_part"], res.field["largest_modulus"]
    assert lr[0] == pytest.approx(mu.real.max(), abs=1e-8)
    assert np.hypot(*lm) == pytest.approx(np.abs(mu).max(), abs=1e-8)


def test_state_is_the_optimizer_state():
    """The linearization point is (x, m) with m = -exp_avg, not an equilibrium."""
    G, D, og, od = trained("adam", steps=3)
    pm = prepare_map(G, D, LOSSES, batch(), optimizer=(og, od))
    params = list(G.parameters()) + list(D.parameters())
    x = torch.cat([p.detach().double().reshape(-1) for p in params])
    m = torch.cat([-og.state[p]["exp_avg"].double().reshape(-1) for p in G.parameters()]
                  + [-od.state[p]["exp_avg"].double().reshape(-1) for p in D.parameters()])
    assert torch.equal(pm.z[: x.numel()], x)
    assert torch.equal(pm.z[x.numel():], m) and float(m.abs().max()) > 0
    assert pm.eta == 0.02 and pm.rule.optimizer.ratio == pytest.approx(0.05 / 0.02)
    assert pm.rule.optimizer.t == 3


class _Scaled(nn.Module):
    """D(x) = sum_i a_i psi_i x_i (psi = weight, a fixed)."""

    def __init__(self, a):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(len(a)) * 0.3)
        self.register_buffer("a", torch.tensor(a))

    def forward(self, x):
        return (x * self.weight * self.a).sum(-1)


def _bilinear(gamma):
    """theta in R^4 (G(1) = theta), L = sum a_i psi_i theta_i - gamma/2 |psi|^2 (disc. maximizes)."""
    a = [3.0, 2.0, 1.0, 0.5]
    G = nn.Linear(1, 4, bias=False)
    D = _Scaled(a)
    with torch.no_grad():
        G.weight.copy_(torch.tensor([[0.2], [-0.1], [0.4], [0.3]]))
    one = torch.ones(1, 1)

    def lg(G_, D_, b):
        return D_(G_(b)).sum()

    def ld(G_, D_, b):  # minimized by the discriminator: -L_D
        psi = D_(torch.eye(4, dtype=b.dtype)) / torch.tensor(a, dtype=b.dtype)
        return -(D_(G_(b)).sum() - 0.5 * gamma * (psi ** 2).sum())

    return G, D, (lg, ld), one, np.array(a)


def test_bilinear_game_analytic_eigenvalues_and_outcomes():
    eta = 0.1
    G, D, losses, b, a = _bilinear(0.0)
    # (field_k=0: the field's eigenvalues +- i a_i all have real part 0, so "largest real part" is
    # not a well-posed set for Arnoldi; the field is checked on the damped game below)
    res = update_map_spectrum(G, D, losses, b, eta=eta, k=4, arpack_tol=1e-14, field_k=0)
    # Sim-GDA on L = sum a_i psi_i theta_i: lambda = 1 +- i eta a_i, |lambda| = sqrt(1 + eta^2 a_i^2) > 1
    want = np.array([1 + 1j * eta * 3, 1 - 1j * eta * 3, 1 + 1j * eta * 2, 1 - 1j * eta * 2])
    for w in want:
        assert np.min(np.abs(res.eigenvalues - w)) < 1e-12
    assert res.spectral_radius == pytest.approx(np.sqrt(1 + (eta * 3) ** 2), abs=1e-12)
    assert res.outcome == "some |lambda| > 1 + tol" and res.n_unstable == 4 and res.n_unstable_lower_bound
    # a tolerance wider than |lambda| - 1 makes it inconclusive, and says so
    loose = update_map_spectrum(G, D, losses, b, eta=eta, k=4, tol=0.1, field_k=0)
    assert loose.outcome == "inconclusive" and "within tol" in loose.outcome_reason
    # a zero-centred penalty on psi damps every mode: all |lambda| < 1
    gamma = 1.5
    G, D, losses, b, a = _bilinear(gamma)
    # k = 4 splits a conjugate pair (moduli 0.981, 0.970 x2, 0.943 x2): ARPACK cannot converge on
    # that set, stops at its budget, and the k + 1 retry returns the whole pair
    res = update_map_spectrum(G, D, losses, b, eta=eta, k=4, arpack_tol=1e-14, field_k=1, max_matvecs=300)
    mu = np.concatenate([np.roots([1, gamma, ai ** 2]) for ai in a])  # J's eigenvalues: mu^2 + gamma mu + a^2 = 0
    lam = 1 + eta * mu
    rho = np.max(np.abs(lam))
    assert res.spectral_radius == pytest.approx(rho, abs=1e-12) and rho < 1
    assert "k + 1" in res.arpack_status and len(res.eigenvalues) == 5
    np.testing.assert_allclose(np.abs(res.eigenvalues), np.sort(np.abs(lam))[::-1][:5], atol=1e-12)
    assert res.outcome == "all |lambda| <= 1 + tol" and res.n_unstable == 0
    assert res.field["largest_real_part"][0] == pytest.approx(mu.real.max(), abs=1e-10)
    assert np.hypot(*res.field["largest_modulus"]) == pytest.approx(np.abs(mu).max(), abs=1e-10)


def test_not_converged_is_inconclusive():
    G, D = small_gan(0)
    res = update_map_spectrum(G, D, LOSSES, batch(), eta=0.3, k=6, ncv=8, max_matvecs=8, field_k=0)
    assert res.n_converged < 6
    assert res.outcome == "inconclusive" and "converged" in res.outcome_reason


def test_result_is_json_and_states_its_settings():
    G, D, og, od = trained("adam", steps=3)
    res = update_map_spectrum(G, D, LOSSES, batch(), rule="alt:n_d=2", optimizer=(og, od), k=3, tol=1e-5)
    d = json.loads(json.dumps(res.to_dict()))
    for key in ("tol", "k", "n_converged", "residuals", "matvecs", "seconds", "rule", "optimizer",
                "spectral_radius", "n_unstable", "outcome", "field", "eigenvalues"):
        assert key in d
    assert d["tol"] == 1e-5 and d["k"] == 3 and d["rule"].startswith("alt:n_d=2")
    assert d["optimizer"]["kind"] == "adam" and d["optimizer"]["bias_correction_t"] == 3
    assert d["optimizer"]["precond"]["n"] == 219  # a long preconditioner is summarized
    assert d["optimizer_source"]["source"] == "torch.optim"
    assert all(len(e) == 2 for e in d["eigenvalues"]) and d["matvecs"] > 0 and d["outcome"] in (
        "all |lambda| <= 1 + tol", "some |lambda| > 1 + tol", "inconclusive")


def test_gan_class_and_callables_give_the_same_field():
    """The harness's GAN class (L_D maximized) and torch-convention callables (loss_D
    minimized) describe the same game: same field, same spectrum."""
    gans = pytest.importorskip("gpu_validation.gans")
    G, D = small_gan(0)
    b = batch()
    pa = prepare_map(G, D, LOSSES, b, eta=0.3)
    pb = prepare_map(G, D, gans.make_gan("bce"), b, eta=0.3)
    assert torch.allclose(pa.v(pa.x), pb.v(pb.x), rtol=0, atol=1e-13)
    # the direction of motion: the discriminator's loss decreases along its part of v
    with torch.no_grad():
        v = pa.v(pa.x)
        n = pa.n_gen
        h = 1e-4
        from stabcheck.nn import _unflat

        def loss_d_at(x):
            gp, dp = _unflat(x[:n], pa.g_like), _unflat(x[n:], pa.d_like)
            Gf = lambda z: torch.func.functional_call(G, gp, (z,))  # noqa: E731
            Df = lambda x_: torch.func.functional_call(D, dp, (x_,))  # noqa: E731
            return float(LOSSES[1](Gf, Df, {k: t.double() for k, t in b.items()}))

        step = torch.cat([torch.zeros(n, dtype=torch.float64), v[n:]])
        assert loss_d_at(pa.x + h * step) < loss_d_at(pa.x)
    ra = update_map_spectrum(G, D, LOSSES, b, eta=0.3, k=3, field_k=0)
    rb = update_map_spectrum(G, D, gans.make_gan("bce"), b, eta=0.3, k=3, field_k=0)
    np.testing.assert_allclose(ra.eigenvalues, rb.eigenvalues, atol=1e-10)


def test_sampler_is_seeded_and_float32_modules_are_analysed_in_float64():
    from nn_fixtures import sampler

    G, D = small_gan(0)
    r1 = update_map_spectrum(G, D, LOSSES, sampler=sampler, seed=7, eta=0.3, k=3, field_k=0)
    r2 = update_map_spectrum(G, D, LOSSES, sampler=sampler, seed=7, eta=0.3, k=3, field_k=0)
    r3 = update_map_spectrum(G, D, LOSSES, sampler=sampler, seed=8, eta=0.3, k=3, field_k=0)
    np.testing.assert_array_equal(r1.eigenvalues, r2.eigenvalues)
    assert np.max(np.abs(r1.eigenvalues - r3.eigenvalues)) > 1e-6
    assert next(G.parameters()).dtype == torch.float32  # the modules are not modified
    pm = prepare_map(G, D, LOSSES, sampler=sampler, seed=7, eta=0.3)
    assert pm.z.dtype == torch.float64


def test_jvp_modes_agree():
    """The double-backward products (default) and torch.func.jvp give the same spectrum."""
    G, D, og, od = trained("adam", steps=3)
    kw = dict(rule="alt:n_d=2", optimizer=(og, od), k=4, arpack_tol=1e-13, field_k=1)
    a = update_map_spectrum(G, D, LOSSES, batch(), jvp="double-backward", **kw)
    b = update_map_spectrum(G, D, LOSSES, batch(), jvp="forward", **kw)
    assert a.to_dict()["jvp_mode"]["map"] == "double-backward"
    assert b.to_dict()["jvp_mode"]["map"].startswith("forward")
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, atol=1e-10)
    np.testing.assert_allclose(a.field["largest_real_part"], b.field["largest_real_part"], atol=1e-10)
