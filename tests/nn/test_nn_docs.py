"""docs/nn.md's example runs as written."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "nn.md"


def test_docs_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1
    ns: dict = {}
    exec(compile(blocks[0], str(DOC), "exec"), ns)  # noqa: S102 - our own documentation
    res = ns["res"]
    assert res.k == 6 and res.optimizer["kind"] == "adam" and res.rule.startswith("alt:n_d=1")
    assert res.outcome in ("all |lambda| <= 1 + tol", "some |lambda| > 1 + tol", "inconclusive")
