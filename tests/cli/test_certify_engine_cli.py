"""``stabcheck certify`` driven by the engine (game + method, game + oracle)."""

import json

from stabcheck.cli import main


def _run(capsys, *argv):
    code = main(["certify", *argv, "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code in (0, 1, 3) else out.err)


def test_dirac_oracle_wgan_nonstrict_piecewise_certificate(capsys):
    code, r = _run(capsys, "--system", "dirac", "--loss", "wgan", "--oracle", "dirac", "--eta", "0.1", "--nonstrict")
    assert code == 0 and r["status"] == "certified" and r["exact_check"] is True


def test_dirac_oracle_wgan_no_strict_certificate(capsys):
    code, r = _run(capsys, "--system", "dirac", "--loss", "wgan", "--oracle", "dirac", "--eta", "0.1")
    assert code == 1 and r["status"] == "not certified"


def test_r1_sim_certified_and_wgan_sim_not(capsys):
    code, r = _run(capsys, "--system", "dirac", "--loss", "bce", "--reg", "r1:gamma=1", "--method", "sim", "--eta", "0.1")
    assert code == 0 and r["status"] == "certified" and r["exact_check"] is True
    code, r = _run(capsys, "--system", "dirac", "--loss", "wgan", "--method", "sim", "--eta", "0.1")
    assert code == 1 and r["status"] == "not certified"


def test_explicit_other_convention_needs_convert(capsys):
    code = main(["certify", "--system", "dirac", "--loss", "wgan", "--oracle", "dirac", "--eta", "0.1",
                 "--convention", "mescheder"])
    err = capsys.readouterr().err
    assert code == 2 and "convention" in err
