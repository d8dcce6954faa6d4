"""``stabcheck certify``: search a Lyapunov certificate and check it exactly.

Examples::

    stabcheck certify --system dirac --loss bce --reg r1:gamma=1 --method sim --eta 0.1
    stabcheck certify --system dirac --loss wgan --method alt --eta 0.1 --nonstrict
    stabcheck certify --system dirac --loss wgan --oracle dirac --eta 0.1 --nonstrict
    stabcheck certify --matrices modes.npy --lift 3 --json
    stabcheck certify --matrices modes.json --candidate identity

Matrices act as ``x_{k+1} = A x_k``. ``--matrices`` reads ``.npy`` (shape ``(n, n)`` or
``(k, n, n)``) or ``.json``: a matrix, a list of matrices, or an object
``{"matrices": [...], "regions": [[S, ...], ...]}`` (mode ``i`` applies where
``x^T S x >= 0`` for all its ``S``). JSON entries may be numbers or exact rationals as
strings (``"1/10"``); the exact check then uses the exact values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from stabcheck.errors import BadInput

HELP = "find a Lyapunov certificate (cvxpy) and check it exactly (rational arithmetic)"


def register(parser) -> None:
    src = parser.add_argument_group("what to certify")
    src.add_argument("--matrices", metavar="FILE", help=".npy (n,n) or (k,n,n), or .json (see docs/certify.md)")
    src.add_argument("--system", help="built-in system (dirac, gaussian, general) or pkg.mod:factory")
    src.add_argument("--loss", help="loss of a built-in GAN game (wgan, bce, ...)")
    src.add_argument("--reg", action="append", default=[], metavar="SPEC", help="regularizer, e.g. r1:gamma=1 (repeatable)")
    src.add_argument("--method", default=None, help="update method spec, e.g. sim, alt:n_d=5 (default: sim)")
    src.add_argument("--oracle", default=None,
                     help="oracle: dirac (piecewise certificate), sim, alt[:...], or a user oracle pkg.mod:Name that "
                          "is one of them (a subclass) or declares method = 'alt:n_d=2'")
    src.add_argument("--eta", type=float, default=None, help="step size (> 0)")
    src.add_argument("--convention", choices=("mescheder", "thesis"), default=None,
                     help="sign convention of the game (default: the system's own, or the oracle's for --oracle)")
    src.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                     help="parameter passed to a user game factory (--system pkg.mod:factory), repeatable")
    from stabcheck.cli.common import add_path_argument

    add_path_argument(src)
    src.add_argument("--convert", action="store_true",
                     help="let an oracle written in the other convention run on the game (regions rewritten)")
    opt = parser.add_argument_group("options")
    opt.add_argument("--continuous", action="store_true", help="continuous time: A^T P + P A < 0")
    opt.add_argument("--nonstrict", action="store_true", help="non-strict decrease (Lyapunov stability, neutral systems)")
    opt.add_argument("--solver", default="clarabel", help="SDP solver: clarabel (default) or scs")
    opt.add_argument("--lift", type=int, default=None, metavar="K", help="certificate for all products of K steps")
    opt.add_argument("--candidate", default=None, metavar="P",
                     help="check a given quadratic candidate: a .npy/.json file or 'identity'")
    opt.add_argument("--jsr-length", type=int, default=6, metavar="K", help="longest product for the JSR lower bound (default 6)")
    opt.add_argument("--json", action="store_true", help="print the result as JSON")
    from stabcheck.progress import add_progress_argument

    add_progress_argument(opt)


# --------------------------------------------------------------------------- loading


def _load_json_matrices(path: Path):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    regions = None
    if isinstance(data, dict):
        if "matrices" not in data:
            raise BadInput(f"{path}: a JSON object needs a 'matrices' key (and optionally 'regions')")
        regions = data.get("regions")
        data = data["matrices"]
    if not isinstance(data, list) or not data:
        raise BadInput(f"{path}: expected a matrix or a non-empty list of matrices")
    mats = [data] if _depth(data) == 2 else data
    if any(_depth(m) != 2 for m in mats):
        raise BadInput(f"{path}: expected a matrix (list of rows) or a list of matrices")
    return mats, regions


def _depth(x) -> int:
    d = 0
    while isinstance(x, list):
        if not x:
            return d + 1
        x = x[0]
        d += 1
    return d


#: the largest matrix size the SDP is given (at n = 200 the interior-point solver runs out of memory)
MAX_MATRIX_SIZE = 128


class SizeLimit(Exception):
    """Valid input above the search's size limits: the result is ``inconclusive`` (exit 3), not
    bad input; the message names the limit."""


def _check_size(path, n: int, k: int) -> None:
    if n > MAX_MATRIX_SIZE:
        raise SizeLimit(f"{path}: {n}x{n} matrices are above the limit of {MAX_MATRIX_SIZE}x{MAX_MATRIX_SIZE} "
                        "for the certificate search")
    if k > 64:
        raise SizeLimit(f"{path}: {k} matrices is above the limit of 64 modes")


def load_matrices(path_str: str):
    """Return (float matrices, exact matrices or None, regions or None)."""
    import numpy as np

    from stabcheck.certify import exact as ex

    path = Path(path_str)
    if not path.is_file():
        raise BadInput(f"matrices file {path} does not exist")
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            raise BadInput(f"cannot load {path} as .npy: {exc}") from None
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise BadInput(f"{path}: matrices must be real numbers, got dtype {arr.dtype}")
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[1] == 0 or arr.shape[0] == 0:
            raise BadInput(f"{path}: expected shape (n, n) or (k, n, n) with square matrices, got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise BadInput(f"{path}: matrices have non-finite entries (NaN or inf)")
        _check_size(path, arr.shape[1], arr.shape[0])
        return [a.astype(float) for a in arr], None, None
    if path.suffix == ".json":
        raw, regions = _load_json_matrices(path)
        if isinstance(raw, list) and raw and isinstance(raw[0], list):
            _check_size(path, len(raw[0]), len(raw))
        exact = [ex.to_fraction_matrix(m) for m in raw]
        mats = []
        for i, F in enumerate(exact):
            if len(F) != len(F[0]):
                raise BadInput(f"{path}: matrix {i} is not square ({len(F)}x{len(F[0])})")
            mats.append(np.array([[float(v) for v in r] for r in F]))
        n = mats[0].shape[0]
        if any(m.shape != (n, n) for m in mats):
            raise BadInput(f"{path}: all matrices must have the same shape ({n}, {n})")
        if regions is not None:
            if not isinstance(regions, list) or len(regions) != len(mats):
                raise BadInput(f"{path}: 'regions' must be a list with one list of S matrices per mode")
            regions = [[np.array([[float(v) for v in r] for r in ex.to_fraction_matrix(S)]) for S in reg]
                       for reg in regions]
        return mats, exact, regions
    raise BadInput(f"matrices file {path} must end in .npy or .json")


def load_candidate(spec: str, n: int):
    import numpy as np

    if spec == "identity":
        return np.eye(n)
    mats, exact, _ = load_matrices(spec)
    if len(mats) != 1 or mats[0].shape != (n, n):
        raise BadInput(f"candidate {spec}: expected one ({n}, {n}) matrix")
    return exact[0] if exact is not None else mats[0]


def _from_engine(args):
    """Build (mats, exact, regions, label) through the engine (game + method or oracle); user
    modules (``--path DIR``, ``pkg.mod:factory``, ``pkg.mod:Oracle``) that raise give one line."""
    from stabcheck.cli.common import apply_paths, user_errors

    with user_errors("certify"):
        apply_paths(args)
        return _engine_model(args)


def _engine_model(args):
    if args.eta is None:
        raise BadInput("--eta is required with --system")
    if not (math.isfinite(args.eta) and args.eta > 0):
        raise BadInput(f"--eta must be a finite number > 0, got {args.eta}")
    from stabcheck.cli.common import build_game, parse_params

    params = parse_params(args.param)

    def make_game(system, loss=None, regs=(), convention=None):
        return build_game(system, loss, params, regs, convention)

    convention = args.convention
    if args.oracle is not None:
        from stabcheck.oracles import AltOracle, DiracOracle, SimOracle, make_oracle
        from stabcheck.switched import switched_model

        orc = make_oracle(args.oracle)
        method_decl = getattr(orc, "method", None)
        if not isinstance(orc, (SimOracle, AltOracle, DiracOracle)):
            if not isinstance(method_decl, str):
                raise BadInput(f"certify --oracle {args.oracle!r}: no linear pieces can be derived for this oracle "
                               "(it is not a subclass of sim, alt or dirac and declares no 'method'); use "
                               "stabcheck check-oracle, or give it a 'method' attribute naming its linear map")
            args.method, args.oracle = method_decl, None
            return _engine_model(args)
        declared = getattr(orc, "convention", None)
        if convention is None and declared is not None and not args.convert:
            convention = declared  # build the game in the oracle's convention (stated in the label)
        game = make_game(args.system, loss=args.loss, regs=tuple(args.reg), convention=convention)
        model = switched_model(game, orc, args.eta, convert=args.convert)
        mats = [m[1] for m in model.modes]
        exact = [m[2] for m in model.modes]
        names = [m[0] for m in model.modes]
        label = f"oracle {args.oracle} on {args.system}/{args.loss}, eta={args.eta:g} ({getattr(model, 'convention', '?')} convention)"
        return mats, exact, model.regions, label, names
    from stabcheck.linearize import method_jacobian
    from stabcheck.methods import make_method

    game = make_game(args.system, loss=args.loss, regs=tuple(args.reg), convention=convention)
    method = make_method(args.method or "sim")
    lin = method_jacobian(game, method, args.eta)
    label = f"{method.spec if hasattr(method, 'spec') else args.method} on {args.system}/{args.loss}" \
            f"{' + ' + ','.join(args.reg) if args.reg else ''}, eta={args.eta:g}"
    return [lin.numeric], [lin.exact], None, label, None


# --------------------------------------------------------------------------- run


def run(args) -> int:
    """Exit status: 0 certified, 1 not certified, 3 inconclusive (a solver failed, a size limit,
    undecided); bad input raises :class:`BadInput` (2)."""
    from stabcheck.cli.common import EXIT_FAILS, EXIT_HOLDS, EXIT_INCONCLUSIVE
    from stabcheck.progress import Progress, progress_wanted

    with Progress("certify", unit="phases", enabled=progress_wanted(args)) as bar:
        status = _run(args, bar)
    return {"certified": EXIT_HOLDS, "not certified": EXIT_FAILS}.get(status, EXIT_INCONCLUSIVE)


def _run(args, bar) -> str:
    from stabcheck.certify.lyapunov import CertificateResult, check_solver

    solver = check_solver(args.solver)
    try:
        res, extra = _search(args, bar, solver)
    except SizeLimit as exc:
        res = CertificateResult(status="inconclusive", strict=not args.nonstrict, solver=solver,
                                solver_status="size limit", dynamics="continuous" if args.continuous else "discrete",
                                statement=f"inconclusive: the search was not attempted ({exc})")
        extra = {"input": args.matrices or args.candidate or "?"}
    bar.close()
    out = res.to_json()
    out.update(extra)
    if args.json:
        from stabcheck.cli.common import emit_json

        emit_json(out, kind="certify")
    else:
        _human(out, res)
    return res.status


def _search(args, bar, solver):
    from stabcheck import certify as C

    if (args.matrices is None) == (args.system is None):
        raise BadInput("give exactly one of --matrices FILE or --system NAME")
    if args.matrices is not None and (args.method or args.oracle or args.loss or args.reg):
        raise BadInput("--method/--oracle/--loss/--reg need --system, not --matrices")
    if args.eta is not None and not (math.isfinite(args.eta) and args.eta > 0):
        raise BadInput(f"--eta must be a finite number > 0, got {args.eta}")
    if args.lift is not None and args.lift < 1:
        raise BadInput(f"--lift must be >= 1, got {args.lift}")
    if args.jsr_length < 1:
        raise BadInput(f"--jsr-length must be >= 1, got {args.jsr_length}")
    names = None
    if args.matrices is not None:
        mats, exact, regions = load_matrices(args.matrices)
        label = f"{len(mats)} matrix(es) from {args.matrices}"
    else:
        if args.method and args.oracle:
            raise BadInput("give --method or --oracle, not both")
        mats, exact, regions, label, names = _from_engine(args)
    modes = [((names[i] if names else f"A{i}"), mats[i], None if exact is None else exact[i]) for i in range(len(mats))]
    strict = not args.nonstrict
    extra = {"input": label}
    if args.continuous and (regions is not None or args.lift or len(mats) > 1 or args.candidate):
        raise BadInput("--continuous is supported for a single matrix only")
    with_jsr = len(mats) > 1 and regions is None and args.candidate is None
    bar(0, 2 if with_jsr else 1, f"certificate for {len(mats)} matrix(es) of size {mats[0].shape[0]}")
    if args.candidate is not None:
        P = load_candidate(args.candidate, mats[0].shape[0])
        res = C.check_candidate(P, modes, regions, solver=solver, eta=args.eta)
    elif regions is not None:
        if args.lift:
            raise BadInput("--lift applies to arbitrary switching, not to state-dependent regions")
        res = C.piecewise_certificate(modes, regions, strict=strict, solver=solver)
    elif args.lift:
        res = C.lifted_certificate(mats, args.lift, exact, solver=solver, strict=strict)
    elif len(mats) == 1:
        res = C.certify_linear(mats[0], None if exact is None else exact[0], solver=solver, strict=strict,
                               continuous=args.continuous)
    else:
        res = C.common_quadratic(mats, exact, solver=solver, strict=strict)
    if len(mats) > 1 and regions is None and args.candidate is None:
        bar(1, 2, f"JSR bounds (products up to length {args.jsr_length})")
        extra["jsr"] = C.jsr_bounds(mats, exact, max_length=args.jsr_length, solver=solver).to_json()
    return res, extra


def _human(out: dict, res) -> None:
    print(res.statement)
    print(f"  input:   {out['input']}")
    print(f"  status:  {res.status} ({'strict' if res.strict else 'non-strict'}, {res.dynamics}); "
          f"exact check: {'passed' if res.exact_check else 'not passed'}")
    print(f"  solver:  {res.solver} ({res.solver_status}), {res.wall_s:.3f} s "
          f"(solve {res.solve_wall_s:.3f} s, exact check {res.exact_wall_s:.3f} s)")
    if "rung" in out:
        print(f"  rung:    {out['rung'] or 'none answered'}"
              + (f" ({out['method']})" if out.get("method") and out.get("rung") else ""))
    if res.P is not None and len(res.P) <= 6:
        print("  P =")
        for row in res.P:
            print("    [" + ", ".join(f"{v: .6g}" for v in row) + "]")
    if "jsr" in out:
        j = out["jsr"]
        print(f"  joint spectral radius: {j['lower']:.6g} <= JSR <= {j['upper']:.6g}"
              f" ({'exactly verified' if j['upper_exact'] else 'numeric'} upper bound; lower from word {j['lower_word']})")
    if res.counterexample:
        print(f"  counterexample: {json.dumps(res.counterexample, default=str)}")
