"""Switched linear models of oracle-driven training, for the certificate search.

An oracle that picks ``V1``, ``V2`` or ``V3`` from the sign of a quadratic form of the state
turns a game whose partial fields are linear into a *state-dependent switched linear system*
(DeOliveira 2023, appendix D, eqs. 10-11):

    ``x_{k+1} - x* = A_i (x_k - x*)``  where mode ``i`` applies on the cone
    ``R_i = {x : (x - x*)^T S (x - x*) >= 0 for every S in regions[i]}``.

``A_i = I + eta J_i`` is one step along ``V_i`` (``J_i`` the Jacobian of the linear field
``V_i``), computed by :func:`stabcheck.linearize.linear_map_matrix` from the update rule's own
code; the exact (sympy) matrix comes with it. The cones are *closed*: on a shared boundary
either adjacent mode may apply, so a certificate for the model holds whatever the oracle does
on the boundary. This is the format :mod:`stabcheck.certify.piecewise` consumes.

Supported:

* the Dirac oracle (thesis eq. 7) on a game whose ``V1`` and ``V2`` are linear (the
  Wasserstein Dirac-GAN): ``V1`` on ``psi . theta <= 0``, ``V2`` on ``psi . theta >= 0`` in
  the thesis's convention (the forms change sign in Mescheder's convention, see ``convert``),
  plus a ``V3`` mode on ``psi . theta = 0`` when the oracle's boundary choice is ``V3``;
* ``sim`` and ``alt`` (thesis eqs. 4-5): one mode, the matrix of the rule's map (for ``alt``
  one whole period of ``n_d + n_g`` steps), on the whole space (no ``S``). On a nonlinear
  game this is the linearization at the equilibrium (``exact_model`` is False).

Anything else (history-dependent oracles such as Dynamic-GDA, user oracles, nonlinear fields
under the Dirac oracle) raises :class:`BadInput`: no switched linear model exists.

Example
-------
>>> from stabcheck.games import make_game
>>> m = switched_model(make_game("dirac", "wgan", convention="thesis"), "dirac", 0.1)
>>> [name for name, A, Ae in m.modes], m.A_exact("V1")
(['V1', 'V2'], Matrix([
[1, 1/10],
[0,    1]]))
>>> m.regions[0][0].tolist()
[[0.0, -0.5], [-0.5, 0.0]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import sympy as sp

from stabcheck.errors import BadInput


@dataclass
class SwitchedModel:
    """A state-dependent switched linear system (see module docstring).

    Attributes
    ----------
    modes : list of (str, numpy.ndarray, sympy.Matrix or None)
        ``(name, A, A_exact)``: ``x_{k+1} - x* = A (x_k - x*)``.
    regions : list of list of numpy.ndarray
        One list of symmetric matrices per mode: the mode applies where
        ``(x - x*)^T S (x - x*) >= 0`` for every ``S`` (an empty list: everywhere).
    regions_exact : list of list of sympy.Matrix
        The same matrices, exact.
    convention : str
        The sign convention of the state the matrices act on (the game's).
    oracle : str
        The oracle's name; ``eta`` the step size; ``steps_per_mode`` gradient updates per
        application of a mode (``n_d + n_g`` for alt, else 1).
    exact_model : bool
        True when the fields are linear so the model *is* the training map; False when it is
        the linearization at the equilibrium.
    conversion : str or None
        ``"mescheder->thesis"`` when an oracle written in the thesis's convention was applied
        to a game in Mescheder's (its regions are written in the game's coordinates).
    """

    modes: list
    regions: list
    regions_exact: list
    convention: str
    oracle: str
    eta: float
    equilibrium: list
    exact_model: bool = True
    steps_per_mode: int = 1
    conversion: Optional[str] = None
    notes: list = field(default_factory=list)

    def A(self, name: str) -> np.ndarray:
        return self._mode(name)[1]

    def A_exact(self, name: str) -> Optional[sp.Matrix]:
        return self._mode(name)[2]

    def _mode(self, name):
        for md in self.modes:
            if md[0] == name:
                return md
        raise KeyError(name)

    def mode_of(self, x) -> Optional[str]:
        """The first mode whose closed cone contains ``x`` (state in the game's coordinates)."""
        d = np.asarray(x, dtype=float) - np.array([float(e) for e in self.equilibrium])
        for (name, _, _), reg in zip(self.modes, self.regions):
            if all(d @ S @ d >= 0 for S in reg):
                return name
        return None

    def to_json(self) -> dict:
        return {"oracle": self.oracle, "eta": self.eta, "convention": self.convention,
                "conversion": self.conversion, "exact_model": self.exact_model,
                "steps_per_mode": self.steps_per_mode,
                "modes": [{"name": n, "A": A.tolist(), "A_exact": None if Ae is None else [[str(v) for v in row]
                                                                                        for row in Ae.tolist()],
                           "region": [S.tolist() for S in reg]}
                          for (n, A, Ae), reg in zip(self.modes, self.regions)],
                "notes": list(self.notes)}


def _is_linear(exprs, symbols, equilibrium) -> bool:
    """Exactly: every expression is affine in ``symbols`` (polynomial of total degree <= 1)."""
    for e in exprs:
        e = sp.sympify(e)
        if not e.free_symbols & set(symbols):
            continue
        if not e.is_polynomial(*symbols):
            return False
        if sp.Poly(e, *symbols).total_degree() > 1:
            return False
    return True


def switched_model(game, oracle: Any, eta: float, *, convert: bool = False) -> SwitchedModel:
    """The switched linear model of ``oracle`` on ``game`` at step size ``eta``.

    Parameters
    ----------
    game : Game
        A symbolic game.
    oracle : str or oracle object
        ``"dirac"`` (any boundary choice), ``"sim"``, ``"alt:n_d=..."``, or such objects.
    eta : float
        Step size (> 0); exact as the decimal it prints as.
    convert : bool
        Allow an oracle written in another convention than the game's (its regions are
        rewritten in the game's coordinates); otherwise that is a :class:`BadInput`.

    Raises
    ------
    BadInput
        When no switched linear model exists (see module docstring).
    """
    from stabcheck.fields import game_field
    from stabcheck.games.base import exact
    from stabcheck.linearize import linear_map_matrix
    from stabcheck.oracles import AltOracle, DiracOracle, SimOracle, make_oracle
    from stabcheck.rules import Alt, Sim
    from stabcheck.simulate import check_eta

    eta = check_eta(eta)
    orc = make_oracle(oracle) if isinstance(oracle, str) else oracle
    oname = getattr(orc, "name", type(orc).__name__)
    if getattr(game, "field_expr", None) is None:
        raise BadInput(f"no switched linear model: system {game.name!r} is not symbolic")
    f = game_field(game)
    n, d = game.n_gen, game.dim
    eta_e = exact(eta)
    eq = list(game.equilibrium)
    describe = dict(convention=game.convention, oracle=str(oname), eta=eta, equilibrium=eq)

    if isinstance(orc, (SimOracle, AltOracle)):
        rule = Sim() if isinstance(orc, SimOracle) else Alt(orc.n_d, orc.n_g, orc.first)
        J = f.jacobian_exact()
        Ae = linear_map_matrix(rule, J, eta_e, n)
        linear = _is_linear(list(f.expr), game.symbols, eq)
        name = "V3" if isinstance(orc, SimOracle) else rule.spec
        model = SwitchedModel(modes=[(name, _num(Ae), Ae)], regions=[[]], regions_exact=[[]],
                              exact_model=linear, steps_per_mode=rule.gradient_evaluations(), **describe)
        if not linear:
            model.notes.append("the field is nonlinear: this is the linearization at the equilibrium")
        return model

    if not isinstance(orc, DiracOracle):
        raise BadInput(f"no switched linear model for oracle {oname!r}: only the Dirac oracle (state-dependent "
                       "switching on psi.theta), sim and alt have one; oracles with memory or sampled batches "
                       "(dyn-gda) or user oracles do not")
    if n != d - n:
        raise BadInput("no switched linear model: the Dirac oracle needs as many generator as discriminator "
                       f"parameters (got {n} and {d - n})")
    conv = getattr(orc, "convention", None)
    conversion = None
    sign = 1
    if conv is not None and conv != game.convention:
        if not convert:
            raise BadInput(f"oracle {oname!r} is written in the {conv} convention but the game is in the "
                           f"{game.convention} convention; build the game with --convention {conv}, or pass "
                           "--convert (the regions are then rewritten in the game's coordinates)")
        conversion = f"{game.convention}->{conv}"
        sign = -1  # psi -> -psi flips the sign of psi.theta
    fields = {}
    for code, name in ((1, "V1"), (2, "V2"), (3, "V3")):
        mask = [1] * n + [0] * (d - n) if code == 1 else [0] * n + [1] * (d - n) if code == 2 else [1] * d
        fields[name] = [e * m for e, m in zip(f.expr, mask)]
    for name in ("V1", "V2"):
        if not _is_linear(fields[name], game.symbols, eq):
            raise BadInput(f"no switched linear model: the partial field {name} of system {game.name!r} "
                           f"(loss {game.loss}) is not linear in {', '.join(map(str, game.symbols))}; "
                           "the model exists for the Wasserstein Dirac-GAN")
    # the quadratic form psi.theta (relative to the equilibrium) as x^T S x, S symmetric
    S = sp.zeros(d, d)
    for i in range(n):
        S[i, n + i] = S[n + i, i] = sp.Rational(1, 2) * sign
    # thesis convention (sign = +1): V1 where psi.theta <= 0, V2 where psi.theta >= 0
    names = ["V1", "V2"] + (["V3"] if orc.boundary == "V3" else [])
    regions_e = {"V1": [-S], "V2": [S], "V3": [S, -S]}
    modes, regions, regions_exact = [], [], []
    for name in names:
        Jn = sp.Matrix(fields[name]).jacobian(game.symbols)  # constant: the field is linear
        rule_fns = _OneField(Jn)
        Ae = rule_fns.matrix(eta_e)
        modes.append((name, _num(Ae), Ae))
        regions_exact.append(regions_e[name])
        regions.append([_num(M) for M in regions_e[name]])
    model = SwitchedModel(modes=modes, regions=regions, regions_exact=regions_exact, conversion=conversion,
                          **describe)
    model.notes.append(f"the oracle's boundary choice (psi.theta = 0) is {orc.boundary}; the cones are closed, "
                       "so a certificate for this model also covers the other choices on the boundary"
                       + ("" if orc.boundary != "V3" else " (V3 is a third mode on the boundary)"))
    return model


class _OneField:
    """``A = I + eta J`` computed by the update rule's code (one Sim step on the field ``J x``)."""

    def __init__(self, J: sp.Matrix):
        self.J = J

    def matrix(self, eta) -> sp.Matrix:
        from stabcheck.linearize import linear_map_matrix
        from stabcheck.rules import Sim

        return linear_map_matrix(Sim(), self.J, eta, self.J.shape[0])


def _num(M: sp.Matrix) -> np.ndarray:
    return np.array(M.evalf(30).tolist(), dtype=float)


__all__ = ["SwitchedModel", "switched_model"]
