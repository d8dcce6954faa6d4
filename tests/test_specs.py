import pytest

from stabcheck.errors import BadInput
from stabcheck.specs import check_params, format_spec, parse_import_spec, parse_spec


def test_roundtrip():
    s = parse_spec("alt:n_d=5,n_g=2,first=generator")
    assert s.name == "alt" and s.params == {"n_d": 5, "n_g": 2, "first": "generator"}
    assert format_spec(s.name, s.params) == "alt:n_d=5,n_g=2,first=generator"
    assert parse_spec("jare:gamma=0.5").params["gamma"] == 0.5
    assert parse_spec("x:flag=true").params["flag"] is True


@pytest.mark.parametrize("bad", ["", ":a=1", "alt:n_d", "alt:n_d=", "alt:=3", "alt:n_d=1,n_d=2", "alt:g=inf", "1alt"])
def test_malformed(bad):
    with pytest.raises(BadInput):
        parse_spec(bad)


def test_check_params_types():
    s = parse_spec("alt:n_d=2.5")
    with pytest.raises(BadInput, match="must be int"):
        check_params(s, {"n_d": int}, what="rule")
    with pytest.raises(BadInput, match="no parameter"):
        check_params(parse_spec("alt:k=1"), {"n_d": int}, what="rule")
    assert check_params(parse_spec("jare:gamma=2"), {"gamma": float}, what="t") == {"gamma": 2.0}


def test_import_spec():
    assert parse_import_spec("pkg.mod:Name:a=1,b=x") == ("pkg.mod", "Name", {"a": 1, "b": "x"})
    with pytest.raises(BadInput):
        parse_import_spec("pkg.mod")
