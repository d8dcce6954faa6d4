"""``stabcheck simulate``: run oracles and methods from one start; measure distances to x*.

Examples::

    stabcheck simulate --system dirac --loss wgan --convention thesis --eta 0.1 \\
        --x0 0.7,1.3 --steps 5000 --compare sim,alt:n_d=5,dirac,dyn-gda --plot fig2.png
    stabcheck simulate --system dirac --loss wgan --eta 0.1 --oracle dirac --convert --precision 50

See docs/simulate.md for the JSON contract and the oracle protocol.
"""

from __future__ import annotations

import math

HELP = "simulate training with oracles or methods (float64 or mpmath) and measure convergence"


def register(p) -> None:
    from stabcheck.cli.common import add_game_arguments

    add_game_arguments(p)
    r = p.add_argument_group("what to run (at least one; repeatable)")
    r.add_argument("--oracle", action="append", default=[], metavar="SPEC",
                   help="decision oracle: sim, alt[:n_d=,n_g=,first=], dirac[:boundary=auto|V1|V2|V3], "
                        "dyn-gda[:c1=,c2=], or a user oracle pkg.module:Name[:key=value,...]")
    r.add_argument("--method", action="append", default=[], metavar="SPEC",
                   help="update rule / method: sim, alt[:n_d=,n_g=,first=] (one step = one period), eg, ogda, "
                        "jare[:gamma=,rule=], conopt, genreg, discreg, a user rule pkg.mod:Rule[:k=v]; every rule "
                        "takes optimizer keys ratio=, momentum=, opt=sgd|rmsprop|adam, beta1=, precond=, t=")
    r.add_argument("--optimizer", default=None, metavar="K=V,...",
                   help="how the --oracle runs' steps are taken, e.g. momentum=-0.3,ratio=2 or "
                        "opt=adam,beta1=0.5,precond=100 (docs/optimizers.md); methods carry theirs in their spec")
    r.add_argument("--compare", action="append", default=[], metavar="A,B,C",
                   help="several runs from the same start, repeatable: oracle names (sim and alt as oracles), "
                        "method names (eg, ogda, jare, ...), or user oracles as import paths with or without dots "
                        "(mypkg.oracles:Greedy, myoracles:Greedy)")
    s = p.add_argument_group("simulation")
    s.add_argument("--x0", default=None, help="start theta...,psi... (default: the equilibrium + 1 in every coordinate)")
    s.add_argument("--steps", type=int, default=1000, help="steps (oracle: gradient updates; method: map "
                                                           "applications) (default 1000)")
    s.add_argument("--precision", default=None, metavar="DIGITS",
                   help="run in mpmath with DIGITS decimal digits, 'exact' (rational arithmetic) or 'float32' "
                        "(numpy single precision, to show its floor), instead of float64")
    s.add_argument("--max-distance", type=float, default=1e12,
                   help="stop a run ('boundary') when its distance to x* exceeds this (default 1e12)")
    s.add_argument("--batch", type=int, default=64, help="batch size for oracles that sample batches (dyn-gda)")
    s.add_argument("--seed", type=int, default=0, help="seed of the sampled batches")
    s.add_argument("--convert", action="store_true",
                   help="let an oracle written in the other sign convention run on converted states (psi -> -psi)")
    o = p.add_argument_group("output")
    o.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                   help="write the JSON report (to stdout, or to PATH)")
    o.add_argument("--csv", default=None, metavar="PATH", help="write the trajectories (one row per run and step)")
    o.add_argument("--plot", default=None, metavar="PNG", help="distance to x* vs. iteration, log axis (thesis Fig. 2)")
    o.add_argument("--phase", default=None, metavar="PNG",
                   help="trajectories over the gradient field and its norm (thesis Fig. 6)")
    from stabcheck.progress import add_progress_argument

    add_progress_argument(o)


