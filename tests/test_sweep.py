"""Tests of stabcheck.sweep: grid parsing, the batched map and verdicts, agreement with analyze."""

import csv
import io
import json

import numpy as np
import pytest

from stabcheck.analysis import analyze_method
from stabcheck.errors import BadInput
from stabcheck.games import make_game
from stabcheck.linearize import linear_map_matrix, numeric_verdict_matrix, spectral_radius
from stabcheck.methods import make_method
from stabcheck.rules import make_rule
from stabcheck.sweep import (VERDICTS, batched_map_matrices, parse_grid, sweep, verdict_codes)


# ----------------------------------------------------------------------------- grid parsing

def test_parse_grid_linear_and_log():
    axes = parse_grid("eta=1e-3:2:5:log,gamma=0:20:3")
    assert [a.name for a in axes] == ["eta", "gamma"]
    eta, gamma = axes
    assert eta.log and eta.n == 5
    v = eta.values
    assert v[0] == 1e-3 and v[-1] == 2.0
    np.testing.assert_allclose(v[1:] / v[:-1], (2 / 1e-3) ** 0.25)  # geometric spacing
    assert gamma.values.tolist() == [0.0, 10.0, 20.0]
    assert parse_grid(["eta=0.1:0.1:1", "gamma=1:2:2"])[0].values.tolist() == [0.1]


@pytest.mark.parametrize("text, fragment", [
    ("", "empty --grid"),
    ("eta", "malformed grid axis"),
    ("eta=1:2", "malformed grid axis"),
    ("eta=1:2:3:lin", "malformed grid axis"),
    ("eta=a:2:3", "lo and hi must be numbers"),
    ("eta=1:2:x", "n must be an integer"),
    ("eta=1:2:0", "n must be >= 1"),
    ("eta=1:2:1", "one point needs lo == hi"),
    ("eta=2:1:3", "hi must be >= lo"),
    ("eta=0:1:3:log", "log axis needs lo > 0"),
    ("eta=1:inf:3", "finite"),
    ("eta=1:2:3,eta=1:2:3", "given twice"),
])
def test_parse_grid_rejects(text, fragment):
    with pytest.raises(BadInput, match=fragment):
        parse_grid(text)


def test_parameter_resolution_errors():
    # gamma of r1 and gamma of jare collide: the bare name is ambiguous
    with pytest.raises(BadInput, match="ambiguous; use one of jare.gamma, r1.gamma"):
        sweep("dirac", "bce", "jare", "eta=0.1:0.2:2,gamma=0:1:2", regs=["r1:gamma=1"])
    with pytest.raises(BadInput, match="unknown grid parameter 'gamma'.*valid: eta"):
        sweep("dirac", "wgan", "sim", "eta=0.1:0.2:2,gamma=0:1:2")
    with pytest.raises(BadInput, match="both in --method"):
        sweep("dirac", "wgan", "jare:gamma=2", "eta=0.1:0.2:2,gamma=0:1:2")
    with pytest.raises(BadInput, match="both in --reg"):
        sweep("dirac", "bce", "sim", "eta=0.1:0.2:2,sigma=0:1:2", regs=["noise:sigma=1"])
    with pytest.raises(BadInput, match="give --eta"):
        sweep("dirac", "wgan", "jare", "gamma=0:1:2")
    with pytest.raises(BadInput, match="values must be >= 0"):
        sweep("dirac", "wgan", "jare", "gamma=-1:1:2", eta=0.1)
    with pytest.raises(BadInput, match="needs sigma"):
        sweep("dirac", "bce", "sim", "eta=0.1:0.2:2", regs=["noise"])
    with pytest.raises(BadInput, match="integers"):
        sweep("dirac", "wgan", "alt", "eta=0.1:0.2:2,n_d=1:2:3")
    with pytest.raises(BadInput, match="chunk"):
        sweep("dirac", "wgan", "sim", "eta=0.1:0.2:2", chunk=0)


# ----------------------------------------------------------------------------- batched kernels

