"""Data sets of the thesis (DeOliveira 2023, section 6.1 and appendix F), generated in code.

2-D sets (sampled fresh for every batch, so they are infinite):

* ``ring``   - 8 Gaussians whose centres lie 0.5 from the origin. The thesis says "a variance
  of 0.05"; read literally (standard deviation 0.224) the eight modes merge into one disc
  (neighbouring centres are only 0.38 apart), so the default is the usual 8-Gaussians
  benchmark's *standard deviation* 0.05 (``ring:std=0.2236`` gives the literal reading).
* ``circle`` - uniform on the circle of radius 0.5 centred at the origin.
* ``spiral`` - the 2-D projection ``(x, z)`` of scikit-learn's swiss roll (Marsland 2011),
  scaled by 1/25 so that it fits in about ``[-0.5, 0.5]^2``; ``noise`` default 0.
* ``line``   - uniform on the segment from (-0.5, -0.5) to (0.5, 0.5).

Image sets (finite, sampled with replacement; pixels scaled to [-1, 1], i.e. the thesis's
``N(0.5, 0.5)`` normalisation):

* ``digits`` - scikit-learn's 8x8 digits (1797 images, shipped with scikit-learn, no download).
* ``mnist``  - read from ``--data-root`` (the raw IDX files ``train-images-idx3-ubyte[.gz]``,
  in the root, ``ROOT/MNIST/raw`` or ``ROOT/mnist``); never downloaded.
* ``cifar10`` - read from ``ROOT/cifar-10-batches-py/data_batch_{1..5}`` (the python
  version from https://www.cs.toronto.edu/~kriz/cifar.html); never downloaded.

A missing file raises :class:`stabcheck.errors.BadInput` naming where to put it.
"""

from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.specs import check_params, parse_spec

TWO_D = ("ring", "circle", "spiral", "line")
IMAGES = ("digits", "mnist", "cifar10")
ALL = TWO_D + IMAGES

_PARAMS = {
    "ring": {"std": float, "radius": float},
    "circle": {"radius": float, "noise": float},
    "spiral": {"noise": float},
    "line": {"noise": float},
    "digits": {},
    "mnist": {},
    "cifar10": {},
}


@dataclass
class DataSet:
    """A data source.

    Attributes
    ----------
    name : str
        The spec it was built from (e.g. ``"ring"``, ``"ring:std=0.1"``).
    kind : str
        ``"2d"`` or ``"image"``.
    shape : tuple
        Shape of one sample: ``(2,)`` or ``(C, H, W)``.
    """

    name: str
    kind: str
    shape: tuple
    params: dict = field(default_factory=dict)
    images: Optional[np.ndarray] = None  # (N, C, H, W) float32 in [-1, 1] for image sets
    labels: Optional[np.ndarray] = None

    @property
    def dim(self) -> int:
        return int(np.prod(self.shape))

    def sample(self, n: int, generator: Any) -> Any:
        """Draw ``n`` samples as a float32 torch tensor using the torch ``generator``."""
        import torch

        if self.kind == "image":
            idx = torch.randint(0, self.images.shape[0], (n,), generator=generator)
            return torch.from_numpy(self.images)[idx]
        return _sample_2d(self.name.split(":")[0], self.params, n, generator)


def _sample_2d(base: str, p: dict, n: int, g: Any) -> Any:
    import math

    import torch

    if base == "ring":
        k = torch.randint(0, 8, (n,), generator=g).float()
        ang = 2 * math.pi * k / 8
        r = p.get("radius", 0.5)
        centres = torch.stack([r * torch.cos(ang), r * torch.sin(ang)], dim=1)
        return centres + p.get("std", 0.05) * torch.randn(n, 2, generator=g)
    if base == "circle":
        ang = 2 * math.pi * torch.rand(n, generator=g)
        r = p.get("radius", 0.5)
        out = torch.stack([r * torch.cos(ang), r * torch.sin(ang)], dim=1)
        return out + p.get("noise", 0.0) * torch.randn(n, 2, generator=g)
    if base == "spiral":
        # scikit-learn's make_swiss_roll: t = 1.5*pi*(1 + 2u), (x, z) = (t cos t, t sin t)
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g))
        out = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / 25.0
        return out + p.get("noise", 0.0) * torch.randn(n, 2, generator=g)
    if base == "line":
        t = torch.rand(n, generator=g) - 0.5
        out = torch.stack([t, t], dim=1)
        return out + p.get("noise", 0.0) * torch.randn(n, 2, generator=g)
    raise BadInput(f"unknown 2-D data set {base!r}; choose one of {', '.join(TWO_D)}")


