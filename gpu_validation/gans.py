"""The thesis's eight GAN classes as small composable pieces (DeOliveira 2023, section 6).

A :class:`GAN` is a *loss* (non-saturating BCE or Wasserstein) plus a list of *pieces*;
each piece touches one hook and nothing else:

================  ==========================================================================
hook              pieces
================  ==========================================================================
``draw``          random inputs the piece needs each iteration (noise, interpolation weights)
``inputs``        :class:`InstanceNoise` (Sonderby et al. 2016)
``wrap_d``        :class:`GradNorm` (piecewise gradient normalisation, Bhaskara et al. 2022)
``penalty``       :class:`GradientPenalty` (WGAN-GP, Gulrajani et al. 2017; R1 / R2,
                  Mescheder et al. 2018), :class:`RothJS` (regularized JS-GAN, Roth et al. 2017)
``after_d_step``  :class:`WeightClip` (Arjovsky et al. 2017)
``arch``          :class:`SpectralNorm` (Miyato et al. 2018): sets the discriminator's ``sn``
================  ==========================================================================

Sign convention (ascent form): the discriminator **maximizes** ``L_D`` and its raw output
``d(x)`` scores real data high; the generator **minimizes** ``L_G``. Penalties are
non-negative and enter as ``L_D - penalty``.

* Non-saturating BCE: ``L_D = E log sigmoid(d(x)) + E log sigmoid(-d(G(z)))``,
  ``L_G = E softplus(-d(G(z))) = -E log sigmoid(d(G(z)))`` (Goodfellow et al. 2014).
* Wasserstein: ``L_D = E d(x) - E d(G(z))``, ``L_G = -E d(G(z))``.

Registered classes (``name[:key=value,...]``) and defaults (thesis appendix / section 6.2:
instance noise ``N(0, 0.02 I)``, gradient penalties 3, GraN ``K = 0.83``):

``bce``, ``noise:var=0.02``, ``wgan:clip=0`` (0 = no clipping: the *unregularized* WGAN of
the toy theory; ``clip=0.01`` is Arjovsky et al.'s box), ``wgan-gp:gamma=3``,
``js-reg:gamma=3``, ``sn``, ``r1:gamma=3``, ``r2:gamma=3``, ``gran:K=0.83,eps=1e-4``.
``bounded`` (bounded discriminator output through a sigmoid) picks the optimizer as in the
thesis's appendix F: Adam for bounded, RMSProp for unbounded (Wasserstein) discriminators.

Every function here is written with :mod:`torch.func` so that it composes with ``grad``,
``jvp`` and ``vmap`` (the spectrum and the batched trainer reuse it unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F

from stabcheck.errors import BadInput
from stabcheck.specs import check_params, parse_spec

DFn = Callable[[torch.Tensor], torch.Tensor]


def value_and_input_grad(d_fn: DFn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(d(x), grad_x d(x))`` per sample, differentiable w.r.t. everything ``d_fn`` closes over."""

    def f(xx):
        o = d_fn(xx)
        return o.sum(), o

    g, o = torch.func.grad(f, has_aux=True)(x)
    return o, g.flatten(1)


# --------------------------------------------------------------------------- losses

class NonSaturating:
    """Non-saturating BCE (Goodfellow et al. 2014); bounded discriminator (Adam)."""

    name = "bce"
    bounded = True

    def d_objective(self, d_real, d_fake):
        return F.logsigmoid(d_real).mean() + F.logsigmoid(-d_fake).mean()

    def g_objective(self, d_fake):
        return F.softplus(-d_fake).mean()


class Wasserstein:
    """Wasserstein loss (Arjovsky et al. 2017); unbounded critic (RMSProp)."""

    name = "wasserstein"
    bounded = False

    def d_objective(self, d_real, d_fake):
        return d_real.mean() - d_fake.mean()

    def g_objective(self, d_fake):
        return -d_fake.mean()


# --------------------------------------------------------------------------- pieces

class Piece:
    """Base piece: every hook is a no-op."""

    arch: dict = {}

    def draw(self, n: int, shape: tuple, gen: torch.Generator) -> dict:
        return {}

    def inputs(self, real, fake, draws):
        return real, fake

    def wrap_d(self, d_fn: DFn) -> DFn:
        return d_fn

    def penalty(self, d_fn: DFn, real, fake, draws):
        return None

    def after_d_step(self, dparams: dict) -> None:
        pass


class InstanceNoise(Piece):
    """Add ``N(0, var I)`` to real and generated samples seen by the discriminator (both losses)."""

    def __init__(self, var: float = 0.02):
        if var < 0:
            raise BadInput(f"instance noise: var must be >= 0, got {var}")
        self.std = float(var) ** 0.5

    def draw(self, n, shape, gen):
        return {"noise_real": torch.randn(n, *shape, generator=gen),
                "noise_fake": torch.randn(n, *shape, generator=gen)}

    def inputs(self, real, fake, draws):
        return (real + self.std * draws["noise_real"].to(real),
                fake + self.std * draws["noise_fake"].to(fake))


