"""``stabcheck sweep``: a stability map - spectral radius and verdict over a parameter grid."""

from __future__ import annotations

HELP = "stability map: spectral radius and verdict over a grid of game, regularizer and method parameters"

EPILOG = """\
grid: comma-separated axes name=lo:hi:n[:log] (Cartesian product, first axis slowest).
names: eta; gamma of the method's transform (jare.gamma, conopt.gamma, ...); alt.n_d, alt.n_g;
noise.sigma, r1.gamma, r2.gamma, gradnorm.gamma of a --reg (whose spec may then omit the value);
gaussian.sigma2, gaussian.mean (1-D); a user factory's parameters. Bare names are accepted when
unambiguous. example:
  stabcheck sweep --system dirac --loss wgan --method jare --grid eta=1e-3:2:400:log,gamma=0:20:400 --out map.png --csv map.csv
"""


def register(p) -> None:
    import argparse

    from stabcheck.cli.common import add_game_arguments
    from stabcheck.executors import add_executor_arguments

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    add_game_arguments(p, eta=False)
    p.add_argument("--method", default=None, metavar="SPEC",
                   help="one method: sim, alt[:n_d=,n_g=,first=], eg, ogda, jare[:gamma=], conopt[:gamma=], "
                        "genreg[:gamma=], discreg[:gamma=] (default: sim)")
    p.add_argument("--oracle", default=None, metavar="SPEC",
                   help="instead of --method: an oracle whose training map is linear at x* - sim, alt[:n_d=,n_g=,"
                        "first=] or a user oracle pkg.mod:Name that is one of them (a subclass, or declares "
                        "method = 'alt:n_d=2'); state-switching oracles have no spectral radius (check-oracle)")
    p.add_argument("--grid", action="append", required=True, metavar="AXES",
                   help="name=lo:hi:n[:log],... (repeatable; axes are joined)")
    p.add_argument("--eta", default=None, help="step size, when eta is not on the grid")
    p.add_argument("--out", default=None, metavar="PNG", help="write the heat map (1 or 2 grid parameters)")
    p.add_argument("--csv", default=None, metavar="PATH", help="write one row per grid point")
    p.add_argument("--json-out", default=None, metavar="PATH", help="write the JSON report to a file")
    p.add_argument("--json", action="store_true", help="print the JSON report")
    p.add_argument("--chunk", type=int, default=None, help="grid points per task (default 65536)")
    p.add_argument("--loop", action="store_true",
                   help="skip the symbolic path: one field Jacobian per parameter combination (slower)")
    add_executor_arguments(p)
    from stabcheck.progress import add_progress_argument

    add_progress_argument(p)


def method_for_oracle(spec: str) -> str:
    """The method whose map is the oracle's map at x* (one Alt period = one map step)."""
    from stabcheck.errors import BadInput
    from stabcheck.oracles import AltOracle, SimOracle, make_oracle
    from stabcheck.specs import format_spec

    orc = make_oracle(spec)
    declared = getattr(orc, "method", None)
    if isinstance(declared, str):
        return declared
    if isinstance(orc, SimOracle):
        return "sim"
    if isinstance(orc, AltOracle):
        return format_spec("alt", {"n_d": orc.n_d, "n_g": orc.n_g, "first": orc.first})
    raise BadInput(f"sweep --oracle {spec!r}: the oracle switches on the state (or its history), so its map has no "
                   "single Jacobian at x* and no spectral radius to sweep; use stabcheck check-oracle (fuzzing, "
                   "certificates) or give the oracle a 'method' attribute naming its linear equivalent")


def run(args) -> int:
    from stabcheck.cli.common import user_errors

    with user_errors("sweep"):
        return _run(args)


