"""Predictions of the toy theory, checked against trained networks.

Each check reads run records (with spectra from :mod:`gpu_validation.spectrum`) and returns
``{"id", "statement", "source", "verdict", "evidence", "n"}`` with ``verdict`` one of
``confirmed`` (every applicable run agrees), ``contradicted`` (at least one applicable run
disagrees; the evidence names how many and the numbers) or ``inconclusive`` (no applicable
run / no converged spectrum). A universal statement is contradicted by one counterexample;
the counts say how typical it is.

Every prediction states what observation would contradict it (``contradicted_by``); none
is true by construction of the harness.

Spectral seam: the rotational checks read the old spectrum entries (``mu``, ``eta``); the
rewritten :mod:`gpu_validation.spectrum` stores ``checkpoint_spectrum``'s dict with an
``outcome`` ("all |lambda| <= 1 + tol" / "some |lambda| > 1 + tol" / "inconclusive").
:func:`spectral_outcome` is the one place that reads that outcome; :func:`_dyn_spectral`
(Dyn-GDA's own stability, spectrally) uses it and is inconclusive until records carry it.

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
#: abs(lambda) within 1 +- ROT_MARGIN is "neutral within tolerance": neither agrees nor disagrees
ROT_MARGIN = 1e-6
#: the norm bound of the boundedness check (max ||x_k|| / ||x_0||); a diverged run exceeds it
NORM_BOUND = 10.0


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


def _rot_check(records, gans, want_growth: bool, pid: str, statement: str, source: str,
               tol: float = ROT_MARGIN) -> dict:
    agree = disagree = none = neutral = 0
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
        if abs(g - 1.0) <= tol:
            neutral += 1
            continue
        ok = (g > 1.0) if want_growth else (g < 1.0)
        agree += ok
        disagree += not ok
    ev = (f"{agree} of {agree + disagree} runs agree (tolerance abs(abs(lambda) - 1) <= {tol:g}: {neutral} neutral runs "
          "counted neither way); max abs(lambda) over rotational modes per data set: "
          + ", ".join(f"{d} {v - 1:+.3e} (abs(lambda)-1)" for d, v in vals)
          + (f"; {none} runs without a converged rotational mode" if none else ""))
    want = "abs(lambda) < 1 - tol" if want_growth else "abs(lambda) > 1 + tol"
    return {"id": pid, "statement": statement, "source": source, "verdict": _verdict(agree, disagree),
            "evidence": ev, "n": agree + disagree,
            "contradicted_by": f"a run whose largest rotational mode has {want}"}


def outcome_check(records, method: str, gans, want_unstable: bool, pid: str, statement: str, source: str) -> dict:
    """A prediction on the final one-step spectrum outcome of ``method`` runs on ``gans``:
    ``want_unstable`` says the theory predicts some ``|lambda| > 1 + tol`` (else all within).
    Inconclusive spectra (ARPACK not converged, margins within the tolerance) count neither way."""
    agree = disagree = undecided = 0
    for r in records:
        if not (_gan_is(r, gans) and _method_is(r, method) and not r["outcome"]["diverged"]):
            continue
        o = spectral_outcome(r)
        if o is None or o == UNDECIDED:
            undecided += o is not None
            continue
        ok = (o == UNSTABLE) == want_unstable
        agree += ok
        disagree += not ok
    want = STABLE if want_unstable else UNSTABLE
    return {"id": pid, "statement": statement, "source": source, "verdict": _verdict(agree, disagree),
            "n": agree + disagree,
            "evidence": f"{agree} of {agree + disagree} runs agree" + (f"; {undecided} inconclusive spectra" if undecided
                                                                       else ""),
            "contradicted_by": f"a run whose final update map has {want}"}


def check_all(records: list[dict], table: Optional[dict] = None) -> list[dict]:
    """Every prediction below, in order. (``table``, :func:`gpu_validation.report.rank_table`'s
    result, is accepted for compatibility: the thesis's Table-1 statements are verdicts of
    :mod:`gpu_validation.stats`, reported next to the table.)"""
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
    out.append(outcome_check(
        records, "sim", ["wgan"], True, "wgan-sim-map-unstable",
        "Unregularized WGAN under Sim-GDA: the update map that trained (with its optimizer) has an eigenvalue "
        "abs(lambda) > 1 + tol at the final checkpoint.",
        "Mescheder et al. 2018 Lemma 2.3 (1 +- i eta); Gidel et al. 2019 (Sim-GDA with any momentum diverges on "
        "bilinear games); with Adam/RMSProp a prediction, not a theorem"))
    out.append(_dyn_replay(records))
    out.append(_dyn_bounded(records))
    out.append(_dyn_spectral(records))
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
                "contradicted_by": "a checkpoint where the measured growth over 20 steps differs from "
                                   "abs(lambda_max)^20 beyond the test's tolerance",
                "evidence": ((f"{len(ag)} of {len(pts)} tests agree; median abs(log measured - log predicted) = "
                              f"{np.median(errs):.2e}" if pts else
                              "not measured in these records (it runs with `run --perturb` or "
                              "`analyze --perturb`)")
                             + (f"; disagreeing: {', '.join(i for i, _ in dis[:4])}" if dis else "")
                             + _perturbation_diagnosis(dis))})
    return out


#: |log| agreement that counts as "reproduced" in the perturbation diagnosis (eps = 1e-6 gives
#: about 1e-6 from the map's nonlinearity)
PERTURBATION_EXPLAINED = 1e-3


def _perturbation_diagnosis(dis: list) -> str:
    """Why the disagreeing perturbation tests disagree, from their one-step and along-trajectory
    measurements (:func:`gpu_validation.spectrum.perturbation_test`); empty when not measured."""
    diag = [p for _, p in dis if p.get("trajectory_log_error") is not None]
    if not diag:
        return ""
    moving = [p for p in diag if p["trajectory_log_error"] <= PERTURBATION_EXPLAINED
              and p["one_step_log_error"] <= PERTURBATION_EXPLAINED]
    return (f"; of the {len(diag)} disagreeing with the diagnosis measured, {len(moving)} agree after one step and "
            f"are reproduced by the Jacobians along the base trajectory (both within {PERTURBATION_EXPLAINED:g} in "
            "log): the perturbation stays linear, the Jacobian changes along the trajectory (these points are not "
            "fixed points); median |log measured - log trajectory| = "
            f"{np.median([p['trajectory_log_error'] for p in diag]):.1e}")


# --------------------------------------------------------------------------- Dyn-GDA audit

def _dyn_params(rec: dict) -> Optional[tuple[float, float]]:
    """(c1, c2) from the record's resolved method spec ``dyn-gda:c1=..,c2=..,...``."""
    head = rec["resolved"].get("method", "").split("+")[0]
    if not head.startswith("dyn-gda:"):
        return None
    kv = dict(t.split("=", 1) for t in head.split(":", 1)[1].split(",") if "=" in t)
    try:
        return float(kv["c1"]), float(kv["c2"])
    except (KeyError, ValueError):
        return None


