"""The validation report: the thesis's Table 1 layout, ranks, a Friedman test, figures and
the theory checks, from a runs directory.

* Table: final metric (W1 for 2-D data, FD for images; lower is better) per GAN class x
  method (rows) and data set (columns); best in **bold**, second <u>underlined</u> (as in the
  thesis); a diverged run is ``div.`` and ranks last.
* Average rank of each method per data set (ranks within each (GAN, data set) pair; ties
  get the average rank), and over all pairs.
* Friedman test (:func:`scipy.stats.friedmanchisquare`) over all (GAN, data set) pairs
  (blocks) x methods (treatments), as in the thesis's section 6.
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


def load_records(runs_dir: str | Path) -> list[dict]:
    d = Path(runs_dir) / "records"
    if not d.is_dir():
        raise BadInput(f"{runs_dir} is not a runs directory: {d} does not exist (run `python -m gpu_validation run --out {runs_dir}` first)")
    recs = [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))]
    if not recs:
        raise BadInput(f"no run records in {d}")
    return recs


def _value(rec: dict) -> float:
    """Final metric; +inf for a diverged run or a missing value (ranks last)."""
    f = rec.get("final") or {}
    v = f.get(rec["metric"])
    return float(v) if (v is not None and not rec["outcome"]["diverged"]) else math.inf


def _order(values, preferred):
    pref = [p for p in preferred if p in values]
    return pref + sorted(v for v in values if v not in pref)


def rank_table(records: list[dict]) -> dict:
    """Values, per-pair ranks, average ranks and the Friedman test (see the module docstring)."""
    from scipy.stats import friedmanchisquare, rankdata

    from gpu_validation import data, gans, methods

    vals: dict = {}
    for r in records:
        c = r["config"]
        vals[(c["gan"], c["method"], c["dataset"])] = _value(r)
    gs = _order({k[0] for k in vals}, gans.THESIS_EIGHT + ("r1",))
    ms = _order({k[1] for k in vals}, methods.THESIS_METHODS + ("jare",))
    ds = _order({k[2] for k in vals}, data.ALL)
    ranks: dict = {}
    blocks = []
    for g in gs:
        for d in ds:
            row = [vals.get((g, m, d)) for m in ms]
            if any(v is None for v in row):
                continue  # incomplete block: not ranked
            rk = rankdata(np.array(row, dtype=float), method="average")  # inf ranks last
            blocks.append(row)
            for m, x in zip(ms, rk):
                ranks[(g, m, d)] = float(x)
    avg = {d: {m: float(np.mean([ranks[(g, m, d)] for g in gs if (g, m, d) in ranks]))
               for m in ms} for d in ds if any((g, ms[0], d) in ranks for g in gs)}
    overall = {m: float(np.mean([v for (g, mm, d), v in ranks.items() if mm == m])) for m in ms} if ranks else {}
    fr = None
    if len(ms) >= 3 and len(blocks) >= 2:
        arr = np.array(blocks, dtype=float)
        finite_max = np.nanmax(np.where(np.isfinite(arr), arr, np.nan)) if np.isfinite(arr).any() else 1.0
        arr = np.where(np.isfinite(arr), arr, finite_max * 10 + 1)  # same ranks, finite for scipy
        st = friedmanchisquare(*[arr[:, j] for j in range(len(ms))])
        fr = {"statistic": float(st.statistic), "p": float(st.pvalue), "blocks": len(blocks), "treatments": len(ms)}
    return {"values": vals, "ranks": ranks, "gans": gs, "methods": ms, "datasets": ds, "avg_rank": avg,
            "overall_rank": overall, "friedman": fr, "n_blocks": len(blocks)}


def _fmt(v: Optional[float]) -> str:
    if v is None:
        return "-"
    if math.isinf(v):
        return "div."
    return f"{v:.4f}" if v < 10 else f"{v:.2f}"


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
                s = _fmt(v)
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


def figures(records: list[dict], runs_dir: Path, fig_dir: Path, gan: str = "bce",
            datasets: tuple = ("spiral", "circle", "ring", "line")) -> list[str]:
    """Thesis-Figure-3-style sample grids (rows: methods, columns: checkpoints) and metric curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from gpu_validation import data as data_mod
    from gpu_validation import methods

    fig_dir.mkdir(parents=True, exist_ok=True)
    out = []
    by = {(r["config"]["gan"], r["config"]["dataset"], r["config"]["method"]): r for r in records}
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
            sp = runs_dir / "samples" / f"{r['id']}.npz"
            z = np.load(sp) if sp.exists() else None
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
        fig.suptitle(f"{gan} on {d}: generated (blue) vs real (red)", fontsize=9)
        fig.tight_layout()
        path = fig_dir / f"validation_samples_{gan}_{d}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=90)
        plt.close(fig)
        out.append(path.name)
    # metric curves: median over GAN classes per method, one panel per data set
    ds = sorted({r["config"]["dataset"] for r in records if r["resolved"]["data_kind"] == "2d"})
    if ds:
        fig, axes = plt.subplots(1, len(ds), figsize=(3.2 * len(ds), 2.8), squeeze=False)
        for ax, d in zip(axes[0], ds):
            for m in ms:
                curves = defaultdict(list)
                for r in records:
                    if r["config"]["dataset"] == d and r["config"]["method"] == m:
                        for c in r["checkpoints"]:
                            if c.get("w1") is not None:
                                curves[c["step"]].append(c["w1"])
                if curves:
                    st = sorted(curves)
                    ax.plot(st, [np.median(curves[s]) for s in st], marker="o", ms=3, label=methods.label(m))
            ax.set_title(d, fontsize=9)
            ax.set_xlabel("iteration", fontsize=8)
            ax.set_yscale("log")
        axes[0][0].set_ylabel("median W1 over GAN classes", fontsize=8)
        if axes[0][0].get_legend_handles_labels()[0]:
            axes[0][0].legend(fontsize=6)
        fig.tight_layout()
        path = fig_dir / "validation_w1_curves.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=90)
        plt.close(fig)
        out.append(path.name)
    return out


