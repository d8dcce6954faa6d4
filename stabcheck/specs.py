"""Parsing of ``name[:key=value,...]`` specifications (methods, regularizers, oracles).

Examples
--------
>>> parse_spec("alt:n_d=5,first=generator")
Spec(name='alt', params={'n_d': 5, 'first': 'generator'})
>>> parse_spec("jare:gamma=0.5").params["gamma"]
0.5
>>> format_spec("alt", {"n_d": 5})
'alt:n_d=5'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from stabcheck.errors import BadInput

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-\.]*$")


@dataclass(frozen=True)
class Spec:
    """A parsed specification: a name and its keyword parameters."""

    name: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return format_spec(self.name, self.params)


def parse_value(text: str) -> Any:
    """Parse one parameter value: int, float, bool, or a bare string."""
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        v = float(t)
    except ValueError:
        return t
    return v


def parse_spec(text: str, *, what: str = "spec") -> Spec:
    """Parse ``name[:key=value,...]``; raise :class:`BadInput` on a malformed spec.

    A user oracle's import path ``pkg.mod:Name[:k=v,...]`` is handled by
    :func:`parse_import_spec`, not here.
    """
    if not isinstance(text, str) or not text.strip():
        raise BadInput(f"empty {what}; expected name[:key=value,...]")
    name, _, rest = text.strip().partition(":")
    if not _NAME.match(name):
        raise BadInput(f"malformed {what} {text!r}: bad name {name!r}; expected name[:key=value,...]")
    return Spec(name, _parse_params(rest, text, what))


def _parse_params(rest: str, text: str, what: str) -> dict:
    params: dict = {}
    if not rest.strip():
        return params
    for item in rest.split(","):
        key, eq, val = item.partition("=")
        key = key.strip()
        if not eq or not key or not val.strip() or not _NAME.match(key):
            raise BadInput(f"malformed {what} {text!r}: expected key=value pairs separated by commas, got {item!r}")
        if key in params:
            raise BadInput(f"malformed {what} {text!r}: parameter {key!r} given twice")
        value = parse_value(val)
        if isinstance(value, float) and not math.isfinite(value):
            raise BadInput(f"{what} {text!r}: parameter {key}={val} is not finite")
        params[key] = value
    return params


def parse_import_spec(text: str, *, what: str = "oracle") -> tuple[str, str, dict]:
    """Parse ``pkg.mod:Name[:key=value,...]`` into (module, attribute, params)."""
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise BadInput(f"malformed {what} import path {text!r}; expected pkg.module:Name[:key=value,...]")
    params = _parse_params(parts[2], text, what) if len(parts) == 3 else {}
    return parts[0], parts[1], params


def format_spec(name: str, params: Mapping[str, Any]) -> str:
    """Inverse of :func:`parse_spec` (parameters in the given order)."""
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={v}" for k, v in params.items())


def check_params(spec: Spec, allowed: Mapping[str, type], *, what: str) -> dict:
    """Validate a spec's parameters against ``allowed`` (name -> type); return them coerced."""
    out = {}
    for k, v in spec.params.items():
        if k not in allowed:
            valid = ", ".join(allowed) or "none"
            raise BadInput(f"{what} {spec.name!r} has no parameter {k!r}; valid parameters: {valid}")
        typ = allowed[k]
        if typ is float and isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = float(v)
        elif typ is int and isinstance(v, int) and not isinstance(v, bool):
            out[k] = v
        elif typ is str and isinstance(v, str):
            out[k] = v
        elif typ is bool and isinstance(v, bool):
            out[k] = v
        elif typ is object:  # validated by the receiver (e.g. an optimizer's precond)
            out[k] = v
        else:
            raise BadInput(f"{what} {spec.name!r}: parameter {k}={v!r} must be {typ.__name__}")
    return out
