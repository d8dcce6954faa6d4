import pytest

from stabcheck.claims.verdicts import (CORRECTED, HOLDS, INCONCLUSIVE, REFUTED, VERDICTS, Result, all_of,
                                       corrected, decide, holds, inconclusive, outcome, refuted)
from stabcheck.errors import BadInput


def test_exactly_four_verdicts():
    assert VERDICTS == ("holds", "refuted", "holds with correction", "inconclusive")
    with pytest.raises(BadInput):
        Result("probably holds", "x")


def test_constructors_carry_their_evidence():
    r = holds("identity", kind="symbolic identity")
    assert r.verdict == HOLDS and r.kind == "symbolic identity"
    r = refuted("x0 = (1, 1)", "stabcheck simulate ...")
    assert r.verdict == REFUTED and r.command.startswith("stabcheck") and r.counterexample == "x0 = (1, 1)"
    r = corrected("eta <= 2/grad L", "eta < 2/f'(0)", "exact verdicts", kind="exact arithmetic")
    assert r.verdict == CORRECTED and r.printed and r.correction
    assert inconclusive("solver failed").verdict == INCONCLUSIVE
    with pytest.raises(BadInput):
        holds("x", kind="gut feeling")


def test_decide_follows_the_outcomes():
    yes, no, unk = outcome(True, "ok"), outcome(False, "bad", counterexample="ce"), outcome(None, "?")
    assert decide(yes).verdict == HOLDS
    assert decide(no).verdict == REFUTED and decide(no).counterexample == "ce"
    assert decide(no, correction=yes, printed_text="p", correction_text="c").verdict == CORRECTED
    assert decide(no, correction=no).verdict == REFUTED
    assert decide(unk).verdict == INCONCLUSIVE
    assert decide(yes, correction=no).verdict == HOLDS  # a correction is only consulted when the printed fails


def test_all_of():
    assert all_of([outcome(True, "a"), outcome(True, "b")]).ok is True
    assert all_of([outcome(True, "a"), outcome(False, "b")]).ok is False
    assert all_of([outcome(True, "a"), outcome(None, "b")]).ok is None
    assert all_of([outcome(None, "a"), outcome(False, "b")]).ok is False