def load(spec: str, data_root: Optional[str] = None) -> DataSet:
    """Build a data set from a spec (``ring``, ``ring:std=0.1``, ``digits``, ``mnist``...).

    Raises
    ------
    BadInput
        Unknown name, bad parameter, or (MNIST / CIFAR-10) files missing under ``data_root``.
    """
    s = parse_spec(spec, what="data set")
    if s.name not in _PARAMS:
        raise BadInput(f"unknown data set {s.name!r}; choose one of {', '.join(ALL)}")
    params = check_params(s, _PARAMS[s.name], what="data set")
    if s.name in TWO_D:
        return DataSet(spec, "2d", (2,), params)
    if s.name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        x = (d.images.astype(np.float32) / 16.0) * 2 - 1
        return DataSet(spec, "image", (1, 8, 8), params, x[:, None], d.target.astype(np.int64))
    if s.name == "mnist":
        x, y = _read_mnist(data_root)
        return DataSet(spec, "image", (1, 28, 28), params, x, y)
    x, y = _read_cifar(data_root)
    return DataSet(spec, "image", (3, 32, 32), params, x, y)


def _need_root(data_root: Optional[str], name: str, where: str) -> Path:
    if not data_root:
        raise BadInput(f"{name} is not downloaded by the harness: put {where} under a folder and "
                       f"pass it with --data-root (or use --dataset digits, which needs no files)")
    root = Path(data_root)
    if not root.is_dir():
        raise BadInput(f"--data-root {data_root} is not a directory")
    return root


def _read_mnist(data_root: Optional[str]) -> tuple[np.ndarray, np.ndarray]:
    where = "train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] (in ROOT, ROOT/MNIST/raw or ROOT/mnist)"
    root = _need_root(data_root, "MNIST", where)
    for d in (root, root / "MNIST" / "raw", root / "mnist", root / "MNIST"):
        for ext in ("", ".gz"):
            img, lab = d / f"train-images-idx3-ubyte{ext}", d / f"train-labels-idx1-ubyte{ext}"
            if img.is_file() and lab.is_file():
                opener = gzip.open if ext else open
                with opener(img, "rb") as f:
                    raw = f.read()
                n, h, w = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
                x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 1, h, w)
                with opener(lab, "rb") as f:
                    y = np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(np.int64)
                return (x.astype(np.float32) / 255.0) * 2 - 1, y
    raise BadInput(f"MNIST files not found under {root}: expected {where}")


def _read_cifar(data_root: Optional[str]) -> tuple[np.ndarray, np.ndarray]:
    where = "cifar-10-batches-py/data_batch_1 ... data_batch_5 (the CIFAR-10 python version)"
    root = _need_root(data_root, "CIFAR-10", where)
    d = root / "cifar-10-batches-py"
    files = [d / f"data_batch_{i}" for i in range(1, 6)]
    if not all(f.is_file() for f in files):
        raise BadInput(f"CIFAR-10 files not found under {root}: expected {where}")
    xs, ys = [], []
    for f in files:
        with open(f, "rb") as fh:
            b = pickle.load(fh, encoding="latin1")
        xs.append(np.asarray(b["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(b["labels"], dtype=np.int64))
    x = np.concatenate(xs)
    return (x.astype(np.float32) / 255.0) * 2 - 1, np.concatenate(ys)


__all__ = ["DataSet", "load", "TWO_D", "IMAGES", "ALL"]
