"""``stabcheck analyze``: eigen-analysis of training methods at the equilibrium."""

from __future__ import annotations


HELP = "eigen-analysis of every training method's update map at the equilibrium"


def register(p) -> None:
    from stabcheck.cli.common import add_game_arguments

    add_game_arguments(p)
    p.add_argument("--method", action="append", default=None, metavar="SPEC",
                   help="method, repeatable: sim, alt[:n_d=,n_g=,first=], eg, ogda, jare[:gamma=], "
                        "conopt[:gamma=], genreg[:gamma=], discreg[:gamma=] (default: all)")
    p.add_argument("--json", action="store_true", help="print the JSON report (contract in docs/cli.md)")
    p.add_argument("--latex", action="store_true", help="print the exact Jacobians in LaTeX")
    p.add_argument("--no-exact", action="store_true", help="skip the exact (sympy) path; use autodiff")
    p.add_argument("--certify", action="store_true",
                   help="add a Lyapunov-certificate column (cvxpy; slower start-up)")
    p.add_argument("--fail-on", metavar="VERDICTS", default=None,
                   help="exit with status 1 if any method's verdict is one of these comma-separated verdicts "
                        "(converges, neutral, unbounded, diverges), e.g. --fail-on diverges,unbounded for CI; "
                        "without it the status is 0 whenever the report is produced")


def run(args) -> int:
    from stabcheck.analysis import analyze, check_eta, resolve_methods
    from stabcheck.cli.common import emit_json, game_from_args

    eta = check_eta(args.eta)
    fail_on = _fail_on(args.fail_on)
    game = game_from_args(args)
    methods = resolve_methods(args.method)
    report = analyze(game, methods, eta, exact_path=not args.no_exact)
    if args.certify:
        _add_certificates(game, methods, eta, report)
    if args.json:
        emit_json(report, kind="analyze")
    elif args.latex:
        print(_latex(report))
    else:
        print(format_report(report))
    return 1 if any(m["verdict"] in fail_on for m in report["methods"]) else 0


def _fail_on(text) -> set:
    from stabcheck.errors import BadInput
    from stabcheck.linearize import VERDICT_TEXT

    if not text:
        return set()
    out = {v.strip() for v in text.split(",") if v.strip()}
    bad = sorted(out - set(VERDICT_TEXT))
    if bad:
        raise BadInput(f"--fail-on: unknown verdict {bad[0]!r}; valid: {', '.join(VERDICT_TEXT)}")
    return out


def _add_certificates(game, methods, eta, report) -> None:
    try:
        from stabcheck.certify import certify_linear
    except ImportError:  # pragma: no cover - certify not installed
        return
    from stabcheck.linearize import method_jacobian

    for m, entry in zip(methods, report["methods"]):
        lin = method_jacobian(game, m, eta)
        res = certify_linear(lin.numeric, lin.exact, strict=entry["verdict"] != "neutral")
        entry["certificate"] = res.to_json()


def _fmt_eig(re: float, im: float) -> str:
    if abs(im) < 1e-15:
        return f"{re:.6g}"
    return f"{re:.6g}{'+' if im >= 0 else '-'}{abs(im):.6g}i"


def _fmt_stable(st: dict) -> str:
    """Step sizes: converging intervals (open), neutral intervals (open: a neutral range's end
    is neutral only if it is not listed as unbounded, and is then stated separately), and the
    step sizes with a Jordan block on the unit circle (``unbounded``)."""
    if st["intervals"]:
        iv = ", ".join(f"({a:.6g}, {b:.6g})" for a, b in st["intervals"])
        s = f"eta in {iv}"
    else:
        s = "none"
    if st.get("neutral"):
        s += "; neutral for " + ", ".join(f"({a:.6g}, {b:.6g})" for a, b in st["neutral"])
    if st.get("unbounded"):
        s += "; unbounded (polynomial growth) at eta = " + ", ".join(f"{e:.6g}" for e in st["unbounded"])
    return s + ("" if st.get("exact") else " [scan]")


