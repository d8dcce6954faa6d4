from fractions import Fraction

import numpy as np
import pytest

from stabcheck.certify import exact as ex
from stabcheck.errors import BadInput


def hilbert(n):
    return [[Fraction(1, i + j + 1) for j in range(n)] for i in range(n)]


def test_psd_status_known_matrices():
    assert ex.psd_status(ex.to_int_matrix(hilbert(8))[0]) == "pd"  # Hilbert matrices are PD
    assert ex.psd_status(ex.to_int_matrix([[1, 2], [2, 1]])[0]) == "indefinite"  # eigenvalues 3, -1
    assert ex.psd_status(ex.to_int_matrix([[1, 1, 0], [1, 1, 0], [0, 0, 2]])[0]) == "psd"
    assert ex.psd_status(ex.to_int_matrix([[0, 0], [0, 0]])[0]) == "psd"
    assert ex.psd_status(ex.to_int_matrix([[0, 0], [0, -1]])[0]) == "indefinite"
    assert ex.psd_status(ex.to_int_matrix([[-1]])[0]) == "indefinite"


def test_psd_status_agrees_with_eigenvalues_on_random_integer_matrices():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(1, 7))
        B = rng.integers(-3, 4, size=(n, int(rng.integers(1, n + 1))))
        M = B @ B.T - int(rng.integers(0, 3)) * np.eye(n, dtype=int)
        ev = np.linalg.eigvalsh(M.astype(float))
        st = ex.psd_status(np.array(M, dtype=object))
        if ev.min() > 1e-9:
            assert st == "pd"
        elif ev.min() < -1e-9:
            assert st == "indefinite"
        else:
            assert st == "psd"


def test_floats_are_taken_exactly_and_strings_are_rationals():
    assert ex.to_fraction(0.1) == Fraction(3602879701896397, 36028797018963968)
    assert ex.to_fraction("1/10") == Fraction(1, 10)
    with pytest.raises(BadInput):
        ex.to_fraction(float("nan"))
    with pytest.raises(BadInput):
        ex.to_fraction("abc")
    import sympy as sp
    with pytest.raises(BadInput):
        ex.to_fraction(sp.sqrt(2))


def test_rationalize_is_close_and_symmetric():
    P = np.array([[2.0, 1 / 3], [1 / 3 + 1e-17, 5.0]])
    R = ex.rationalize(P)
    assert R[0][1] == R[1][0]
    assert abs(float(R[0][1]) - 1 / 3) < 1e-10


def test_20x20_check_is_fast():
    import time
    rng = np.random.default_rng(0)
    B = rng.standard_normal((20, 20))
    R = ex.rationalize(B @ B.T + np.eye(20))
    t = time.perf_counter()
    assert ex.psd_status(ex.to_int_matrix(R)[0]) == "pd"
    assert time.perf_counter() - t < 1.0
