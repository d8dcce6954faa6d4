"""Local results for nonlinear maps: certify the linearization, then *estimate* a region.

A strict certificate ``P`` of the Jacobian ``J = F'(x*)`` (``A^T P A - P < 0`` with
``A = J``) proves that the equilibrium ``x*`` of ``x_{k+1} = F(x_k)`` is locally
exponentially stable (Lyapunov's indirect method). How far the quadratic
``V(x) = (x - x*)^T P (x - x*)`` keeps decreasing under the *nonlinear* map is then
estimated: the largest level ``c`` such that ``V(F(x)) < V(x)`` at every sampled ``x`` with
``0 < V(x) <= c`` (sampled on level sets spaced geometrically). This region is an
**estimate from samples, not a proof**, and is always labelled so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from stabcheck.certify.lyapunov import CertificateResult, certify_linear
from stabcheck.errors import BadInput


@dataclass
class LocalResult:
    """Linearization certificate plus the sampled region estimate."""

    certificate: CertificateResult
    level: Optional[float]  # the estimated level c (None when nothing was estimated)
    radius: Optional[float]  # Euclidean radius of the largest ball inside {V <= c}
    samples: int = 0
    first_failure: Optional[dict] = None
    statement: str = ""
    extras: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"certificate": self.certificate.to_json(), "region_level": self.level,
                "region_radius": self.radius, "region_is_estimate": True, "samples": self.samples,
                "first_failure": self.first_failure, "statement": self.statement, **self.extras}


def numeric_jacobian(F: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of ``F`` at ``x`` (used only when no Jacobian is given)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    J = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h * max(1.0, abs(x[j]))
        J[:, j] = (np.asarray(F(x + e)) - np.asarray(F(x - e))) / (2 * e[j])
    return J


def region_estimate(F: Callable[[np.ndarray], np.ndarray], x_star: Any, P: Any, *, c_max: float = 1e2,
                    levels: int = 60, per_level: int = 400, seed: int = 0) -> tuple[Optional[float], int, Optional[dict]]:
    """Largest sampled level ``c <= c_max`` below which ``V(F(x)) < V(x)`` at every sample.

    Levels ``c_max * 2^(-k)`` for ``k = levels-1, ..., 0`` are scanned upward from the
    smallest; ``per_level`` states are sampled on each level set (uniform directions mapped
    onto the ellipsoid). Returns ``(c or None, samples used, first failure or None)``.
    """
    x_star = np.asarray(x_star, dtype=float).ravel()
    P = np.asarray(P, dtype=float)
    n = x_star.size
    if P.shape != (n, n):
        raise BadInput(f"P has shape {P.shape}, the state has dimension {n}")
    L = np.linalg.cholesky(P)  # P = L L^T ; x - x* = sqrt(c) L^{-T} u has V = c
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((per_level, n))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    D = np.linalg.solve(L.T, U.T).T
    best, count = None, 0
    for k in range(levels - 1, -1, -1):
        c = c_max * 2.0 ** (-k)
        for d in D:
            x = x_star + math.sqrt(c) * d
            y = np.asarray(F(x), dtype=float).ravel()
            count += 1
            dy = y - x_star
            if not np.all(np.isfinite(y)) or dy @ P @ dy >= c:
                return best, count, {"x": x.tolist(), "level": c, "V_after": float(dy @ P @ dy) if np.all(np.isfinite(y)) else None}
        best = c
    return best, count, None


def certify_local(F: Callable[[np.ndarray], np.ndarray], x_star: Any, J: Any = None, J_exact: Any = None, *,
                  solver: str = "CLARABEL", c_max: float = 1e2, levels: int = 60,
                  per_level: int = 400, seed: int = 0) -> LocalResult:
    """Certify local exponential stability of ``x*`` for ``x_{k+1} = F(x_k)``; estimate a region.

    ``J`` (the Jacobian ``F'(x*)``, acting as ``dx_{k+1} = J dx_k``) defaults to central finite
    differences; pass ``J_exact`` (rational) for an exact check of the linearization.
    """
    x_star = np.asarray(x_star, dtype=float).ravel()
    if not np.all(np.isfinite(x_star)):
        raise BadInput("x_star has non-finite entries")
    fx = np.asarray(F(x_star), dtype=float).ravel()
    if fx.shape != x_star.shape or not np.allclose(fx, x_star, atol=1e-9 * max(1.0, np.abs(x_star).max())):
        raise BadInput("x_star is not a fixed point of F (F(x*) != x*)")
    fd = J is None and J_exact is None
    if J is None:
        if J_exact is not None:
            from stabcheck.certify.exact import to_fraction_matrix

            J = np.array([[float(v) for v in r] for r in to_fraction_matrix(J_exact)])
        else:
            J = numeric_jacobian(F, x_star)
    cert = certify_linear(J, J_exact, solver=solver, strict=True)
    out = LocalResult(certificate=cert, level=None, radius=None)
    out.extras["fd"] = fd
    if not cert.certified:
        out.statement = ("Nothing local is proven: the linearization has no exactly checked strict certificate ("
                         + cert.statement + ")")
        return out
    P = np.array(cert.P)
    c, count, fail = region_estimate(F, x_star, P, c_max=c_max, levels=levels, per_level=per_level, seed=seed)
    out.level, out.samples, out.first_failure = c, count, fail
    if c is not None:
        out.radius = math.sqrt(c / float(np.linalg.eigvalsh(P).max()))
    # a strict certificate with margin m survives any Jacobian error Delta with
    # ||P|| (2 ||J|| ||Delta|| + ||Delta||^2) < m: report that tolerance
    Pn, Jn = float(np.linalg.norm(P, 2)), float(np.linalg.norm(np.asarray(J, dtype=float), 2))
    tol = -Jn + math.sqrt(Jn * Jn + cert.margin / Pn)
    out.extras["jacobian_error_tolerated"] = tol
    how = ("exact" if J_exact is not None else
           "finite-difference" if fd else "given")

    region = (f"V decreases under the nonlinear map on every one of {count} sampled states with V(x - x*) <= {c:.3g} "
              f"(ball of radius {out.radius:.3g}); this region is an estimate from samples, not a proof"
              if c is not None else "no sampled level set was found on which V decreases (estimate)")
    out.statement = (f"The linearization ({how} Jacobian) has an exactly checked strict certificate, robust to "
                     f"a Jacobian error up to {tol:.2g} in spectral norm, so x* is "
                     f"locally exponentially stable; {region}.")
    return out
