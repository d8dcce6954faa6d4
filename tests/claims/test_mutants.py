"""`stabcheck claims --mutants`: every claim has a mutant and every mutant is caught; the JSON
contract keeps its keys and adds the new ones; out-of-domain inputs and progress."""

import json

import pytest

from stabcheck.claims import all_claims
from stabcheck.claims.runner import caught
from stabcheck.claims.verdicts import decide, outcome, out_of_domain
from stabcheck.cli import main


def test_every_builtin_claim_has_a_mutant():
    cs = all_claims(entry_points=False)
    assert cs and all(c.mutants for c in cs), [c.id for c in cs if not c.mutants]


@pytest.fixture(scope="module")
def mutant_runs():
    from stabcheck.claims import run_claims

    return run_claims(all_claims(entry_points=False), jobs=2, mutants=True)


def test_every_mutant_is_caught(mutant_runs):
    missed = [(r.claim.id, r.mutant, r.result.verdict, r.result.evidence[:200]) for r in mutant_runs
              if not caught(r.result)]
    assert not missed


def test_out_of_domain_is_never_caught_as_a_refutation():
    r = out_of_domain("beta2 = 1 violates beta2 > 2")
    assert r.verdict == "inconclusive" and r.out_of_domain and not caught(r)
    assert decide(outcome(False, "x", out_of_domain=True)).verdict == "inconclusive"


def test_json_keeps_the_contract_and_adds_keys(capsys):
    assert main(["claims", "--id", "nie-patel/cor3", "--json", "--jobs", "1"]) == 0
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert data["schema_version"] == 2
    (c,) = data["claims"]
    assert {"id", "source", "statement", "verdict", "evidence", "command"} <= set(c)
    assert c["evidence_kind"] == "proof" and "domain" in c and "draws" in c
    assert "\x1b" not in out.out      # no progress bar in the JSON


def test_progress_callback_sees_every_claim():
    from stabcheck.claims import run_claims
    from stabcheck.claims.registry import get_claim

    all_claims(entry_points=False)
    seen = []
    run_claims([get_claim("nagarajan-kolter/wgan-counterexample")], progress=lambda k, n, lab: seen.append((k, n, lab)))
    assert seen == [(1, 1, "nagarajan-kolter/wgan-counterexample")]


def test_bad_profile_and_flags_exit_2(capsys):
    from stabcheck.claims.domain import set_profile
    from stabcheck.errors import BadInput

    with pytest.raises(BadInput):
        set_profile("fast")
    assert main(["claims", "--id", "nope/none", "--mutants"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
