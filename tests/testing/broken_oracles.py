"""Deliberately broken oracles for the tests of check-oracle (importable as tests.testing.broken_oracles)."""

import numpy as np


class AlwaysV3:
    """Claims never to return V3 and always does: Sim-GDA in disguise (unbounded on the WGAN Dirac-GAN)."""

    name = "always-v3"
    convention = None
    never_v3 = True

    def reset(self):
        pass

    def __call__(self, inp):
        return "V3"


class AlwaysV3Many(AlwaysV3):
    """The same, with the vectorised interface."""

    def choose_many(self, step, X, n_gen):
        return np.full(X.shape[0], 3, dtype=np.int8)


class SignDependent:
    """Declares no convention but looks at the sign of psi: breaks the convention property."""

    name = "sign-dependent"
    convention = None

    def reset(self):
        pass

    def __call__(self, inp):
        return "V1" if inp.psi[0] > 0 else "V2"


class SignDependentMany(SignDependent):
    """The same, vectorised."""

    def choose_many(self, step, X, n_gen):
        return np.where(X[:, n_gen] > 0, 1, 2).astype(np.int8)


class WrongDirac:
    """The thesis's Dirac oracle with its two cases swapped (V2 where psi*theta < 0): a planted bug.

    Written in the thesis convention; swapping the cases makes the WGAN Dirac-GAN diverge."""

    name = "wrong-dirac"
    convention = "thesis"
    never_v3 = True

    def reset(self):
        pass

    def __call__(self, inp):
        return "V2" if float(np.dot(inp.psi, inp.theta)) < 0 else "V1"

    def choose_many(self, step, X, n_gen):
        s = np.sum(X[:, :n_gen] * X[:, n_gen:], axis=1)
        return np.where(s < 0, 2, 1).astype(np.int8)


class RareV3(AlwaysV3Many):
    """Promises never to return V3, and returns it only from 9.5 < theta < 10, -10 < psi < -9.5 (a rare bug)."""

    name = "rare-v3"

    def __call__(self, inp):
        return "V3" if 9.5 < inp.theta[0] < 10 and -10 < inp.psi[0] < -9.5 else "V1"

    def choose_many(self, step, X, n_gen):
        hit = (X[:, 0] > 9.5) & (X[:, 0] < 10) & (X[:, 1] > -10) & (X[:, 1] < -9.5)
        return np.where(hit, 3, 1).astype(np.int8)
