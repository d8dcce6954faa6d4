"""Generator / discriminator networks (DeOliveira 2023, section 6 and appendix F).

* 2-D data: the thesis's MLPs, 5 hidden layers of 16 units for both players, latent
  dimension 10 (``N(0, I)``), generator output linear.
* Images: an MLP pair (the thesis's MNIST model has 5 hidden layers of 1024; the default
  width here is 256, ``--width`` changes it) with a ``tanh`` generator output, or a small
  DCGAN-style pair (two strided (transposed) convolutions each side, no batch norm so that
  the update map is a function of the parameters alone).

The discriminator returns its **raw** output (logit / critic value) with real data scoring
high. Spectral normalisation (SN-GAN, Miyato et al. 2018) is part of the discriminator's
architecture: ``forward(x, raw=False)`` divides each weight by its largest singular value
estimated with one power-iteration vector ``u`` per layer, kept in buffers ``u0, u1, ...``
(updated with :meth:`Discriminator.update_sn` after each discriminator step, not by
``forward``, so that the forward pass is a pure function usable with ``torch.func``);
``forward(x, raw=True)`` skips it (Dynamic-GDA decides on the raw discriminator, appendix F).

All networks are used functionally through :func:`torch.func.functional_call`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


def _sn_weight(w: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``w / sigma`` with ``sigma = u^T W v``, ``v = normalize(W^T u)`` (Miyato et al. 2018, Alg. 1)."""
    wm = w.reshape(w.shape[0], -1)
    v = F.normalize(wm.t() @ u, dim=0, eps=1e-12)
    sigma = u @ (wm @ v)
    return w / sigma


class _Net(nn.Module):
    """A stack of linear / conv layers with optional spectral normalisation."""

    def __init__(self, layers: list[nn.Module], sn: bool = False, out_act: str | None = None,
                 reshape: tuple | None = None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.sn = bool(sn)
        self.out_act = out_act
        self.reshape = reshape  # applied after the first (linear) layer, for the DCGAN generator
        if self.sn:
            gen = torch.Generator().manual_seed(12345)  # does not consume the global RNG
            for i, layer in enumerate(self.layers):
                u = torch.randn(layer.weight.shape[0], generator=gen)
                self.register_buffer(f"u{i}", F.normalize(u, dim=0))

    def forward(self, x: torch.Tensor, raw: bool = False) -> torch.Tensor:
        n = len(self.layers)
        for i, layer in enumerate(self.layers):
            w = layer.weight
            if self.sn and not raw:
                w = _sn_weight(w, getattr(self, f"u{i}"))
            if isinstance(layer, nn.Linear):
                if x.dim() > 2:
                    x = x.flatten(1)
                x = F.linear(x, w, layer.bias)
            elif isinstance(layer, nn.ConvTranspose2d):
                x = F.conv_transpose2d(x, w, layer.bias, stride=2, padding=1)
            else:
                x = F.conv2d(x, w, layer.bias, stride=2, padding=1)
            if i == 0 and self.reshape is not None:
                x = x.view(x.shape[0], *self.reshape)
            if i < n - 1:
                x = _act(x)
        if self.out_act == "tanh":
            x = torch.tanh(x)
        return x

    @torch.no_grad()
    def sn_buffers(self, params: dict) -> dict:
        """One power-iteration step per layer from the weights in ``params``: new ``u`` buffers."""
        out = {}
        for i, _ in enumerate(self.layers):
            w = params[f"layers.{i}.weight"]
            wm = w.reshape(w.shape[0], -1)
            u = getattr(self, f"u{i}") if f"u{i}" not in params else params[f"u{i}"]
            v = F.normalize(wm.t() @ u, dim=0, eps=1e-12)
            out[f"u{i}"] = F.normalize(wm @ v, dim=0, eps=1e-12)
        return out


def mlp(sizes: list[int], sn: bool = False, out_act: str | None = None) -> _Net:
    """An MLP with LeakyReLU(0.2) between layers; ``sizes = [in, h1, ..., out]``."""
    return _Net([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])], sn=sn, out_act=out_act)