def format_report(r: dict) -> str:
    """Human-readable analyze report."""
    sysd = r["system"]
    head = f"system {sysd['name']}" + (f", loss {sysd['loss']}" if sysd.get("loss") else "")
    if sysd.get("regularizers"):
        head += ", regularizers " + " ".join(sysd["regularizers"])
    if sysd.get("params"):
        head += ", " + ", ".join(f"{k}={v}" for k, v in sysd["params"].items() if k not in ("P", "Q"))
    lines = [f"{head}; eta = {r['eta']:g}; equilibrium {r['equilibrium']}",
             f"convention: {r['convention']}",
             ""]
    f = r["field"]
    eig = ", ".join(_fmt_eig(a, b) for a, b in f["eigenvalues"])
    lines.append(f"field Jacobian eigenvalues: {eig}   Hurwitz (continuous time converges): {'yes' if f['hurwitz'] else 'no'}")
    if f.get("phase_factor") is not None or f.get("conditioning_factor") is not None:
        z = f.get("phase_factor")
        t = f.get("conditioning_factor")
        lines.append(f"phase factor |Im/Re| = {'-' if z is None else f'{z:.4g}'}, "
                     f"conditioning factor = {'-' if t is None else f'{t:.4g}'}")
    lines.append("")
    from stabcheck.linearize import verdict_text
    from stabcheck.tables import text_table

    with_cert = any("certificate" in m for m in r["methods"])
    head_row = ["method", "spectral radius", "verdict", "iters/decade", "stable step sizes"]
    if with_cert:
        head_row.append("certificate")
    head_row.append("eigenvalues of the update Jacobian")
    rows = []
    for m in r["methods"]:
        verdict = verdict_text(m["verdict"]) + (" (exact)" if m.get("verdict_exact") else "")
        ipd = m.get("iterations_per_decade")
        row = [m["spec"], f"{m['spectral_radius']:.10g}", verdict,
               "-" if ipd is None else f"{ipd:.4g}", _fmt_stable(m["stable_eta"])]
        if with_cert:
            c = m.get("certificate", {})
            row.append(c.get("status", "-") + ("" if c.get("strict", True) or c.get("status") != "certified" else " (non-strict)"))
        rows.append(tuple(row + [", ".join(_fmt_eig(a, b) for a, b in m["eigenvalues"])]))
    lines.append(text_table(head_row, rows))
    extra = [m for m in r["methods"] if "certificate" in m]
    if extra:
        lines.append("")
        for m in extra:
            lines.append(f"certificate {m['spec']}: {m['certificate'].get('status')} - {m['certificate'].get('statement', '')}")
    lines.append("")
    lines.append(f"verdicts: 'exact' = decided on the exact characteristic polynomial; otherwise |rho-1| tolerance "
                 f"{r['tolerance']['spectral_radius']:g}. 'unbounded (polynomial growth)': no eigenvalue outside the "
                 "unit circle, but a Jordan block on it. Alt-GDA rows: one map step = n_d + n_g gradient steps, order printed.")
    return "\n".join(lines)


def _latex(r: dict) -> str:
    import sympy as sp

    out = []
    if "jacobian_exact" in r["field"]:
        out.append("% field Jacobian at the equilibrium")
        out.append(sp.latex(sp.Matrix([[sp.sympify(e) for e in row] for row in r["field"]["jacobian_exact"]])))
    for m in r["methods"]:
        if "jacobian_exact" in m:
            out.append(f"% {m['spec']}: Jacobian of the update map (eta = {r['eta']:g})")
            out.append(sp.latex(sp.Matrix([[sp.sympify(e) for e in row] for row in m["jacobian_exact"]])))
        else:
            out.append(f"% {m['spec']}: no exact Jacobian (autodiff path)")
    return "\n".join(out)
