"""Exceptions raised at stabcheck's API boundary.

Every error a user can cause by bad input is a :class:`BadInput`; the command line turns it
into one line on stderr and exit status 2 (no traceback). Anything else is a bug.
"""


class StabcheckError(Exception):
    """Base class of stabcheck's own exceptions."""


class BadInput(StabcheckError, ValueError):
    """Invalid user input: the message names the problem and the valid choices."""


class SolverFailure(StabcheckError):
    """A numerical solver failed; callers report this as 'inconclusive', never as a result."""