class GradientPenalty(Piece):
    """``gamma * E (||grad d(x)|| - center)^2`` (WGAN-GP: interpolates, center 1) or
    ``gamma/2 * E ||grad d(x)||^2`` at real (R1) or generated (R2) samples (center 0)."""

    def __init__(self, gamma: float = 3.0, at: str = "interp", center: float = 1.0):
        if gamma < 0:
            raise BadInput(f"gradient penalty: gamma must be >= 0, got {gamma}")
        self.gamma, self.at, self.center = float(gamma), at, float(center)

    def draw(self, n, shape, gen):
        return {"eps": torch.rand(n, *([1] * len(shape)), generator=gen)} if self.at == "interp" else {}

    def penalty(self, d_fn, real, fake, draws):
        if self.at == "interp":
            e = draws["eps"].to(real)
            x = e * real + (1 - e) * fake
        else:
            x = real if self.at == "real" else fake
        _, g = value_and_input_grad(d_fn, x)
        if self.center == 0.0:
            return 0.5 * self.gamma * (g ** 2).sum(1).mean()
        gn = torch.sqrt((g ** 2).sum(1) + 1e-12)
        return self.gamma * ((gn - self.center) ** 2).mean()


class RothJS(Piece):
    """Roth et al. (2017) regularizer for the JS-GAN:
    ``gamma/2 * (E_real[(1 - sigmoid(d))^2 ||grad d||^2] + E_fake[sigmoid(d)^2 ||grad d||^2])``."""

    def __init__(self, gamma: float = 3.0):
        self.gamma = float(gamma)

    def penalty(self, d_fn, real, fake, draws):
        dr, gr = value_and_input_grad(d_fn, real)
        df, gf = value_and_input_grad(d_fn, fake)
        om = ((1 - torch.sigmoid(dr)) ** 2 * (gr ** 2).sum(1)).mean() + \
             (torch.sigmoid(df) ** 2 * (gf ** 2).sum(1)).mean()
        return 0.5 * self.gamma * om


class SpectralNorm(Piece):
    """Spectral normalisation of every discriminator layer (architecture-level)."""

    arch = {"sn": True}


class GradNorm(Piece):
    """Piecewise gradient normalisation: ``g(x) = K f(x) / (||grad_x f(x)|| + eps)``.

    For a piecewise-linear ``f`` (LeakyReLU network) ``g`` is piecewise K-Lipschitz
    (Bhaskara et al. 2022, "GraN-GAN"; the thesis's "Piecewise-GP", ``K = 0.83``).
    Architecture-level: Dynamic-GDA decides on the raw ``f``.
    """

    def __init__(self, K: float = 0.83, eps: float = 1e-4):
        if K <= 0 or eps <= 0:
            raise BadInput(f"gran: K and eps must be > 0, got K={K}, eps={eps}")
        self.K, self.eps = float(K), float(eps)

    def wrap_d(self, d_fn):
        def g(x):
            f, gx = value_and_input_grad(d_fn, x)
            return self.K * f / (torch.sqrt((gx ** 2).sum(1) + 1e-12) + self.eps)
        return g


class WeightClip(Piece):
    """Clip every discriminator parameter to ``[-clip, clip]`` after each discriminator step."""

    def __init__(self, clip: float = 0.0):
        if clip < 0:
            raise BadInput(f"wgan: clip must be >= 0 (0 = no clipping), got {clip}")
        self.clip = float(clip)

    def after_d_step(self, dparams):
        if self.clip > 0:
            for v in dparams.values():
                v.clamp_(-self.clip, self.clip)


# --------------------------------------------------------------------------- GAN

