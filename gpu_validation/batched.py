"""Many runs in one process: the historical entry points, now backed by the fused trainer.

:class:`BatchedTrainer` and :func:`run_batched` keep their signatures; both run
:mod:`gpu_validation.fused` (stacked parameters, batched matmuls, per-run oracle masks, a
masked Adam / RMSProp with per-run, per-player step counters on the run's device). What
changed against the first batched trainer (vmap over one GAN class, counters on the CPU):

* GAN classes and optimizers may be mixed in one batch (the ``stacked`` engine); spectral
  normalisation is supported (it used to raise BadInput);
* the step counters live on the parameters' device (``BatchedTrainer.step_counts()``);
* ``BatchedTrainer.run_params(r)`` / ``step()`` use the order of ``cfgs`` as before; the
  stacked parameters ``gflat`` / ``dflat`` are in an internal row order (``perm``);
* records from :func:`run_batched` now carry ``grad_norm_g`` / ``grad_norm_d`` in the
  history (they were None) and ``environment.trainer = "fused"``.

The per-iteration decisions and Dynamic-GDA's divergences are in the pieces that
:func:`gpu_validation.fused.train_fused` returns (``codes``, ``divergence``, ``orders``);
:func:`run_batched` returns the schema-1 layout it always returned (no trace).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from gpu_validation.fused import FusedTrainer, train_fused


class BatchedTrainer(FusedTrainer):
    """:class:`gpu_validation.fused.FusedTrainer` under its old name; ``data`` (optional)
    is the first configuration's already loaded data set."""

    def __init__(self, cfgs: list, data=None, *, dtype: torch.dtype = torch.float32, engine: str = "auto"):
        datas = {cfgs[0].dataset: data} if (data is not None and cfgs) else None
        super().__init__(cfgs, dtype=dtype, datas=datas, engine=engine)

    @property
    def data(self):
        return self.datas[self.cfgs[0].dataset]

    @property
    def gan(self):
        return self.segments[0].gan


def run_batched(cfgs: list, out_dir=None, *, cache: Optional[dict] = None, progress: bool = False) -> list[dict]:
    """Train ``cfgs`` together and return one record per run, in the schema-1 layout of the
    first batched trainer (and with the same samples / states files as
    :func:`gpu_validation.train.run_one`). Configurations that cannot share one program
    (another batch size, learning rate, width, schedule...) are split into several programs
    by :func:`gpu_validation.fused.train_fused`. A run that diverges is recorded as such and
    frozen for the rest of its program.
    """
    import os
    import platform
    from dataclasses import asdict
    from pathlib import Path

    from stabcheck.io import atomic_path

    if not cfgs:
        return []
    pieces = train_fused(cfgs, cache=cache, out_dir=out_dir, progress=progress)
    recs = []
    for cfg, p in zip(cfgs, pieces):
        if out_dir is not None and p["samples"]:
            for sub, obj, ext in (("samples", p["samples"], "npz"), ("states", p["states"], "pt")):
                d = Path(out_dir) / sub
                d.mkdir(parents=True, exist_ok=True)
                with atomic_path(d / f"{cfg.run_id}.{ext}") as tmp:
                    if ext == "npz":
                        with open(tmp, "wb") as fh:
                            np.savez_compressed(fh, steps=np.array(sorted(obj)), **{f"s{k}": v for k, v in obj.items()})
                    else:
                        torch.save(obj, tmp)
        res = dict(p["resolved"])
        res["convention"] = ("theta=generator minimizes L_G; psi=discriminator maximizes L_D; "
                             "raw discriminator output scores real data high (thesis); trained batched")
        recs.append({
            "schema_version": 1, "id": cfg.run_id, "status": p["status"], "config": asdict(cfg),
            "resolved": res,
            "environment": {"device": p["device"], "torch": torch.__version__, "threads": torch.get_num_threads(),
                            "python": platform.python_version(), "machine": platform.machine(),
                            "cpu_count": os.cpu_count(), "batched_runs": p["fused_runs"], "trainer": "fused",
                            "engine": p["engine"]},
            "outcome": p["outcome"], "iterations_done": p["iterations_done"], "choices": p["choices"],
            "final": p["final"], "metric": "w1" if res["data_kind"] == "2d" else "fd",
            "max_param_norm_ratio": p["max_param_norm_ratio"], "checkpoints": p["checkpoints"],
            "history": p["history"], "spectrum": [], "wall_s": p["wall_s"],
        })
    return recs


__all__ = ["BatchedTrainer", "run_batched"]
