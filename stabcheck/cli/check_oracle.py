"""``stabcheck check-oracle``: fuzz an oracle's stability properties with Hypothesis.

Examples::

    stabcheck check-oracle mypkg.oracles:MyOracle --system dirac --loss wgan
    stabcheck check-oracle dirac --loss wgan --eta-range 1e-3,0.5 --max-examples 500 --seed 1 --json

Exit status: 0 when every property holds, 1 when one fails, 3 when none failed but one could not
be decided (verdict ``inconclusive``), 2 on bad input. See
docs/testing.md for the properties, the JSON report and an example.
"""

from __future__ import annotations

HELP = "fuzz an oracle's stability properties (bounded, Lyapunov decrease, ...) and print counterexamples"


def register(p) -> None:
    from stabcheck.cli.common import add_path_argument

    p.add_argument("oracle", nargs="?", default=None,
                   help="oracle spec: pkg.module:Name[:key=value,...] or a built-in (sim, alt, dirac); or --oracle")
    p.add_argument("--oracle", dest="oracle_opt", default=None, metavar="SPEC", help="the oracle (as the positional)")
    g = p.add_argument_group("system")
    g.add_argument("--system", default="dirac",
                   help="dirac | gaussian | a user game pkg.module:factory (default: dirac)")
    g.add_argument("--loss", default=None,
                   help="wgan | bce | nsgan | rkl | hinge (default: wgan for built-in games; passed to a user "
                        "factory as loss= only when given)")
    g.add_argument("--mean", default=None, help="gaussian: real-data mean v1,...,vn (default 1)")
    g.add_argument("--sigma2", default=None, help="gaussian: variance sigma^2 (default 1)")
    g.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="parameter passed to a user game factory, repeatable")
    add_path_argument(g)
    g.add_argument("--reg", action="append", default=[], metavar="SPEC",
                   help="loss-level regularizer, repeatable: noise:sigma=S, r1:gamma=G, ...")
    g.add_argument("--convention", choices=("mescheder", "thesis"), default=None,
                   help="sign convention of the game (default: the oracle's own; thesis for the Dirac oracle)")
    g.add_argument("--convert", action="store_true",
                   help="with --convention other than the oracle's: the oracle sees converted states (psi -> -psi)")
    f = p.add_argument_group("fuzzing")
    f.add_argument("--eta-range", default="1e-3,0.5", metavar="A,B",
                   help="step sizes, log-uniform in [A, B] plus A, B and the critical values inside (default 1e-3,0.5)")
    f.add_argument("--max-examples", type=int, default=500, help="(x0, eta) draws in the search (default 500)")
    f.add_argument("--shrink-examples", type=int, default=150,
                   help="examples of the Hypothesis run that shrinks a failure (default 150)")
    f.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: derandomized)")
    f.add_argument("--steps", type=int, default=1000, help="steps per trajectory N (default 1000)")
    f.add_argument("--bound", type=float, default=10.0, metavar="C",
                   help="bounded: sup_k ||x_k - x*|| <= C ||x_0 - x*|| (default 10)")
    f.add_argument("--lyapunov", default="H", metavar="V",
                   help="candidate: H (||x - x*||^2/2, thesis eq. 12), W (max |x_i - x*_i|) or pkg.mod:fn (default H)")
    f.add_argument("--rtol", type=float, default=1e-9, help="relative slack of the Lyapunov decrease (default 1e-9)")
    f.add_argument("--tol", type=float, default=1e-6, help="converges: ||x_N - x*|| <= tol ||x_0 - x*|| (default 1e-6)")
    f.add_argument("--properties", default=None, metavar="P,Q",
                   help="which properties (default: bounded,lyapunov,never_v3,convention,linearization,potential,"
                        "certificate; also: converges)")
    f.add_argument("--starts", default=None, metavar="K,L",
                   help="kinds of start: unit,near,far,boundary,tiny,huge (default) and extreme (scale 1e-170)")
    f.add_argument("--exclude-axes", action="store_true",
                   help="lyapunov: ignore steps from states with a coordinate at x* (Dirac: psi*theta = 0)")
    f.add_argument("--no-compare", action="store_true", help="do not run Sim-GDA and Alt-GDA on the same draws")
    f.add_argument("--optimizer", default=None, metavar="K=V,...",
                   help="take the oracle's (and the compared Sim/Alt's) steps through this optimizer, e.g. "
                        "momentum=-0.3,ratio=2 (docs/optimizers.md); lyapunov and the certificate are then skipped")
    f.add_argument("--search", choices=("numpy", "hypothesis"), default="numpy",
                   help="numpy (default): blocks of 8192 draws made by numpy from a Hypothesis seed, run at numpy "
                        "speed; hypothesis: Hypothesis draws every example (the reference, ~20x slower)")
    f.add_argument("--one-by-one", action="store_true",
                   help="run the draws one by one through simulate() even if the oracle has choose_many")
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                   help="write the JSON report (to stdout, or to PATH)")
    from stabcheck.progress import add_progress_argument

    add_progress_argument(p)


