"""Tests of stabcheck.executors, with a small local Dask cluster (as CI runs it)."""

import operator
import time

import numpy as np
import pytest

from stabcheck.errors import BadInput
from stabcheck.executors import EXECUTORS, SerialExecutor, get_executor
from stabcheck.sweep import sweep


def test_serial_map_preserves_order():
    with get_executor("serial") as ex:
        assert isinstance(ex, SerialExecutor)
        assert ex.map(operator.neg, range(5)) == [0, -1, -2, -3, -4]
        assert ex.map(operator.neg, []) == []
        assert ex.describe() == {"kind": "serial"}


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(kind="spark"), "unknown executor 'spark'; valid: serial, dask"),
    (dict(kind="serial", scheduler="tcp://x:1"), "apply to --executor dask only"),
    (dict(kind="serial", workers=2), "apply to --executor dask only"),
    (dict(kind="dask", workers=0), "--workers must be an integer >= 1"),
    (dict(kind="dask", scheduler="tcp://127.0.0.1:1", workers=2), "local cluster only"),
])
def test_bad_executor_arguments(kwargs, fragment):
    with pytest.raises(BadInput, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        get_executor(**kwargs)
    assert EXECUTORS == ("serial", "dask")


def _slow_square(x):
    # later items finish first: gather must still return them in input order
    time.sleep(0.02 * (5 - x))
    return x * x


@pytest.fixture(scope="module")
def dask_executor():
    pytest.importorskip("distributed")
    ex = get_executor("dask", workers=2)
    yield ex
    ex.close()


def test_dask_local_cluster_map_preserves_order(dask_executor):
    assert dask_executor.describe() == {"kind": "dask", "scheduler": "local", "workers": 2}
    assert dask_executor.map(_slow_square, range(6)) == [0, 1, 4, 9, 16, 25]
    assert dask_executor.map(_slow_square, []) == []


@pytest.mark.parametrize("args", [
    ("dirac", "wgan", "jare", "eta=1e-3:2:17:log,gamma=0:20:13", {}),
    ("dirac", "bce", "ogda", "eta=1e-3:2:11:log,r1.gamma=0:3:9", {"regs": ["r1"]}),
    ("gaussian", "bce", "alt:first=generator", "eta=1e-3:1:9:log,sigma2=0.04:2:7", {"params": {"mean": [0.0, 4.0]}}),
])
def test_dask_and_serial_sweeps_are_identical(dask_executor, args):
    system, loss, method, grid, kw = args
    serial = sweep(system, loss, method, grid, chunk=20, **kw)
    dist = sweep(system, loss, method, grid, chunk=20, executor=dask_executor, **kw)
    assert dist.info["executor"]["kind"] == "dask" and dist.info["tasks"] > 2
    assert np.array_equal(serial.spectral_radius, dist.spectral_radius)  # bitwise
    assert np.array_equal(serial.codes, dist.codes)


def test_unreachable_scheduler_is_bad_input():
    pytest.importorskip("distributed")
    from stabcheck.executors import DaskExecutor

    with pytest.raises(BadInput, match="cannot connect to the Dask scheduler"):
        DaskExecutor(scheduler="tcp://127.0.0.1:9", timeout="1s")