@dataclass
class GAN:
    """A loss and its pieces. See the module docstring."""

    spec: str
    loss: Any
    pieces: list = field(default_factory=list)

    @property
    def bounded(self) -> bool:
        return self.loss.bounded

    @property
    def arch(self) -> dict:
        out: dict = {}
        for p in self.pieces:
            out.update(p.arch)
        return out

    @property
    def has_arch_reg(self) -> bool:
        return bool(self.arch) or any(type(p).wrap_d is not Piece.wrap_d for p in self.pieces)

    def draw(self, n: int, shape: tuple, gen: torch.Generator) -> dict:
        out: dict = {}
        for p in self.pieces:
            out.update(p.draw(n, shape, gen))
        return out

    def d_fn(self, pair, dparams: dict, dbuf: dict) -> DFn:
        """The discriminator used for training (architecture-level pieces on)."""
        f: DFn = lambda x: pair.disc_forward(dparams, dbuf, x)  # noqa: E731
        for p in self.pieces:
            f = p.wrap_d(f)
        return f

    def decision_fn(self, pair, dparams: dict, dbuf: dict) -> DFn:
        """The raw discriminator Dynamic-GDA decides on (appendix F: architecture-level
        regularizations - spectral norm, gradient normalisation - turned off)."""
        return lambda x: pair.disc_forward(dparams, dbuf, x, raw=True)

    def _io(self, pair, gparams, dparams, dbuf, draws):
        fake = pair.gen_forward(gparams, draws["z"])
        real = draws["real"].to(fake)
        for p in self.pieces:
            real, fake = p.inputs(real, fake, draws)
        return real, fake, self.d_fn(pair, dparams, dbuf)

    def g_loss(self, pair, gparams, dparams, dbuf, draws) -> torch.Tensor:
        """``L_G`` (minimized by the generator)."""
        _, fake, d = self._io(pair, gparams, dparams, dbuf, draws)
        return self.loss.g_objective(d(fake))

    def d_objective(self, pair, gparams, dparams, dbuf, draws) -> torch.Tensor:
        """``L_D`` (maximized by the discriminator), penalties subtracted."""
        real, fake, d = self._io(pair, gparams, dparams, dbuf, draws)
        out = self.loss.d_objective(d(real), d(fake))
        for p in self.pieces:
            pen = p.penalty(d, real, fake, draws)
            if pen is not None:
                out = out - pen
        return out

    def objectives(self, pair, gparams, dparams, dbuf, draws):
        """``(L_G, L_D, d(real), d(fake))`` from one generator forward pass (the batched
        trainer differentiates ``L_G`` w.r.t. theta and ``L_D`` w.r.t. psi of the same graph)."""
        real, fake, d = self._io(pair, gparams, dparams, dbuf, draws)
        d_real, d_fake = d(real), d(fake)
        lg = self.loss.g_objective(d_fake)
        ld = self.loss.d_objective(d_real, d_fake)
        for p in self.pieces:
            pen = p.penalty(d, real, fake, draws)
            if pen is not None:
                ld = ld - pen
        return lg, ld, d_real, d_fake

    @property
    def decides_on_training_output(self) -> bool:
        """True when the training discriminator's outputs on the (unchanged) batches are
        exactly what Dynamic-GDA decides on (no architecture-level piece, no input noise)."""
        return not self.has_arch_reg and not any(type(p).inputs is not Piece.inputs for p in self.pieces)

    def after_d_step(self, dparams: dict) -> None:
        for p in self.pieces:
            p.after_d_step(dparams)


_REGISTRY: dict[str, tuple[Callable[..., GAN], dict]] = {
    "bce": (lambda s: GAN(s, NonSaturating()), {}),
    "noise": (lambda s, var=0.02: GAN(s, NonSaturating(), [InstanceNoise(var)]), {"var": float}),
    "wgan": (lambda s, clip=0.0: GAN(s, Wasserstein(), [WeightClip(clip)]), {"clip": float}),
    "wgan-gp": (lambda s, gamma=3.0: GAN(s, Wasserstein(), [GradientPenalty(gamma, "interp", 1.0)]),
                {"gamma": float}),
    "js-reg": (lambda s, gamma=3.0: GAN(s, NonSaturating(), [RothJS(gamma)]), {"gamma": float}),
    "sn": (lambda s: GAN(s, NonSaturating(), [SpectralNorm()]), {}),
    "r1": (lambda s, gamma=3.0: GAN(s, NonSaturating(), [GradientPenalty(gamma, "real", 0.0)]),
           {"gamma": float}),
    "r2": (lambda s, gamma=3.0: GAN(s, NonSaturating(), [GradientPenalty(gamma, "fake", 0.0)]),
           {"gamma": float}),
    "gran": (lambda s, K=0.83, eps=1e-4: GAN(s, NonSaturating(), [GradNorm(K, eps)]),
             {"K": float, "eps": float}),
}

#: the thesis's eight classes, in Table 1's order (R1/R2: the thesis uses R2)
THESIS_EIGHT = ("bce", "noise", "wgan", "wgan-gp", "js-reg", "sn", "r2", "gran")
NAMES = tuple(_REGISTRY)
LABELS = {"bce": "Unsat. BCE", "noise": "Instance Noise", "wgan": "WGAN", "wgan-gp": "WGAN+GP",
          "js-reg": "Reg. JS-GAN", "sn": "SN-GAN", "r1": "R1-GP", "r2": "R2-GP",
          "gran": "Piecewise-GP (GraN)"}


def make_gan(spec: str) -> GAN:
    """Build a GAN class from ``name[:key=value,...]`` (see the module docstring)."""
    s = parse_spec(spec, what="GAN class")
    if s.name not in _REGISTRY:
        raise BadInput(f"unknown GAN class {s.name!r}; choose one of {', '.join(NAMES)}")
    factory, allowed = _REGISTRY[s.name]
    return factory(spec, **check_params(s, allowed, what="GAN class"))


__all__ = ["GAN", "make_gan", "NAMES", "THESIS_EIGHT", "LABELS", "NonSaturating", "Wasserstein",
           "InstanceNoise", "GradientPenalty", "RothJS", "SpectralNorm", "GradNorm", "WeightClip",
           "value_and_input_grad"]
