"""The run record's JSON schema (``schema.json`` next to this file) and its validation.

A record is what :func:`gpu_validation.train.run_one` returns and what ``run`` writes to
``RUNS/records/<id>.json``. Validation uses :mod:`jsonschema` (Draft 2020-12).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schema.json")


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def errors(record: dict) -> list[str]:
    """All schema violations of ``record`` as readable lines (empty list: valid)."""
    import jsonschema

    v = jsonschema.Draft202012Validator(load_schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in v.iter_errors(record)]


def validate(record: dict) -> None:
    """Raise ``ValueError`` listing every violation if ``record`` does not match the schema.

    (A record that does not validate is a bug in the harness, not bad user input.)
    """
    errs = errors(record)
    if errs:
        raise ValueError("run record does not match gpu_validation/schema.json:\n  " + "\n  ".join(errs[:20]))


__all__ = ["validate", "errors", "load_schema", "SCHEMA_PATH"]
