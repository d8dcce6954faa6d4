"""Command line: ``python -m gpu_validation {run, analyze, report} ...``.

Examples::

    python -m gpu_validation run --dataset ring --gan wgan-gp --methods sim,alt:n_d=5,dyn-gda
    python -m gpu_validation run --datasets all2d --gans all --methods thesis --profile quick --out runs/q
    python -m gpu_validation analyze runs/q --perturb          # spectra of saved checkpoints
    python -m gpu_validation report runs/q --markdown docs/validation.md

Bad input exits with status 2 and one line on stderr (no traceback).
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional


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

    if args.threads:
        torch.set_num_threads(args.threads)
    device = train.resolve_device(args.device)
    ds = _expand_names(split_list(args.datasets), {"all2d": list(data.TWO_D), "all": list(data.TWO_D)})
    gs = _expand_names(split_list(args.gans), {"all": list(gans.THESIS_EIGHT), "every": list(gans.NAMES)})
    ms = _expand_names(split_list(args.methods), {"thesis": list(methods.THESIS_METHODS),
                                                  "all": list(methods.THESIS_METHODS) + ["jare"]})
    seeds = [int(s) for s in split_list(args.seeds)]
    for d in ds:  # validate everything before training anything
        dset = data.load(d, args.data_root)
        for m in ms:
            methods.make_method(m, dset.kind)
    for g in gs:
        gans.make_gan(g)
    kw = dict(iterations=args.iterations, batch=args.batch, lr=args.lr, optimizer=args.optimizer,
              model=args.model, width=args.width, device=device, data_root=args.data_root,
              perturb=args.perturb or None, log_every=args.log_every)
    if args.no_spectrum:
        kw["spectrum"] = False
    cfgs = train.expand(ds, gs, ms, seeds, args.profile, **kw)
    recs = train.run_many(cfgs, args.out, progress=not args.no_progress, batched=args.batched)
    n_div = sum(r["status"] == "diverged" for r in recs)
    print(f"{len(recs)} runs in {args.out} ({n_div} diverged)")
    return 0


def _cmd_analyze(args) -> int:
    from gpu_validation import spectrum

    n = spectrum.analyze_runs(args.runs_dir, k=args.k, perturb=args.perturb, steps=args.steps,
                              only=args.only, log=print)
    print(f"analysed {n} checkpoints")
    return 0


def _cmd_report(args) -> int:
    from gpu_validation import report

    report.write_report(args.runs_dir, args.markdown, figures_dir=args.figures_dir, title=args.title,
                        bench=args.bench, notes=args.notes)
    print(f"wrote {args.markdown}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gpu_validation",
                                description="Train neural GANs with stabcheck's oracles and check the theory.")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train one or many configurations (resumable)")
    r.add_argument("--dataset", "--datasets", dest="datasets", default="ring",
                   help="comma list: ring, circle, spiral, line, all2d, digits, mnist, cifar10")
    r.add_argument("--gan", "--gans", dest="gans", default="bce",
                   help="comma list of GAN classes (bce, noise, wgan, wgan-gp, js-reg, sn, r1, r2, gran), "
                        "'all' = the thesis's eight, 'every' = all registered")
    r.add_argument("--methods", "--method", dest="methods", default="thesis",
                   help="comma list: sim, alt:n_d=5, dyn-gda, jare:gamma=1, sim+jare, pkg.mod:Oracle; "
                        "'thesis' = sim,alt:n_d=1,alt:n_d=5,dyn-gda")
    r.add_argument("--seeds", default="0")
    r.add_argument("--profile", default="quick", help="test | quick | cpu | paper")
    r.add_argument("--iterations", type=int)
    r.add_argument("--batch", type=int)
    r.add_argument("--lr", type=float)
    r.add_argument("--log-every", type=int)
    r.add_argument("--optimizer", default="auto", help="auto (Adam bounded / RMSProp unbounded) | adam | rmsprop | sgd")
    r.add_argument("--model", default="auto", help="auto | mlp | dcgan")
    r.add_argument("--width", type=int)
    r.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    r.add_argument("--data-root", help="folder holding MNIST / CIFAR-10 files (never downloaded)")
    r.add_argument("--out", default="runs/validation", help="runs directory (records/, samples/, states/)")
    r.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    r.add_argument("--no-spectrum", action="store_true", help="skip the spectrum at the end of each run")
    r.add_argument("--perturb", action="store_true", help="also run the perturbation test")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--batched", type=int, default=0, metavar="R",
                   help="train up to R compatible runs together (vmap over stacked models; not for sn); 0 = one by one")
    r.set_defaults(func=_cmd_run)
    a = sub.add_parser("analyze", help="spectra (+ perturbation test) of the saved checkpoints of a runs directory")
    a.add_argument("runs_dir")
    a.add_argument("--k", type=int, default=6)
    a.add_argument("--perturb", action="store_true")
    a.add_argument("--steps", default="final", help="final | all")
    a.add_argument("--only", default=None, help="substring a run id must contain")
    a.set_defaults(func=_cmd_analyze)
    rp = sub.add_parser("report", help="Table-1 layout, ranks, Friedman test, figures, theory checks")
    rp.add_argument("runs_dir")
    rp.add_argument("--markdown", default="docs/validation.md")
    rp.add_argument("--figures-dir", default="docs/figures")
    rp.add_argument("--title", default="Neural-GAN validation")
    rp.add_argument("--bench", help="JSON written by benchmarks/bench_gpu_validation.py --json (optional)")
    rp.add_argument("--notes", help="a markdown file appended verbatim (hand-written discussion; optional)")
    rp.set_defaults(func=_cmd_report)
    return p


def main(argv: Optional[list[str]] = None) -> int:
    from stabcheck.errors import BadInput

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
