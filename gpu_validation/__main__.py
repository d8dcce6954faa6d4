"""Command line: ``python -m gpu_validation {run, analyze, report} ...``.

Examples::

    python -m gpu_validation run --dataset ring --gan wgan-gp --methods sim,alt:n_d=5,dyn-gda
    python -m gpu_validation run --datasets all2d --gans all --methods thesis --profile quick --out runs/q
    python -m gpu_validation analyze runs/q --perturb          # spectra of saved checkpoints
    python -m gpu_validation run --profile test --seeds 0,1,2 --executor dask --workers 2 --out runs/t
    python -m gpu_validation report runs/q --markdown docs/validation.md
    python -m gpu_validation report runs/cpu runs/gpu --device-kind cuda   # merge machines' folders

Bad input exits with status 2 and one line on stderr (no traceback).
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from stabcheck.errors import BadInput


def split_list(text: str) -> list[str]:
    """Split a comma list whose items may carry ``key=value`` parameters:
    ``"sim,alt:n_d=5,first=generator,dyn-gda"`` -> ``["sim", "alt:n_d=5,first=generator", "dyn-gda"]``."""
    out: list[str] = []
    for tok in (t.strip() for t in text.split(",")):
        if not tok:
            continue
        if out and "=" in tok and ":" not in tok and "+" not in tok:
            out[-1] += "," + tok
        else:
            out.append(tok)
    return out


def _expand_names(items: list[str], groups: dict) -> list[str]:
    out: list[str] = []
    for it in items:
        out.extend(groups.get(it, [it]))
    return out


def _cmd_run(args) -> int:
    import torch

    from gpu_validation import data, gans, methods, train
    from stabcheck.executors import executor_from_args

    if args.threads:
        torch.set_num_threads(args.threads)
    device = train.resolve_device(args.device)
    ds = _expand_names(split_list(args.datasets), {"all2d": list(data.TWO_D), "all": list(data.TWO_D)})
    gs = _expand_names(split_list(args.gans), {"all": list(gans.THESIS_EIGHT), "every": list(gans.NAMES)})
    ms = _expand_names(split_list(args.methods), {"thesis": list(methods.THESIS_METHODS),
                                                  "all": list(methods.THESIS_METHODS) + ["jare"]})
    for what, items in (("--datasets", ds), ("--gans", gs), ("--methods", ms)):
        if not items:
            raise BadInput(f"{what} is empty")
    seeds = args.seeds
    gan_objs = [gans.make_gan(g) for g in gs]
    for d in ds:  # validate everything before training anything
        dset = data.load(d, args.data_root)
        for m in ms:
            for g in gan_objs:
                methods.make_method(m, dset.kind, bounded=g.bounded)
    kw = dict(iterations=args.iterations, batch=args.batch, lr=args.lr, optimizer=args.optimizer,
              model=args.model, width=args.width, device=device, data_root=args.data_root,
              perturb=args.perturb or None, log_every=args.log_every)
    if args.no_spectrum:
        kw["spectrum"] = False
    cfgs = train.expand(ds, gs, ms, seeds, args.profile, **kw)
    with executor_from_args(args) as ex:
        recs = train.run_many(cfgs, args.out, progress=not args.no_progress, batched=args.batched,
                              executor=ex, threads=args.threads)
    n_div = sum(r["status"] == "diverged" for r in recs)
    print(f"{len(recs)} runs in {args.out} ({n_div} diverged)")
    return 0


def _cmd_analyze(args) -> int:
    from gpu_validation import report, spectrum

    report.load_records(args.runs_dir)  # one line, exit 2, for an empty folder or a bad record
    n = spectrum.analyze_runs(args.runs_dir, k=args.k, perturb=args.perturb, steps=args.steps,
                              only=args.only, log=print)
    print(f"analysed {n} checkpoints")
    return 0


def _cmd_report(args) -> int:
    from gpu_validation import report

    report.write_report(args.runs_dirs, args.markdown, figures_dir=args.figures_dir, title=args.title,
                        bench=args.bench, notes=args.notes, profile=args.profile, device_kind=args.device_kind,
                        iterations=args.iterations, alpha=args.alpha)
    print(f"wrote {args.markdown}")
    return 0


PROG = "python -m gpu_validation"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``gpu_validation: error: ... (see ... --help)``) and exit
    status 2 (the project's rule)."""

    def error(self, message: str):  # noqa: D401
        from stabcheck.cli import one_line_parser_error

        raise BadInput(one_line_parser_error(self.prog, message))


