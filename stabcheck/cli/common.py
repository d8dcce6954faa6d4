"""Arguments shared by the subcommands that build a game (analyze, simulate, certify, sweep)."""

from __future__ import annotations

import argparse
import json
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
    if eta:
        p.add_argument("--eta", required=True, help="step size (> 0)")


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
    from stabcheck.specs import parse_value

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
    for item in args.param:
        k, eq, v = item.partition("=")
        if not eq or not k:
            raise BadInput(f"--param expects KEY=VALUE, got {item!r}")
        params[k] = parse_value(v)
    return params


def game_from_args(args):
    """Build the game the arguments describe (BadInput on anything invalid)."""
    from stabcheck.games import make_game

    return make_game(args.system, args.loss, game_params_from_args(args), args.reg, args.convention)


def emit_json(obj, stream=None) -> None:
    """Print JSON (NaN/inf are not valid JSON: they are written as null)."""
    from stabcheck.io import json_clean

    stream = stream or sys.stdout
    stream.write(json.dumps(json_clean(obj), indent=2) + "\n")


def write_json_report(obj, dest: str) -> None:
    """``--json [PATH]``: ``-`` prints to stdout, a path is written atomically."""
    if dest == "-":
        emit_json(obj)
        return
    import io

    from stabcheck.io import write_text_atomic

    buf = io.StringIO()
    emit_json(obj, buf)
    write_text_atomic(dest, buf.getvalue())