RULE_SPECS = ["sim", "alt", "alt:n_d=3,n_g=2", "alt:first=generator", "eg", "ogda"]


@pytest.mark.parametrize("spec", RULE_SPECS)
def test_batched_map_equals_single_point_map(spec):
    rng = np.random.default_rng(1)
    rule = make_rule(spec)
    for n_gen, d in [(1, 2), (2, 4), (1, 3)]:
        J = rng.normal(size=(7, d, d))
        eta = rng.uniform(0.01, 1.5, size=7)
        A = batched_map_matrices(rule, J, eta, n_gen)
        for b in range(7):
            np.testing.assert_allclose(A[b], linear_map_matrix(rule, J[b], eta[b], n_gen), rtol=1e-13, atol=1e-14)


def _special_matrices():
    th = 0.3
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    return [rot, np.eye(2), np.array([[1.0, 1.0], [0.0, 1.0]]), 0.5 * np.eye(2), 1.5 * rot,
            np.array([[1 + 1e-12, 0.0], [0.0, 0.2]]), np.array([[1 - 1e-6, 0], [0, 0.9]]),
            np.diag([-1.0, 0.3]), np.zeros((2, 2))]


def test_verdict_codes_match_numeric_verdict_matrix():
    rng = np.random.default_rng(2)
    mats = _special_matrices() + [rng.normal(scale=0.6, size=(2, 2)) for _ in range(200)]
    A = np.stack(mats)
    codes, rho = verdict_codes(A)
    for b, M in enumerate(mats):
        assert VERDICTS[codes[b]] == numeric_verdict_matrix(M).verdict
        assert rho[b] == pytest.approx(spectral_radius(M), rel=1e-12, abs=1e-15)
    # the rotation is neutral, the scaled rotation diverges, the half identity converges
    assert [VERDICTS[c] for c in codes[[0, 3, 4]]] == ["neutral", "converges", "diverges"]


def test_verdict_codes_non_finite_rows_diverge():
    A = np.stack([np.eye(2) * 0.5, np.full((2, 2), np.nan), np.array([[np.inf, 0], [0, 1]])])
    codes, rho = verdict_codes(A)
    assert codes.tolist() == [0, 2, 2]
    assert rho[0] == pytest.approx(0.5) and np.isinf(rho[1:]).all()


# ----------------------------------------------------------------------------- agreement with analyze

def _analyze_point(system, loss, method_spec, eta, regs=(), params=None, convention=None):
    game = make_game(system, loss, params or {}, list(regs), convention)
    return analyze_method(game, make_method(method_spec), eta)