def _run(args) -> int:
    from stabcheck.cli.common import apply_paths, emit_json
    from stabcheck.errors import BadInput
    from stabcheck.executors import executor_from_args
    from stabcheck.sweep import DEFAULT_CHUNK, sweep

    from stabcheck.cli.common import game_params_from_args
    from stabcheck.io import check_output_path

    check_output_path(args.out, "--out", plot=True)
    check_output_path(args.csv, "--csv")
    check_output_path(args.json_out, "--json-out")
    apply_paths(args)
    if args.oracle is not None and args.method is not None:
        raise BadInput("give --method or --oracle, not both")
    method = method_for_oracle(args.oracle) if args.oracle is not None else (args.method or "sim")
    params = game_params_from_args(args)
    from stabcheck.progress import Progress, progress_wanted

    with executor_from_args(args) as ex, Progress("sweep", unit="points", enabled=progress_wanted(args)) as bar:
        result = sweep(args.system, args.loss, method, args.grid, regs=args.reg, params=params,
                       convention=args.convention, eta=args.eta, executor=ex,
                       chunk=args.chunk if args.chunk is not None else DEFAULT_CHUNK, symbolic=not args.loop,
                       progress=bar)
    if args.out:
        result.plot(args.out, title=_title(result))
    if args.csv:
        result.write_csv(args.csv)
    if args.json_out:
        result.write_json(args.json_out)
    if args.json:
        emit_json(result.to_json(), kind="sweep")
    else:
        print(format_summary(result, args))
    return 0


def _title(r) -> str:
    s = r.info["system"]
    t = f"{r.info['method']} on {s['name']}" + (f" ({s['loss']})" if s.get("loss") else "")
    if r.info["regularizers"]:
        t += " + " + " ".join(r.info["regularizers"])
    if r.info.get("eta_fixed") is not None:
        t += f", eta = {r.info['eta_fixed']:g}"
    return t


def check_command(r, i: int) -> str:
    """The sweep's ``analyze`` command for point ``i``, made to run as printed: an integer
    ``--dim`` (not ``2.0``), and ``--path DIR`` for a user factory a fresh process would not find."""
    import re

    from stabcheck.testing.properties import path_args

    cmd = r.analyze_command(i)
    cmd = re.sub(r"--dim (\d+)\.0(?=\s|$)", r"--dim \1", cmd)
    system = r.info["system"]["name"]
    extra = path_args(system)
    if extra:
        cmd = cmd.replace(f"--system {system}", f"--system {system} " + " ".join(extra), 1)
    return cmd


def format_summary(r, args=None) -> str:
    """Human-readable summary of a sweep."""
    import numpy as np

    info = r.info
    lines = [_title(r), f"convention: {info['convention']}"]
    if info.get("order"):
        lines.append(f"Alt-GDA order: {info['order']}; one map step = n_d + n_g gradient steps")
    lines.append("grid: " + " x ".join(f"{a.qualified} [{a.lo:g}, {a.hi:g}] ({a.n}{', log' if a.log else ''})"
                                       for a in r.axes) + f" = {r.size} points")
    c = r.counts()
    lines.append(", ".join(f"{k}: {v} ({100 * v / max(r.size, 1):.1f}%)" for k, v in c.items()))
    rho = r.spectral_radius
    if np.any(np.isfinite(rho)):
        i = int(np.nanargmin(np.where(np.isfinite(rho), rho, np.nan)))
        best = r.point(i)
        lines.append(f"smallest spectral radius {rho.reshape(-1)[i]:.10g} at "
                     + ", ".join(f"{k} = {v:.6g}" for k, v in best.items()))
        lines.append(f"check a point: {check_command(r, i)}")
    t = info["timing"]
    ex = info["executor"]
    lines.append(f"path: {info['path']}; executor: {ex.get('kind')}"
                 + (f" ({ex.get('scheduler')}, {ex.get('workers')} workers)" if ex.get("kind") == "dask" else "")
                 + f"; {info['tasks']} tasks of <= {info['chunk']} points; setup {t['setup']['wall_s']:.2f} s, "
                 f"evaluation {t['evaluate']['wall_s']:.3f} s"
                 + (f" ({t['points_per_s']:.3g} points/s)" if t.get("points_per_s") else ""))
    lines.append(f"verdicts: floating point, tolerance {info['tol']:g} relative to |l - 1| "
                 "(as analyze's numeric verdicts; analyze decides exactly where it can)")
    outs = [x for x in ((getattr(args, "out", None), "map"), (getattr(args, "csv", None), "csv"),
                        (getattr(args, "json_out", None), "json")) if x[0]] if args is not None else []
    for path, what in outs:
        lines.append(f"wrote {what}: {path}")
    return "\n".join(lines)
