import sys
import time
import types

import pytest

from stabcheck.claims import registry, runner
from stabcheck.claims.registry import Claim, claim, register, select, unregister
from stabcheck.claims.verdicts import holds, refuted
from stabcheck.cli import main
from stabcheck.errors import BadInput


@pytest.fixture
def temp_claims():
    ids = []
    yield ids
    for i in ids:
        unregister(i)


def test_decorator_registers_and_returns_the_function(temp_claims):
    @claim(id="test/deco", source="me", location="Thm 1", statement="1 + 1 = 2")
    def check():
        return holds("computed 1 + 1 = 2", kind="exact arithmetic")

    temp_claims.append("test/deco")
    c = registry.get_claim("test/deco")
    assert c.check is check and c.statement == "1 + 1 = 2"
    assert "verdict" not in c.to_json()  # the registry holds statements, never expected verdicts
    assert runner.run_one(c).result.verdict == "holds"


def test_bad_ids_and_duplicates(temp_claims):
    with pytest.raises(BadInput, match="bad claim id"):
        register(Claim(id="NoSlash", source="s", location="l", statement="x", check=lambda: None))
    register(Claim(id="test/dup", source="s", location="l", statement="x", check=lambda: None, module="a"))
    temp_claims.append("test/dup")
    with pytest.raises(BadInput, match="registered twice"):
        register(Claim(id="test/dup", source="s", location="l", statement="x", check=lambda: None, module="b"))


def test_select_globs_and_unknown_id():
    cs = [Claim(id=i, source="s", location="l", statement="x", check=lambda: None)
          for i in ("a/one", "a/two", "b/one")]
    assert [c.id for c in select(cs, ["a/*"])] == ["a/one", "a/two"]
    assert [c.id for c in select(cs, ["b/one", "a/one"])] == ["a/one", "b/one"]  # registry order
    with pytest.raises(BadInput, match="valid ids"):
        select(cs, ["c/none"])


def _c(fn, cid="test/x"):
    return Claim(id=cid, source="s", location="l", statement="x", check=fn)


def test_runner_turns_failures_into_inconclusive():
    def boom():
        raise ZeroDivisionError("oops")

    r = runner.run_one(_c(boom)).result
    assert r.verdict == "inconclusive" and "ZeroDivisionError" in r.evidence
    assert runner.run_one(_c(lambda: "holds")).result.verdict == "inconclusive"  # not a Result

    def slow():
        t = time.time()
        while time.time() - t < 5:
            pass
        return holds("late", kind="numerical")

    r = runner.run_one(_c(slow), timeout=0.3).result
    assert r.verdict == "inconclusive" and "time limit" in r.evidence


def test_parallel_runs_keep_order(temp_claims):
    for k in range(3):
        cid = f"test/par{k}"

        @claim(id=cid, source="s", location="l", statement=f"claim {k}")
        def check(k=k):
            return holds(f"ran {k}", kind="numerical") if k != 1 else refuted("k = 1", "stabcheck claims")

        temp_claims.append(cid)
    runs = runner.run_claims([registry.get_claim(f"test/par{k}") for k in range(3)], jobs=2)
    assert [r.result.verdict for r in runs] == ["holds", "refuted", "holds"]
    assert runs[2].result.evidence == "ran 2"


PLUGIN = '''
from stabcheck.claims import claim, holds, refuted

@claim(id="myplugin/square", source="Me (2025)", location="Lemma 1",
       statement="x^2 >= 0 for every real x")
def _check():
    import numpy as np
    x = np.linspace(-10, 10, 2001)
    worst = float((x ** 2).min())
    return holds(f"fuzzed 2001 points in [-10, 10], worst margin {worst:g}", kind="fuzzed") if worst >= 0 \\
        else refuted(f"x^2 = {worst}", "python -c ...")
'''


def test_plugin_on_the_command_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_claims_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        rc = main(["claims", "--no-builtin", "--plugin", "my_claims_plugin", "--jobs", "1", "--fail-on", "refuted"])
        out = capsys.readouterr().out
        assert rc == 0 and "myplugin/square" in out and "holds" in out
    finally:
        unregister("myplugin/square")
        sys.modules.pop("my_claims_plugin", None)


def test_entry_points_are_loaded(tmp_path, monkeypatch):
    (tmp_path / "my_ep_claims.py").write_text(PLUGIN.replace("myplugin/square", "myep/square"))
    monkeypatch.syspath_prepend(str(tmp_path))
    from importlib.metadata import EntryPoint

    eps = [EntryPoint(name="mine", value="my_ep_claims", group=registry.ENTRY_POINT_GROUP)]
    import importlib.metadata as md

    monkeypatch.setattr(md, "entry_points", lambda group=None: eps if group == registry.ENTRY_POINT_GROUP else [])
    try:
        assert registry.load_entry_points() == ["my_ep_claims"]
        assert registry.get_claim("myep/square") is not None
    finally:
        unregister("myep/square")
        sys.modules.pop("my_ep_claims", None)


def test_cli_errors_exit_2(capsys):
    assert main(["claims", "--id", "no-such/claim", "--list"]) == 2
    assert "valid ids" in capsys.readouterr().err
    assert main(["claims", "--fail-on", "maybe", "--list"]) == 2
    assert main(["claims", "--no-builtin", "--plugin", "no_such_module_xyz"]) == 2


def test_fail_on_and_json(tmp_path, monkeypatch, capsys):
    import json

    mod = types.ModuleType("my_failing_claims")
    monkeypatch.setitem(sys.modules, "my_failing_claims", mod)

    @claim(id="myfail/false", source="s", location="l", statement="2 < 1")
    def check():
        return refuted("2 > 1", "python -c 'print(2 < 1)'")

    try:
        rc = main(["claims", "--no-builtin", "--id", "myfail/*", "--json", "--fail-on", "refuted", "--jobs", "1"])
        data = json.loads(capsys.readouterr().out)
        assert rc == 1
        (entry,) = data["claims"]
        assert set(["id", "source", "statement", "verdict", "evidence", "command"]) <= set(entry)
        assert entry["verdict"] == "refuted" and entry["command"]
    finally:
        unregister("myfail/false")


def test_list_builtin(capsys):
    assert main(["claims", "--list"]) == 0
    out = capsys.readouterr().out
    for cid in ("mescheder/alt-gda", "nagarajan-kolter/gradient-norm-reg", "nie-patel/thm3", "deoliveira/fig2",
                "mescheder/wgan-qc"):
        assert cid in out