def _int_at_least(lo: int):
    def conv(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}, got {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}, got {v}")
        return v

    conv.__name__ = f"integer >= {lo}"
    return conv


def _positive_float(text: str) -> float:
    import math

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return v


def _alpha(text: str) -> float:
    v = _positive_float(text)
    if v >= 1:
        raise argparse.ArgumentTypeError(f"expected a level in (0, 1), got {text!r}")
    return v


def _seeds(text: str) -> list[int]:
    items = [t.strip() for t in text.split(",")]
    if not any(items):
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, e.g. 0,1,2, got {text!r}")
    out = []
    for t in items:
        if not t:
            continue
        try:
            v = int(t)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated integers, e.g. 0,1,2, got {t!r}") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"seeds must be >= 0, got {v}")
        out.append(v)
    if len(set(out)) != len(out):
        raise argparse.ArgumentTypeError(f"a seed is given twice in {text!r}")
    return out


def build_parser() -> argparse.ArgumentParser:
    from gpu_validation.train import PROFILES
    from stabcheck.executors import add_executor_arguments

    p = _Parser(prog=PROG,
                description="Train neural GANs with stabcheck's oracles and check the theory.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="train one or many configurations (resumable)",
                       description="Train the grid data sets x GAN classes x methods x seeds. Each run's record "
                                   "is written atomically to OUT/records/<run id>.json when it ends; rerunning "
                                   "the same command trains only the runs without a record.")
    r.add_argument("--dataset", "--datasets", dest="datasets", default="ring",
                   help="comma list: ring, circle, spiral, line, all2d, digits, mnist, cifar10 (default ring)")
    r.add_argument("--gan", "--gans", dest="gans", default="bce",
                   help="comma list of GAN classes (bce, noise, wgan, wgan-gp, js-reg, sn, r1, r2, gran), "
                        "'all' = the thesis's eight, 'every' = all registered (default bce)")
    r.add_argument("--methods", "--method", dest="methods", default="thesis",
                   help="comma list: sim, alt:n_d=5, dyn-gda[:c1=..,c2=..,decide_on=logit|prob,reuse_real=true|false], "
                        "jare:gamma=1, sim+jare, pkg.mod:Oracle; 'thesis' = sim,alt:n_d=1,alt:n_d=5,dyn-gda "
                        "(default thesis)")
    r.add_argument("--seeds", type=_seeds, default=[0],
                   help="comma list of seeds, e.g. 0,1,2 (default 0); every method of a (data set, GAN, seed) "
                        "starts from the same initialization and sees the same batches")
    r.add_argument("--profile", default="quick", choices=list(PROFILES),
                   help="iterations / batch / lr / evaluation sizes: test (CI), quick, cpu, paper "
                        "(the thesis's 30k iterations) (default quick)")
    r.add_argument("--iterations", type=_int_at_least(1), help="oracle decisions per run (default: the profile's)")
    r.add_argument("--batch", type=_int_at_least(1), help="mini-batch size (default: the profile's)")
    r.add_argument("--lr", type=_positive_float, help="learning rate per optimizer step (default: the profile's)")
    r.add_argument("--log-every", type=_int_at_least(1),
                   help="iterations between history rows and divergence checks (default: the profile's)")
    r.add_argument("--optimizer", default="auto", choices=["auto", "adam", "rmsprop", "sgd"],
                   help="auto (Adam for bounded, RMSProp for unbounded discriminators, thesis appendix F) | "
                        "adam | rmsprop | sgd")
    r.add_argument("--model", default="auto", choices=["auto", "mlp", "dcgan"],
                   help="network family: auto (= mlp, the thesis's 5x16 MLPs) | mlp | dcgan")
    r.add_argument("--width", type=_int_at_least(1), help="hidden width of the networks (default: the model's)")
    r.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (the run id keeps the kind, cpu/cuda)")
    r.add_argument("--data-root", help="folder holding MNIST / CIFAR-10 files (never downloaded)")
    r.add_argument("--out", default="runs/validation", help="runs directory (records/, samples/, states/)")
    r.add_argument("--threads", type=_int_at_least(0), default=1,
                   help="torch threads per training process (default 1: the harness's small networks train "
                        "slower with more threads, many times slower on a busy machine; 0 = torch's default)")
    r.add_argument("--no-spectrum", action="store_true", help="skip the spectrum at the end of each run")
    r.add_argument("--perturb", action="store_true", help="also run the perturbation test")
    r.add_argument("--no-progress", action="store_true", help="no progress bars (they go to stderr, terminals only)")
    r.add_argument("--batched", type=_int_at_least(0), default=0, metavar="R",
                   help="train up to R compatible runs together (vmap over stacked models; not for sn, not for "
                        "dyn-gda:decide_on=prob); 0 = one by one")
    add_executor_arguments(r)
    r.set_defaults(func=_cmd_run)
    a = sub.add_parser("analyze", help="spectra (+ perturbation test) of the saved checkpoints of a runs directory")
    a.add_argument("runs_dir", help="a runs directory (with records/ and states/)")
    a.add_argument("--k", type=_int_at_least(1), default=6, help="eigenvalues per checkpoint (default 6)")
    a.add_argument("--perturb", action="store_true", help="also run the perturbation test")
    a.add_argument("--steps", default="final", choices=["final", "all"], help="which checkpoints: final | all")
    a.add_argument("--only", default=None, help="substring a run id must contain")
    a.set_defaults(func=_cmd_analyze)
    rp = sub.add_parser("report", help="Table-1 layout over seeds, ranks, Friedman and paired tests, verdicts, figures",
                        description="Merge the records of one or more runs directories (e.g. one per machine) "
                                    "and write the validation report.")
    rp.add_argument("runs_dirs", nargs="+", metavar="RUNS_DIR",
                    help="runs directories to merge (a run id found in two with different contents is an error)")
    rp.add_argument("--markdown", default="docs/validation.md", help="the report to write")
    rp.add_argument("--figures-dir", default="docs/figures", help="where the figures go")
    rp.add_argument("--title", default="Neural-GAN validation", help="the report's title")
    rp.add_argument("--profile", default=None, help="use only records of this profile")
    rp.add_argument("--iterations", type=_int_at_least(1), default=None,
                    help="use only records of runs this many iterations long")
    rp.add_argument("--device-kind", default=None, choices=["cpu", "cuda"],
                    help="use only records trained on this device kind")
    rp.add_argument("--alpha", type=_alpha, default=0.05, help="significance level of the verdicts (default 0.05)")
    rp.add_argument("--bench", help="JSON written by benchmarks/bench_gpu_validation.py --json (optional)")
    rp.add_argument("--notes", help="a markdown file appended verbatim (hand-written discussion; optional)")
    rp.set_defaults(func=_cmd_report)
    return p


def main(argv: Optional[list[str]] = None) -> int:
    from stabcheck.cli import one_line_parser_error

    try:
        try:
            args, extra = build_parser().parse_known_args(argv)
        except SystemExit as exc:  # argparse: --help / --version
            return int(exc.code or 0)
        if extra:
            prog = f"{PROG} {args.cmd}" if getattr(args, "cmd", None) else PROG
            raise BadInput(one_line_parser_error(prog, f"unrecognized arguments: {' '.join(extra)}"))
        return args.func(args)
    except BadInput as exc:
        print(f"gpu_validation: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gpu_validation: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