CASES = [
    # (system, loss, method, grid, regs, params, point -> (method spec, regs, params))
    ("dirac", "wgan", "jare", "eta=0.01:1:5:log,gamma=0:1:5", [], None,
     lambda p: (f"jare:gamma={p['jare.gamma']!r}", [], None)),
    ("dirac", "bce", "sim", "eta=0.05:1.5:4:log,sigma=0:1.5:4", ["noise"], None,
     lambda p: ("sim", [f"noise:sigma={p['noise.sigma']!r}"], None)),
    ("dirac", "bce", "alt", "eta=0.05:3:4:log,r1.gamma=0:2:3", ["r1"], None,
     lambda p: ("alt", [f"r1:gamma={p['r1.gamma']!r}"], None)),
    ("dirac", "wgan", "ogda", "eta=0.05:1.2:6:log", [], None, lambda p: ("ogda", [], None)),
    ("dirac", "wgan", "eg", "eta=0.05:1.5:6:log", ["r1:gamma=0.5"], None,
     lambda p: ("eg", ["r1:gamma=0.5"], None)),
    ("gaussian", "bce", "conopt", "eta=0.01:0.5:3:log,gamma=0:10:3", [], {"mean": [4.0], "sigma2": 0.04},
     lambda p: (f"conopt:gamma={p['conopt.gamma']!r}", [], {"mean": [4.0], "sigma2": 0.04})),
    ("gaussian", "bce", "genreg:rule=alt", "eta=0.01:0.5:3:log,genreg.gamma=0:10:3,r2.gamma=0:1:2", ["r2"],
     {"mean": [0.0, 4.0], "sigma2": 0.04}, lambda p: (f"genreg:gamma={p['genreg.gamma']!r},rule=alt",
                                                     [f"r2:gamma={p['r2.gamma']!r}"], {"mean": [0.0, 4.0], "sigma2": 0.04})),
    ("gaussian", "bce", "sim", "eta=0.05:1:3:log,sigma2=0.04:2.5:3", [], {"mean": [2.0]},
     lambda p: ("sim", [], {"mean": [2.0], "sigma2": p["gaussian.sigma2"]})),
    ("gaussian", "bce", "jare", "mean=-1:3:3,gamma=0:4:3", [], {"sigma2": 0.5},
     lambda p: (f"jare:gamma={p['jare.gamma']!r}", [], {"mean": [p["gaussian.mean"]], "sigma2": 0.5})),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_sweep_agrees_with_analyze_at_sampled_points(case):
    system, loss, method, grid, regs, params, to_specs = case
    eta_fixed = None if "eta=" in grid else 0.1
    r = sweep(system, loss, method, grid, regs=regs, params=params, eta=eta_fixed, chunk=5)
    rng = np.random.default_rng(0)
    picks = sorted(set(rng.choice(r.size, size=min(5, r.size), replace=False).tolist()) | {0, r.size - 1})
    for i in picks:
        p = r.point(i)
        m, rg, pr = to_specs(p)
        entry = _analyze_point(system, loss, m, p.get("eta", eta_fixed), rg, pr)
        rho = r.spectral_radius.reshape(-1)[i]
        assert rho == pytest.approx(entry["spectral_radius"], rel=1e-10, abs=1e-14), p
        assert r.verdict_names().reshape(-1)[i] == entry["verdict"], p


def test_exact_neutral_points_agree_with_analyze():
    # Dirac-GAN (WGAN): JARE at eta = gamma = 1 has eigenvalues on the unit circle (analyze decides
    # this exactly); Alt-GDA is neutral for eta < 2 and diverges beyond.
    r = sweep("dirac", "wgan", "jare", "eta=1:1:1,gamma=1:1:1")
    entry = _analyze_point("dirac", "wgan", "jare:gamma=1", 1.0)
    assert entry["verdict_exact"] and entry["verdict"] == "neutral"
    assert r.verdict_names()[0, 0] == "neutral"
    r = sweep("dirac", "wgan", "alt", "eta=0.5:3:3")
    assert r.verdict_names().tolist() == ["neutral", "neutral", "diverges"]
    assert [_analyze_point("dirac", "wgan", "alt", e)["verdict"] for e in (0.5, 1.75, 3.0)] == \
        ["neutral", "neutral", "diverges"]


def test_known_closed_form_sim_dirac_wgan():
    # Sim-GDA on the WGAN Dirac-GAN: eigenvalues 1 +- i eta, so rho = sqrt(1 + eta^2) (Mescheder 2018)
    r = sweep("dirac", "wgan", "sim", "eta=1e-3:2:50:log")
    eta = r.axes[0].values
    np.testing.assert_allclose(r.spectral_radius, np.sqrt(1 + eta ** 2), rtol=1e-13)
    assert set(r.verdict_names().tolist()) == {"diverges"}


# ----------------------------------------------------------------------------- paths and chunking

def test_symbolic_and_loop_paths_agree():
    kw = dict(params={"mean": [0.0, 4.0]}, regs=["r1"])
    grid = "eta=0.01:0.3:4:log,sigma2=0.04:1:2,r1.gamma=0:1:2"
    a = sweep("gaussian", "bce", "jare:gamma=2", grid, **kw)
    b = sweep("gaussian", "bce", "jare:gamma=2", grid, symbolic=False, **kw)
    assert a.info["path"] == "symbolic" and b.info["path"] == "loop"
    np.testing.assert_allclose(a.spectral_radius, b.spectral_radius, rtol=1e-12)
    assert np.array_equal(a.codes, b.codes)


def test_chunking_does_not_change_results():
    a = sweep("dirac", "bce", "ogda", "eta=1e-3:2:23:log,r1.gamma=0:3:11", regs=["r1"], chunk=7)
    b = sweep("dirac", "bce", "ogda", "eta=1e-3:2:23:log,r1.gamma=0:3:11", regs=["r1"], chunk=100000)
    assert a.info["tasks"] == 37 and b.info["tasks"] == 1
    assert np.array_equal(a.spectral_radius, b.spectral_radius) and np.array_equal(a.codes, b.codes)


def test_rule_parameter_axis_equals_fixed_sweeps():
    r = sweep("dirac", "wgan", "alt:first=generator", "n_d=1:4:4,eta=0.1:3:5:log", chunk=3)
    for k in range(4):
        fixed = sweep("dirac", "wgan", f"alt:n_d={k + 1},first=generator", "eta=0.1:3:5:log")
        np.testing.assert_array_equal(r.spectral_radius[k], fixed.spectral_radius)
        np.testing.assert_array_equal(r.codes[k], fixed.codes)


# ----------------------------------------------------------------------------- outputs

def test_outputs_csv_json_plot(tmp_path):
    r = sweep("dirac", "wgan", "jare", "eta=0.01:1:4:log,gamma=0:2:3")
    rows = list(csv.DictReader(io.StringIO(r.csv_text())))
    assert len(rows) == 12 and list(rows[0]) == ["eta", "jare.gamma", "spectral_radius", "verdict"]
    # first axis slowest
    assert [float(x["jare.gamma"]) for x in rows[:3]] == [0.0, 1.0, 2.0]
    assert float(rows[4]["spectral_radius"]) == r.spectral_radius[1, 1]
    r.write_json(tmp_path / "m.json")
    j = json.loads((tmp_path / "m.json").read_text())
    assert j["grid"]["shape"] == [4, 3] and j["verdict"][0][0] == "diverges"
    assert [a["parameter"] for a in j["grid"]["axes"]] == ["eta", "jare.gamma"]
    assert sum(j["counts"].values()) == 12
    r.plot(tmp_path / "m.png", title="t")
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r1 = sweep("dirac", "wgan", "sim", "eta=0.01:1:4:log")
    r1.plot(tmp_path / "line.png")
    assert (tmp_path / "line.png").stat().st_size > 1000
    r3d = sweep("dirac", "bce", "jare", "eta=0.1:1:2,jare.gamma=0:1:2,r1.gamma=0:1:2", regs=["r1"])
    assert r3d.shape == (2, 2, 2)
    with pytest.raises(BadInput, match="1 or 2 parameters"):
        r3d.plot(tmp_path / "x.png")


def test_analyze_command_reproduces_point():
    r = sweep("dirac", "bce", "jare", "eta=0.05:0.5:3,jare.gamma=0:2:3,r1.gamma=0.5:1:2", regs=["r1"])
    cmd = r.analyze_command(7)
    p = r.point(7)
    assert f"--eta {p['eta']!r}" in cmd and f"--method jare:gamma={p['jare.gamma']!r}" in cmd
    assert f"--reg r1:gamma={p['r1.gamma']!r}" in cmd


# ----------------------------------------------------------------------------- closed forms vs reference

def _same(fast, ref, rtol=1e-12):
    """Identical verdicts; rho equal to rounding (relative to max(1, rho))."""
    assert np.array_equal(fast.codes, ref.codes), np.argwhere(fast.codes != ref.codes)[:5]
    a, b = fast.spectral_radius, ref.spectral_radius
    assert np.array_equal(np.isfinite(a), np.isfinite(b))
    fin = np.isfinite(b)
    assert np.all(np.abs(a[fin] - b[fin]) <= rtol * np.maximum(1.0, b[fin]))


CLOSED_FORM_GRIDS = [
    ("dirac", "wgan", "sim", "eta=1e-3:2:41:log,r1.gamma=0:20:37", ["r1"], None),
    ("dirac", "wgan", "alt", "eta=1e-3:2:41:log,r1.gamma=0:20:37", ["r1"], None),
    ("dirac", "wgan", "jare", "eta=1e-3:2:41:log,jare.gamma=0:20:37", [], None),
    ("dirac", "bce", "eg", "eta=1e-3:3:29:log,noise.sigma=0:2:23", ["noise"], None),
    ("dirac", "bce", "conopt:rule=alt,n_d=2", "eta=1e-3:2:29:log,conopt.gamma=0:5:19", [], None),
    ("dirac", "wgan", "alt", "eta=1e-3:2:23:log,n_d=1:4:4", [], None),  # exactly neutral (det 1)
    ("dirac", "wgan", "jare", "eta=0.5:1.5:21,jare.gamma=0.5:1.5:21", [], None),  # neutral at eta = gamma = 1
    ("gaussian", "wgan", "sim", "eta=1e-3:2:31:log,sigma2=0.1:2:17", [], None),  # 1-D game: 2x2
    ("dirac", "bce", "ogda", "eta=1e-3:2:13:log,r1.gamma=0:3:7", ["r1"], None),  # 4x4: reference path
]


@pytest.mark.parametrize("case", CLOSED_FORM_GRIDS, ids=lambda c: f"{c[2]}-{c[3]}")
def test_closed_form_sweep_equals_reference_path(case):
    system, loss, method, grid, regs, params = case
    fast = sweep(system, loss, method, grid, regs=regs, params=params, chunk=997)
    ref = sweep(system, loss, method, grid, regs=regs, params=params, closed_form=False)
    _same(fast, ref)


def test_closed_form_random_grids_equal_reference_path():
    rng = np.random.default_rng(14)
    for _ in range(4):
        lo = float(10 ** rng.uniform(-4, -1))
        hi = float(lo * 10 ** rng.uniform(1, 3))
        g = float(rng.uniform(0.5, 30))
        grid = f"eta={lo!r}:{hi!r}:{int(rng.integers(5, 40))}:log,gamma=0:{g!r}:{int(rng.integers(5, 40))}"
        for method, regs in (("sim", ["r1"]), ("alt:first=generator", ["r2"]), ("jare", [])):
            fast = sweep("dirac", "bce" if method == "sim" else "wgan", method, grid, regs=regs)
            ref = sweep("dirac", "bce" if method == "sim" else "wgan", method, grid, regs=regs, closed_form=False)
            _same(fast, ref)


def test_closed_form_rho_within_1e_12_of_one():
    # Sim-GDA on the WGAN Dirac-GAN with R1: |l|^2 = 1 - eta gamma + eta^2, so rho = 1 at eta = gamma
    fast = sweep("dirac", "wgan", "sim", "eta=0.5:0.5000000000001:41", regs=["r1:gamma=0.5"])
    ref = sweep("dirac", "wgan", "sim", "eta=0.5:0.5000000000001:41", regs=["r1:gamma=0.5"], closed_form=False)
    assert np.all(np.abs(ref.spectral_radius - 1) < 1e-12)
    _same(fast, ref)
    assert set(ref.verdict_names().tolist()) == {"neutral"}


def _rotations(rng, B, delta, spread):
    th = rng.uniform(0, np.pi, B)
    r = 1 + delta
    R = np.stack([np.stack([r * np.cos(th), -r * np.sin(th)], -1), np.stack([r * np.sin(th), r * np.cos(th)], -1)], -2)
    S = spread * rng.normal(size=(B, 2, 2)) + np.eye(2)  # spread 0.25: well conditioned; 1: some far from normal
    return S @ R @ np.linalg.inv(S), S


def test_closed_form_verdict_codes_equal_verdict_codes_on_random_stacks():
    from stabcheck.sweep import closed_form_verdict_codes

    rng = np.random.default_rng(3)
    B = 20000
    scale = rng.choice([1e-3, 0.1, 1.0, 10.0], size=(B, 1, 1))
    stacks = [rng.normal(size=(B, 2, 2)) * scale + np.eye(2)]
    # |l| within 1e-12 of 1 (and within 1e-9, on both sides of the tolerance): complex pairs
    # (rotations) and real eigenvalues near +-1, behind a similarity
    delta = rng.uniform(-1e-12, 1e-12, B) * rng.choice([0.0, 1.0, 1e-3, 1e3], B)
    A, S = _rotations(rng, B, delta, 0.25)
    stacks.append(A)
    D = np.zeros((B, 2, 2))
    D[:, 0, 0] = rng.choice([1.0, -1.0], B) * (1 + delta)
    D[:, 1, 1] = rng.uniform(-1.5, 1.5, B)
    stacks += [S @ D @ np.linalg.inv(S), D]
    A_far, S_far = _rotations(rng, B, delta, 1.0)  # eigenvalues ill-conditioned at some points
    ill = [A_far, S_far @ D @ np.linalg.inv(S_far)]
    eta = rng.choice([1e-3, 1e-2, 0.5], B)  # Alt-GDA on the WGAN Dirac-GAN: det 1, neutral
    stacks.append(np.stack([np.stack([np.ones(B), -eta], -1), np.stack([eta, 1 - eta ** 2], -1)], -2))
    bad = stacks[0].copy()
    bad[:7, 0, 0] = np.inf
    bad[7:9, 1, 0] = np.nan
    stacks.append(bad)
    # block-diagonal 4x4 (two 2x2 blocks after a permutation) and a dense 3x3 (reference path)
    blk = np.zeros((B, 4, 4))
    blk[:, np.ix_([0, 2], [0, 2])[0], np.ix_([0, 2], [0, 2])[1]] = stacks[1][:, :, :]
    blk[:, 1, 1], blk[:, 3, 3] = 1 + delta, rng.uniform(-1.2, 1.2, B)
    stacks += [blk, rng.normal(size=(500, 3, 3))]
    # Jordan blocks and repeated eigenvalues on the circle (the reference path's defect test), zero maps
    th = 0.3
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    two = np.zeros((4, 4))
    two[:2, :2] = two[2:, 2:] = rot
    jordan = np.zeros((4, 4))
    jordan[:2, :2] = [[1.0, 1.0], [0.0, 1.0]]
    jordan[2, 2], jordan[3, 3] = 1.0, 0.5
    stacks += [np.stack([[[1.0, 1.0], [0.0, 1.0]], [[-1.0, 0.5], [0.0, -1.0]], rot, np.eye(2), np.zeros((2, 2)),
                         [[1.0, 1e-7], [0.0, 1.0]]]), np.stack([two, jordan, np.eye(4)])]
    for k, A in enumerate(stacks + ill):
        c_fast, r_fast = closed_form_verdict_codes(A)
        with np.errstate(all="ignore"):
            c_ref, r_ref = verdict_codes(A)
        assert np.array_equal(c_fast, c_ref)  # always: the verdict never depends on the path
        fin = np.isfinite(r_ref)
        assert np.array_equal(np.isfinite(r_fast), fin)
        # rho to rounding; where the eigenvalues are ill-conditioned, eigvals' own error is larger
        rtol = 1e-12 if k < len(stacks) else 1e-9
        assert np.all(np.abs(r_fast[fin] - r_ref[fin]) <= rtol * np.maximum(1.0, r_ref[fin]))
    assert {0, 1, 2} <= set(verdict_codes(stacks[1])[0].tolist())  # the near-circle stack has all three


def test_closed_form_results_do_not_depend_on_chunk():
    a = sweep("dirac", "wgan", "alt", "eta=1e-3:2:50:log,r1.gamma=0:20:50", regs=["r1"], chunk=7)
    b = sweep("dirac", "wgan", "alt", "eta=1e-3:2:50:log,r1.gamma=0:20:50", regs=["r1"])
    assert np.array_equal(a.codes, b.codes) and np.array_equal(a.spectral_radius, b.spectral_radius)