def resolve_runners(args) -> list:
    from stabcheck.errors import BadInput
    from stabcheck.simulate import make_runner, split_specs

    runners = [make_runner(s, "oracle", args.optimizer) for s in args.oracle]
    runners += [make_runner(s, "method") for s in args.method]
    for text in args.compare:
        for spec in split_specs(text):
            r = make_runner(spec, compare_kind(spec))
            runners.append(make_runner(r, optimizer=args.optimizer) if r.kind == "oracle" and args.optimizer else r)
    if args.optimizer and not any(r.kind == "oracle" for r in runners):
        raise BadInput("--optimizer applies to oracles; give a method its optimizer in its spec "
                       "(e.g. --method alt:momentum=-0.3)")
    if not runners:
        raise BadInput("nothing to simulate: give --oracle SPEC, --method SPEC or --compare A,B,...; "
                       "built-in oracles: sim, alt, dirac, dyn-gda")
    return runners


def compare_kind(spec: str):
    """What a ``--compare`` entry is: a built-in oracle name (sim and alt count gradient
    updates) -> oracle; a built-in method name (eg, ogda, jare, ...) -> method; any other
    ``module:Name`` (with or without dots in the module) -> a user oracle."""
    from stabcheck.oracles import BUILTIN_ORACLES

    head = spec.split(":", 1)[0].strip()
    if head in BUILTIN_ORACLES:
        return "oracle"
    if ":" in spec and not _is_method_name(head):
        return "oracle"
    return None  # make_runner decides (methods, and its error messages)


def _is_method_name(head: str) -> bool:
    from stabcheck.methods import TRANSFORM_BLOCKS
    from stabcheck.rules import RULES

    return head in RULES or head in TRANSFORM_BLOCKS


def run(args) -> int:
    from stabcheck.cli.common import user_errors

    with user_errors("simulate"):
        return _run(args)


def _run(args) -> int:
    from stabcheck.cli.common import apply_paths, game_from_args, parse_floats, write_json_report
    from stabcheck.errors import BadInput
    from stabcheck.simulate import check_eta, check_precision, check_x0, simulate

    from stabcheck.io import check_output_path

    eta = check_eta(args.eta)
    precision = check_precision(args.precision)
    check_output_path(args.json, "--json")
    check_output_path(args.csv, "--csv")
    check_output_path(args.plot, "--plot", plot=True)
    check_output_path(args.phase, "--phase", plot=True)
    if args.steps < 0:
        raise BadInput(f"--steps must be >= 0, got {args.steps}")
    if not (args.max_distance > 0) or math.isnan(args.max_distance):
        raise BadInput(f"--max-distance must be > 0, got {args.max_distance}")
    if args.batch < 1:
        raise BadInput(f"--batch must be >= 1, got {args.batch}")
    apply_paths(args)
    runners = resolve_runners(args)
    convention_note = None
    declared = sorted({r.convention for r in runners if r.convention is not None})
    if args.convention is None and len(declared) == 1 and not args.convert:
        # no convention asked for: build the game in the one its oracles are written in, and say so
        args.convention = declared[0]
        convention_note = (f"game built in the {declared[0]} convention, the one oracle(s) "
                           f"{', '.join(r.name for r in runners if r.convention)} are written in "
                           f"(pass --convention to choose, with --convert to convert states)")
    game = game_from_args(args)
    if args.x0 is None:
        x0 = [float(e) + 1.0 for e in game.equilibrium]
    else:
        x0 = check_x0(game, parse_floats(args.x0, "--x0"))
    record = bool(args.csv or args.phase)
    from stabcheck.progress import Progress, progress_wanted

    results = []
    with Progress("simulate", total=len(runners), unit="runs", enabled=progress_wanted(args)) as bar:
        for i, r in enumerate(runners):
            bar(i, len(runners), r.name)
            results.append(simulate(game, r, eta, x0, args.steps, precision=precision, max_distance=args.max_distance,
                                    batch=args.batch, seed=args.seed, convert=args.convert, record_states=record))
        bar(len(runners), len(runners), None)
    report = {"system": game.describe(), "eta": eta, "x0": [float(v) for v in x0], "steps": args.steps,
              "precision": results[0].precision, "seed": args.seed, "batch": args.batch,
              "max_distance": args.max_distance, "runs": [r.to_json() for r in results]}
    if convention_note:
        report["convention_note"] = convention_note
    if args.csv:
        write_csv(args.csv, game, results)
    if args.plot:
        from stabcheck.plots import distance_plot

        distance_plot(results, args.plot, title=_title(game, eta))
    if args.phase:
        from stabcheck.plots import phase_portrait

        phase_portrait(game, results, args.phase, title=_title(game, eta))
    if args.json is not None:
        write_json_report(report, args.json, kind="simulate")
    if args.json != "-":
        print(format_report(report))
    return 0


