"""A small MLP GAN on 2-D data (a few hundred parameters) and its losses, shared by tests/nn."""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(sizes, act=nn.Tanh):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1])


def small_gan(seed=0, width=8, dtype=torch.float32):
    """Generator 2 -> 8 -> 8 -> 2 and discriminator 2 -> 8 -> 8 -> 1 (219 parameters)."""
    torch.manual_seed(seed)
    G = mlp([2, width, width, 2]).to(dtype)
    D = mlp([2, width, width, 1]).to(dtype)
    return G, D


def loss_G(G, D, b):
    """Non-saturating generator loss (minimized by the generator)."""
    return F.softplus(-D(G(b["z"]))).mean()


def loss_D(G, D, b):
    """Discriminator BCE loss (minimized by the discriminator; L_D = -loss_D)."""
    return F.softplus(-D(b["real"])).mean() + F.softplus(D(G(b["z"]))).mean()


LOSSES = (loss_G, loss_D)


def sampler(gen, n=16, dtype=torch.float32):
    z = torch.randn(n, 2, generator=gen, dtype=dtype)
    real = torch.randn(n, 2, generator=gen, dtype=dtype) * 0.3 + torch.tensor([1.0, -0.5], dtype=dtype)
    return {"z": z, "real": real}


def batch(seed=1, n=16, dtype=torch.float32):
    return sampler(torch.Generator().manual_seed(seed), n, dtype)


def torch_step(G, D, og, od, b, order="sim"):
    """One real training step with torch optimizers: ``sim`` (both gradients at the same point)
    or ``alt`` (discriminator first, then the generator at the new point)."""
    gp, dp = list(G.parameters()), list(D.parameters())

    def grads_g():
        return torch.autograd.grad(loss_G(G, D, b), gp)

    def grads_d():
        return torch.autograd.grad(loss_D(G, D, b), dp)

    if order == "sim":
        gg, dd = grads_g(), grads_d()
        for p, q in zip(gp, gg):
            p.grad = q
        for p, q in zip(dp, dd):
            p.grad = q
        og.step()
        od.step()
    else:
        for p, q in zip(dp, grads_d()):
            p.grad = q
        od.step()
        for p, q in zip(gp, grads_g()):
            p.grad = q
        og.step()


def trained(kind, seed=0, steps=4, dtype=torch.float32, order="sim", **kw):
    """A small GAN after ``steps`` real training steps with torch optimizers of ``kind``."""
    G, D = small_gan(seed, dtype=dtype)
    if kind == "adam":
        og = torch.optim.Adam(G.parameters(), lr=kw.get("lr", 0.02), betas=kw.get("betas", (0.5, 0.99)))
        od = torch.optim.Adam(D.parameters(), lr=kw.get("lr_d", 0.05), betas=kw.get("betas", (0.5, 0.99)))
    elif kind == "rmsprop":
        og = torch.optim.RMSprop(G.parameters(), lr=kw.get("lr", 0.01), momentum=kw.get("momentum", 0.5))
        od = torch.optim.RMSprop(D.parameters(), lr=kw.get("lr_d", 0.02), momentum=kw.get("momentum", 0.5))
    else:
        raise ValueError(kind)
    g = torch.Generator().manual_seed(seed + 10)
    for _ in range(steps):
        torch_step(G, D, og, od, sampler(g, dtype=dtype), order)
    return G, D, og, od


def clone(module):
    return copy.deepcopy(module)