def replay_algorithm2(divergences, orders: str, c1: float, c2: float) -> str:
    """Thesis Algorithm 2 on recorded values: ``divergences[i]`` is w at decision i and
    ``orders[i]`` is ``r`` (sup real < inf fake), ``f`` (sup fake < inf real) or ``o``.
    Returns the decisions as ``"1"``/``"2"`` characters. Written from the thesis's listing,
    independently of :class:`stabcheck.oracles.DynGDAOracle`; ``w_last = 0`` gives the ratio
    ``+inf`` when ``w > 0`` and ``1`` when ``w = 0`` (the package's stated convention)."""
    out = []
    last = None
    w_last = None
    for w, o in zip(divergences, orders):
        w = float(w)
        if last is None:
            c = "2"  # line 2-3: first iteration
        elif o == "r":
            c = "2"  # line 4-5: every fake scores above every real
        elif o == "f":
            c = "1"  # line 6-7: disjoint, correctly ordered
        else:
            ratio = (math.inf if w > 0 else 1.0) if w_last == 0 else w / w_last
            if last == "1":
                c = "1" if ratio < c2 else "2"  # lines 8-13
            else:
                c = "2" if ratio > c1 else "1"  # lines 14-19
        out.append(c)
        last, w_last = c, w
    return "".join(out)


