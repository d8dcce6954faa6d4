"""Reproduce the thesis's Figure 2 (DeOliveira 2023, sec. 3.2): Dirac-GAN, Wasserstein loss, eta = 0.1.

Runs Sim-GDA, Alt-GDA (n_d = 1..5), the Dirac oracle (eq. 7) and Dynamic-GDA (Alg. 2) as
oracles in the thesis's convention (L = -psi*theta), from several starts, in float64, in
50-digit mpmath and in exact rational arithmetic, and measures the distance to the saddle
point (0, 0) after 5000, 10000 and 20000 iterations. Then runs 10000 random starts at once
(vectorised float64) to see how typical the thesis's "about 1e-21" is.

Writes docs/figures/figure2.png, docs/figure2.json and docs/figure2.md. Run from the repo root:

    python analyses/figure2.py            # about 2-4 minutes on one core
    python analyses/figure2.py --quick --outdir build/f2   # reduced (tests): all outputs in build/f2
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FIGURES, parse_args  # noqa: E402

from stabcheck.games import make_game  # noqa: E402
from stabcheck.io import write_json_atomic, write_text_atomic  # noqa: E402
from stabcheck.simulate import simulate, simulate_many  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ETA = 0.1
CHECK = (5000, 10000, 20000)
STARTS = ([0.7, 1.3], [1.0, 1.0], [0.3, -0.8])
RUNNERS = ["sim"] + [f"alt:n_d={k}" for k in range(1, 6)] + ["dirac", "dyn-gda"]


def at(r, k):
    """log10 distance after k steps (None if the run stopped before)."""
    return float(r.log10_distance[k]) if k < len(r.log10_distance) else None


def fmt(lg):
    if lg is None:
        return "stopped"
    if lg == -math.inf:
        return "0"
    return f"1e{lg:.1f}" if abs(lg) >= 3 else f"{10 ** lg:.3g}"


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    quick = args.quick
    figdir = Path(args.outdir)
    docdir = ROOT / "docs" if figdir.resolve() == FIGURES.resolve() else figdir
    game = make_game("dirac", "wgan", convention="thesis")
    steps = 1000 if quick else max(CHECK)
    checks = [c for c in CHECK if c <= steps] or [steps]
    rows, results_fig = [], []
    t0 = time.time()
    for x0 in (STARTS[:1] if quick else STARTS):
        for spec in RUNNERS:
            precs = [None, 50] if spec in ("dirac", "dyn-gda", "sim", "alt:n_d=1") and not quick else [None]
            for prec in precs:
                r = simulate(game, spec, ETA, x0, steps, precision=prec)
                rows.append({"start": x0, "run": r.name, "precision": r.precision,
                             "log10_distance": {str(k): at(r, k) for k in checks},
                             "min_log10": r.min_distance_log10, "first_below_1e-6": r.first_below,
                             "choices": r.choices, "stopped": r.stopped})
                if x0 == STARTS[0] and prec is None:
                    results_fig.append(r)
        # exact rational arithmetic for the switching oracles (5000 steps; dyn-gda's sorting is slow)
        for spec, n in ((("dirac", 300),) if quick else
                        (("dirac", 5000), ("dirac:boundary=V2", 5000), ("dirac:boundary=V3", 5000), ("dyn-gda", 5000))):
            r = simulate(game, spec, ETA, x0, n, precision="exact", batch=4)
            rows.append({"start": x0, "run": r.name, "precision": "exact",
                         "log10_distance": {str(k): at(r, k) for k in checks if k <= n},
                         "min_log10": r.min_distance_log10, "first_below_1e-6": r.first_below,
                         "choices": r.choices, "stopped": r.stopped, "state": [str(v) for v in r.states[-1]]
                         if r.states else None})
        print(f"start {x0} done ({time.time() - t0:.0f}s)", file=sys.stderr)

    # many random starts, vectorised float64
    rng = np.random.default_rng(2023)
    X0 = rng.uniform(-1.5, 1.5, size=(200 if quick else 10000, 2))
    dist = {}
    for spec in ("dirac", "dirac:boundary=V2"):
        n_rand = 1000 if quick else 5000
        res = simulate_many(game, spec, ETA, X0, n_rand)
        lg = np.log10(np.maximum(res.final_distance, 1e-320))
        dist[spec] = {"starts": len(X0), "steps": n_rand,
                      "quantiles_log10_final": {q: float(np.quantile(lg, float(q))) for q in
                                                ("0.01", "0.1", "0.5", "0.9", "0.99")},
                      "fraction_below_1e-20": float(np.mean(lg < -20)),
                      "fraction_above_1e-3": float(np.mean(lg > -3)),
                      "max_sup_ratio": float(np.nanmax(res.sup_ratio))}
    out = {"setting": {"system": "dirac", "loss": "wgan", "convention": "thesis", "eta": ETA,
                       "starts": STARTS, "steps": steps},
           "runs": rows, "random_starts": dist}
    write_json_atomic(docdir / "figure2.json", out)
    write_text_atomic(docdir / "figure2.md", to_markdown(out, checks))
    from stabcheck.plots import distance_plot

    distance_plot(results_fig, figdir / "figure2.png",
                  title=f"Dirac-GAN, WGAN (thesis convention L = -psi*theta), eta = {ETA}, x0 = {STARTS[0]}, float64")
    return out


def to_markdown(out, checks) -> str:
    lines = ["# Figure 2, measured (generated by analyses/figure2.py; do not edit)", "",
             "Dirac-GAN, Wasserstein loss, thesis convention `L = -psi*theta`, eta = 0.1. Distance to the "
             "saddle point (0, 0) after k iterations (one iteration = one gradient update).", "",
             "| start | run | arithmetic | " + " | ".join(f"k = {k}" for k in checks) + " | first < 1e-6 | V1/V2/V3 (whole run) |",
             "|---|---|---|" + "---|" * len(checks) + "---|---|"]
    for r in out["runs"]:
        ch = r["choices"]
        lines.append(f"| {tuple(r['start'])} | {r['run']} | {r['precision']} | "
                     + " | ".join(fmt(r["log10_distance"].get(str(k))) if str(k) in r["log10_distance"] else "-"
                                  for k in checks)
                     + f" | {r['first_below_1e-6'] if r['first_below_1e-6'] is not None else '-'} | "
                     + (f"{ch['V1']}/{ch['V2']}/{ch['V3']}" if ch else "-") + " |")
    steps_rand = next(iter(out["random_starts"].values()))["steps"]
    lines += ["", f"Random starts uniform in [-1.5, 1.5]^2 (float64, vectorised), distance after {steps_rand} iterations:", "",
              "| oracle | starts | 1% | 10% | median | 90% | 99% | share < 1e-20 | share > 1e-3 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for spec, d in out["random_starts"].items():
        q = d["quantiles_log10_final"]
        lines.append(f"| {spec} | {d['starts']} | " + " | ".join(fmt(q[k]) for k in ("0.01", "0.1", "0.5", "0.9", "0.99"))
                     + f" | {d['fraction_below_1e-20']:.3f} | {d['fraction_above_1e-3']:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
