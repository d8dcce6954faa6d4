"""The top-level Python API (stabcheck.api): docs/api.md runs as doctests, results round-trip
through JSON with a schema version, bad arguments are BadInput, and importing stays light."""

from __future__ import annotations

import doctest
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import stabcheck
from stabcheck import BadInput

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_docs_api_md_examples_run_as_doctests():
    res = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS, raise_on_error=False,
                           verbose=False, report=True)
    assert res.attempted >= 30, "docs/api.md lost its examples"
    assert res.failed == 0, f"{res.failed} of {res.attempted} docs/api.md examples failed (see the output above)"


def test_docs_api_md_frames_block_runs_where_the_extra_is_installed():
    blocks = re.findall(r"```python\n(# requires the frames extra\n.*?)```", DOC.read_text(), re.S)
    assert blocks, "docs/api.md has no frames example"
    pytest.importorskip("pandas")
    pytest.importorskip("xarray")
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), {})


def test_api_module_docstring_examples_run():
    import stabcheck.api
    import stabcheck.jsonout

    res = doctest.testmod(stabcheck.api, optionflags=doctest.ELLIPSIS, report=True)
    res2 = doctest.testmod(stabcheck.jsonout, optionflags=doctest.ELLIPSIS, report=True)  # encode_json lives there
    assert res.attempted >= 2 and res2.attempted >= 1 and res.failed == res2.failed == 0


def test_py_typed_is_shipped():
    root = Path(__file__).resolve().parents[1]
    assert (root / "stabcheck" / "py.typed").is_file()
    assert re.search(r'stabcheck = \[[^\]]*"py\.typed"', (root / "pyproject.toml").read_text())


