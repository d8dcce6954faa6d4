"""Batched (vmap over stacked models, per-run oracle masks) vs sequential training.

16 runs of the thesis's 2-D MLP GAN (5 hidden layers of 16, latent 10; non-saturating BCE,
ring data, batch 128, Adam lr 2e-4): 4 methods (Sim-GDA, Alt-GDA n_d=1, Alt-GDA n_d=5,
Dyn-GDA) x 4 seeds. Reports configuration-iterations per second for

* sequential: one :class:`gpu_validation.train.Trainer` after another (the harness's loop);
* batched: one :class:`gpu_validation.batched.BatchedTrainer` for all 16.

Run by hand (not in CI)::

    python benchmarks/bench_gpu_validation.py --iterations 200 --threads 1 --json runs/bench_gv.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    import torch

    from gpu_validation.batched import BatchedTrainer
    from gpu_validation.train import Trainer, config_from_profile, resolve_device

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--gan", default="bce")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the result here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    dev = resolve_device(a.device)
    methods = ["sim", "alt:n_d=1", "alt:n_d=5", "dyn-gda"]
    cfgs = [config_from_profile("cpu", dataset="ring", gan=a.gan, method=m, seed=s, device=dev)
            for s in range(4) for m in methods]
    R, N = len(cfgs), a.iterations

    def sync():
        if dev.startswith("cuda"):
            torch.cuda.synchronize()

    # sequential
    trainers = [Trainer(c) for c in cfgs]
    for t in trainers:
        for _ in range(a.warmup):
            t.step()
    sync()
    t0 = time.perf_counter()
    for t in trainers:
        for _ in range(N):
            t.step()
    sync()
    seq_s = time.perf_counter() - t0
    # sequential, but each run through the batched code path with one run (plain-autograd
    # gradients, functional optimizer): a fairer baseline than the harness's torch.func loop
    singles = [BatchedTrainer([c]) for c in cfgs]
    for t in singles:
        for _ in range(a.warmup):
            t.step()
    sync()
    t0 = time.perf_counter()
    for t in singles:
        for _ in range(N):
            t.step()
    sync()
    seq1_s = time.perf_counter() - t0
    # batched
    bt = BatchedTrainer(cfgs)
    for _ in range(a.warmup):
        bt.step()
    sync()
    t0 = time.perf_counter()
    for _ in range(N):
        bt.step()
    sync()
    bat_s = time.perf_counter() - t0
    res = {"runs": R, "iterations": N, "gan": a.gan, "device": dev, "threads": torch.get_num_threads(),
           "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
           "sequential_s": seq_s, "batched_s": bat_s,
           "sequential_cfg_it_per_s": R * N / seq_s, "batched_cfg_it_per_s": R * N / bat_s,
           "speedup": seq_s / bat_s, "sequential_single_s": seq1_s,
           "sequential_single_cfg_it_per_s": R * N / seq1_s, "speedup_vs_single": seq1_s / bat_s,
           "load_average": list(__import__("os").getloadavg())}
    res["markdown"] = (
        f"{R} runs of the 2-D MLP GAN ({a.gan}, ring, batch 128; methods sim / alt n_d=1 / alt n_d=5 / dyn-gda x 4 "
        f"seeds), {N} timed iterations each after {a.warmup} warm-up, device {dev}, {res['threads']} torch thread(s), "
        f"torch {torch.__version__}:\n\n"
        f"| loop | configuration-iterations / s |\n|---|---|\n"
        f"| sequential (one Trainer after another) | {res['sequential_cfg_it_per_s']:.1f} |\n"
        f"| sequential, batched code path with R=1 (plain autograd) | {res['sequential_single_cfg_it_per_s']:.1f} |\n"
        f"| batched (vmap over stacked models, oracle masks) | {res['batched_cfg_it_per_s']:.1f} |\n"
        f"| **ratio batched / sequential Trainer** | **{res['speedup']:.2f}x** |\n"
        f"| ratio batched / sequential R=1 | {res['speedup_vs_single']:.2f}x |\n\n"
        f"Machine load average during the run (1/5/15 min): "
        f"{', '.join(f'{x:.1f}' for x in res['load_average'])} on {__import__('os').cpu_count()} cores.\n")
    print(res["markdown"])
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
