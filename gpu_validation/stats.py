"""Statistics over seeds for the validation report, and the thesis's statements as verdicts.

Input: observations ``(gan, dataset, method, seed) -> value`` (lower is better; ``+inf`` for a
diverged run, which ranks last). A *block* is a (GAN, data set) pair, as in the thesis's
Table 1; seeds are independent replicates inside a block (every method of a (block, seed)
starts from the same initialization and sees the same batches).

What :func:`analyze` computes
-----------------------------
* per cell (GAN, method, data set): seeds, diverged seeds, mean / sd / median over the
  finite values and a t-based 95% confidence interval for the mean (n >= 2);
* per block, the *complete seeds* (those with a record for every method); a block with none
  is left out of every test;
* the seed-averaged value of each (block, method) over the block's complete seeds (``+inf``
  if any of them diverged), its rank inside the block (ties: average rank), the average
  rank of each method over all blocks and per data set;
* ranks per (block, seed) and each method's average per-seed rank;
* the Friedman test (:func:`scipy.stats.friedmanchisquare`) over blocks x methods on the
  seed-averaged values, with ``p_min``, the smallest p-value those many blocks can give
  (every block ranking the methods the same way: chi2 = n (k - 1)); and the Friedman test of
  each seed separately (the distribution of its p-value);
* for each other method X, the paired one-sided Wilcoxon signed-rank tests
  (:func:`scipy.stats.wilcoxon`, ``zero_method="wilcox"``: ties dropped) of
  ``d = value(Dyn-GDA) - value(X)`` over all (block, complete seed) pairs - "Dyn-GDA lower"
  and "X lower" - with Holm's correction over the methods X in each direction; the number of
  pairs (and of non-zero ones); the effect size, the matched-pairs rank-biserial correlation
  ``r = (W- - W+) / (W- + W+)`` in [-1, 1] (> 0: Dyn-GDA lower, i.e. better), the median
  difference and the share of pairs Dyn-GDA wins. A diverged value is replaced by a common
  finite value above every finite one, so that it ranks last and a pair where both diverged
  is a tie. ``p_min`` of a one-sided exact test with n non-zero pairs is ``2**-n``.

The verdict rules (alpha = the report's ``--alpha``, 0.05 by default)
---------------------------------------------------------------------
``dyn-best`` - "Dyn-GDA is the best method in aggregate" (thesis section 6, Table 1):

* **holds**: Dyn-GDA has the lowest average rank, the Friedman p < alpha, *and* for every
  other method X the Holm-adjusted p of "Dyn-GDA lower than X" < alpha;
* **refuted**: for some X the Holm-adjusted p of "X lower than Dyn-GDA" < alpha (a method
  significantly better than Dyn-GDA);
* **inconclusive** otherwise. The evidence says when the data cannot reach alpha at all
  (Friedman ``p_min >= alpha``, or ``m * 2**-n >= alpha`` for the Holm-adjusted paired tests).

``friedman-p02`` - "this is significant with p < .02 by a Friedman test" (thesis section 6):
the same rule with alpha = 0.02 (holds: lowest average rank, Friedman p < .02 and every Holm
paired p < .02; refuted: a method significantly better than Dyn-GDA at .02).

A non-significant result never refutes a statement: with few blocks and seeds the tests
have little power, and the verdict is then inconclusive.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable, Optional

import numpy as np

THESIS_ALPHA = 0.02


def cell_summary(values: Iterable[float]) -> dict:
    """``{"n", "n_div", "mean", "sd", "median", "ci95": [lo, hi] | None}`` (finite values only)."""
    from scipy import stats

    v = np.asarray(list(values), dtype=float)
    fin = v[np.isfinite(v)]
    out = {"n": int(v.size), "n_div": int(v.size - fin.size), "mean": None, "sd": None, "median": None,
           "ci95": None}
    if fin.size:
        out["mean"] = float(fin.mean())
        out["median"] = float(np.median(fin))
    if fin.size >= 2:
        sd = float(fin.std(ddof=1))
        out["sd"] = sd
        h = float(stats.t.ppf(0.975, fin.size - 1)) * sd / math.sqrt(fin.size)
        out["ci95"] = [out["mean"] - h, out["mean"] + h]
    return out


def _finite_fill(arr: np.ndarray) -> np.ndarray:
    """Replace +inf by one finite value above every finite one (ranks unchanged)."""
    fin = arr[np.isfinite(arr)]
    big = (float(np.max(np.abs(fin))) * 10 + 1) if fin.size else 1.0
    return np.where(np.isfinite(arr), arr, big)


def friedman(rows: list[list[float]]) -> Optional[dict]:
    """Friedman test over blocks (rows) x treatments (columns); None if k < 3 or n < 2."""
    from scipy import stats

    if len(rows) < 2 or len(rows[0]) < 3:
        return None
    arr = _finite_fill(np.array(rows, dtype=float))
    n, k = arr.shape
    st = stats.friedmanchisquare(*[arr[:, j] for j in range(k)])
    p = float(st.pvalue)
    if not math.isfinite(p):  # every block tied everywhere: no evidence at all
        p = 1.0
    return {"statistic": float(st.statistic) if math.isfinite(st.statistic) else 0.0, "p": p,
            "p_min": float(stats.chi2.sf(n * (k - 1), k - 1)), "blocks": n, "treatments": k}


def paired(d: np.ndarray) -> dict:
    """One-sided Wilcoxon signed-rank tests of the differences ``d`` (Dyn-GDA - X)."""
    from scipy import stats

    d = np.asarray(d, dtype=float)
    nz = d[d != 0]
    out = {"n_pairs": int(d.size), "n_nonzero": int(nz.size), "p_dyn_lower": 1.0, "p_other_lower": 1.0,
           "effect_r": 0.0, "median_diff": float(np.median(d)) if d.size else None,
           "dyn_wins": int((d < 0).sum()), "other_wins": int((d > 0).sum())}
    if nz.size == 0:
        return out
    out["p_dyn_lower"] = float(stats.wilcoxon(nz, alternative="less", zero_method="wilcox").pvalue)
    out["p_other_lower"] = float(stats.wilcoxon(nz, alternative="greater", zero_method="wilcox").pvalue)
    rk = stats.rankdata(np.abs(nz))
    w_minus, w_plus = float(rk[nz < 0].sum()), float(rk[nz > 0].sum())
    out["effect_r"] = (w_minus - w_plus) / (w_minus + w_plus)
    return out


def holm(ps: list[float]) -> list[float]:
    """Holm-adjusted p-values (same order as ``ps``)."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    adj = [0.0] * m
    run = 0.0
    for j, i in enumerate(order):
        run = max(run, min(1.0, (m - j) * ps[i]))
        adj[i] = run
    return adj