def test_import_stabcheck_is_light_and_lazy():
    code = ("import sys, stabcheck; heavy = [m for m in ('torch', 'cvxpy', 'matplotlib', 'sympy', 'numpy') "
            "if m in sys.modules]; print(heavy); "
            "assert callable(stabcheck.make_game) and 'sympy' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "ok"]


def test_engine_modules_stay_modules_and_are_callable_in_any_import_order():
    # a fresh interpreter: the engine module is imported first, then used both ways
    code = ("import stabcheck.simulate as engine, stabcheck\n"
            "from stabcheck import certify as C\n"
            "assert engine.simulate.__module__ == 'stabcheck.simulate' and hasattr(C, 'certify_linear')\n"
            "g = stabcheck.make_game('dirac', 'wgan')\n"
            "r = stabcheck.simulate(g, 'sim', eta=0.1, steps=3)\n"
            "print(type(r).__name__, r['sim'].steps_done)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["SimulateResult", "3"]


def test_make_game_accepts_one_spec_a_list_and_objects_in_order():
    from stabcheck.regularizers import instance_noise

    one = stabcheck.make_game("dirac", "wgan", regs="r1:gamma=1")
    assert one.describe()["regularizers"] == ["r1:gamma=1.0"]
    mixed = stabcheck.make_game("dirac", "wgan", regs=[instance_noise(0.5), "r1:gamma=1"], convention="thesis")
    assert mixed.describe()["regularizers"] == ["noise:sigma=0.5", "r1:gamma=1.0"]
    assert mixed.convention == "thesis"
    by_string = stabcheck.make_game("dirac", "wgan", regs="noise:sigma=0.5,r1:gamma=1", convention="thesis")
    assert str(by_string.field_expr) == str(mixed.field_expr)


def test_analyze_takes_strings_and_objects_and_matches_the_engine():
    from stabcheck.analysis import analyze as engine
    from stabcheck.methods import make_method

    g = stabcheck.make_game("dirac", "bce", regs="r1:gamma=1")
    res = stabcheck.analyze(g, ["sim", make_method("alt:n_d=5")], 0.1)
    ref = engine(g, [make_method("sim"), make_method("alt:n_d=5")], 0.1)
    assert [m.spectral_radius for m in res] == [m["spectral_radius"] for m in ref["methods"]]
    assert res[1] is res["alt:n_d=5"] is res["alt:n_d=5,n_g=1,first=discriminator"]
    with pytest.raises(KeyError, match="no such method"):
        res["eg"]


def test_json_has_schema_version_and_encodes_non_finite_floats_as_strings():
    g = stabcheck.make_game("dirac", "wgan", convention="thesis")
    sim = stabcheck.simulate(g, "sim", eta=0.5, steps=400, max_distance=1e3)
    text = sim.to_json()
    doc = json.loads(text)  # strict JSON: json.dumps(allow_nan=False) produced it
    assert "Infinity" not in text and "NaN" not in text
    assert doc["schema_version"] == stabcheck.SCHEMA_VERSION and doc["kind"] == "simulate"
    assert doc["runs"][0]["stopped"] == "boundary"
    m = stabcheck.sweep("dirac", "wgan", method="sim", grid="eta=0.1:0.2:2")
    rho = m.spectral_radius.copy()
    object.__setattr__(m, "spectral_radius", rho)
    rho[0] = math.inf
    rho[1] = math.nan
    assert json.loads(m.to_json(indent=None))["spectral_radius"] == ["inf", "nan"]
    assert m.to_dict()["spectral_radius"][0] == math.inf
    at_eq = json.loads(stabcheck.simulate(g, "sim", eta=0.1, x0=[0.0, 0.0], steps=2).to_json())["runs"][0]
    assert at_eq["final_distance_log10"] == "-inf" and at_eq["final_distance"] == 0.0
    field = json.loads(stabcheck.analyze(g, "sim", eta=0.1).to_json())["field"]  # eigenvalues +-i
    assert field["phase_factor"] == "inf"


def test_analyze_json_validates_against_the_committed_schema():
    jsonschema = pytest.importorskip("jsonschema")
    from importlib.resources import files

    schema = json.loads(files("stabcheck").joinpath("schemas/analyze.json").read_text())
    res = stabcheck.analyze(stabcheck.make_game("dirac", "wgan"), ["sim", "alt"], eta=0.1)
    jsonschema.validate(json.loads(res.to_json()), schema)


def test_reprs_are_tables_and_html():
    res = stabcheck.analyze(stabcheck.make_game("dirac", "wgan"), "sim", eta=0.1)
    assert "diverges (exact)" in repr(res) and "dirac (wgan)" in repr(res)
    h = res._repr_html_()
    assert h.startswith("<div>") and "<td>sim</td>" in h and "<td>diverges (exact)</td>" in h


def test_to_pandas_without_the_extra_names_it(monkeypatch):
    res = stabcheck.analyze(stabcheck.make_game("dirac", "wgan"), "sim", eta=0.1)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match=r"stabcheck\[frames\]"):
        res.to_pandas()


@pytest.mark.parametrize("call, message", [
    (lambda g: stabcheck.analyze(g, ["sim"]), "eta is required"),
    (lambda g: stabcheck.analyze(g, [], 0.1), "methods is empty"),
    (lambda g: stabcheck.analyze(g, [3], 0.1), "a method must be a spec string"),
    (lambda g: stabcheck.analyze("nope", "sim", 0.1), "unknown system 'nope'"),
    (lambda g: stabcheck.analyze(g, "sim", -1), "finite number > 0"),
    (lambda g: stabcheck.make_game("dirac", "wgan", regs=5), "a regularizer must be a spec string"),
    (lambda g: stabcheck.make_game("dirac", "wgan", regs="r9:gamma=1"), "unknown regularizer 'r9'"),
    (lambda g: stabcheck.make_game(g, "wgan"), "a game object takes no loss"),
    (lambda g: stabcheck.simulate(g, [], eta=0.1), "nothing to simulate"),
    (lambda g: stabcheck.sweep("dirac", "wgan", grid={"eta": (1, 2)}), "expected \\(lo, hi, n\\)"),
    (lambda g: stabcheck.certify(), "exactly one of a game"),
    (lambda g: stabcheck.certify(matrices=[[1.0, 2.0]]), "must be square"),
    (lambda g: stabcheck.check_oracle("dirac", bogus=1), "no option 'bogus'"),
])
def test_bad_arguments_raise_badinput_with_one_line(call, message):
    g = stabcheck.make_game("dirac", "wgan")
    with pytest.raises(BadInput, match=message) as exc:
        call(g)
    assert "\n" not in str(exc.value)
