"""Games: the built-in systems and the registry used by the command line.

* ``dirac`` - Mescheder et al.'s Dirac-GAN (:mod:`stabcheck.games.dirac`);
* ``gaussian`` - Nie & Patel's isotropic-Gaussian linear GAN (:mod:`stabcheck.games.gaussian`);
* ``general`` - the block form of Nie & Patel's Lemma 3 (:mod:`stabcheck.games.general`);
* ``wgan-qc`` - WGAN-QC on the Dirac-GAN (Liu et al. 2019; :mod:`stabcheck.games.wganqc`);
* ``pkg.module:factory`` - a user game: a callable returning a :class:`Game`
  (see docs/extending.md).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from stabcheck.errors import BadInput
from stabcheck.games.base import CONVENTIONS, Game, exact, lambdify_vector  # noqa: F401
from stabcheck.games.gan import LOSSES  # noqa: F401

SYSTEMS = ("dirac", "gaussian", "general", "wgan-qc")

#: the convention each built-in system is written in unless the user asks for another
DEFAULT_CONVENTION = {"dirac": "mescheder", "gaussian": "thesis", "general": "thesis", "wgan-qc": "thesis"}


def make_game(system: str, loss: Optional[str] = None, params: Optional[dict] = None,
              regs: Sequence[str] = (), convention: Optional[str] = None) -> Any:
    """Build a game by name, apply loss-level regularizers, and set its sign convention.

    Parameters
    ----------
    system : str
        ``dirac``, ``gaussian``, ``general`` or a user factory ``pkg.module:name``.
    loss : str, optional
        Loss name for built-in GAN games (``wgan``, ``bce``, ``nsgan``, ``rkl``, ``hinge``).
    params : dict, optional
        System parameters: gaussian ``mean`` (list) and ``sigma2``; general ``P`` and ``Q``
        (arrays or file paths); user factories receive them as keyword arguments.
    regs : sequence of str
        Regularizer specs applied in order (``noise:sigma=0.3``, ``r1:gamma=1``, ...).
    convention : str, optional
        ``mescheder`` or ``thesis``; default: the system's own (dirac: mescheder,
        gaussian: thesis).
    """
    from stabcheck.regularizers import make_regularizer

    params = dict(params or {})
    if convention is not None and convention not in CONVENTIONS:
        raise BadInput(f"unknown convention {convention!r}; valid: {', '.join(CONVENTIONS)}")
    if system == "dirac":
        from stabcheck.games.dirac import dirac_game

        if params:
            raise BadInput(f"system 'dirac' takes no parameters, got {', '.join(params)}")
        game = dirac_game(loss if loss is not None else _need_loss(), "mescheder")
    elif system == "gaussian":
        from stabcheck.games.gaussian import gaussian_game

        mean = params.pop("mean", None)
        sigma2 = params.pop("sigma2", None)
        dim = params.pop("dim", None)
        if params:
            raise BadInput(f"system 'gaussian' has no parameters {', '.join(params)}; valid: dim, mean, sigma2")
        if mean is None:
            mean = [1.0] * int(dim or 1)
        if dim is not None and int(dim) != len(mean):
            raise BadInput(f"--dim {dim} does not match --mean with {len(mean)} components")
        game = gaussian_game(loss if loss is not None else _need_loss(), list(mean),
                             1.0 if sigma2 is None else sigma2, "thesis")
    elif system == "general":
        from stabcheck.games.general import general_game

        if loss is not None:
            raise BadInput("system 'general' takes no --loss (its field is given by P and Q)")
        if "P" not in params or "Q" not in params:
            raise BadInput("system 'general' needs --P and --Q (matrix files, .npy or .json)")
        game = general_game(params.pop("P"), params.pop("Q"))
        if params:
            raise BadInput(f"system 'general' has no parameters {', '.join(params)}")
    elif system == "wgan-qc":
        from stabcheck.games.wganqc import wganqc_game

        if loss not in (None, "wgan-qc"):
            raise BadInput("system 'wgan-qc' takes no --loss (its losses are WGAN-QC's)")
        lam, gr = params.pop("lam", 1), params.pop("gr", "vector")
        if params:
            raise BadInput(f"system 'wgan-qc' has no parameters {', '.join(params)}; valid: lam, gr (vector|norm)")
        game = wganqc_game(lam, str(gr))
    elif ":" in system:
        game = _user_game(system, loss, params)
    else:
        raise BadInput(f"unknown system {system!r}; valid: {', '.join(SYSTEMS)}, or a user game pkg.module:factory")
    for r in regs:
        game = make_regularizer(r)(game)
    if convention is not None:
        game = game.in_convention(convention)
    return game


def _need_loss():
    from stabcheck.games.gan import LOSSES

    raise BadInput(f"this system needs --loss; valid losses: {', '.join(LOSSES)}")


def _user_game(spec: str, loss, params) -> Any:
    from stabcheck.oracles import load_object

    module, _, attr = spec.partition(":")
    factory = load_object(module, attr, what="system")
    kwargs = dict(params)
    if loss is not None:
        kwargs["loss"] = loss
    try:
        game = factory(**kwargs) if callable(factory) else factory
    except TypeError as exc:
        raise BadInput(f"user game {spec!r} could not be built with {kwargs}: {exc}") from None
    from stabcheck.games.torchgame import TorchGame

    if not isinstance(game, (Game, TorchGame)):
        raise BadInput(f"user game {spec!r} returned {type(game).__name__}, expected stabcheck.games.Game "
                       "or stabcheck.games.torchgame.TorchGame")
    return game


def custom_game(theta, psi, *, L=None, L_G=None, L_D=None, equilibrium=None, name="custom",
                convention="mescheder") -> Game:
    """Build a user game from sympy losses (zero-sum ``L``, or ``L_G`` and ``L_D``).

    >>> import sympy as sp
    >>> th, ps = sp.symbols("theta psi", real=True)
    >>> g = custom_game([th], [ps], L=ps * th - ps**2 / 2, equilibrium=[0, 0])
    >>> list(g.field_expr)
    [-psi, -psi + theta]
    """
    if L is not None:
        L_G = L_D = L
    if L_G is None or L_D is None:
        raise BadInput("custom_game needs L, or both L_G and L_D")
    theta, psi = list(theta), list(psi)
    eq = [exact(e) for e in (equilibrium if equilibrium is not None else [0] * (len(theta) + len(psi)))]
    if len(eq) != len(theta) + len(psi):
        raise BadInput(f"equilibrium has {len(eq)} entries, expected {len(theta) + len(psi)}")
    game = Game(name=name, loss=None, params={}, theta=theta, psi=psi, L_G=L_G, L_D=L_D,
                equilibrium=eq, convention=convention)
    residual = [e.xreplace(dict(zip(game.symbols, eq))).doit() for e in game.field_expr]
    if any(sp_abs(r) > 1e-12 for r in residual):
        raise BadInput(f"the given equilibrium is not a stationary point: field there = {residual}")
    return game


def sp_abs(e) -> float:
    try:
        return abs(complex(e))
    except TypeError:
        return float("inf")
