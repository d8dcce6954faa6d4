"""The wgan-qc Dirac-GAN (stabcheck/games/wganqc.py), against the hand derivation."""

import pytest
import sympy as sp

from stabcheck.errors import BadInput
from stabcheck.games import make_game


def test_field_and_jacobian_match_the_derivation():
    g = make_game("wgan-qc", None, {"lam": 2})
    th, ps = g.theta[0], g.psi[0]
    # v = (psi, -lam (psi + theta) - theta^2 (psi + theta / 2)) by hand
    expected = [ps, -2 * (ps + th) - th ** 2 * (ps + th / 2)]
    assert all(sp.expand(a - b) == 0 for a, b in zip(g.field_expr, expected))
    assert g.field_jacobian_exact() == sp.Matrix([[0, 1], [-2, -2]])
    assert g.convention == "thesis"
    flipped = make_game("wgan-qc", None, {"lam": 2}, convention="mescheder")
    assert flipped.field_jacobian_exact() == sp.Matrix([[0, -1], [2, -2]])


def test_norm_form_and_bad_parameters():
    g = make_game("wgan-qc", None, {"gr": "norm"})
    assert any(e.has(sp.Abs) for e in g.field_expr)
    with pytest.raises(BadInput, match="gr"):
        make_game("wgan-qc", None, {"gr": "matrix"})
    with pytest.raises(BadInput, match="valid: lam, gr"):
        make_game("wgan-qc", None, {"mu": 1})
    with pytest.raises(BadInput, match="takes no --loss"):
        make_game("wgan-qc", "bce")


def test_cli_analyze_wgan_qc(capsys):
    from stabcheck.cli import main

    assert main(["analyze", "--system", "wgan-qc", "--param", "lam=1", "--eta", "0.1", "--method", "sim"]) == 0
    out = capsys.readouterr().out
    assert "converges (exact)" in out and "Hurwitz (continuous time converges): yes" in out