def _dyn_replay(records: list[dict]) -> dict:
    from gpu_validation.train import decode_floats

    dyn = [r for r in records if _method_is(r, "dyn-gda")]
    ok, bad, missing = [], [], []
    for r in dyn:
        t = r.get("trace") or {}
        p = _dyn_params(r)
        if not t.get("decisions") or t.get("divergence") is None or t.get("order") is None or p is None:
            missing.append(r["id"])
            continue
        w = decode_floats(t["divergence"])
        dec = t["decisions"]
        if len(w) != len(dec) or len(t["order"]) != len(dec):
            bad.append((r["id"], f"trace lengths differ ({len(dec)} decisions, {len(w)} divergences, "
                                 f"{len(t['order'])} orders)"))
            continue
        again = replay_algorithm2(w, t["order"], *p)
        if again != dec:
            i = next(k for k, (a, b) in enumerate(zip(again, dec)) if a != b)
            bad.append((r["id"], f"iteration {i}: recorded V{dec[i]}, Algorithm 2 gives V{again[i]}"))
        else:
            ok.append(r["id"])
    n_dec = sum(len((r.get("trace") or {}).get("decisions") or "") for r in dyn if r["id"] in ok)
    return {"id": "dyn-decisions-replay",
            "statement": "Dynamic-GDA's recorded decisions are Algorithm 2's: replaying the thesis's listing on "
                         "the recorded divergences and batch orders (with the run's c1, c2) gives the same "
                         "decision at every iteration (so, in particular, never V3).",
            "source": "thesis Algorithm 2 and section 5", "n": len(ok) + len(bad),
            "contradicted_by": "a recorded decision (or a V3) that the replay does not reproduce",
            "verdict": _verdict(len(ok), len(bad)),
            "evidence": (f"{len(ok)} of {len(ok) + len(bad)} audited Dyn-GDA runs reproduce ({n_dec} decisions)"
                         + (f"; mismatches: " + "; ".join(f"{i}: {m}" for i, m in bad[:4]) if bad else "")
                         + (f"; {len(missing)} runs without a trace (batched trainer or older records)" if missing else ""))}


def _setting(rec: dict) -> tuple:
    c = rec["config"]
    return (c["dataset"], c["gan"], c["seed"], c["profile"], c["iterations"], c["lr"], c["optimizer"], c["batch"],
            rec["environment"].get("device_kind"))


def _exceeds(rec: dict, bound: float) -> bool:
    if rec["outcome"]["diverged"]:
        return True
    r = rec.get("max_param_norm_ratio")
    return r is None or r > bound


def _dyn_bounded(records: list[dict], bound: float = NORM_BOUND) -> dict:
    """Dyn-GDA bounded, with Sim-GDA on the same unregularized setting as the control that
    shows the bound can be violated there (else the check has no power: inconclusive)."""
    dyn = [r for r in records if _method_is(r, "dyn-gda")]
    sims = {_setting(r): r for r in records if _method_is(r, "sim") and not r["config"]["method"].count("+")}
    viol = [r for r in dyn if _exceeds(r, bound)]
    controls = [(r, sims[_setting(r)]) for r in dyn if _setting(r) in sims and _exceeds(sims[_setting(r)], bound)]
    ratios = [r["max_param_norm_ratio"] for r in dyn if r["max_param_norm_ratio"] is not None]
    if not dyn:
        verdict = "inconclusive"
    elif viol:
        verdict = "contradicted"
    elif controls:
        verdict = "confirmed"
    else:
        verdict = "inconclusive"
    ev = (f"{len(viol)} of {len(dyn)} Dyn-GDA runs diverged or exceeded {bound:g} x their initial norm "
          f"(max ratio {max(ratios) if ratios else float('nan'):.3f})"
          + (": " + ", ".join(r["id"] for r in viol[:4]) if viol else "")
          + f"; control: in {len(controls)} of {len(dyn)} Dyn-GDA settings the Sim-GDA run of the same setting "
            f"diverged or exceeded the bound"
          + (" (" + ", ".join(f"{s['id']}: " + ("diverged" if s['outcome']['diverged'] else
                                                f"{s['max_param_norm_ratio']:.3g}x") for _, s in controls[:3]) + ")"
             if controls else " - the bound is not violated by the control in these records, so it cannot "
                              "tell bounded from unbounded training here"))
    return {"id": "dyn-bounded",
            "statement": f"Dynamic-GDA stays bounded (no divergence, norm(x) <= {bound:g} norm(x0)), including in "
                         "settings where Sim-GDA does not.",
            "source": "thesis Theorem 5.1 (Lyapunov stability)", "n": len(dyn),
            "contradicted_by": f"a Dyn-GDA run that diverges or whose parameter norm exceeds {bound:g}x its initial value",
            "verdict": verdict, "evidence": ev}


from stabcheck.nn import OUTCOMES as _NN_OUTCOMES  # noqa: E402  (one spelling of the outcomes)

STABLE, UNSTABLE, UNDECIDED = _NN_OUTCOMES


