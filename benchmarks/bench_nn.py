"""Speed of :func:`stabcheck.nn.update_map_spectrum` on a 2-D MLP GAN's Adam update map.

Measures, in one run:

* **large**: the top-``k`` (default 10) eigenvalues by modulus of the Sim-GDA + Adam update
  map of a ~100k-parameter MLP GAN (generator 10 -> 128 x 4 -> 2, discriminator
  2 -> 128 x 4 -> 1, LeakyReLU 0.2, non-saturating BCE, ring of 8 Gaussians, batch 64) after
  ``--train`` real ``torch.optim.Adam`` steps (lr 1e-3, betas (0.5, 0.999)); the Jacobian is
  w.r.t. the state ``(x, m)`` (2 x 101,251 components). CPU time (``time.process_time``),
  wall time, JVPs, convergence; with the default double-backward products and (unless
  ``--no-forward``) again with ``jvp="forward"`` (``torch.func.jvp``).
* **dense baseline** at the largest size where forming the Jacobian is practical here (the
  same architecture with ``--dense-width`` units): matrix-free top-``k`` versus forming the
  dense Jacobian of the same map (``torch.func.jacfwd``, vmapped JVPs) plus
  ``numpy.linalg.eigvals``; their ratio, and the agreement of the top-``k``.

At the large size the dense Jacobian would hold (2 x 101,251)^2 float64 = 328 GB: not formed.

Run by hand (not in CI)::

    python benchmarks/bench_nn.py [--k 10] [--train 200] [--dense-width 12] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from stabcheck.nn import prepare_map, update_map_spectrum


def mlp(sizes):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers[:-1])


def loss_G(G, D, b):
    return F.softplus(-D(G(b["z"]))).mean()


def loss_D(G, D, b):
    return F.softplus(-D(b["real"])).mean() + F.softplus(D(G(b["z"]))).mean()


def ring(gen: torch.Generator, n: int = 64) -> dict:
    """A batch: latent N(0, I_10) and 8 Gaussians on a circle of radius 2 (sd 0.05)."""
    k = torch.randint(0, 8, (n,), generator=gen)
    a = 2 * math.pi * k / 8
    real = 2 * torch.stack([torch.cos(a), torch.sin(a)], 1) + 0.05 * torch.randn(n, 2, generator=gen)
    return {"z": torch.randn(n, 10, generator=gen), "real": real}


def trained_gan(width: int, steps: int, seed: int = 0):
    torch.manual_seed(seed)
    G, D = mlp([10] + [width] * 4 + [2]), mlp([2] + [width] * 4 + [1])
    og = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(seed + 1)
    for _ in range(steps):
        b = ring(g)
        gg = torch.autograd.grad(loss_G(G, D, b), list(G.parameters()))
        dd = torch.autograd.grad(loss_D(G, D, b), list(D.parameters()))
        for p, q in zip(G.parameters(), gg):
            p.grad = q
        for p, q in zip(D.parameters(), dd):
            p.grad = q
        og.step()
        od.step()
    return G, D, og, od


def timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def spectrum(G, D, og, od, k, jvp="auto"):
    return update_map_spectrum(G, D, (loss_G, loss_D), sampler=ring, seed=7, rule="sim", optimizer=(og, od),
                               k=k, field_k=0, jvp=jvp)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--train", type=int, default=200, help="Adam steps before the analysis")
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--dense-width", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-forward", action="store_true", help="skip the jvp='forward' run at the large size")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    out = {"machine": {"cpu_count": os.cpu_count(), "threads": a.threads, "torch": torch.__version__,
                       "python": platform.python_version(), "load_avg_start": list(os.getloadavg())},
           "k": a.k, "train_steps": a.train}

    # ---------------------------------------------------------------- large: matrix-free only
    G, D, og, od = trained_gan(a.width, a.train)
    n = sum(p.numel() for p in list(G.parameters()) + list(D.parameters()))
    res, cpu, wall = timed(lambda: spectrum(G, D, og, od, a.k))
    out["large"] = {"width": a.width, "params": n, "state_dim": res.state_dim, "cpu_s": round(cpu, 2),
                    "wall_s": round(wall, 2), "jvps": res.matvecs, "ms_per_jvp_cpu": round(1e3 * cpu / res.matvecs, 2),
                    "n_converged": res.n_converged, "arpack_status": res.arpack_status,
                    "spectral_radius": res.spectral_radius, "outcome": res.outcome,
                    "max_residual": float(np.max(res.residuals)),
                    "dense_jacobian_bytes": 8 * res.state_dim ** 2, "jvp_mode": res.extra["jvp_mode"]["map"]}
    if not a.no_forward:
        fres, fcpu, fwall = timed(lambda: spectrum(G, D, og, od, a.k, jvp="forward"))
        out["large"]["forward_jvp"] = {"cpu_s": round(fcpu, 2), "wall_s": round(fwall, 2), "jvps": fres.matvecs,
                                       "ms_per_jvp_cpu": round(1e3 * fcpu / fres.matvecs, 2),
                                       "max_abs_diff_vs_auto": float(np.max(np.abs(
                                           np.sort_complex(fres.eigenvalues) - np.sort_complex(res.eigenvalues))))
                                       if fres.eigenvalues.size == res.eigenvalues.size else None}

    # ---------------------------------------------------------------- dense baseline, same run
    G, D, og, od = trained_gan(a.dense_width, a.train)
    n = sum(p.numel() for p in list(G.parameters()) + list(D.parameters()))
    res, cpu_mf, wall_mf = timed(lambda: spectrum(G, D, og, od, a.k))

    def dense():
        pm = prepare_map(G, D, (loss_G, loss_D), sampler=ring, seed=7, rule="sim", optimizer=(og, od))
        J = torch.func.jacfwd(pm.step)(pm.z).numpy()
        return np.linalg.eigvals(J)

    lam, cpu_d, wall_d = timed(dense)
    top = np.sort(np.abs(lam))[::-1][: a.k]
    err = max(float(np.min(np.abs(lam - w))) for w in res.eigenvalues)
    out["dense_size"] = {"width": a.dense_width, "params": n, "state_dim": res.state_dim,
                         "matrix_free": {"cpu_s": round(cpu_mf, 2), "wall_s": round(wall_mf, 2), "jvps": res.matvecs},
                         "dense": {"cpu_s": round(cpu_d, 2), "wall_s": round(wall_d, 2),
                                   "jvps": res.state_dim, "what": "jacfwd (vmapped JVPs) + numpy eigvals"},
                         "ratio_dense_over_matrix_free_cpu": round(cpu_d / cpu_mf, 2),
                         "ratio_dense_over_matrix_free_wall": round(wall_d / wall_mf, 2),
                         "max_abs_error_vs_dense": err,
                         "top_modulus_agree": bool(np.allclose(np.sort(np.abs(res.eigenvalues))[::-1][: a.k], top,
                                                               atol=1e-8))}
    out["machine"]["load_avg_end"] = list(os.getloadavg())
    print(json.dumps(out, indent=2))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


if __name__ == "__main__":
    main()