class Pair:
    """A generator / discriminator pair and its metadata.

    Attributes
    ----------
    gen, disc : torch.nn.Module
        ``gen(z) -> x`` (shape ``(N, *data_shape)``); ``disc(x, raw=False) -> (N, 1)``.
    latent : int
        Latent dimension (``z ~ N(0, I)``).
    data_shape : tuple
    """

    def __init__(self, gen: nn.Module, disc: _Net, latent: int, data_shape: tuple):
        self.gen, self.disc, self.latent, self.data_shape = gen, disc, latent, tuple(data_shape)

    def gen_forward(self, gparams: dict, z: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(self.gen, gparams, (z,))
        return out.view(out.shape[0], *self.data_shape)

    def disc_forward(self, dparams: dict, dbuf: dict, x: torch.Tensor, raw: bool = False) -> torch.Tensor:
        return torch.func.functional_call(self.disc, {**dparams, **dbuf}, (x,), {"raw": raw}).reshape(-1)


def build(kind: str, data_shape: tuple, *, sn: bool = False, width: int | None = None,
          depth: int = 5, latent: int | None = None, seed: int = 0) -> Pair:
    """Build a pair.

    Parameters
    ----------
    kind : {"mlp", "dcgan"}
    data_shape : tuple
        ``(2,)`` for 2-D data, ``(C, H, W)`` for images (H, W divisible by 4 for ``dcgan``).
    sn : bool
        Spectral normalisation in the discriminator.
    width, depth, latent : int
        Hidden width (default 16 for 2-D, 256 for image MLPs, 32 channels for ``dcgan``),
        number of hidden layers (MLP), latent dimension (default 10 for 2-D, 100 for images).
    seed : int
        The initialization seed: the same seed gives the same weights whatever else differs
        (the thesis's protocol: all methods start from the same initialization).
    """
    torch.manual_seed(seed)
    dim = 1
    for s in data_shape:
        dim *= s
    is2d = len(data_shape) == 1
    latent = latent or (10 if is2d else 100)
    if kind == "mlp":
        w = width or (16 if is2d else 256)
        gen = mlp([latent] + [w] * depth + [dim], out_act=None if is2d else "tanh")
        disc = mlp([dim] + [w] * depth + [1], sn=sn)
        return Pair(gen, disc, latent, data_shape)
    if kind == "dcgan":
        if is2d:
            raise ValueError("dcgan needs image data")
        c, h, wd = data_shape
        if h % 4 or wd % 4:
            raise ValueError(f"dcgan needs H and W divisible by 4, got {data_shape}")
        ch = width or 32
        gen = _Net([nn.Linear(latent, 2 * ch * (h // 4) * (wd // 4)),
                    nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1),
                    nn.ConvTranspose2d(ch, c, 4, 2, 1)], out_act="tanh",
                   reshape=(2 * ch, h // 4, wd // 4))
        disc = _Net([nn.Conv2d(c, ch, 4, 2, 1), nn.Conv2d(ch, 2 * ch, 4, 2, 1),
                     nn.Linear(2 * ch * (h // 4) * (wd // 4), 1)], sn=sn)
        return Pair(gen, disc, latent, data_shape)
    raise ValueError(f"unknown model kind {kind!r}; choose mlp or dcgan")


def params_of(module: nn.Module) -> dict:
    """Detached copies of a module's parameters (the state the harness trains)."""
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def buffers_of(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.named_buffers()}


from stabcheck.nn import flatten_params as flat, unflatten_params as unflat  # noqa: E402  (one implementation)


def norm(d: dict) -> float:
    return float(torch.sqrt(sum((v.double() ** 2).sum() for v in d.values())))


__all__ = ["build", "Pair", "mlp", "params_of", "buffers_of", "flat", "unflat", "norm"]
