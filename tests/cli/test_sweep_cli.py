"""``stabcheck sweep`` on the command line."""

import csv
import json

import numpy as np
import pytest

from stabcheck.cli import main


def test_sweep_summary_and_files(tmp_path, capsys):
    out, csv_path, js = tmp_path / "map.png", tmp_path / "map.csv", tmp_path / "map.json"
    rc = main(["sweep", "--system", "dirac", "--loss", "wgan", "--method", "jare",
               "--grid", "eta=1e-3:2:12:log,gamma=0:20:9", "--out", str(out), "--csv", str(csv_path),
               "--json-out", str(js)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "grid: eta [0.001, 2] (12, log) x jare.gamma [0, 20] (9) = 108 points" in text
    assert "check a point: stabcheck analyze --system dirac --loss wgan --method jare:gamma=" in text
    assert out.read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 108 and set(r["verdict"] for r in rows) <= {"converges", "neutral", "diverges"}
    j = json.loads(js.read_text())
    assert j["system"]["name"] == "dirac" and j["method"] == "jare" and j["grid"]["shape"] == [12, 9]
    # the CSV and the JSON carry the same numbers
    rho = np.array(j["spectral_radius"]).reshape(-1)
    np.testing.assert_array_equal(rho, [float(r["spectral_radius"]) for r in rows])


def test_sweep_json_stdout_with_fixed_eta_and_regularizer(capsys):
    rc = main(["sweep", "--system", "dirac", "--loss", "bce", "--reg", "noise", "--eta", "0.1",
               "--grid", "sigma=0:1:3", "--json"])
    assert rc == 0
    j = json.loads(capsys.readouterr().out)
    assert j["eta"] == 0.1 and j["regularizers"] == ["noise"]
    # BCE Dirac-GAN: without noise Sim-GDA diverges (eigenvalues +-i/2); with noise it converges
    assert j["verdict"] == ["diverges", "converges", "converges"]


def test_sweep_gaussian_arguments(capsys):
    rc = main(["sweep", "--system", "gaussian", "--loss", "bce", "--mean", "0,4", "--method", "sim",
               "--grid", "eta=0.01:0.3:3:log,sigma2=0.04:1:2"])
    assert rc == 0
    assert "gaussian.sigma2" in capsys.readouterr().out


@pytest.mark.parametrize("argv, fragment", [
    (["sweep", "--grid", "eta=0.1:1:3"], "needs --loss"),
    (["sweep", "--loss", "wgan", "--grid", "eta=0.1:1"], "malformed grid axis"),
    (["sweep", "--loss", "wgan", "--grid", "gamma=0:1:2", "--eta", "0.1"], "unknown grid parameter 'gamma'"),
    (["sweep", "--loss", "wgan", "--method", "jare", "--grid", "gamma=0:1:2"], "give --eta"),
    (["sweep", "--loss", "wgan", "--grid", "eta=0.1:1:3", "--eta", "0.1"], "both given"),
    (["sweep", "--loss", "wgan", "--grid", "eta=0.1:1:3", "--sigma2", "1"], "gaussian only"),
    (["sweep", "--loss", "wgan", "--grid", "eta=0.1:1:3", "--executor", "serial", "--workers", "2"],
     "dask only"),
    (["sweep", "--loss", "wgan", "--grid", "eta=0.1:1:3", "--chunk", "0"], "chunk"),
    (["sweep", "--loss", "wgan", "--grid", "eta=0.1:1:3", "--out", "/nonexistent/dir/m.png"], "does not exist"),
])
def test_sweep_bad_input_exit_2(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("stabcheck: error: ") and fragment in err
    assert len(err.strip().splitlines()) == 1
