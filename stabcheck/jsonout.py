"""One JSON encoding for every ``--json`` output and every ``to_json()`` of the Python API.

* Every document carries ``schema_version`` (:data:`SCHEMA_VERSION`, one number for the whole
  package, bumped on an incompatible change) and ``kind`` (the command: ``analyze``,
  ``simulate``, ``certify``, ``check-oracle``, ``claims``, ``sweep``); each kind has a committed
  JSON schema ``stabcheck/schemas/<kind>.json`` (:func:`validate`).
* Non-finite numbers are the strings ``"inf"``, ``"-inf"`` and ``"nan"`` (JSON has no such
  numbers); ``null`` only means "no value".
* Exact numbers (sympy, fractions) are their strings, e.g. ``"1/2"``; an exact quantity
  reported as a float ``x`` carries its exact form in ``x_exact`` alongside.
* Wall-clock time is ``wall_s`` (seconds) wherever it appears.

Imports only the standard library (cheap for ``stabcheck --help``).
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Optional

__all__ = ["SCHEMA_VERSION", "encode_json", "dumps", "versioned", "exact_string", "load_schema", "validate"]

#: version of every JSON document stabcheck writes (bumped on an incompatible change)
#: 2: ``schema_version``/``kind`` on every command's output, ``wall_s`` as the one timing key,
#: the verdict ``unbounded`` (a Jordan block on the unit circle), non-finite numbers as strings
SCHEMA_VERSION = 2


def encode_json(obj: Any) -> Any:
    """``obj`` as JSON-ready Python: non-finite floats become ``"inf"``, ``"-inf"``, ``"nan"``.

    numpy arrays and scalars become lists and numbers, complex numbers ``[re, im]``, exact
    numbers (fractions, sympy) their strings, objects with ``to_dict()`` that dict.

    >>> encode_json({"rho": float("inf"), "x": [1.0, float("nan")], "n": -float("inf")})
    {'rho': 'inf', 'x': [1.0, 'nan'], 'n': '-inf'}
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, complex):
        return [encode_json(obj.real), encode_json(obj.imag)]
    if isinstance(obj, Mapping):
        return {str(k): encode_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode_json(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return encode_json(obj.to_dict())
    mod = type(obj).__module__
    if mod == "numpy":
        return encode_json(obj.tolist())  # ndarray or numpy scalar
    if mod == "fractions":
        return str(obj)
    if mod.startswith("sympy"):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return [encode_json(v) for v in sorted(obj, key=str)]
    try:
        return encode_json(float(obj))
    except (TypeError, ValueError):
        return str(obj)


def versioned(kind: str, d: Mapping) -> dict:
    """``d`` with ``schema_version`` and ``kind`` first."""
    out: dict = {"schema_version": SCHEMA_VERSION, "kind": kind}
    out.update({k: v for k, v in d.items() if k not in ("schema_version", "kind")})
    return out


def dumps(obj: Any, indent: Optional[int] = 2, kind: Optional[str] = None) -> str:
    """The JSON text of ``obj`` (:func:`encode_json`; versioned when ``kind`` is given)."""
    if kind is not None and isinstance(obj, Mapping):
        obj = versioned(kind, obj)
    return json.dumps(encode_json(obj), indent=indent, allow_nan=False)


def exact_string(x: Any) -> Optional[str]:
    """An exact number's string (``"1/2"``, ``"sqrt(2)/3"``), None when ``x`` is None."""
    if x is None:
        return None
    return str(x)


def load_schema(kind: str) -> dict:
    """The committed JSON schema of a command's ``--json`` output."""
    from importlib import resources

    text = resources.files("stabcheck").joinpath("schemas", f"{kind}.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate(doc: Any, kind: Optional[str] = None) -> None:
    """Validate a decoded document against its schema (``kind`` defaults to ``doc["kind"]``);
    raises ``jsonschema.ValidationError``."""
    import jsonschema

    schema = load_schema(kind or doc["kind"])
    jsonschema.validate(doc, schema)
