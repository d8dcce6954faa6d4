"""Every command's --json output validates against its committed schema
(stabcheck/schemas/<kind>.json, which carries the version), and follows the one encoding:
schema_version and kind first, non-finite numbers as "inf"/"-inf"/"nan", wall_s for time,
exact bounds as strings alongside the float."""

import json

import jsonschema
import pytest

import stabcheck
from stabcheck.cli import main
from stabcheck.jsonout import SCHEMA_VERSION, load_schema, validate

COMMANDS = {
    "analyze": ["analyze", "--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--json"],
    "simulate": ["simulate", "--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--compare", "sim,alt",
                 "--steps", "50", "--json"],
    "sweep": ["sweep", "--system", "dirac", "--loss", "wgan", "--method", "alt", "--grid", "eta=0.5:2.5:5", "--json"],
    "check-oracle": ["check-oracle", "dirac", "--max-examples", "10", "--steps", "30", "--properties", "bounded",
                     "--no-compare", "--json"],
    "claims": ["claims", "--id", "mescheder/field-jacobian", "--json", "--no-progress", "--jobs", "1"],
}


@pytest.mark.parametrize("kind", sorted(COMMANDS))
def test_command_json_validates_against_its_committed_schema(kind, capsys):
    code = main(COMMANDS[kind])
    out = capsys.readouterr().out
    assert code in (0, 1), out
    doc = json.loads(out)
    assert list(doc)[:2] == ["schema_version", "kind"]
    assert doc["schema_version"] == SCHEMA_VERSION and doc["kind"] == kind
    validate(doc)
    schema = load_schema(kind)
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    bad = dict(doc, schema_version=SCHEMA_VERSION + 1)
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


def test_api_certify_json_validates():
    import numpy as np

    doc = json.loads(stabcheck.certify(matrices=np.array([[0.5, 0.0], [0.0, 0.25]])).to_json())
    validate(doc, "certify")


def test_non_finite_exact_and_timing_encoding(capsys):
    assert main(["analyze", "--system", "dirac", "--loss", "wgan", "--eta", "0.1", "--method", "sim", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["field"]["phase_factor"] == "inf"  # purely imaginary field eigenvalues
    assert main(["analyze", "--system", "dirac", "--loss", "bce", "--reg", "r1:gamma=1", "--eta", "0.1",
                 "--method", "sim", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)["methods"][0]["stable_eta"]
    assert st["exact"] and st["max_exact"] == "4" and st["max"] == 4.0
    assert main(["sweep", "--system", "dirac", "--loss", "wgan", "--grid", "eta=0.1:1:3", "--json"]) == 0
    t = json.loads(capsys.readouterr().out)["timing"]
    assert t["setup"]["wall_s"] >= 0 and t["evaluate"]["wall_s"] >= 0 and "evaluate_s" not in t


def test_every_schema_file_is_versioned():
    from importlib import resources

    files = [f.name for f in resources.files("stabcheck").joinpath("schemas").iterdir() if f.name.endswith(".json")]
    assert {f"{k}.json" for k in [*COMMANDS, "certify"]} <= set(files)
    for f in files:
        s = load_schema(f[:-5])
        jsonschema.Draft202012Validator.check_schema(s)
        assert s["properties"]["schema_version"]["const"] == SCHEMA_VERSION