def _provenance(records: list[dict]) -> str:
    prof = defaultdict(int)
    for r in records:
        c, e = r["config"], r["environment"]
        prof[(c["profile"], c["iterations"], c["batch"], c["lr"], e["device"], e["threads"], e.get("cpu_count"),
              e["torch"])] += 1
    lines = []
    for (p, it, b, lr, dev, th, cpus, tv), n in sorted(prof.items(), key=str):
        lines.append(f"- {n} runs: profile `{p}`, **{it} iterations**, batch {b}, lr {lr:g}, device **{dev}** "
                     f"({th} torch thread(s), {cpus} CPU cores visible), torch {tv}")
    wall = sum(r["wall_s"] for r in records)
    nb = sum("batched_runs" in r["environment"] for r in records)
    if nb:
        lines.append(f"- {nb} of {len(records)} runs trained with the batched trainer (`--batched`), the rest one by one")
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


def write_report(runs_dir: str | Path, markdown: str | Path, *, figures_dir: str | Path = "docs/figures",
                 title: str = "Neural-GAN validation", bench: Optional[str] = None,
                 notes: Optional[str] = None) -> str:
    """Write the markdown report (and its figures); return the markdown text."""
    from gpu_validation import predictions

    runs = Path(runs_dir)
    recs = load_records(runs)
    t = rank_table(recs)
    md_path = Path(markdown)
    fig_dir = Path(figures_dir)
    figs = figures(recs, runs, fig_dir)
    import os

    fig_prefix = os.path.relpath(fig_dir.resolve(), md_path.resolve().parent).replace(os.sep, "/") + "/"
    preds = predictions.check_all(recs, t)
    L = [f"# {title}", "", "Generated by `python -m gpu_validation report` from the run records in "
         f"`{runs}`; every number below was measured in those runs.", "", "## Provenance", "", _provenance(recs), ""]
    L += ["## Final distance per GAN class x method x data set (thesis Table 1 layout)", "",
          "Lower is better; **best**, <u>second</u>; `div.` = diverged (ranks last).", "", table_markdown(t), ""]
    floors = {}
    for r in recs:
        f = r.get("final") or {}
        if "w1_floor" in f:
            floors[r["config"]["dataset"]] = (f["w1_floor"], f["eval_n"])
    if floors:
        L += ["Finite-sample floor (W1 between two independent real samples of the same size): "
              + ", ".join(f"{d} {v:.4f} (n={n})" for d, (v, n) in sorted(floors.items())) + ".", ""]
    if t["overall_rank"]:
        L += ["Average rank over all (GAN, data set) pairs: "
              + ", ".join(f"{m} {v:.3f}" for m, v in sorted(t["overall_rank"].items(), key=lambda x: x[1])) + "."]
    if t["friedman"]:
        f = t["friedman"]
        L += [f"Friedman test over {f['blocks']} pairs x {f['treatments']} methods: chi2 = {f['statistic']:.3f}, "
              f"p = {f['p']:.3g} (the thesis reports p < .02 over its pairs)."]
    L += [""]
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
          "Spectra: top eigenvalues of the update map's Jacobian at the final checkpoint, matrix-free "
          "(torch.func.jvp + ARPACK on `(dF - I)/eta`, eta = the run's learning rate, batch frozen, plain "
          "gradient map - see `gpu_validation/spectrum.py`).", "",
          "| Prediction | Source | Verdict | Evidence |", "|---|---|---|---|"]
    for p in preds:
        L.append(f"| {p['statement']} | {p['source']} | **{p['verdict']}** | {p['evidence']} |")
    L += [""]
    specs = [(r, s) for r in recs for s in r.get("spectrum", [])]
    if specs:
        L += ["<details><summary>Spectrum per run (final checkpoint)</summary>", "",
              "| run | map | rho | leading mu (largest Re) | rotational max abs(lambda)-1 | matvecs | perturbation measured / predicted |",
              "|---|---|---|---|---|---|---|"]
        for r, s in specs:
            if s.get("status") == "inconclusive":
                L.append(f"| {r['id']} | - | inconclusive | {s.get('reason', '')[:60]} | - | - | - |")
                continue
            mu = s["mu"][0]
            rg = predictions.rotational_growth(s)
            p = s.get("perturbation")
            ps = f"{p['measured_growth']:.6f} / {p['predicted_growth']:.6f} ({'agree' if p['agrees'] else 'DISAGREE'})" if p else "-"
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


__all__ = ["load_records", "rank_table", "table_markdown", "figures", "write_report"]
