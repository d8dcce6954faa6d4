"""Arguments shared by the subcommands that build a game (analyze, simulate, certify, sweep)."""

from __future__ import annotations

import argparse
import math
import sys

from stabcheck.errors import BadInput


def add_game_arguments(p: argparse.ArgumentParser, *, eta: bool = True) -> None:
    g = p.add_argument_group("system")
    g.add_argument("--system", default="dirac",
                   help="dirac | gaussian | general | pkg.module:factory (default: dirac)")
    g.add_argument("--loss", default=None, help="wgan | bce | nsgan | rkl | hinge (built-in GAN games)")
    g.add_argument("--reg", action="append", default=[], metavar="SPEC",
                   help="loss-level regularizer, repeatable: noise:sigma=S, r1:gamma=G, r2:gamma=G, gradnorm:gamma=G")
    g.add_argument("--dim", type=int, default=None, help="gaussian: dimension n (default: len(--mean) or 1)")
    g.add_argument("--mean", default=None, help="gaussian: real-data mean v1,...,vn (default 1,...,1)")
    g.add_argument("--sigma2", default=None, help="gaussian: variance sigma^2 (default 1)")
    g.add_argument("--P", dest="P", default=None, help="general: P matrix file (.npy/.json), n_gen x n_disc")
    g.add_argument("--Q", dest="Q", default=None, help="general: Q matrix file (.npy/.json), n_disc x n_disc, symmetric")
    g.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="parameter passed to a user game factory, repeatable")
    g.add_argument("--convention", choices=("mescheder", "thesis"), default=None,
                   help="sign convention of psi (default: the system's own: dirac mescheder, gaussian thesis)")
    add_path_argument(g)
    if eta:
        p.add_argument("--eta", required=True, help="step size (> 0)")


def add_path_argument(g) -> None:
    g.add_argument("--path", action="append", default=[], metavar="DIR",
                   help="directory put first on the module search path before user modules (pkg.mod:factory, "
                        "pkg.mod:Oracle) are imported, repeatable; printed reproduce commands carry it")


def apply_paths(args) -> None:
    """Put ``--path DIR`` entries first on ``sys.path`` (BadInput when one is not a directory)."""
    import os

    for d in reversed(getattr(args, "path", None) or []):
        if not os.path.isdir(d):
            raise BadInput(f"--path {d!r} is not a directory")
        d = os.path.abspath(d)
        if d not in sys.path:
            sys.path.insert(0, d)


def _is_our_frame(filename: str) -> bool:
    import os

    import stabcheck

    ours = os.path.dirname(os.path.abspath(stabcheck.__file__))
    lib = [os.path.abspath(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    f = os.path.abspath(filename)
    return f.startswith(ours + os.sep) or any(f.startswith(p + os.sep) for p in lib) or filename.startswith("<")


class user_errors:
    """``with user_errors("simulate"):`` - an exception raised inside a user's module (a game
    factory, an oracle's constructor or its ``__call__``/``choose_many``, a Lyapunov candidate)
    becomes one :class:`BadInput` line naming the user's file and line (exit status 2, no
    traceback). Exceptions raised by stabcheck itself or by libraries pass through."""

    def __init__(self, command: str):
        self.command = command

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        import os
        import traceback

        if exc is None or isinstance(exc, (BadInput, KeyboardInterrupt, SystemExit)) or not isinstance(exc, Exception):
            return False
        frames = traceback.extract_tb(tb)
        user = [f for f in frames if not _is_our_frame(f.filename)]
        if not user:
            return False
        f = user[-1]
        msg = " ".join(str(exc).split())
        raise BadInput(f"user code raised {type(exc).__name__}: {msg} (at {os.path.basename(f.filename)}:{f.lineno} "
                       f"in {f.name}, during {self.command})") from None


def parse_floats(text: str, what: str) -> list:
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadInput(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not vals or not all(math.isfinite(v) for v in vals):
        raise BadInput(f"{what} must be finite numbers, got {text!r}")
    return vals


def game_params_from_args(args) -> dict:
    """The system parameters the arguments give (gaussian --mean/--dim/--sigma2, general --P/--Q,
    user-factory --param KEY=VALUE); BadInput on anything invalid."""
    params: dict = {}
    if args.system == "gaussian":
        if args.mean is not None:
            params["mean"] = parse_floats(args.mean, "--mean")
        if args.dim is not None:
            if args.dim < 1:
                raise BadInput(f"--dim must be >= 1, got {args.dim}")
            params["dim"] = args.dim
        if args.sigma2 is not None:
            params["sigma2"] = parse_floats(args.sigma2, "--sigma2")[0]
    else:
        for name in ("mean", "dim", "sigma2"):
            if getattr(args, name) is not None:
                raise BadInput(f"--{name} applies to --system gaussian only")
    if args.system == "general":
        params["P"], params["Q"] = args.P, args.Q
        if args.P is None or args.Q is None:
            raise BadInput("--system general needs --P and --Q (matrix files, .npy or .json)")
    elif args.P is not None or args.Q is not None:
        raise BadInput("--P and --Q apply to --system general only")
    params.update(parse_params(args.param))
    return params


def parse_params(items) -> dict:
    """``--param KEY=VALUE`` items as keyword arguments for a user factory (values typed by
    :func:`stabcheck.specs.parse_value`)."""
    from stabcheck.specs import parse_value

    out = {}
    for item in items or ():
        k, eq, v = item.partition("=")
        if not eq or not k:
            raise BadInput(f"--param expects KEY=VALUE, got {item!r}")
        out[k] = parse_value(v)
    return out


def game_from_args(args):
    """Build the game the arguments describe (BadInput on anything invalid, including a user
    factory that raises)."""
    apply_paths(args)
    return build_game(args.system, args.loss, game_params_from_args(args), args.reg, args.convention)


def build_game(system, loss, params, regs, convention):
    """:func:`stabcheck.games.make_game`; a user factory (``pkg.mod:factory``) that raises gives
    one BadInput line."""
    from stabcheck.games import make_game

    if ":" not in str(system):
        return make_game(system, loss, params, regs, convention)
    try:
        return make_game(system, loss, params, regs, convention)
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's factory failed: their input
        msg = " ".join(str(exc).split())
        raise BadInput(f"user game {system!r} could not be built: {type(exc).__name__}: {msg}") from None


#: exit statuses, the same for every command (docs/cli.md): the property holds / certified,
#: it does not, bad input, undecided (a solver failed, a check timed out, ...)
EXIT_HOLDS, EXIT_FAILS, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 3


def emit_json(obj, stream=None, kind=None) -> None:
    """Print a JSON document (:mod:`stabcheck.jsonout`: ``schema_version`` and ``kind`` first
    when ``kind`` is given; non-finite numbers as ``"inf"``, ``"-inf"``, ``"nan"``)."""
    from stabcheck.jsonout import dumps

    stream = stream or sys.stdout
    stream.write(dumps(obj, indent=2, kind=kind) + "\n")


def write_json_report(obj, dest: str, kind=None) -> None:
    """``--json [PATH]``: ``-`` prints to stdout, a path is written atomically."""
    if dest == "-":
        emit_json(obj, kind=kind)
        return
    import io

    from stabcheck.io import write_text_atomic

    buf = io.StringIO()
    emit_json(obj, buf, kind=kind)
    write_text_atomic(dest, buf.getvalue())
