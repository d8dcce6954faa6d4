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


D = ["--system", "dirac", "--eta", "0.1", "--method", "sim"]
CERTIFY = [  # (argv, exit status, status): 0 certified, 1 not certified, 3 inconclusive
    (["--loss", "bce", "--reg", "r1:gamma=1", *D], 0, "certified"),
    (["--loss", "wgan", *D], 1, "not certified"),  # Sim-GDA on the WGAN Dirac-GAN diverges
    (["--matrices", "{p}/big.json"], 3, "inconclusive"),  # 200x200: above the search's size limit
]


@pytest.mark.parametrize("argv,code,status", CERTIFY, ids=["certified", "not-certified", "size-limit"])
def test_certify_json_validates_and_exit_status_follows_the_convention(argv, code, status, capsys, tmp_path):
    import numpy as np

    (tmp_path / "big.json").write_text(json.dumps(np.eye(200).tolist()))
    rc = main(["certify", *[a.replace("{p}", str(tmp_path)) for a in argv], "--json", "--no-progress"])
    cap = capsys.readouterr()
    assert rc == code, cap.err
    doc = json.loads(cap.out)
    assert list(doc)[:2] == ["schema_version", "kind"]
    assert doc["schema_version"] == SCHEMA_VERSION and doc["kind"] == "certify"
    assert doc["status"] == status and doc["dynamics"] == "discrete"
    assert doc["wall_s"] >= 0 and doc["solve_wall_s"] >= 0 and doc["exact_wall_s"] >= 0
    assert not {"time_s", "solve_time_s", "exact_time_s"} & set(doc)
    validate(doc)
    if status == "inconclusive":
        assert doc["solver_status"] == "size limit" and "limit of 128x128" in doc["statement"]
    # the text report exits the same way
    assert main(["certify", *[a.replace("{p}", str(tmp_path)) for a in argv], "--no-progress"]) == code
    assert capsys.readouterr().out.split("\n")[0] == doc["statement"]
    with pytest.raises(jsonschema.ValidationError):  # the old timing key is refused
        validate(dict(doc, time_s=0.1))


def test_api_certify_json_validates():
    import numpy as np

    doc = json.loads(stabcheck.certify(matrices=np.array([[0.5, 0.0], [0.0, 0.25]])).to_json())
    validate(doc, "certify")
    assert doc["kind"] == "certify" and doc["dynamics"] == "discrete" and doc["wall_s"] >= 0


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
