"""Must hold: the map built from a live torch.optim state is the step torch actually takes.

From the same point (x, m) a real ``torch.optim`` step on the same batch must equal
``rule.step`` with the optimizer read from torch. torch's step also updates the second moment
(``exp_avg_sq`` / ``square_avg``) and Adam's step count, so the optimizer is read from the
state *after* the step (its preconditioner and bias corrections are then exactly the ones that
step used), and ``(x, m)`` from before it. The negative controls show the comparison would
fail with the wrong sign of ``m`` (``+exp_avg``) or the wrong bias correction (``t - 1``)."""

import copy

import numpy as np
import pytest
import torch

from nn_fixtures import LOSSES, batch, torch_step, trained
from stabcheck.nn import optimizer_from_torch, prepare_map
from stabcheck.optimizers import Optimizer

TOL = 1e-12  # float64 networks: torch's step and rule.step agree to rounding


def _flat(ts):
    return torch.cat([t.detach().double().reshape(-1) for t in ts])


def _params(G, D):
    return list(G.parameters()), list(D.parameters())


def _slot(kind, og, od, G, D):
    gp, dp = _params(G, D)
    if kind == "adam":
        return _flat([-og.state[p]["exp_avg"] for p in gp] + [-od.state[p]["exp_avg"] for p in dp])
    lr_g, lr_d = og.param_groups[0]["lr"], od.param_groups[0]["lr"]
    return _flat([-lr_g * og.state[p]["momentum_buffer"] for p in gp]
                 + [-lr_d * od.state[p]["momentum_buffer"] for p in dp])


def _one_step_both_ways(kind, order, rule):
    G, D, og, od = trained(kind, steps=3, dtype=torch.float64, order=order)
    b = batch(5, dtype=torch.float64)
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)  # the point before the step (modules hold x)
    x0 = _flat(list(G.parameters()) + list(D.parameters()))
    s0 = _slot(kind, og, od, G, D)
    torch_step(G, D, og, od, b, order)  # the real step
    x1 = _flat(list(G.parameters()) + list(D.parameters()))
    s1 = _slot(kind, og, od, G, D)
    ts = optimizer_from_torch(og, od, *_params(G, D))  # the preconditioner this step used
    pm = prepare_map(G0, D0, LOSSES, b, rule=rule, optimizer=ts.optimizer, eta=ts.eta, opt_state=s0.numpy())
    assert torch.equal(pm.x, x0)
    return pm, ts, torch.cat([x1, s1]), s0


@pytest.mark.parametrize("order, rule", [("sim", "sim"), ("alt", "alt:n_d=1,n_g=1,first=discriminator")])
def test_adam_map_is_the_torch_adam_step(order, rule):
    pm, ts, want, s0 = _one_step_both_ways("adam", order, rule)
    got = pm.step(pm.z)
    scale = float(want.abs().max())
    assert float((got - want).abs().max()) <= TOL * scale
    assert float((got[: pm.x.numel()] - pm.x).abs().max()) > 1e-4  # the step moved x
    # negative controls: each would be caught
    wrong_sign = pm.rule.split(pm.z, pm.x.numel())
    z_bad = pm.rule.join(pm.fns, wrong_sign[0], wrong_sign[1], -wrong_sign[2])  # m = +exp_avg
    assert float((pm.step(z_bad) - want).abs().max()) > 1e-6 * scale
    o = ts.optimizer
    for bad in (Optimizer("adam", ratio=o.ratio, beta1=o.beta1, precond=o.precond, t=o.t - 1),  # bias corr.
                Optimizer("adam", ratio=1.0, beta1=o.beta1, precond=o.precond, t=o.t)):  # per-player lr
        pm.rule.optimizer = bad
        assert float((pm.step(pm.z) - want).abs().max()) > 1e-6 * scale


@pytest.mark.parametrize("order, rule", [("sim", "sim"), ("alt", "alt")])
def test_rmsprop_momentum_map_is_the_torch_rmsprop_step(order, rule):
    pm, ts, want, s0 = _one_step_both_ways("rmsprop", order, rule)
    got = pm.step(pm.z)
    scale = float(want.abs().max())
    assert float((got - want).abs().max()) <= TOL * scale
    x, mem, u = pm.rule.split(pm.z, pm.x.numel())
    z_bad = pm.rule.join(pm.fns, x, mem, -u)  # u = +lr * buf
    assert float((pm.step(z_bad) - want).abs().max()) > 1e-6 * scale


def test_adam_steps_differ_between_players_folds_the_bias_correction():
    """Alt-GDA with n_d = 2: the discriminator's Adam has taken twice the steps; its own
    1 / (1 - beta1^t_d) is folded into its preconditioner, and the map is still torch's step."""
    G, D, og, od = trained("adam", steps=2, dtype=torch.float64)
    b = batch(2, dtype=torch.float64)
    # two extra discriminator steps so that t_d = t_g + 2
    for _ in range(2):
        dd = torch.autograd.grad(LOSSES[1](G, D, b), list(D.parameters()))
        for p, q in zip(D.parameters(), dd):
            p.grad = q
        od.step()
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
    s0 = _slot("adam", og, od, G, D)
    torch_step(G, D, og, od, b, "sim")
    want = torch.cat([_flat(list(G.parameters()) + list(D.parameters())), _slot("adam", og, od, G, D)])
    ts = optimizer_from_torch(og, od, *_params(G, D))
    assert ts.info["steps"] == {"generator": [3], "discriminator": [5]} and ts.optimizer.t == 3
    pm = prepare_map(G0, D0, LOSSES, b, optimizer=ts.optimizer, eta=ts.eta, opt_state=s0.numpy())
    assert float((pm.step(pm.z) - want).abs().max()) <= TOL * float(want.abs().max())


def test_preconditioner_formula_from_state():
    """precond = 1 / (sqrt(exp_avg_sq / (1 - beta2^t)) + eps), read per parameter."""
    G, D, og, od = trained("adam", steps=3)
    ts = optimizer_from_torch(og, od, *_params(G, D))
    p0 = next(G.parameters())
    st = og.state[p0]
    b2, eps = og.param_groups[0]["betas"][1], og.param_groups[0]["eps"]
    want = 1.0 / (np.sqrt(st["exp_avg_sq"].double().numpy().reshape(-1) / (1 - b2 ** 3)) + eps)
    np.testing.assert_allclose(ts.optimizer.precond[: p0.numel()], want, rtol=1e-15)
    assert ts.eta == 0.02 and ts.optimizer.ratio == pytest.approx(2.5)