def analyze(obs: dict, *, dyn: Optional[str] = None, alpha: float = 0.05, methods: Optional[list] = None) -> dict:
    """Everything in the module docstring, from ``obs[(gan, dataset, method, seed)] = value``.

    ``dyn``: the method the thesis's statements are about (default: the first whose name
    starts with ``dyn-gda``); ``methods``: their order (default: sorted)."""
    ms = list(methods) if methods is not None else sorted({k[2] for k in obs})
    if dyn is None:
        dyn = next((m for m in ms if m.split(":")[0] == "dyn-gda"), None)
    by_cell = defaultdict(dict)  # (gan, dataset, method) -> {seed: value}
    for (g, d, m, s), v in obs.items():
        by_cell[(g, d, m)][s] = float(v)
    blocks = sorted({(g, d) for (g, d, _m) in by_cell})
    cells = {k: {**cell_summary(v.values()), "seeds": sorted(v)} for k, v in by_cell.items()}
    complete = {}
    for b in blocks:
        seeds = None
        for m in ms:
            have = set(by_cell.get((b[0], b[1], m), {}))
            seeds = have if seeds is None else seeds & have
        if seeds:
            complete[b] = sorted(seeds)
    from scipy.stats import rankdata

    avg_val, rank = {}, {}
    rows = []
    for b, seeds in complete.items():
        row = []
        for m in ms:
            vals = [by_cell[(b[0], b[1], m)][s] for s in seeds]
            row.append(math.inf if any(math.isinf(v) for v in vals) else float(np.mean(vals)))
        rows.append(row)
        for m, v, r in zip(ms, row, rankdata(np.array(row), method="average")):
            avg_val[(b, m)] = v
            rank[(b, m)] = float(r)
    overall = {m: float(np.mean([rank[(b, m)] for b in complete])) for m in ms} if complete else {}
    datasets = sorted({b[1] for b in complete})
    per_dataset = {d: {m: float(np.mean([rank[(b, m)] for b in complete if b[1] == d])) for m in ms}
                   for d in datasets}
    seed_rank = defaultdict(list)
    seeds_all = sorted({s for v in complete.values() for s in v})
    per_seed_rows = defaultdict(list)
    for b, seeds in complete.items():
        for s in seeds:
            row = [by_cell[(b[0], b[1], m)][s] for m in ms]
            per_seed_rows[s].append(row)
            for m, r in zip(ms, rankdata(_finite_fill(np.array(row)), method="average")):
                seed_rank[m].append(float(r))
    fr = friedman(rows)
    fr_seed = {s: friedman(r) for s, r in per_seed_rows.items()}
    fr_seed = {s: f for s, f in fr_seed.items() if f is not None}
    pairs = {}
    if dyn in ms:
        for x in ms:
            if x == dyn:
                continue
            dv, xv = [], []
            for b, seeds in complete.items():
                for s in seeds:
                    dv.append(by_cell[(b[0], b[1], dyn)][s])
                    xv.append(by_cell[(b[0], b[1], x)][s])
            both = _finite_fill(np.array(dv + xv, dtype=float))
            pairs[x] = paired(both[:len(dv)] - both[len(dv):])
        xs = list(pairs)
        for key, adj in (("p_dyn_lower", "p_dyn_lower_holm"), ("p_other_lower", "p_other_lower_holm")):
            for x, p in zip(xs, holm([pairs[x][key] for x in xs])):
                pairs[x][adj] = p
    out = {"methods": ms, "dyn": dyn, "blocks": list(complete), "complete_seeds": complete, "seeds": seeds_all,
           "cells": cells, "avg_value": avg_val, "rank": rank, "overall_rank": overall,
           "per_dataset_rank": per_dataset,
           "per_seed_rank": {m: float(np.mean(v)) for m, v in seed_rank.items()},
           "friedman": fr, "friedman_per_seed": fr_seed, "paired": pairs, "alpha": alpha,
           "n_blocks": len(complete), "n_pairs": sum(len(v) for v in complete.values())}
    out["verdicts"] = [statement_verdict(out, "dyn-best", alpha), statement_verdict(out, "friedman-p02", THESIS_ALPHA)]
    return out


