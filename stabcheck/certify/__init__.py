"""Lyapunov certificates: found by cvxpy, reported only after an exact rational check.

Convention everywhere: a matrix ``A`` acts as ``x_{k+1} = A x_k`` (or ``dx/dt = A x``), and
a certificate ``V(x) = x^T P x`` must satisfy ``A^T P A - P < 0`` (transpose on the left).

* :func:`certify_linear` - one linear map (strict / non-strict, discrete / continuous);
* :func:`common_quadratic`, :func:`jsr_bounds`, :func:`lifted_certificate` - arbitrary switching;
* :func:`piecewise_certificate` - state-dependent switching on quadratic cones (S-procedure);
* :func:`check_candidate` - check a given ``P`` (e.g. the thesis's ``H = (theta^2+psi^2)/2``);
* :func:`certify_local` - a nonlinear map: certify the linearization, estimate a region.

cvxpy is imported only inside the functions that solve.
"""

from stabcheck.certify.lyapunov import CertificateResult, certify_linear  # noqa: F401
from stabcheck.certify.switched import (JSRBounds, common_quadratic, jsr_bounds,  # noqa: F401
                                        lifted_certificate)
from stabcheck.certify.piecewise import piecewise_certificate  # noqa: F401
from stabcheck.certify.candidate import check_candidate  # noqa: F401
from stabcheck.certify.local import LocalResult, certify_local, region_estimate  # noqa: F401

__all__ = ["CertificateResult", "certify_linear", "common_quadratic", "jsr_bounds", "JSRBounds",
           "lifted_certificate", "piecewise_certificate", "check_candidate", "certify_local",
           "LocalResult", "region_estimate"]