def run(args) -> int:
    from stabcheck.cli.common import user_errors

    with user_errors("check-oracle"):
        return _run(args)


def _run(args) -> int:
    from stabcheck.check_oracle import Config, check_oracle, format_report, parse_eta_range, parse_properties
    from stabcheck.cli.common import apply_paths, parse_floats, parse_params, write_json_report
    from stabcheck.errors import BadInput
    from stabcheck.testing.strategies import ALL_KINDS, KINDS

    if (args.oracle is None) == (args.oracle_opt is None):
        raise BadInput("give the oracle once: stabcheck check-oracle SPEC or --oracle SPEC "
                       "(a built-in: sim, alt, dirac; or pkg.module:Name)")
    oracle = args.oracle if args.oracle is not None else args.oracle_opt
    apply_paths(args)

    starts = KINDS
    if args.starts is not None:
        starts = tuple(k.strip() for k in args.starts.split(",") if k.strip())
        bad = [k for k in starts if k not in ALL_KINDS]
        if bad or not starts:
            raise BadInput(f"--starts: unknown kinds {bad or args.starts!r}; valid: {', '.join(ALL_KINDS)}")
    user = ":" in args.system
    if not user and args.system not in ("dirac", "gaussian"):
        raise BadInput(f"--system must be dirac, gaussian or a user game pkg.module:factory for check-oracle, "
                       f"got {args.system!r}")
    params: dict = {}
    if args.system == "gaussian":
        if args.mean is not None:
            params["mean"] = parse_floats(args.mean, "--mean")
        if args.sigma2 is not None:
            params["sigma2"] = parse_floats(args.sigma2, "--sigma2")[0]
    elif args.mean is not None or args.sigma2 is not None:
        raise BadInput("--mean and --sigma2 apply to --system gaussian only")
    if args.param and not user:
        raise BadInput("--param applies to a user game (--system pkg.module:factory)")
    params.update(parse_params(args.param))
    loss = args.loss if (args.loss is not None or user) else "wgan"
    cfg = Config(eta_range=parse_eta_range(args.eta_range), steps=args.steps, max_examples=args.max_examples,
                 seed=args.seed, C=args.bound, candidate=args.lyapunov, rtol=args.rtol, tol=args.tol,
                 properties=parse_properties(args.properties), shrink_examples=args.shrink_examples,
                 compare=not args.no_compare, starts=starts, exclude_axes=args.exclude_axes,
                 vectorised=False if args.one_by_one else None, optimizer=args.optimizer, engine=args.search)
    from stabcheck.progress import Progress, progress_wanted

    with Progress("check-oracle", unit="draws", enabled=progress_wanted(args)) as bar:
        report = check_oracle(oracle, system=args.system, loss=loss, regs=args.reg, params=params or None,
                              convention=args.convention, convert=args.convert, config=cfg, progress=bar)
    if args.json is not None:
        write_json_report(report, args.json, kind="check-oracle")
    if args.json != "-":
        print(format_report(report))
    from stabcheck.cli.common import EXIT_FAILS, EXIT_HOLDS, EXIT_INCONCLUSIVE

    return {"pass": EXIT_HOLDS, "fail": EXIT_FAILS}.get(report["verdict"], EXIT_INCONCLUSIVE)
