#!/usr/bin/env bash
# Device check of the fused trainer (gpu_validation/fused.py) on one CUDA GPU.
#
# NOT YET RUN ON A GPU: no GPU was available in the session that wrote it. It was run there
# with CUDA absent (it stops at the first check, exit 1, with a message), and its Python part
# was smoke-tested with every "cuda" replaced by "cpu" and smaller sizes. Expect to fix small
# things on its first real run.
#
# What it does (budget: under 8 minutes on one GPU, most of it CPU work):
#   1. pytest's CUDA test of the fused trainer (tests/gpu_validation/test_fused.py -k cuda):
#      CPU vs CUDA in float64, records vs the one-by-one trainer;
#   2. float64, 20 iterations, a reduced grid (2 data sets x 8 thesis GAN classes x 4 methods
#      = 64 runs, paper model: 5x16 MLPs, batch 128) trained on the CPU and on CUDA in this
#      script: decisions must be identical and parameters equal to rtol 1e-9 (atol 1e-12);
#      plus JARE runs through the vmap engine, same tolerance;
#   3. float32 (as trained), 200 iterations with W1 checkpoints, the same 64 runs with
#      train_fused on CPU and CUDA: reports (does not assert) the share of identical decision
#      sequences and the largest relative W1 difference - float32 runs drift apart by rounding
#      (cuBLAS vs MKL summation order; see test_fused.py for the WGAN critic bias);
#   4. timing on CUDA (float32, stacked engine): 128 runs and 640 runs (5 seeds), printed as
#      run-iterations / s with the device name, and the projected time of 30k iterations.
#
# Usage: bash gpu_validation/device_check.sh            (from the repository root)
# Exit status: 0 when checks 1 and 2 pass, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
export MPLBACKEND=Agg
python - <<'EOF'
import sys
import torch
if not torch.cuda.is_available():
    print("device_check: CUDA is not available here (torch.cuda.is_available() is False); nothing to check")
    sys.exit(1)
print("device:", torch.cuda.get_device_name(0), "| torch", torch.__version__, "| CUDA", torch.version.cuda)
EOF
echo "== 1. pytest CUDA test"
timeout 180 python -m pytest -q -p no:cacheprovider tests/gpu_validation/test_fused.py -k cuda -rs
echo "== 2-4. float64 equality, float32 agreement, timing"
timeout 420 python - <<'EOF'
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.getcwd())
torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
from gpu_validation.fused import FusedTrainer, train_fused
from gpu_validation.gans import THESIS_EIGHT
from gpu_validation.train import config_from_profile

METHODS = ("sim", "alt:n_d=1", "alt:n_d=5", "dyn-gda")


def grid(datasets, seeds=1, **kw):
    return [config_from_profile("paper", dataset=d, gan=g, method=m, seed=s, **kw)
            for s in range(seeds) for d in datasets for g in THESIS_EIGHT for m in METHODS]


ok = True
# 2. float64 equality
t0 = time.time()
for name, cfgs, n in (("stacked, 64 runs", grid(("ring", "spiral")), 20),
                      ("vmap (JARE), 2 runs", [config_from_profile("paper", dataset="ring", gan="bce", method="jare:gamma=0.5"),
                                               config_from_profile("paper", dataset="circle", gan="bce",
                                                                   method="alt:n_d=1+jare:gamma=0.5")], 10)):
    cpu = FusedTrainer(cfgs, device="cpu", dtype=torch.float64)
    gpu = FusedTrainer(cfgs, device="cuda", dtype=torch.float64)
    same = True
    for i in range(n):
        a, b = cpu.step(), gpu.step()
        if not np.array_equal(a, b):
            same = False
            print(f"  {name}: decisions differ at iteration {i}: runs {np.flatnonzero(a != b)[:8]}")
            break
    dg = float(((gpu.gflat.cpu() - cpu.gflat).abs() / (cpu.gflat.abs() + 1e-3)).max())
    dd = float(((gpu.dflat.cpu() - cpu.dflat).abs() / (cpu.dflat.abs() + 1e-3)).max())
    close = all(torch.allclose(x.cpu(), y, rtol=1e-9, atol=1e-12)
                for x, y in ((gpu.gflat, cpu.gflat), (gpu.dflat, cpu.dflat)))
    cnt = torch.equal(gpu.step_counts().cpu(), cpu.step_counts())
    print(f"  float64 {name}, {n} it: decisions identical={same}, step counts equal={cnt}, params within "
          f"rtol 1e-9={close} (max rel diff g {dg:.1e}, d {dd:.1e})")
    ok &= same and close and cnt
print(f"  ({time.time() - t0:.0f} s)")
# 3. float32 agreement of records (reported)
t0 = time.time()
cfgs = grid(("ring", "spiral"), iterations=200, checkpoints=2, log_every=100, eval_n=512, final_eval_n=1000)
pc = train_fused(cfgs, device="cpu")
pg = train_fused(cfgs, device="cuda")
same = sum(np.array_equal(a["codes"], b["codes"]) for a, b in zip(pc, pg))
rel = [abs(a["final"]["w1"] - b["final"]["w1"]) / max(abs(a["final"]["w1"]), 1e-12)
       for a, b in zip(pc, pg) if a["final"] and b["final"]]
print(f"  float32, 200 it, {len(cfgs)} runs: identical decision sequences {same}/{len(cfgs)}; final W1 relative "
      f"difference CPU vs CUDA: median {np.median(rel):.1e}, max {max(rel):.1e} ({time.time() - t0:.0f} s)")
# 4. timing on CUDA
for seeds in (1, 5):
    cfgs = grid(("ring", "circle", "spiral", "line"), seeds=seeds)
    ft = FusedTrainer(cfgs, device="cuda")
    for _ in range(10):
        ft.step()
    torch.cuda.synchronize()
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        ft.step()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    rate = ft.R * n / dt
    print(f"  timing {torch.cuda.get_device_name(0)}: {ft.R} runs, {n} it: {dt / n * 1e3:.1f} ms/it, "
          f"{rate:.0f} run-iterations/s -> {ft.R} runs x 30k it: {ft.R * 30000 / rate / 60:.1f} min (training only)")
print("device_check:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
EOF
