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