def _title(game, eta) -> str:
    return f"{game.name} ({game.loss or 'custom'}, {game.convention} convention), eta={eta:g}"


def write_csv(path, game, results) -> None:
    """Trajectories, one row per run and step: run, step, theta..., psi..., distance, log10, choice."""
    import csv
    import io

    from stabcheck.io import write_text_atomic

    from stabcheck.plots import coordinate_names

    names = coordinate_names(game)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", "step", *names, "distance", "log10_distance", "choice"])
    for r in results:
        for k, st in enumerate(r.states or []):
            lg = r.log10_distance[k]
            vals = [_fmt_num(v, r.precision) for v in st]
            choice = "" if (r.codes is None or k == 0) else f"V{int(r.codes[k - 1])}"
            dist = _fmt_float(10.0 ** lg if lg > -300 else 0.0) if math.isfinite(lg) else ("0" if lg < 0 else "")
            w.writerow([r.name, k, *vals, dist, _fmt_float(lg) if math.isfinite(lg) else "", choice])
    write_text_atomic(path, buf.getvalue())


def _fmt_float(v: float) -> str:
    return repr(float(v))


def _fmt_num(v, precision) -> str:
    if precision in ("float64", "float32"):
        return repr(float(v))
    if precision == "exact":
        return str(v)
    import mpmath

    return mpmath.nstr(v, int(precision))


def _fmt_dist(v: float, lg) -> str:
    if lg is None:
        return "0" if v == 0 else "-"
    if v == 0 or lg < -300:
        return f"1e{lg:.1f}"
    return f"{v:.3g}"


def format_report(rep: dict) -> str:
    """One row per run."""
    sysd = rep["system"]
    prec = rep["precision"]
    head = (f"system {sysd['name']}" + (f", loss {sysd['loss']}" if sysd.get("loss") else "")
            + (f", regularizers {' '.join(sysd['regularizers'])}" if sysd.get("regularizers") else "")
            + f", {sysd['convention']} convention, eta={rep['eta']:g}, x0={rep['x0']}, steps={rep['steps']}, "
            + (prec if prec in ("float64", "float32") else "exact rationals" if prec == "exact" else f"mpmath {prec} digits"))
    if rep.get("convention_note"):
        head += "\nnote: " + rep["convention_note"]
    cols = ["run", "steps", "final dist", "min dist", "first<1e-6", "sup ratio", "V1/V2/V3", "stopped"]
    rows = []
    for r in rep["runs"]:
        ch = r["choices"]
        name = r["name"] + (f" [{r['conversion']}]" if r.get("conversion") else "") + \
            (" (method)" if r["kind"] == "method" else "")
        rows.append([name, str(r["steps_done"]),
                     _fmt_dist(r["final_distance"], r["final_distance_log10"]),
                     _fmt_dist(r["min_distance"], r["min_distance_log10"]),
                     "-" if r["first_below_1e-6"] is None else str(r["first_below_1e-6"]),
                     "-" if r["sup_ratio"] is None else f"{r['sup_ratio']:.4g}",
                     "-" if ch is None else f"{ch['V1']}/{ch['V2']}/{ch['V3']}",
                     r["stopped"] or "-"])
    from stabcheck.tables import text_table

    lines = [head, text_table(cols, rows, justify=("left",) + ("right",) * 5 + ("left", "left"))]
    if any(r.get("conversion") for r in rep["runs"]):
        lines.append("[a->b]: the oracle saw the state converted from convention a to b (psi -> -psi)")
    return "\n".join(lines)
