"""Metrics: exact Wasserstein-1 for 2-D data, a Frechet distance in a trained classifier's
features for images.

Wasserstein-1 (thesis section 6.1): between two equal-size empirical distributions
``{x_i}``, ``{y_j}`` (``n`` points each, uniform weights) the optimal transport plan is a
permutation (Birkhoff), so ``W1 = min_pi (1/n) sum_i ||x_i - y_pi(i)||_2``, solved exactly by
:func:`scipy.optimize.linear_sum_assignment`. The finite-sample value is biased upwards:
two independent samples of the *same* distribution have ``W1 > 0``. Every record carries
that floor (``w1_floor``: W1 between two independent real samples of the same size).

Frechet distance for images: the thesis uses InceptionV3 (FID) on CIFAR-10 / celebA and a
"pretrained CNN" on MNIST. This harness downloads nothing, so it trains a small classifier
(an MLP, 2 hidden layers) on the same data set and uses its penultimate-layer features
(64-d): ``FD = ||mu_r - mu_g||^2 + tr(S_r + S_g - 2 (S_r S_g)^{1/2})``. **This is not
Inception FID**; values are comparable only with each other (same data set, same
classifier seed), not with published FIDs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np


def wasserstein1_exact(x: np.ndarray, y: np.ndarray) -> float:
    """Exact W1 between two equal-size point clouds (Euclidean ground cost).

    >>> import numpy as np
    >>> round(wasserstein1_exact(np.array([[0., 0.], [1., 0.]]), np.array([[1., 1.], [0., 1.]])), 6)
    1.0
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    if x.shape != y.shape:
        raise ValueError(f"wasserstein1_exact needs equal-size samples, got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return float("inf")
    c = cdist(x, y)
    r, col = linear_sum_assignment(c)
    return float(c[r, col].mean())


def frechet_distance(f1: np.ndarray, f2: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (rows = samples)."""
    from scipy import linalg

    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # singular products are handled below
        covmean = linalg.sqrtm(s1 @ s2)
    if not np.all(np.isfinite(covmean)):
        off = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def train_classifier(images: np.ndarray, labels: np.ndarray, *, epochs: int = 200, seed: int = 0):
    """A small MLP classifier (in -> 256 -> 64 -> classes) trained full-batch with Adam.

    Returns ``(model, accuracy_on_held_out_20_percent)``; features = the 64-d layer.
    """
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    x = torch.from_numpy(images.reshape(len(images), -1)).float()
    y = torch.from_numpy(labels).long()
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_tr = int(0.8 * len(x))
    tr, te = perm[:n_tr], perm[n_tr:]
    n_cls = int(y.max()) + 1
    feat = nn.Sequential(nn.Linear(x.shape[1], 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU())
    model = nn.Sequential(feat, nn.Linear(64, n_cls))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    bs = 512
    for _ in range(epochs):
        for j in range(0, n_tr, bs):
            idx = tr[j:j + bs]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    with torch.no_grad():
        acc = float((model(x[te]).argmax(1) == y[te]).float().mean())
    return model, acc


def evaluator(data, cfg, cache: dict, out_dir: Optional[Path] = None) -> Callable[[Any], dict]:
    """A function ``generated_samples (torch tensor) -> metrics dict`` for this data set.

    2-D: ``{"w1", "w1_floor", "eval_n"}``; images: ``{"fd", "classifier_acc", "eval_n"}``.
    Reference samples are drawn with a fixed seed, so every method is scored against the
    same real sample.
    """
    import torch

    if data.kind == "2d":
        def ref(n: int, seed: int) -> np.ndarray:
            key = ("ref", data.name, n, seed)
            if key not in cache:
                cache[key] = data.sample(n, torch.Generator().manual_seed(seed)).double().numpy()
            return cache[key]

        def ev2(gen) -> dict:
            g = gen.double().numpy()
            n = len(g)
            fkey = ("floor", data.name, n)
            if fkey not in cache:
                cache[fkey] = wasserstein1_exact(ref(n, 777), ref(n, 778))
            return {"w1": _fin(wasserstein1_exact(g, ref(n, 777))), "w1_floor": cache[fkey], "eval_n": n}

        return ev2

    key = ("clf", data.name)
    if key not in cache:
        model = acc = None
        path = Path(out_dir) / "classifiers" / f"{data.name.replace(':', '_')}.pt" if out_dir else None
        if path is not None and path.exists():
            blob = torch.load(path, weights_only=False)
            model, acc = blob["model"], blob["acc"]
        if model is None:
            model, acc = train_classifier(data.images, data.labels)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                from stabcheck.io import atomic_path

                with atomic_path(path) as tmp:
                    torch.save({"model": model, "acc": acc}, tmp)
        cache[key] = (model, acc)
    model, acc = cache[key]
    feat = model[0]

    def features(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return feat(torch.from_numpy(np.asarray(x, dtype=np.float32).reshape(len(x), -1))).double().numpy()

    def evi(gen) -> dict:
        g = gen.float().numpy()
        n = len(g)
        rk = ("realfeat", data.name, n)
        if rk not in cache:
            idx = np.random.default_rng(777).choice(len(data.images), size=min(n, len(data.images)), replace=False)
            cache[rk] = features(data.images[idx])
        if not np.all(np.isfinite(g)):
            return {"fd": None, "classifier_acc": acc, "eval_n": n}
        return {"fd": _fin(frechet_distance(features(g), cache[rk])), "classifier_acc": acc, "eval_n": n}

    return evi


def _fin(v: float) -> Optional[float]:
    return float(v) if np.isfinite(v) else None


__all__ = ["wasserstein1_exact", "frechet_distance", "train_classifier", "evaluator"]
