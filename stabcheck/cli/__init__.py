"""The ``stabcheck`` command line.

Each subcommand lives in its own module ``stabcheck/cli/<name>.py`` that defines

* ``HELP`` - a one-line description,
* ``register(parser)`` - add the subcommand's arguments to an ``argparse`` parser,
* ``run(args) -> int`` - do the work and return the exit status.

Subcommand modules must import heavy libraries (torch, cvxpy, matplotlib) inside ``run``
or deeper, never at module level, so that ``stabcheck --help`` and ``stabcheck analyze``
stay fast. Any :class:`stabcheck.errors.BadInput` raised while parsing or running is
printed as one line ``stabcheck: error: ...`` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from stabcheck import __version__
from stabcheck.errors import BadInput

#: subcommand name -> module (in the order shown by --help)
SUBCOMMANDS = {
    "analyze": "stabcheck.cli.analyze",
    "simulate": "stabcheck.cli.simulate",
    "certify": "stabcheck.cli.certify",
    "check-oracle": "stabcheck.cli.check_oracle",
    "claims": "stabcheck.cli.claims",
    "sweep": "stabcheck.cli.sweep",
}


def one_line_parser_error(prog: str, message: str) -> str:
    """argparse's error message as one line that names what is wrong and where help is:
    ``the following arguments are required: --eta`` -> ``--eta is required (see stabcheck
    analyze --help)``. Shared by ``gpu_validation``'s command line."""
    import re

    message = " ".join(str(message).split())  # argparse messages may carry newlines
    m = re.fullmatch(r"the following arguments are required: (.+)", message)
    if m:
        names = m.group(1)
        if names in ("COMMAND", "cmd", "command"):
            names = "a command"
        message = f"{names} {'is' if ',' not in names else 'are'} required"
    m = re.fullmatch(r"argument (\S+): (.+)", message)
    if m and m.group(1) in ("COMMAND", "cmd", "command"):
        c = re.fullmatch(r"invalid choice: (.+?) \((choose from .+)\)", m.group(2))
        message = f"unknown command {c.group(1)} ({c.group(2)})" if c else f"command: {m.group(2)}"
    elif m:
        message = f"{m.group(1)}: {m.group(2)}"
    return f"{message} (see {prog} --help)"


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad input as one line and exit status 2 (never a traceback)."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        raise BadInput(one_line_parser_error(self.prog, message))


def _available() -> dict:
    mods = {}
    for name, modname in SUBCOMMANDS.items():
        try:
            mods[name] = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    """The full parser (used by main and by the generated CLI reference in docs/)."""
    parser = _Parser(prog="stabcheck", description="Check the theory of GAN training dynamics.")
    parser.add_argument("--version", action="version", version=f"stabcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, mod in _available().items():
        p = sub.add_parser(name, help=getattr(mod, "HELP", ""), description=getattr(mod, "HELP", ""))
        mod.register(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stabcheck`` console script. Returns the exit status."""
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:  # name the subcommand whose --help lists the valid options
            prog = f"stabcheck {args.command}" if getattr(args, "command", None) else "stabcheck"
            raise BadInput(one_line_parser_error(prog, f"unrecognized arguments: {' '.join(extra)}"))
        if not getattr(args, "_run", None):
            raise BadInput(f"give a command: {', '.join(SUBCOMMANDS)} (see stabcheck --help)")
        return int(args._run(args) or 0)
    except BadInput as exc:
        print(f"stabcheck: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stabcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
