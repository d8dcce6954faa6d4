"""One-by-one vs batched vs fused training of the thesis's 2-D grid, measured in one run.

The grid: 4 data sets (ring, circle, spiral, line) x the thesis's 8 GAN classes x 4 methods
(Sim-GDA, Alt-GDA n_d=1, Alt-GDA n_d=5, Dyn-GDA) = 128 runs per seed, the paper profile's
model and step (5x16 MLPs, latent 10, batch 128, lr 2e-4; Adam for bounded, RMSProp for
unbounded discriminators). Timed: training iterations (draws + fields + oracle + optimizer
step), counted as *run-iterations per second* (one iteration of one run = 1), for

* ``one-by-one``: :class:`gpu_validation.train.Trainer`, each run on its own (the harness's
  sequential loop) - a short stretch of every one of the 128 runs;
* ``batched (vmap, 4/group)``: the fused trainer's ``vmap`` engine with today's batched
  grouping (one group per data set x GAN class: its 4 methods), i.e. the approach of the
  batched trainer this module replaced (vmap over one GAN class);
* ``fused (vmap, 16/class)``: the ``vmap`` engine, one program per GAN class;
* ``fused (stacked, 128)``: :class:`gpu_validation.fused.FusedTrainer`'s ``stacked`` engine,
  all 128 runs (or ``128 x seeds``) in one program.

The loops are timed in interleaved rounds (each round times every loop once) so that a load
change on a shared machine hits all of them alike; the ratios are the result, the absolute
numbers depend on the load (reported: the 1-minute load average before and after).

Also reported: run-iterations per CPU-second of this process (``time.process_time``), a
load-independent estimate of what one free core gives at one thread (it does not see cache
sharing or frequency changes), and the projection from it.

Projection: ``runs x iterations / rate`` for 30,000 iterations, plus the W1 evaluations of the
paper profile (6 checkpoints: 5 x 512 and 1 x 1000 points per run, exact assignment; timed
here on one run's samples) - short iteration counts are measured and extrapolated, which
assumes the cost per iteration does not change along training (it does not depend on the
parameters' values, only on the oracles' choices, which change nothing in the fused
program's work: every field part is computed every iteration).

Run by hand (not in CI)::

    python benchmarks/bench_gpu_validation.py --rounds 3 --json runs/bench_gv.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATASETS = ("ring", "circle", "spiral", "line")
METHODS = ("sim", "alt:n_d=1", "alt:n_d=5", "dyn-gda")


def grid(seeds: int, device: str):
    from gpu_validation.gans import THESIS_EIGHT
    from gpu_validation.train import config_from_profile

    return [config_from_profile("paper", dataset=d, gan=g, method=m, seed=s, device=device)
            for s in range(seeds) for d in DATASETS for g in THESIS_EIGHT for m in METHODS]


def main(argv=None) -> int:
    import torch

    from gpu_validation import data as data_mod
    from gpu_validation import metrics
    from gpu_validation.fused import FusedTrainer
    from gpu_validation.train import Trainer, resolve_device

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    ap.add_argument("--seq-iterations", type=int, default=4, help="timed iterations per run and round, one-by-one")
    ap.add_argument("--iterations", type=int, default=10, help="timed iterations per round, batched / fused")
    ap.add_argument("--seeds", type=int, default=1, help="also time the stacked program on 128 x seeds runs (>1)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="print torch.profiler's top ops of the stacked step")
    ap.add_argument("--json", help="write the result here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    dev = resolve_device(a.device)
    load0 = os.getloadavg()
    cfgs = grid(1, dev)
    R = len(cfgs)

    def sync():
        if dev.startswith("cuda"):
            torch.cuda.synchronize()

    # the loops -------------------------------------------------------------------------
    seq = [Trainer(c) for c in cfgs]
    by4: dict = {}
    by16: dict = {}
    for c in cfgs:
        by4.setdefault((c.dataset, c.gan), []).append(c)
        by16.setdefault(c.gan, []).append(c)
    b4 = [FusedTrainer(g, engine="vmap") for g in by4.values()]
    b16 = [FusedTrainer(g, engine="vmap") for g in by16.values()]
    st = FusedTrainer(cfgs, engine="stacked")
    stS = FusedTrainer(grid(a.seeds, dev), engine="stacked") if a.seeds > 1 else None
    loops = {"one-by-one": (seq, a.seq_iterations), "batched (vmap, 4/group)": (b4, a.iterations),
             "fused (vmap, 16/class)": (b16, a.iterations), "fused (stacked, 128)": ([st], a.iterations)}
    if stS is not None:
        loops[f"fused (stacked, {stS.R})"] = ([stS], a.iterations)
    for trainers, _ in loops.values():  # warm-up
        for t in trainers:
            for _ in range(2):
                t.step()
    sync()
    spent = {k: 0.0 for k in loops}
    cpu = {k: 0.0 for k in loops}
    work = {k: 0 for k in loops}
    for _ in range(a.rounds):
        for name, (trainers, n) in loops.items():
            t0, c0 = time.perf_counter(), time.process_time()
            for t in trainers:
                for _ in range(n):
                    t.step()
            sync()
            spent[name] += time.perf_counter() - t0
            cpu[name] += time.process_time() - c0
            work[name] += n * sum(getattr(t, "R", 1) for t in trainers)
    load1 = os.getloadavg()
    rate = {k: work[k] / spent[k] for k in loops}
    cpu_rate = {k: work[k] / cpu[k] for k in loops}  # per CPU-second of this process
    # evaluation cost of the paper profile (W1, exact assignment), per run: on the samples of
    # the stacked program's first run of each data set (early in training: collapsed samples
    # make the assignment problem harder than two real samples do)
    t512 = t1000 = 0.0
    picks = [next(j for j, c in enumerate(cfgs) if c.dataset == d) for d in DATASETS]
    for j in picks:
        ev = metrics.evaluator(data_mod.load(cfgs[j].dataset), cfgs[j], {}, None)
        for n in (512, 1000):
            gen = st.generate(n)[j]
            ev(gen)  # warm-up: the reference sample and the W1 floor of this size are cached
            c0 = time.process_time()
            ev(gen)
            dt = time.process_time() - c0
            if n == 512:
                t512 += dt / len(picks)
            else:
                t1000 += dt / len(picks)
    eval_per_run = 5 * t512 + t1000
    iters = 30000
    proj = {}
    for k in loops:
        runs = stS.R if (stS is not None and k.endswith(f"{stS.R})")) else R
        proj[k] = {"runs": runs, "train_min": runs * iters / rate[k] / 60,
                   "with_eval_min": (runs * iters / rate[k] + runs * eval_per_run) / 60,
                   "one_free_core_min": (runs * iters / cpu_rate[k] + runs * eval_per_run) / 60}
    base = rate["one-by-one"]
    res = {"device": dev, "device_name": (torch.cuda.get_device_name(0) if dev.startswith("cuda") else
                                          (platform.processor() or platform.machine())),
           "threads": torch.get_num_threads(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
           "rounds": a.rounds, "seq_iterations": a.seq_iterations, "iterations": a.iterations,
           "run_iterations_per_s": rate, "run_iterations_per_cpu_s": cpu_rate, "seconds": spent,
           "cpu_seconds": cpu, "ratio_vs_one_by_one": {k: rate[k] / base for k in loops},
           "ratio_stacked_vs_batched4": rate["fused (stacked, 128)"] / rate["batched (vmap, 4/group)"],
           "eval_s_per_run": eval_per_run, "projection_30k": proj,
           "load_average_before": list(load0), "load_average_after": list(load1)}
    lines = [f"Thesis 2-D grid ({R} runs: 4 data sets x 8 GAN classes x 4 methods; 5x16 MLPs, batch 128, "
             f"lr 2e-4), device {res['device_name']} ({dev}), {res['threads']} torch thread(s), torch "
             f"{torch.__version__}; {a.rounds} interleaved rounds of {a.seq_iterations} (one-by-one, per run) / "
             f"{a.iterations} (batched, fused) timed iterations after 2 warm-up iterations.", "",
             "| loop | run-iterations / s | x one-by-one | run-it / CPU-s | 128 runs x 30k it (min, training) "
             "| + W1 evals (min) | one free core (min) |",
             "|---|---|---|---|---|---|---|"]
    for k in loops:
        p = proj[k]
        runs = "" if p["runs"] == R else f" ({p['runs']} runs)"
        lines.append(f"| {k} | {rate[k]:.0f} | {rate[k] / base:.2f} | {cpu_rate[k]:.0f} | {p['train_min']:.1f}{runs} "
                     f"| {p['with_eval_min']:.1f} | {p['one_free_core_min']:.1f} |")
    lines += ["", "Minutes: measured wall rate (this machine, this load) and, last column, the rate per CPU-second "
              "of this process (what one free core would give at one thread; W1 evaluation time as measured).",
              f"W1 evaluations per run at the paper profile (5 x 512 + 1 x 1000 points, CPU time on the "
              f"stacked program's samples): {eval_per_run:.2f} s.",
              f"Load average (1/5/15 min) before: {', '.join(f'{x:.2f}' for x in load0)}; after: "
              f"{', '.join(f'{x:.2f}' for x in load1)} on {os.cpu_count()} cores."]
    res["markdown"] = "\n".join(lines) + "\n"
    print(res["markdown"])
    if a.profile:
        from torch.profiler import ProfilerActivity, profile

        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.startswith("cuda") else [])
        with profile(activities=acts) as pr:
            for _ in range(5):
                st.step()
            sync()
        print(pr.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
