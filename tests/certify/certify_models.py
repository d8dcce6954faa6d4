"""Fixtures for the certify tests: the WGAN Dirac-GAN written from its formulas.

Mescheder convention: L(theta, psi) = f(psi * theta), WGAN f(t) = t; the field is
v = (-psi, theta). Thesis eq. 11 (in this convention, psi -> -psi): V1 = (-psi, 0) where
psi*theta > 0, V2 = (0, theta) where psi*theta < 0. With step eta:
A1 = [[1, -eta], [0, 1]] (generator step), A2 = [[1, 0], [eta, 1]] (discriminator step).
"""

from fractions import Fraction

import numpy as np

S_POS = [["0", "1/2"], ["1/2", "0"]]  # x^T S x = psi*theta


def frac(M):
    return [[Fraction(v) for v in r] for r in M]


def flt(M):
    return np.array([[float(Fraction(v)) for v in r] for r in M])


def dirac_model(eta):
    """(modes, regions) of the Dirac oracle on the WGAN Dirac-GAN (Mescheder convention)."""
    eta = Fraction(eta)
    A1 = [[Fraction(1), -eta], [Fraction(0), Fraction(1)]]
    A2 = [[Fraction(1), Fraction(0)], [eta, Fraction(1)]]
    S = flt(S_POS)
    modes = [("V1", flt(A1), A1), ("V2", flt(A2), A2)]
    return modes, [[S], [-S]]


def sim_wgan(eta):
    eta = Fraction(eta)
    return [[Fraction(1), -eta], [eta, Fraction(1)]]


def alt_wgan(eta):
    """Alt-GDA, discriminator first: psi' = psi + a theta, then theta' = theta - a psi'."""
    a = Fraction(eta)
    return [[1 - a * a, -a], [a, Fraction(1)]]


def sim_from_field(J, eta):
    eta = Fraction(eta)
    n = len(J)
    return [[Fraction(int(i == j)) + eta * Fraction(J[i][j]) for j in range(n)] for i in range(n)]