def spectral_outcome(rec: dict, kind: Optional[str] = None) -> Optional[str]:
    """The outcome of the record's last spectrum entry (``STABLE`` / ``UNSTABLE`` /
    ``UNDECIDED``, decided by :mod:`stabcheck.nn` on the largest-modulus eigenvalues with the
    entry's tolerance and convergence check), or None when the record has no such entry.
    ``kind="window"`` reads the switched-system entry (the product of the maps an oracle chose
    over its last decisions); None reads the one-step map's."""
    ents = [s for s in rec.get("spectrum", []) if isinstance(s, dict) and s.get("outcome")
            and s.get("kind") == kind]
    if not ents:
        return None
    return max(ents, key=lambda s: s.get("step", 0))["outcome"]


def _per_step_growth_of_controls(records: list[dict]) -> dict:
    """``{method: (median rho^(1/period), runs)}`` over the final one-step spectrum entries of
    the non-oracle runs (Sim-GDA, Alt-GDA): the control the Dyn-GDA windows are read against."""
    from gpu_validation.methods import label

    by: dict = {}
    for r in records:
        if _method_is(r, "dyn-gda") or r["outcome"]["diverged"]:
            continue
        ents = [s for s in r.get("spectrum", []) if s.get("kind") is None and s.get("status") == "ok"
                and s.get("spectral_radius") and s.get("period")]
        if ents:
            e = max(ents, key=lambda s: s.get("step", 0))
            by.setdefault(label(r["config"]["method"]), []).append(
                float(e["spectral_radius"]) ** (1.0 / int(e["period"])))
    return {m: (float(np.median(v)), len(v)) for m, v in sorted(by.items())}


def _dyn_spectral(records: list[dict]) -> dict:
    """Judged on the switched-system (``kind="window"``) entries only: the one-step map of the
    oracle's last choice is a different statement and is reported beside it, never in its place."""
    dyn = [r for r in records if _method_is(r, "dyn-gda") and not r["outcome"]["diverged"]]
    outs = [(r["id"], spectral_outcome(r, "window")) for r in dyn]
    st = [i for i, o in outs if o == STABLE]
    un = [i for i, o in outs if o == UNSTABLE]
    und = sum(o == UNDECIDED for _, o in outs)
    none = sum(o is None for _, o in outs)
    one_step = [spectral_outcome(r) for r, (_, o) in zip(dyn, outs) if o is None]
    one_un = sum(o == UNSTABLE for o in one_step)
    growth = [s.get("growth_per_step") for r in dyn for s in r.get("spectrum", [])
              if s.get("kind") == "window" and s.get("growth_per_step") is not None]
    controls = _per_step_growth_of_controls(records)
    return {"id": "dyn-spectrally-stable",
            "statement": "Dynamic-GDA's switched update map at the final checkpoint is stable: the product of the "
                         "V1/V2 maps it chose over its last 10 decisions (through its optimizer) has every "
                         "eigenvalue abs(lambda) <= 1 + tol.",
            "source": "thesis Theorem 5.1 (Lyapunov stability; local convergence where Sim/Alt converge)",
            "n": len(st) + len(un),
            "contradicted_by": "a Dyn-GDA checkpoint whose window product has a converged eigenvalue "
                               "abs(lambda) > 1 + tol",
            "verdict": _verdict(len(st), len(un)),
            "evidence": (f"{len(st)} of {len(st) + len(un)} Dyn-GDA window products stable"
                         + (f"; unstable: {', '.join(un[:4])}" if un else "")
                         + (f"; growth per step rho_W^(1/W): {min(growth):.6f} .. {max(growth):.6f}" if growth else "")
                         + (f"; {und} inconclusive spectra" if und else "")
                         + (f"; for comparison, the median per-step growth rho^(1/period) of the one-step maps "
                            f"at the same final checkpoints: Dyn-GDA windows {np.median(growth):.6f} ({len(growth)} runs), "
                            + ", ".join(f"{m} {g:.6f} ({n} runs)" for m, (g, n) in controls.items())
                            + " (none of these points is an equilibrium)" if growth and controls else "")
                         + (f"; {none} runs without a window entry (not counted; add them with "
                            f"`python -m gpu_validation analyze RUNS_DIR`; their one-step map of the last choice: "
                            f"{one_un} of {len(one_step)} with abs(lambda) > 1 + tol)" if none else ""))}


__all__ = ["check_all", "rotational_growth", "replay_algorithm2", "spectral_outcome", "NORM_BOUND",
           "ROT_MARGIN", "STABLE", "UNSTABLE", "UNDECIDED"]
