import numpy as np
import pytest

from stabcheck.errors import BadInput
from stabcheck.oracles import (AltOracle, Choice, DiracOracle, DynGDAOracle, OracleInput, make_oracle,
                               wasserstein1_1d)


def _inp(step, x, n=1, **kw):
    return OracleInput(step, np.asarray(x, dtype=float), n, **kw)


def test_alt_oracle_is_thesis_eq5():
    o = AltOracle(n_d=3)
    got = [o(_inp(i, [0, 0])).value for i in range(8)]
    # eq. 5: V1 iff i = n_d mod (n_d + 1)
    assert got == ["V1" if i % 4 == 3 else "V2" for i in range(8)]
    o = AltOracle(n_d=2, n_g=2, first="generator")
    assert [o(_inp(i, [0, 0])).value for i in range(4)] == ["V1", "V1", "V2", "V2"]


def test_dirac_oracle_eq7_thesis_convention_and_boundary():
    o = DiracOracle()
    assert o(_inp(0, [1.0, -2.0])) is Choice.V1   # psi*theta < 0
    assert o(_inp(0, [1.0, 2.0])) is Choice.V2    # psi*theta > 0
    assert o(_inp(0, [0.0, 2.0])) is Choice.V1    # boundary, theta = 0: only V1 moves
    assert o(_inp(0, [3.0, 0.0])) is Choice.V2    # boundary, psi = 0: only V2 moves
    assert DiracOracle("V3")(_inp(0, [0.0, 1.0])) is Choice.V3
    X = np.array([[1.0, -2.0], [1.0, 2.0], [0.0, 2.0], [3.0, 0.0], [0.0, 0.0]])
    assert [int(c) for c in o.choose_many(0, X, 1)] == [1, 2, 1, 2, 1]
    assert o.convention == "thesis" and o.never_v3


def test_dyn_gda_algorithm2():
    o = DynGDAOracle(c1=1.2, c2=0.8)
    real, fake = np.zeros(4), np.ones(4)
    assert o.decide(real, fake) is Choice.V2                  # first iteration
    assert o.decide(real, fake) is Choice.V2                  # sup real < inf fake
    assert o.decide(np.ones(4), np.zeros(4)) is Choice.V1     # sup fake < inf real
    # overlapping, previous V1: keep V1 while w shrinks by factor < c2
    o.last_choice, o.last_w = Choice.V1, 1.0
    assert o.decide(np.array([0.0, 1.0]), np.array([0.5, 1.2])) is Choice.V1   # w = 0.35 < 0.8
    o.last_choice, o.last_w = Choice.V1, 0.3
    assert o.decide(np.array([0.0, 1.0]), np.array([0.5, 1.2])) is Choice.V2   # ratio 1.17 >= 0.8
    o.last_choice, o.last_w = Choice.V2, 0.1
    assert o.decide(np.array([0.0, 1.0]), np.array([0.5, 1.2])) is Choice.V2   # ratio 3.5 > 1.2
    o.last_choice, o.last_w = Choice.V2, 0.35
    assert o.decide(np.array([0.0, 1.0]), np.array([0.5, 1.2])) is Choice.V1   # ratio 1 <= 1.2
    # previous divergence 0: ratio taken as +inf when w > 0
    o.last_choice, o.last_w = Choice.V1, 0.0
    assert o.decide(np.array([0.0, 1.0]), np.array([0.5, 1.2])) is Choice.V2


def test_w1_exact():
    a, b = np.array([3.0, 1.0, 2.0]), np.array([0.0, 0.0, 0.0])
    assert wasserstein1_1d(a, b) == pytest.approx(2.0)
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=50), rng.normal(1, 2, size=50)
    assert wasserstein1_1d(a, b) == pytest.approx(wasserstein_distance(a, b), rel=1e-12)


def test_make_oracle_errors(tmp_path, monkeypatch):
    with pytest.raises(BadInput, match="unknown oracle"):
        make_oracle("newton")
    with pytest.raises(BadInput, match="could not be imported"):
        make_oracle("no_such_module_xyz:Oracle")
    with pytest.raises(BadInput, match="boundary"):
        make_oracle("dirac:boundary=V4")
    (tmp_path / "my_oracles.py").write_text(
        "class Every3:\n"
        "    def __init__(self, k=3):\n        self.k = k\n"
        "    def reset(self):\n        pass\n"
        "    def __call__(self, inp):\n        return 'V1' if inp.step % self.k == 0 else 'V2'\n"
        "NOT_AN_ORACLE = 5\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    o = make_oracle("my_oracles:Every3:k=2")
    assert o.k == 2 and o(_inp(0, [0, 0])) == "V1"
    with pytest.raises(BadInput):
        make_oracle("my_oracles:NOT_AN_ORACLE")
    assert Choice.coerce("V2") is Choice.V2
    with pytest.raises(BadInput, match="must return V1, V2 or V3"):
        Choice.coerce("V4")


def test_dirac_oracle_no_underflow():
    # psi*theta underflows to 0 in float64 below ~1e-162: the sign must still be right
    o = DiracOracle()
    assert o(_inp(0, [1e-170, 1e-170])) is Choice.V2
    assert o(_inp(0, [1e-170, -1e-170])) is Choice.V1
    X = np.array([[1e-170, 1e-170], [1e-170, -1e-170], [1e-170, 1e-170, ][::-1]])
    assert [int(c) for c in o.choose_many(0, X, 1)] == [2, 1, 2]
    Y = np.array([[1e-170, 2e-170, 3e-170, -1e-170]])
    assert int(o.choose_many(0, Y, 2)[0]) == 2 and o(_inp(0, Y[0], n=2)) is Choice.V2


def test_dirac_choose_many_scalar_fast_path_equals_the_general_path():
    """The 1+1 fast path of DiracOracle.choose_many gives the general path's codes, on ordinary
    and on special entries (signed zeros, infinities, NaN, subnormals), for every boundary rule."""
    import numpy as np

    from stabcheck.oracles import DiracOracle, _sign_of_dot_rows

    rng = np.random.default_rng(3)
    special = np.array([0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 5e-324, -5e-324, 1e300, -1e-300])
    X = np.vstack([rng.normal(size=(2000, 2)), rng.choice(special, size=(5000, 2))])
    for boundary in ("auto", "V1", "V2", "V3"):
        o = DiracOracle(boundary=boundary)
        fast = o.choose_many(0, X, 1)
        # the general path, as for vector players
        s = _sign_of_dot_rows(X[:, 1:], X[:, :1])
        ref = (np.where(np.any(X[:, :1] != 0, axis=1), 2, 1) if boundary == "auto"
               else np.full(X.shape[0], {"V1": 1, "V2": 2, "V3": 3}[boundary])).astype(np.int8)
        ref[s < 0] = 1
        ref[s > 0] = 2
        assert fast.dtype == np.int8 and np.array_equal(fast, ref), boundary
