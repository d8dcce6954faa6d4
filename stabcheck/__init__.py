"""stabcheck: check the theory of GAN training dynamics and test it like software.

The package is organised along one pipeline (see docs/conventions.md)::

    Game -> Field -> UpdateRule -> map F_eta -> linearize / certify / simulate -> Report

The Python API (docs/api.md) is at the top level: :func:`make_game`, :func:`make_method`,
:func:`analyze`, :func:`simulate`, :func:`certify`, :func:`sweep`, :func:`check_oracle`; each
returns a result dataclass with ``to_dict()`` / ``to_json()``. They live in
:mod:`stabcheck.api`.

``stabcheck.simulate``, ``stabcheck.sweep``, ``stabcheck.certify`` and
``stabcheck.check_oracle`` are also the engine's modules of those names; called, such a
module runs the API function (``stabcheck.simulate(game, ["sim"], eta=0.1)`` is
``stabcheck.api.simulate(game, ["sim"], eta=0.1)``), and its attributes stay the engine's
(``stabcheck.simulate.simulate``, ``stabcheck.certify.certify_linear``).

Importing :mod:`stabcheck` is cheap: heavy dependencies (torch, cvxpy, matplotlib, sympy) are
imported only by the functions that need them.
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from stabcheck.errors import BadInput, SolverFailure, StabcheckError  # noqa: F401,E402

if TYPE_CHECKING:  # pragma: no cover - for type checkers; at run time these load lazily
    from stabcheck.api import (SCHEMA_VERSION, AnalyzeResult, CertifyResult, MethodResult,  # noqa: F401
                               OracleCheckResult, PropertyResult, SimulateResult, SweepResult, analyze,
                               check_oracle, certify, make_game, make_method, simulate, sweep)

#: names served lazily from stabcheck.api
_API = ("make_game", "make_method", "analyze", "AnalyzeResult", "MethodResult", "SimulateResult",
        "CertifyResult", "SweepResult", "OracleCheckResult", "PropertyResult", "SCHEMA_VERSION")
#: engine modules that are callable as the API function of the same name
_CALLABLE_MODULES = ("simulate", "sweep", "certify", "check_oracle")

__all__ = ["__version__", "StabcheckError", "BadInput", "SolverFailure", *_API, *_CALLABLE_MODULES]


class _CallableModule(_types.ModuleType):
    """An engine module that, called, runs :mod:`stabcheck.api`'s function of its name."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from stabcheck import api

        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Package(_types.ModuleType):
    """The stabcheck package: makes the engine modules in :data:`_CALLABLE_MODULES` callable
    when the import system attaches them (whatever imports them first)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (name in _CALLABLE_MODULES and isinstance(value, _types.ModuleType)
                and value.__name__ == f"{__name__}.{name}" and type(value) is _types.ModuleType):
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


def __getattr__(name: str) -> Any:
    if name in _API:
        from stabcheck import api

        return getattr(api, name)
    if name in _CALLABLE_MODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_API) | set(_CALLABLE_MODULES))


_sys.modules[__name__].__class__ = _Package
