"""Shared fixture: every built-in claim run once per test session (the staleness test and
the reproduction-command test use the same results)."""

import pytest


@pytest.fixture(scope="session")
def all_runs():
    from stabcheck.claims import all_claims, run_claims

    return run_claims(all_claims(entry_points=False), jobs=2)
