"""``stabcheck claims``: run the papers' results as executable checks."""

from __future__ import annotations

HELP = "check the source papers' claims (and your own): holds / refuted / holds with correction / inconclusive"


def register(p) -> None:
    p.add_argument("--id", action="append", default=None, metavar="ID",
                   help="claim id or shell pattern (e.g. nie-patel/thm3, 'deoliveira/*'), repeatable (default: all)")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import this module to register more claims (repeatable); modules named in the "
                        "'stabcheck.claims' entry-point group are loaded automatically")
    p.add_argument("--no-builtin", action="store_true", help="skip the built-in claims (run only plugins)")
    p.add_argument("--list", action="store_true", help="list the claims (id, source, statement) without running them")
    p.add_argument("--json", action="store_true", help="print the JSON report (contract in DESIGN.md)")
    p.add_argument("--markdown", metavar="FILE", default=None,
                   help="write the markdown report (docs/claims.md is generated with this)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: the available CPUs, at most 8)")
    p.add_argument("--timeout", type=float, default=None,
                   help="time limit of one check in seconds (default 90); a check past it is inconclusive")
    p.add_argument("--timings", action="store_true", help="show each check's run time in the table")
    p.add_argument("--mutants", action="store_true",
                   help="run every claim's mutants (deliberately false variants of the printed statements) and "
                        "report how many were caught; exit status 1 if any was not, or a claim has none")
    p.add_argument("--thorough", action="store_true",
                   help="the thorough profile: more search draws, starts and step counts (slower; default: the CI profile)")
    from stabcheck.progress import add_progress_argument

    add_progress_argument(p)
    p.add_argument("--fail-on", default="", metavar="VERDICTS",
                   help="exit with status 1 if any claim ends in one of these comma-separated verdicts "
                        "(refuted, inconclusive, 'holds with correction'), for CI")


def run(args) -> int:
    import sys

    from stabcheck.claims.registry import all_claims, select
    from stabcheck.claims.report import markdown, table, to_json
    from stabcheck.claims.runner import DEFAULT_TIMEOUT, default_jobs, run_claims
    from stabcheck.claims.verdicts import VERDICTS
    from stabcheck.cli.common import emit_json
    from stabcheck.errors import BadInput

    fail_on = [v.strip() for v in args.fail_on.split(",") if v.strip()]
    bad = [v for v in fail_on if v not in VERDICTS]
    if bad:
        raise BadInput(f"--fail-on: unknown verdict {bad[0]!r}; valid: {', '.join(VERDICTS)}")
    if args.jobs is not None and args.jobs < 1:
        raise BadInput(f"--jobs must be >= 1, got {args.jobs}")
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    if not timeout > 0:
        raise BadInput(f"--timeout must be > 0 seconds, got {args.timeout}")
    claims = select(all_claims(builtin=not args.no_builtin, plugins=args.plugin), args.id)
    if not claims:
        raise BadInput("no claims to run (none registered; use --plugin MODULE or drop --no-builtin)")
    if args.list:
        for c in claims:
            print(f"{c.id}  [{c.source}, {c.location}]  {c.statement}")
        return 0
    if args.markdown:
        from pathlib import Path

        parent = Path(args.markdown).parent
        if str(parent) and not parent.exists():
            raise BadInput(f"--markdown: directory {parent} does not exist")
    from stabcheck.claims.domain import profile, set_profile

    set_profile("thorough" if args.thorough else "ci")
    jobs = args.jobs or default_jobs()
    from stabcheck.progress import Progress, progress_wanted

    with Progress("mutants" if args.mutants else "claims", total=len(claims), unit="checks",
                  enabled=progress_wanted(args)) as tick:
        runs = run_claims(claims, jobs=jobs, timeout=timeout, plugins=args.plugin, mutants=args.mutants,
                          progress=tick)
    if args.mutants:
        from stabcheck.claims.report import mutants_json, mutants_table
        from stabcheck.claims.runner import caught

        if args.json:
            emit_json(mutants_json(runs, claims, profile()), kind="claims")
        else:
            print(mutants_table(runs, claims))
        return 0 if all(caught(r.result) for r in runs) and all(c.mutants for c in claims) else 1
    if args.markdown:
        from stabcheck.io import write_text_atomic

        write_text_atomic(args.markdown, markdown(runs))
    if args.json:
        emit_json(to_json(runs, profile()), kind="claims")
    else:
        print(table(runs, timings=args.timings))
        if args.markdown:
            print(f"wrote {args.markdown}", file=sys.stderr)
    return 1 if any(r.result.verdict in fail_on for r in runs) else 0

