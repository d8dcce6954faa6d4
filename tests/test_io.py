import pytest

from stabcheck.errors import BadInput
from stabcheck.io import atomic_path, write_json_atomic


def test_atomic_write_leaves_old_file_on_error(tmp_path):
    p = tmp_path / "out.json"
    write_json_atomic(p, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert p.read_text().strip().startswith("{") and '"a": 1' in p.read_text()
    assert [x.name for x in tmp_path.iterdir()] == ["out.json"]


def test_missing_directory(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        write_json_atomic(tmp_path / "nope" / "x.json", {})
