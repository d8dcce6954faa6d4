"""A module imported on first use (``sp = LazyModule("sympy")``; ``sp.Matrix`` imports it).

Start-up: ``stabcheck.analysis``, ``stabcheck.linearize`` and ``stabcheck.fields`` need sympy
only on their exact paths, so importing them (``stabcheck analyze --help``, bad input, torch
user games, sweeps' float evaluation) does not pay for sympy (about 0.4-0.8 s).
"""

from __future__ import annotations

import importlib
import sys


class LazyModule:
    """Attribute access imports the module (once) and forwards to it."""

    def __init__(self, name: str):
        self.__dict__["_name"] = name

    def __getattr__(self, attr):
        module = importlib.import_module(self.__dict__["_name"])
        return getattr(module, attr)

    def loaded(self) -> bool:
        """Whether the module has been imported (by anyone)."""
        return self.__dict__["_name"] in sys.modules

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_name']!r}>"
