"""The validation report: the thesis's Table 1 layout over seeds, ranks, Friedman and paired
tests, the thesis's statements as verdicts, figures and the theory checks, from one or more
runs directories.

* Records: every ``records/*.json`` of every runs directory given (e.g. one folder per
  machine, or one merged folder). A run id found twice with identical contents counts once;
  with different contents it is an error (BadInput). Schema-1 records are upgraded in memory
  (:func:`gpu_validation.schema.upgrade`). ``profile`` / ``device_kind`` filters select a
  setting; two records of the same (GAN, method, data set, seed) that survive the filters
  (e.g. a CPU and a GPU run) are an error naming the filter that separates them.
* Table: per GAN class x method (rows) and data set (columns) the final metric (W1 for 2-D
  data, FD for images; lower is better): the value for one seed, ``mean ± sd`` over seeds
  otherwise (``k div.`` when k seeds diverged); best / second by the seed-averaged value, as
  in the thesis; a diverged run ranks last.
* Statistics and verdicts: :mod:`gpu_validation.stats` (its docstring states the rules).
* Figures: generated samples over iterations (thesis Figure 3), metric over iterations.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Optional

import numpy as np

from stabcheck.errors import BadInput
from stabcheck.io import atomic_path, write_text_atomic


def _dirs(runs_dirs) -> list[Path]:
    if isinstance(runs_dirs, (str, Path)):
        return [Path(runs_dirs)]
    return [Path(d) for d in runs_dirs]


def load_records(runs_dirs, *, profile: Optional[str] = None, device_kind: Optional[str] = None,
                 iterations: Optional[int] = None) -> list[dict]:
    """The records of one or more runs directories, merged (module docstring). BadInput (one
    line) for a missing or empty folder, an unreadable / truncated / config-less record, or
    conflicting records."""
    from gpu_validation import schema

    by_id: dict = {}
    where: dict = {}
    for rd in _dirs(runs_dirs):
        d = rd / "records"
        if not d.is_dir():
            raise BadInput(f"{rd} is not a runs directory: {d} does not exist "
                           f"(run `python -m gpu_validation run --out {rd}` first)")
        paths = sorted(q for q in d.glob("*.json") if not q.name.startswith("."))  # not atomic-write temporaries
        if not paths:
            raise BadInput(f"no run records in {d}")
        for p in paths:
            try:
                rec = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise BadInput(f"{p}: not a readable run record ({type(exc).__name__}: {str(exc)[:80]}); "
                               "remove it or rerun `python -m gpu_validation run` to retrain it") from None
            why = schema.structural_errors(rec)
            if why:
                raise BadInput(f"{p}: not a run record ({why})")
            rec = schema.upgrade(rec)
            rid = rec["id"]
            if rid in by_id:
                if json.dumps(by_id[rid], sort_keys=True) != json.dumps(rec, sort_keys=True):
                    raise BadInput(f"run {rid} is in {where[rid]} and {p} with different contents; keep one")
                continue
            by_id[rid] = rec
            where[rid] = p
    recs = [r for r in by_id.values()
            if (profile is None or r["config"]["profile"] == profile)
            and (iterations is None or r["config"]["iterations"] == iterations)
            and (device_kind is None or r["environment"].get("device_kind") == device_kind)]
    if not recs:
        raise BadInput(f"no records left after the filters (profile={profile}, iterations={iterations}, "
                       f"device kind={device_kind})")
    seen: dict = {}
    for r in recs:
        c = r["config"]
        k = (c["gan"], c["method"], c["dataset"], c["seed"])
        if k in seen:
            o = seen[k]
            diff = [f for f in ("profile", "iterations") if o["config"][f] != c[f]]
            if o["environment"].get("device_kind") != r["environment"].get("device_kind"):
                diff.append("device_kind")
            hint = (" (they differ in " + ", ".join(diff) + ": pick one with --" + diff[0].replace("_", "-") + ")"
                    if diff else "")
            raise BadInput(f"two records of {'/'.join(map(str, k))}: {o['id']} and {r['id']}{hint}")
        seen[k] = r
    return sorted(recs, key=lambda r: r["id"])


def _value(rec: dict) -> float:
    """Final metric; +inf for a diverged run or a missing value (ranks last)."""
    f = rec.get("final") or {}
    v = f.get(rec["metric"])
    return float(v) if (v is not None and not rec["outcome"]["diverged"]) else math.inf


def _order(values, preferred):
    pref = [p for p in preferred if p in values]
    return pref + sorted(v for v in values if v not in pref)


def rank_table(records: list[dict], alpha: float = 0.05) -> dict:
    """Values over seeds, ranks, the tests and the verdicts (:func:`gpu_validation.stats.analyze`).

    Keys: ``values[(gan, method, dataset)]`` the seed-averaged value, ``ranks[...]`` its rank
    in the block, ``cells[...]`` the per-cell summary, ``overall_rank``, ``avg_rank`` (per data
    set), ``friedman``, ``friedman_per_seed``, ``paired``, ``verdicts``, ``stats`` (all of
    :func:`~gpu_validation.stats.analyze`'s result)."""
    from gpu_validation import data, gans, methods, stats

    obs = {}
    for r in records:
        c = r["config"]
        obs[(c["gan"], c["dataset"], c["method"], int(c["seed"]))] = _value(r)
    gs = _order({k[0] for k in obs}, gans.THESIS_EIGHT + ("r1",))
    ms = _order({k[2] for k in obs}, methods.THESIS_METHODS + ("jare",))
    ds = _order({k[1] for k in obs}, data.ALL)
    a = stats.analyze(obs, alpha=alpha, methods=ms)
    vals = {(b[0], m, b[1]): v for (b, m), v in a["avg_value"].items()}
    ranks = {(b[0], m, b[1]): v for (b, m), v in a["rank"].items()}
    cells = {(g, m, d): v for (g, d, m), v in a["cells"].items()}
    return {"values": vals, "ranks": ranks, "cells": cells, "gans": gs, "methods": ms, "datasets": ds,
            "avg_rank": a["per_dataset_rank"], "overall_rank": a["overall_rank"], "friedman": a["friedman"],
            "friedman_per_seed": a["friedman_per_seed"], "paired": a["paired"], "verdicts": a["verdicts"],
            "n_blocks": a["n_blocks"], "seeds": a["seeds"], "stats": a}


def _fmt(v: Optional[float]) -> str:
    if v is None:
        return "-"
    if math.isinf(v):
        return "div."
    return f"{v:.4f}" if v < 10 else f"{v:.2f}"


def _cell(t: dict, key) -> str:
    """One seed: the value; several: mean ± sd over the finite seeds (+ diverged count)."""
    c = t["cells"].get(key)
    v = t["values"].get(key)
    if c is None:
        return "-"
    if c["n"] == 1:
        return _fmt(v if v is not None else (math.inf if c["n_div"] else c["mean"]))
    if c["mean"] is None:
        return f"div. ({c['n_div']}/{c['n']})"
    s = _fmt(c["mean"]) + (f" ± {_fmt(c['sd'])}" if c["sd"] is not None else "")
    return s + (f" ({c['n_div']} div.)" if c["n_div"] else "")


def table_markdown(t: dict) -> str:
    from gpu_validation import gans, methods

    ds, ms = t["datasets"], t["methods"]
    lines = ["| GAN | Method | " + " | ".join(ds) + " |", "|---|---|" + "---|" * len(ds)]
    for g in t["gans"]:
        for i, m in enumerate(ms):
            cells = []
            for d in ds:
                v = t["values"].get((g, m, d))
                r = t["ranks"].get((g, m, d))
                s = _cell(t, (g, m, d))
                col = sorted(t["ranks"].get((g, mm, d), 99) for mm in ms)
                if r is not None and v is not None and not math.isinf(v):
                    if r == col[0]:
                        s = f"**{s}**"
                    elif len(col) > 1 and r == col[1]:
                        s = f"<u>{s}</u>"
                cells.append(s)
            lines.append(f"| {gans.LABELS.get(g.split(':')[0], g) if i == 0 else ''} | {methods.label(m)} | "
                         + " | ".join(cells) + " |")
    for i, m in enumerate(ms):
        cells = [f"{t['avg_rank'][d][m]:.3f}" if d in t["avg_rank"] else "-" for d in ds]
        lines.append(f"| {'*Average rank*' if i == 0 else ''} | {methods.label(m)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cells_markdown(t: dict) -> list[str]:
    """Per cell: seeds, diverged seeds, mean, sd, 95% CI of the mean, median (collapsed)."""
    from gpu_validation import methods

    rows = []
    for g in t["gans"]:
        for d in t["datasets"]:
            for m in t["methods"]:
                c = t["cells"].get((g, m, d))
                if c is None:
                    continue
                ci = "-" if c["ci95"] is None else f"[{_fmt(c['ci95'][0])}, {_fmt(c['ci95'][1])}]"
                rows.append(f"| {g} | {d} | {methods.label(m)} | {c['n']} | {c['n_div']} | {_fmt(c['mean'])} | "
                            f"{_fmt(c['sd'])} | {ci} | {_fmt(c['median'])} |")
    return (["<details><summary>Per cell over seeds: mean, sd, 95% CI (t), median</summary>", "",
             "| GAN | data set | method | seeds | diverged | mean | sd | 95% CI | median |",
             "|---|---|---|---|---|---|---|---|---|"] + rows + ["", "</details>", ""])


def stats_markdown(t: dict) -> list[str]:
    """Seeds, per-seed ranks, the Friedman tests, the paired tests and the thesis's verdicts."""
    from gpu_validation import methods

    a = t["stats"]
    L = []
    ns = sorted({len(v) for v in a["complete_seeds"].values()})
    L += [f"Seeds: {t['seeds']}; complete seeds per (GAN, data set) block: "
          + (", ".join(map(str, ns)) if ns else "none") + f"; {a['n_blocks']} blocks, {a['n_pairs']} (block, seed) pairs.", ""]
    if t["overall_rank"]:
        L += ["| Method | average rank (seed-averaged values) | average per-seed rank |", "|---|---|---|"]
        for m in sorted(t["overall_rank"], key=t["overall_rank"].get):
            L.append(f"| {methods.label(m)} | {t['overall_rank'][m]:.3f} | {a['per_seed_rank'].get(m, float('nan')):.3f} |")
        L += [""]
    f = t["friedman"]
    if f:
        L += [f"Friedman test over {f['blocks']} blocks x {f['treatments']} methods (seed-averaged values): "
              f"chi2 = {f['statistic']:.3f}, p = {f['p']:.3g} (smallest p these blocks can give: {f['p_min']:.3g}; "
              "the thesis reports p < .02)."]
    fs = t["friedman_per_seed"]
    if len(fs) > 1:
        ps = np.array([x["p"] for x in fs.values()])
        L += [f"Friedman p per seed ({len(ps)} seeds): min {ps.min():.3g}, median {np.median(ps):.3g}, "
              f"max {ps.max():.3g}; {int((ps < a['alpha']).sum())} of {len(ps)} below {a['alpha']:g}."]
    L += [""]
    if t["paired"]:
        L += [f"Paired one-sided Wilcoxon signed-rank tests of Dyn-GDA against each method over (block, seed) "
              "pairs (Holm-adjusted over the methods; r = rank-biserial effect size, > 0: Dyn-GDA lower = better):", "",
              "| vs | pairs (non-zero) | Dyn-GDA wins / loses | median(Dyn - X) | r | p(Dyn lower) | p(X lower) |",
              "|---|---|---|---|---|---|---|"]
        for x, p in t["paired"].items():
            md = "-" if p["median_diff"] is None else f"{p['median_diff']:+.4g}"
            L.append(f"| {methods.label(x)} | {p['n_pairs']} ({p['n_nonzero']}) | {p['dyn_wins']} / {p['other_wins']} | "
                     f"{md} | {p['effect_r']:+.2f} | {p['p_dyn_lower_holm']:.3g} | {p['p_other_lower_holm']:.3g} |")
        L += [""]
    L += ["Verdict rules (gpu_validation/stats.py): **holds** = Dyn-GDA has the lowest average rank, the "
          "Friedman p < alpha and every Holm-adjusted paired p(Dyn lower) < alpha; **refuted** = some method is "
          "significantly better than Dyn-GDA (Holm-adjusted p(X lower) < alpha); otherwise **inconclusive** "
          "(a non-significant test never refutes; the evidence says when the data cannot reach alpha at all).", "",
          "| Thesis statement | Source | alpha | Verdict | Evidence |", "|---|---|---|---|---|"]
    for v in t["verdicts"]:
        L.append(f"| {v['statement']} | {v['source']} | {v['alpha']:g} | **{v['verdict']}**"
                 + (" (underpowered)" if v.get("underpowered") else "") + f" | {v['evidence']} |")
    return L + [""]


def _samples_file(runs_dirs, rid: str) -> Optional[Path]:
    for d in _dirs(runs_dirs):
        p = d / "samples" / f"{rid}.npz"
        if p.exists():
            return p
    return None


def figures(records: list[dict], runs_dir, fig_dir: Path, gan: str = "bce",
            datasets: tuple = ("spiral", "circle", "ring", "line")) -> list[str]:
    """Thesis-Figure-3-style sample grids (rows: methods, columns: checkpoints; the lowest
    seed) and metric curves (median over GAN classes and seeds). ``runs_dir``: one runs
    directory or a list (the samples are looked up in each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from gpu_validation import data as data_mod
    from gpu_validation import methods

    fig_dir.mkdir(parents=True, exist_ok=True)
    out = []
    by: dict = {}
    for r in sorted(records, key=lambda r: -int(r["config"]["seed"])):  # the lowest seed wins
        by[(r["config"]["gan"], r["config"]["dataset"], r["config"]["method"])] = r
    ms = _order({r["config"]["method"] for r in records}, methods.THESIS_METHODS + ("jare",))
    for d in datasets:
        rows = [(m, by.get((gan, d, m))) for m in ms if (gan, d, m) in by]
        if not rows or rows[0][1]["resolved"]["data_kind"] != "2d":
            continue
        real = data_mod.load(d).sample(512, torch.Generator().manual_seed(5)).numpy()
        steps = max((len(r["checkpoints"]) for _, r in rows), default=0)
        if steps == 0:
            continue
        fig, axes = plt.subplots(len(rows), steps, figsize=(1.9 * steps, 1.9 * len(rows)), squeeze=False)
        for i, (m, r) in enumerate(rows):
            sp = _samples_file(runs_dir, r["id"])
            z = np.load(sp) if sp is not None else None
            for j in range(steps):
                ax = axes[i][j]
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_xlim(-1, 1)
                ax.set_ylim(-1, 1)
                ax.scatter(real[:, 0], real[:, 1], s=1, c="tab:red", alpha=0.4)
                if z is not None and j < len(z["steps"]):
                    s = int(z["steps"][j])
                    g = z[f"s{s}"]
                    ax.scatter(g[:, 0], g[:, 1], s=1, c="tab:blue", alpha=0.6)
                    if i == 0:
                        ax.set_title(f"{s} it", fontsize=8)
                if j == 0:
                    ax.set_ylabel(methods.label(m), fontsize=7)
        fig.suptitle(f"{gan} on {d}, seed {int(rows[0][1]['config']['seed'])}: generated (blue) vs real (red)",
                     fontsize=10)
        fig.tight_layout()
        path = fig_dir / f"validation_samples_{gan}_{d}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=90, bbox_inches="tight")
        plt.close(fig)
        out.append(path.name)
    # metric curves: median (and interquartile band) over GAN classes and seeds per method, one
    # panel per data set, two panels a row so that the text is readable at page width
    ds = sorted({r["config"]["dataset"] for r in records if r["resolved"]["data_kind"] == "2d"})
    if ds:
        ncol = min(2, len(ds))
        nrow = -(-len(ds) // ncol)
        seeds = sorted({int(r["config"]["seed"]) for r in records})
        fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.6 * nrow), squeeze=False)
        for k, d in enumerate(ds):
            ax = axes[k // ncol][k % ncol]
            for m in ms:
                curves = defaultdict(list)
                for r in records:
                    if r["config"]["dataset"] == d and r["config"]["method"] == m:
                        for c in r["checkpoints"]:
                            if c.get("w1") is not None:
                                curves[c["step"]].append(c["w1"])
                if curves:
                    st = sorted(curves)
                    line, = ax.plot(st, [np.median(curves[s]) for s in st], marker="o", ms=4, lw=1.6,
                                    label=methods.label(m))
                    ax.fill_between(st, [np.percentile(curves[s], 25) for s in st],
                                    [np.percentile(curves[s], 75) for s in st], color=line.get_color(), alpha=0.12)
            ax.set_title(d, fontsize=11)
            ax.set_xlabel("iteration (oracle decisions)", fontsize=10)
            ax.set_ylabel("W1 to the data (log scale)", fontsize=10)
            ax.set_yscale("log")
            ax.tick_params(labelsize=9)
            ax.grid(True, which="both", alpha=0.25)
        for k in range(len(ds), nrow * ncol):
            axes[k // ncol][k % ncol].set_visible(False)
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=10, frameon=False,
                       bbox_to_anchor=(0.5, 1.0))
        fig.suptitle(f"W1 during training: median over GAN classes and seeds {seeds} (band: interquartile range)",
                     fontsize=11, y=1.04)
        fig.tight_layout(rect=(0, 0, 1, 0.96))
        path = fig_dir / "validation_w1_curves.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, bbox_inches="tight")
        plt.close(fig)
        out.append(path.name)
    return out


def _provenance(records: list[dict]) -> str:
    prof = defaultdict(int)
    for r in records:
        c, e = r["config"], r["environment"]
        prof[(c["profile"], c["iterations"], c["batch"], c["lr"], e.get("device_kind", e["device"]), e["threads"],
              e.get("cpu_count"), e["torch"])] += 1
    lines = []
    for (p, it, b, lr, dev, th, cpus, tv), n in sorted(prof.items(), key=str):
        lines.append(f"- {n} runs: profile `{p}`, **{it} iterations**, batch {b}, lr {lr:g}, device **{dev}** "
                     f"({th} torch thread(s), {cpus} CPU cores visible), torch {tv}")
    wall = sum(r["wall_s"] for r in records)
    nb = sum("batched_runs" in r["environment"] for r in records)
    if nb:
        lines.append(f"- {nb} of {len(records)} runs trained with the batched trainer (`--batched`), the rest one by one")
    hosts = sorted({r["environment"].get("host") for r in records if r["environment"].get("host")})
    if len(hosts) > 1:
        lines.append(f"- records merged from {len(hosts)} machines")
    up = sum(r.get("upgraded_from") is not None for r in records)
    if up:
        lines.append(f"- {up} records written by an older harness (schema version 1, no per-iteration decisions), "
                     "read through gpu_validation.schema.upgrade")
    lines.append(f"- total training wall time {wall / 60:.1f} min (sum over runs; a batched run counts its share); seeds "
                 f"{sorted({r['config']['seed'] for r in records})}")
    return "\n".join(lines)


def _losses_for_dyn(t: dict) -> list[str]:
    out = []
    dkey = next((m for m in t["methods"] if m.startswith("dyn-gda")), None)
    if dkey is None:
        return out
    for g in t["gans"]:
        for d in t["datasets"]:
            r = t["ranks"].get((g, dkey, d))
            if r is None or r <= 1.0:
                continue
            best = min(t["methods"], key=lambda m: t["ranks"].get((g, m, d), 99))
            out.append(f"{g} / {d}: Dyn-GDA {_fmt(t['values'][(g, dkey, d)])} (rank {r:g}) vs "
                       f"{best} {_fmt(t['values'][(g, best, d)])}")
    return out


def write_report(runs_dir, markdown: str | Path, *, figures_dir: str | Path = "docs/figures",
                 title: str = "Neural-GAN validation", bench: Optional[str] = None,
                 notes: Optional[str] = None, profile: Optional[str] = None, device_kind: Optional[str] = None,
                 iterations: Optional[int] = None, alpha: float = 0.05) -> str:
    """Write the markdown report (and its figures); return the markdown text. ``runs_dir``:
    one runs directory or a list of them (merged, see :func:`load_records`)."""
    from gpu_validation import predictions

    dirs = _dirs(runs_dir)
    recs = load_records(dirs, profile=profile, device_kind=device_kind, iterations=iterations)
    t = rank_table(recs, alpha=alpha)
    md_path = Path(markdown)
    fig_dir = Path(figures_dir)
    figs = figures(recs, dirs, fig_dir)
    import os

    fig_prefix = os.path.relpath(fig_dir.resolve(), md_path.resolve().parent).replace(os.sep, "/") + "/"
    preds = predictions.check_all(recs, t)
    names = ", ".join(f"`{d}`" for d in dirs)
    L = [f"# {title}", "", f"Generated by `python -m gpu_validation report` from the run records in {names}"
         + (f" (profile {profile})" if profile else "") + (f" ({iterations} iterations)" if iterations else "")
         + (f" (device kind {device_kind})" if device_kind else "")
         + "; every number below was measured in those runs.", "", "## Provenance", "", _provenance(recs), ""]
    L += ["## Final distance per GAN class x method x data set (thesis Table 1 layout)", "",
          "Lower is better; one seed: the value, several: mean ± sd over the seeds that did not diverge "
          "(`k div.`: k seeds diverged); **best**, <u>second</u> by the seed-averaged value (a divergence makes "
          "it infinite); `div.` = diverged (ranks last).", "", table_markdown(t), ""]
    floors = {}
    for r in recs:
        f = r.get("final") or {}
        if "w1_floor" in f:
            floors[r["config"]["dataset"]] = (f["w1_floor"], f["eval_n"])
    if floors:
        L += ["Finite-sample floor (W1 between two independent real samples of the same size): "
              + ", ".join(f"{d} {v:.4f} (n={n})" for d, (v, n) in sorted(floors.items())) + ".", ""]
    if len(t["seeds"]) > 1:
        L += cells_markdown(t)
    L += ["## Statistics over seeds and the thesis's statements", ""] + stats_markdown(t)
    lost = _losses_for_dyn(t)
    if lost:
        L += [f"### Where Dyn-GDA is not the best ({len(lost)} of {t['n_blocks']} pairs)", ""] + [f"- {x}" for x in lost] + [""]
    # choices
    dyn = [r for r in recs if r["config"]["method"].startswith("dyn-gda")]
    if dyn:
        v1 = sum(r["choices"]["V1"] for r in dyn)
        tot = sum(sum(r["choices"].values()) for r in dyn)
        L += [f"Dyn-GDA's choices: {v1} V1 of {tot} decisions ({100 * v1 / max(tot, 1):.1f}% generator steps; "
              "Alt-GDA n_d=1 has 50%, n_d=5 16.7%).", ""]
    div = [r for r in recs if r["outcome"]["diverged"]]
    L += [f"Diverged runs: {len(div)} of {len(recs)}" + (": " + ", ".join(
        f"{r['id']} (at {r['outcome']['diverged_at']}: {r['outcome']['reason']})" for r in div) if div else "."), ""]
    # theory
    L += ["## Theory checks on the trained networks", "",
          "Each prediction names the observation that would contradict it (column *Contradicted by*).", "",
          "Spectra: the eigenvalues of largest modulus of the Jacobian of the update map that trained "
          "(the method's rule with the run's Adam/RMSProp state: first moment as state, second moment "
          "frozen), at the final checkpoint with its batch held fixed, matrix-free (JVPs + ARPACK, "
          "`stabcheck.nn`), each pair checked by its residual; outcome *inconclusive* when fewer than k "
          "pairs converged or the largest |lambda| is within the stated tolerance of 1. Dyn-GDA is also "
          "judged on its switched system: the product of the maps it chose over its last 10 decisions. "
          "See docs/nn.md and `gpu_validation/spectrum.py`.", "",
          "| Prediction | Source | Contradicted by | Verdict | Evidence |", "|---|---|---|---|---|"]
    for p in preds:
        L.append(f"| {p['statement']} | {p['source']} | {p.get('contradicted_by', '-')} | **{p['verdict']}** | "
                 f"{p['evidence']} |")
    L += [""]
    specs = [(r, s) for r in recs for s in r.get("spectrum", [])]
    if specs:
        L += ["<details><summary>Spectrum per run (final checkpoint)</summary>", "",
              "| run | map | rho | leading mu (largest Re) | rotational max abs(lambda)-1 | matvecs | perturbation measured / predicted (along the trajectory) |",
              "|---|---|---|---|---|---|---|"]
        for r, s in specs:
            if s.get("status") == "inconclusive":
                L.append(f"| {r['id']} | - | inconclusive | {s.get('reason', '')[:60]} | - | - | - |")
                continue
            mu = s["mu"][0]
            rg = predictions.rotational_growth(s)
            p = s.get("perturbation")
            ps = f"{p['measured_growth']:.6f} / {p['predicted_growth']:.6f} ({'agree' if p['agrees'] else 'DISAGREE'})" if p else "-"
            if p and p.get("trajectory_growth") is not None:
                ps += f" ({p['trajectory_growth']:.6f})"
            L.append(f"| {r['id']} | {s['map']} | {s['spectral_radius']:.8f} | {mu[0]:.4g}{mu[1]:+.4g}i | "
                     f"{'-' if rg is None else f'{rg - 1:+.3e}'} | {s['matvecs']} | {ps} |")
        L += ["", "</details>", ""]
    if figs:
        L += ["## Figures", ""] + [f"![{f}]({fig_prefix}{f})" for f in figs] + [""]
    if bench and Path(bench).exists():
        b = json.loads(Path(bench).read_text())
        L += ["## Speed: batched vs sequential training", "", b.get("markdown", "```\n" + json.dumps(b, indent=2) + "\n```"), ""]
    if notes and Path(notes).exists():
        L += [Path(notes).read_text()]
    text = "\n".join(L) + "\n"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(md_path, text)
    return text


__all__ = ["load_records", "rank_table", "table_markdown", "stats_markdown", "cells_markdown", "figures", "write_report"]
