"""Loss-level regularizers: transformations ``Game -> Game``.

Each changes a player's loss and returns a new game; the game's equilibrium is unchanged.
Specs on the command line: ``--reg noise:sigma=0.3``, ``--reg r1:gamma=1``, ...

* ``noise:sigma=`` - instance noise (Sonderby et al. 2016; Mescheder et al. 2018 sec. 3.2):
  ``N(0, sigma^2 I)`` added to real and generated samples.
* ``r1:gamma=`` - ``-gamma/2 E_real ||grad_x D||^2`` added to ``L_D`` (Mescheder et al. 2018).
* ``r2:gamma=`` - the same on generated samples. With the linear discriminators of the
  built-in games ``grad_x D = psi`` everywhere, so R1 and R2 coincide there.
* ``gradnorm:gamma=`` - Nagarajan & Kolter (2017): the generator minimizes
  ``L_G + gamma * ||grad_psi L_D||^2``.

All need the game's GAN structure (built-in ``dirac`` and ``gaussian`` games).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable


from stabcheck.errors import BadInput
from stabcheck.games.base import Game, exact
from stabcheck.specs import Spec, check_params, format_spec, parse_spec


def _rebuild(game: Game, structure, spec: str) -> Game:
    L_G, L_D = structure.losses()
    return game.with_(L_G=L_G, L_D=L_D, structure=structure, regs=game.regs + [spec])


def _need_structure(game: Game, name: str):
    if game.structure is None:
        raise BadInput(f"regularizer {name!r} needs a built-in GAN game (dirac or gaussian); "
                       f"system {game.name!r} is given by its losses only")
    return game.structure


def instance_noise(sigma: float) -> Callable[[Game], Game]:
    """Instance noise with standard deviation ``sigma`` on both real and generated data."""
    s = exact(sigma)
    if not s >= 0:
        raise BadInput(f"noise: sigma must be >= 0, got {sigma}")

    def apply(game: Game) -> Game:
        st = _need_structure(game, "noise")
        return _rebuild(game, replace(st, noise_var=st.noise_var + s ** 2), format_spec("noise", {"sigma": sigma}))

    return apply


def _penalty(kind: str, gamma: float) -> Callable[[Game], Game]:
    g = exact(gamma)
    if not g >= 0:
        raise BadInput(f"{kind}: gamma must be >= 0, got {gamma}")

    def apply(game: Game) -> Game:
        st = _need_structure(game, kind)
        return _rebuild(game, replace(st, disc_penalties=st.disc_penalties + [(kind, g)]),
                        format_spec(kind, {"gamma": gamma}))

    return apply


def r1(gamma: float):
    """R1: zero-centred gradient penalty on real data."""
    return _penalty("r1", gamma)


def r2(gamma: float):
    """R2: zero-centred gradient penalty on generated data."""
    return _penalty("r2", gamma)


def gradnorm(gamma: float) -> Callable[[Game], Game]:
    """Nagarajan & Kolter's generator-side term ``gamma * ||grad_psi L_D||^2``."""
    g = exact(gamma)
    if not g >= 0:
        raise BadInput(f"gradnorm: gamma must be >= 0, got {gamma}")

    def apply(game: Game) -> Game:
        st = _need_structure(game, "gradnorm")
        return _rebuild(game, replace(st, gen_gradnorm=st.gen_gradnorm + g), format_spec("gradnorm", {"gamma": gamma}))

    return apply


REGULARIZERS = {
    "noise": (instance_noise, {"sigma": float}, ("sigma",)),
    "r1": (r1, {"gamma": float}, ("gamma",)),
    "r2": (r2, {"gamma": float}, ("gamma",)),
    "gradnorm": (gradnorm, {"gamma": float}, ("gamma",)),
}


def make_regularizer(text: str) -> Callable[[Game], Game]:
    """Build a regularizer from its spec, e.g. ``"r1:gamma=1"``."""
    spec: Spec = parse_spec(text, what="regularizer")
    if spec.name not in REGULARIZERS:
        raise BadInput(f"unknown regularizer {spec.name!r}; valid: "
                       + ", ".join(f"{k}:{'='.join((v[2][0], '...'))}" for k, v in REGULARIZERS.items()))
    fn, allowed, required = REGULARIZERS[spec.name]
    params = check_params(spec, allowed, what="regularizer")
    missing = [k for k in required if k not in params]
    if missing:
        raise BadInput(f"regularizer {spec.name!r} needs {', '.join(missing)} (e.g. {spec.name}:{missing[0]}=1)")
    return fn(**params)
