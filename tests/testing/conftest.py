import os

import pytest


@pytest.fixture
def broken(monkeypatch):
    """Put tests/testing on sys.path so that ``broken_oracles:AlwaysV3`` imports (as a user's module would)."""
    monkeypatch.syspath_prepend(os.path.dirname(__file__))
    import broken_oracles

    return broken_oracles
