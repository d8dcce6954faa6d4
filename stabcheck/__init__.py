"""stabcheck: check the theory of GAN training dynamics and test it like software.

The package is organised along one pipeline (see docs/conventions.md)::

    Game -> Field -> UpdateRule -> map F_eta -> linearize / certify / simulate -> Report

Importing :mod:`stabcheck` is cheap: heavy dependencies (torch, cvxpy, matplotlib) are
imported only by the functions that need them.
"""

__version__ = "0.1.0"

from stabcheck.errors import StabcheckError, BadInput  # noqa: F401