STATEMENTS = {
    "dyn-best": ("Dyn-GDA is the best method in aggregate over the (GAN, data set) pairs: lowest average "
                 "rank, and better than every other method in paired tests.", "thesis section 6.1, Table 1"),
    "friedman-p02": ("Dyn-GDA's advantage is statistically significant with p < .02 (Friedman test over "
                     "the (GAN, data set) pairs; paired tests at the same level).", "thesis section 6"),
}


def statement_verdict(a: dict, sid: str, alpha: float) -> dict:
    """One of the thesis's statements as holds / refuted / inconclusive (module docstring)."""
    statement, source = STATEMENTS[sid]
    base = {"id": sid, "statement": statement, "source": source, "alpha": alpha, "n_blocks": a["n_blocks"],
            "n_pairs": a["n_pairs"]}
    dyn, ranks, fr, pairs = a["dyn"], a["overall_rank"], a["friedman"], a["paired"]
    if dyn is None or not ranks or not pairs:
        return {**base, "verdict": "inconclusive", "underpowered": True,
                "evidence": "no Dyn-GDA runs, or no complete (GAN, data set) block with another method"}
    best = min(ranks, key=ranks.get)
    dyn_best = ranks[dyn] == min(ranks.values()) and sum(v == ranks[dyn] for v in ranks.values()) == 1
    worse_than = [x for x, p in pairs.items() if p["p_other_lower_holm"] < alpha]
    better_all = all(p["p_dyn_lower_holm"] < alpha for p in pairs.values())
    fr_sig = fr is not None and fr["p"] < alpha
    m = len(pairs)
    n_nz = min(p["n_nonzero"] for p in pairs.values())
    under = []
    if fr is None:
        under.append("too few blocks or methods for a Friedman test")
    elif fr["p_min"] >= alpha:
        under.append(f"with {fr['blocks']} blocks x {fr['treatments']} methods the Friedman test cannot reach "
                     f"p < {alpha:g} (smallest possible p = {fr['p_min']:.3g})")
    if m * 0.5 ** n_nz >= alpha:
        under.append(f"with {n_nz} non-zero pairs the Holm-adjusted paired test cannot reach p < {alpha:g} "
                     f"(smallest possible {min(1.0, m * 0.5 ** n_nz):.3g})")
    if worse_than:
        verdict = "refuted"
    elif dyn_best and fr_sig and better_all:
        verdict = "holds"
    else:
        verdict = "inconclusive"
    ev = (f"average rank {dyn} {ranks[dyn]:.3f} (best: {best} {ranks[best]:.3f}) over {a['n_blocks']} blocks; "
          + (f"Friedman chi2 = {fr['statistic']:.3f}, p = {fr['p']:.3g}; " if fr else "no Friedman test; ")
          + "paired Wilcoxon over " + f"{a['n_pairs']} (block, seed) pairs, Holm-adjusted: "
          + "; ".join(f"vs {x}: p(Dyn lower) = {p['p_dyn_lower_holm']:.3g}, p({x} lower) = "
                      f"{p['p_other_lower_holm']:.3g}, r = {p['effect_r']:+.2f}" for x, p in pairs.items()))
    if under:
        ev += "; " + "; ".join(under)
    return {**base, "verdict": verdict, "evidence": ev, "underpowered": bool(under),
            "significantly_better_than_dyn": worse_than}


__all__ = ["analyze", "cell_summary", "friedman", "paired", "holm", "statement_verdict", "STATEMENTS",
           "THESIS_ALPHA"]
