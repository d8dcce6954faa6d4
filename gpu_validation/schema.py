"""The run record's JSON schema (``schema.json`` next to this file), its validation, and the
upgrade of older records.

A record is what :func:`gpu_validation.train.make_record` builds and what ``run`` writes to
``RUNS/records/<id>.json`` (schema version 2; the run id and the ``trace`` block are
described in :mod:`gpu_validation.train`).

Validation uses :mod:`jsonschema` (Draft 2020-12) **when it is installed** (it is in the
``test`` extra, not a runtime dependency): a plain install (``pip install -e .``) writes
records without validating them; the test suite validates every record it writes.
:func:`structural_errors` is a small check without jsonschema that the report uses to refuse
truncated or config-less records with one line.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Optional

SCHEMA_PATH = Path(__file__).with_name("schema.json")
SCHEMA_VERSION = 2


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def have_jsonschema() -> bool:
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        return False
    return True


def errors(record: dict) -> list[str]:
    """All schema violations of ``record`` as readable lines (empty list: valid).

    Raises ImportError (with the install hint) when jsonschema is not installed."""
    try:
        import jsonschema
    except ImportError:
        raise ImportError("validating run records needs jsonschema: pip install 'jsonschema>=4.18' "
                          "(or the test extra: pip install -e '.[test]')") from None
    v = jsonschema.Draft202012Validator(load_schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in v.iter_errors(record)]


def validate(record: dict) -> bool:
    """Raise ``ValueError`` listing every violation if ``record`` does not match the schema;
    return whether it was validated (False: jsonschema is not installed, nothing checked).

    (A record that does not validate is a bug in the harness, not bad user input.)
    """
    if not have_jsonschema():
        return False
    errs = errors(record)
    if errs:
        raise ValueError("run record does not match gpu_validation/schema.json:\n  " + "\n  ".join(errs[:20]))
    return True


REQUIRED_CONFIG = ("dataset", "gan", "method", "seed", "profile", "iterations", "device")


def structural_errors(record) -> Optional[str]:
    """The first reason the report cannot use ``record`` (None: usable). Needs no jsonschema."""
    if not isinstance(record, dict):
        return "not a JSON object"
    cfg = record.get("config")
    if not isinstance(cfg, dict):
        return "no config"
    miss = [k for k in REQUIRED_CONFIG if k not in cfg]
    if miss:
        return f"config lacks {', '.join(miss)}"
    for k in ("outcome", "metric", "choices", "resolved", "environment"):
        if k not in record:
            return f"no {k}"
    if not isinstance(record["outcome"], dict) or "diverged" not in record["outcome"]:
        return "outcome lacks diverged"
    return None


def upgrade(record: dict) -> dict:
    """A schema-1 record (before run ids named profile, iterations and device) -> version 2,
    in memory: the new id, ``environment.device_kind``, ``trace: null`` (schema 1 kept
    window counts only). A version-2 record is returned unchanged."""
    if record.get("schema_version") == SCHEMA_VERSION:
        return record
    from gpu_validation.train import device_kind, run_id

    rec = dict(record)
    c = rec["config"]
    env = dict(rec.get("environment", {}))
    dev = env.get("device", c.get("device", "cpu"))
    env.setdefault("device_kind", device_kind(dev))
    rec["environment"] = env
    rec["id"] = run_id(c["dataset"], c["gan"], c["method"], c["seed"], c["profile"], c["iterations"], dev)
    rec.setdefault("trace", None)
    rec.setdefault("trace_note", f"upgraded from schema version {record.get('schema_version')}: "
                                 "no per-iteration decisions recorded")
    rec["upgraded_from"] = record.get("schema_version")
    rec["schema_version"] = SCHEMA_VERSION
    return rec


__all__ = ["validate", "errors", "load_schema", "have_jsonschema", "structural_errors", "upgrade",
           "SCHEMA_PATH", "SCHEMA_VERSION"]
