"""Predictions of the toy theory, checked against trained networks.

Each check reads run records (with spectra from :mod:`gpu_validation.spectrum`) and returns
``{"id", "statement", "source", "verdict", "evidence", "n"}`` with ``verdict`` one of
``confirmed`` (every applicable run agrees), ``contradicted`` (at least one applicable run
disagrees; the evidence names how many and the numbers) or ``inconclusive`` (no applicable
run / no converged spectrum). A universal statement is contradicted by one counterexample;
the counts say how typical it is.

"Rotational mode": an eigenvalue ``mu`` of ``(dF - I)/eta`` with ``|Im mu| > 1e-6 |mu|``; its
map eigenvalue is ``lambda = 1 + eta mu``. The Dirac-GAN (Mescheder et al. 2018, section 2)
under Sim-GDA has only rotational modes: ``lambda = 1 +- i eta`` for WGAN (``|lambda| > 1``,
no convergence) and ``|lambda| < 1`` once a zero-centred gradient penalty (R1/R2, Roth et
al.'s regularizer) adds ``-gamma`` to the discriminator block.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

import numpy as np

ROT_TOL = 1e-6


def _spec(rec: dict) -> Optional[dict]:
    ok = [s for s in rec.get("spectrum", []) if s.get("status") in ("ok", "partial") and s.get("mu")]
    return max(ok, key=lambda s: s["step"]) if ok else None


def rotational_growth(spec: dict) -> Optional[float]:
    """``max |1 + eta mu|`` over the rotational modes among the computed eigenvalues (None if none)."""
    eta = spec["eta"]
    vals = [abs(complex(1 + eta * re, eta * im)) for re, im in spec["mu"]
            if abs(im) > ROT_TOL * max(abs(complex(re, im)), 1e-300)]
    return max(vals) if vals else None


def _method_is(rec: dict, name: str) -> bool:
    return rec["config"]["method"].split(":")[0].split("+")[0] == name


def _gan_is(rec: dict, names: Iterable[str]) -> bool:
    return rec["config"]["gan"].split(":")[0] in set(names)


def _verdict(agree: int, disagree: int) -> str:
    if agree + disagree == 0:
        return "inconclusive"
    return "confirmed" if disagree == 0 else "contradicted"


def _rot_check(records, gans, want_growth: bool, pid: str, statement: str, source: str) -> dict:
    agree = disagree = none = 0
    vals = []
    for r in records:
        if not (_gan_is(r, gans) and _method_is(r, "sim") and not r["outcome"]["diverged"]):
            continue
        s = _spec(r)
        if s is None:
            none += 1
            continue
        g = rotational_growth(s)
        if g is None:
            none += 1
            continue
        vals.append((r["config"]["dataset"], g))
        ok = (g > 1.0) if want_growth else (g < 1.0)
        agree += ok
        disagree += not ok
    ev = (f"{agree} of {agree + disagree} runs agree; max abs(lambda) over rotational modes per data set: "
          + ", ".join(f"{d} {v - 1:+.3e} (abs(lambda)-1)" for d, v in vals)
          + (f"; {none} runs without a converged rotational mode" if none else ""))
    return {"id": pid, "statement": statement, "source": source, "verdict": _verdict(agree, disagree),
            "evidence": ev, "n": agree + disagree}


def check_all(records: list[dict], table: Optional[dict] = None) -> list[dict]:
    """Every prediction below, in order. ``table`` is :func:`gpu_validation.report.rank_table`'s
    result (for the Table-1 replication check)."""
    out = []
    out.append(_rot_check(
        records, ["wgan"], True, "wgan-sim-undamped",
        "Unregularized WGAN under Sim-GDA keeps oscillating: the rotational modes of the update map "
        "at the end of training have abs(lambda) > 1.",
        "Mescheder et al. 2018, Dirac-GAN (eigenvalues 1 +- i*eta); thesis section 3"))
    out.append(_rot_check(
        records, ["wgan-gp"], True, "wgan-gp-sim-undamped",
        "WGAN-GP (a penalty centred at 1, not 0) does not damp Sim-GDA's rotation: rotational modes have abs(lambda) > 1.",
        "Mescheder et al. 2018, section 3 (WGAN-GP is not locally convergent on the Dirac-GAN)"))
    out.append(_rot_check(
        records, ["r1", "r2", "js-reg"], False, "zero-centred-penalty-damps",
        "A zero-centred gradient penalty (R1/R2, Roth et al.'s JS regularizer) damps the rotation under Sim-GDA: "
        "every rotational mode of the update map has abs(lambda) < 1.",
        "Mescheder et al. 2018, Theorems 4.1/4.2 (local convergence with R1/R2)"))
    # Dyn-GDA never takes V3
    dyn = [r for r in records if _method_is(r, "dyn-gda")]
    v3 = [r["id"] for r in dyn if r["choices"]["V3"] > 0]
    tot = sum(sum(r["choices"].values()) for r in dyn)
    out.append({"id": "dyn-never-v3", "statement": "Dynamic-GDA never takes V3.",
                "source": "thesis Algorithm 2 and section 5", "n": len(dyn),
                "verdict": "inconclusive" if not dyn else ("confirmed" if not v3 else "contradicted"),
                "evidence": f"{len(dyn)} Dyn-GDA runs, {tot} decisions, V3 taken in {len(v3)} runs"
                            + (f": {', '.join(v3[:5])}" if v3 else "")})
    # Dyn-GDA bounded
    ratio = [r["max_param_norm_ratio"] for r in dyn if r["max_param_norm_ratio"] is not None]
    ddiv = [r["id"] for r in dyn if r["outcome"]["diverged"]]
    others = [r for r in records if not _method_is(r, "dyn-gda")]
    odiv = sum(r["outcome"]["diverged"] for r in others)
    oratio = [r["max_param_norm_ratio"] for r in others if r["max_param_norm_ratio"] is not None]
    bounded = not ddiv and (not ratio or max(ratio) <= 10.0)
    out.append({"id": "dyn-bounded",
                "statement": "Dynamic-GDA stays bounded: no divergence, and the parameter norm never exceeds "
                             "10x its initial value.",
                "source": "thesis Theorem 5.1 (Lyapunov stability)", "n": len(dyn),
                "verdict": "inconclusive" if not dyn else ("confirmed" if bounded else "contradicted"),
                "evidence": (f"Dyn-GDA: {len(ddiv)} of {len(dyn)} runs diverged, max norm(x)/norm(x0) = "
                             f"{max(ratio) if ratio else float('nan'):.3f}; other methods: {odiv} of {len(others)} "
                             f"diverged, max norm(x)/norm(x0) = {max(oratio) if oratio else float('nan'):.3f}")})
    # perturbation test
    pts = [(r["id"], s["perturbation"]) for r in records for s in r.get("spectrum", [])
           if s.get("perturbation")]
    ag = [p for p in pts if p[1]["agrees"]]
    dis = [p for p in pts if not p[1]["agrees"]]
    errs = [abs(math.log(max(p["measured_growth"], 1e-300)) - math.log(max(p["predicted_growth"], 1e-300)))
            for _, p in pts]
    out.append({"id": "perturbation-rate",
                "statement": "A small perturbation along the leading eigenvector grows or shrinks at the rate "
                             "the spectral radius predicts (20 steps of the frozen-batch map).",
                "source": "linearization (Hartman-Grobman / Ostrowski); stabcheck's linearize", "n": len(pts),
                "verdict": _verdict(len(ag), len(dis)),
                "evidence": (f"{len(ag)} of {len(pts)} tests agree; median abs(log measured - log predicted) = "
                             f"{np.median(errs) if errs else float('nan'):.2e}"
                             + (f"; disagreeing: {', '.join(i for i, _ in dis[:4])}" if dis else ""))})
    if table is not None and table.get("overall_rank"):
        ranks = table["overall_rank"]
        best = min(ranks, key=ranks.get)
        dkey = next((m for m in ranks if m.startswith("dyn-gda")), None)
        out.append({"id": "thesis-table1-dyn-best",
                    "statement": "Dynamic-GDA has the best (lowest) average rank over all (GAN, data set) pairs.",
                    "source": "thesis section 6.1, Table 1", "n": table.get("n_blocks", 0),
                    "verdict": "inconclusive" if dkey is None else ("confirmed" if best == dkey else "contradicted"),
                    "evidence": "average ranks " + ", ".join(f"{m} {v:.3f}" for m, v in sorted(ranks.items(), key=lambda t: t[1]))
                                + (f"; Friedman chi2 = {table['friedman']['statistic']:.3f}, p = {table['friedman']['p']:.3g}"
                                   if table.get("friedman") else "")})
    return out


__all__ = ["check_all", "rotational_growth"]
