"""Every spec stabcheck prints parses back to the same method (format -> parse -> format)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from stabcheck.methods import make_method

floats = st.floats(min_value=1e-3, max_value=50, allow_nan=False).map(lambda v: float(f"{v:.6g}"))
moms = st.floats(min_value=-0.99, max_value=0.99, allow_nan=False).map(lambda v: float(f"{v:.4g}"))


@st.composite
def method_specs(draw):
    rule = draw(st.sampled_from(["sim", "alt", "eg", "ogda"]))
    params = {}
    if rule == "alt":
        params["n_d"] = draw(st.integers(1, 6))
        params["n_g"] = draw(st.integers(1, 3))
        params["first"] = draw(st.sampled_from(["discriminator", "generator"]))
    opt = draw(st.sampled_from(["sgd", "rmsprop", "adam"]))
    if opt != "sgd":
        params["opt"] = opt
        n = draw(st.integers(1, 3))
        params["precond"] = ";".join(repr(draw(floats)) for _ in range(n)) if n > 1 else repr(draw(floats))
    if draw(st.booleans()):
        params["ratio"] = draw(floats)
    if opt == "adam":
        if draw(st.booleans()):
            params["beta1"] = draw(st.floats(0, 0.99).map(lambda v: float(f"{v:.3g}")))
        if draw(st.booleans()):
            params["t"] = draw(st.integers(1, 1000))
    elif draw(st.booleans()):
        params["momentum"] = draw(moms)
    body = ",".join(f"{k}={v}" for k, v in params.items())
    transform = draw(st.sampled_from([None, "jare", "conopt", "genreg", "discreg"]))
    if transform is None:
        return rule + (":" + body if body else "")
    head = f"{transform}:gamma={draw(floats)}"
    if rule != "sim":
        head += f",rule={rule}"
    return head + ("," + body if body else "")


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(spec=method_specs())
def test_printed_spec_parses_back_to_the_same_method(spec):
    m = make_method(spec)
    again = make_method(m.spec)
    assert again.spec == m.spec
    assert again.rule.all_params == m.rule.all_params
    assert (again.transform is None) == (m.transform is None)
    if m.transform is not None:
        assert again.transform.name == m.transform.name and again.transform.gamma == m.transform.gamma
