"""Training methods = an optional field transform composed with an update rule.

Method specs (``--method``, repeatable):

* rules: ``sim``, ``alt[:n_d=,n_g=,first=]``, ``eg``, ``ogda``;
* field transforms (default rule ``sim``): ``jare[:gamma=]``, ``conopt[:gamma=]``,
  ``genreg[:gamma=]``, ``discreg[:gamma=]``; add ``rule=alt|eg|ogda`` to compose with
  another rule (e.g. ``jare:gamma=10,rule=eg``). Default ``gamma = 1``.

In Python, compose freely: ``Method(rule=Alt(n_d=5), transform=FieldTransform("jare", 10))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from stabcheck.errors import BadInput
from stabcheck.fields import TRANSFORM_BLOCKS, Field, FieldTransform, game_field, make_transform
from stabcheck.rules import RULES, UpdateRule, make_rule
from stabcheck.specs import format_spec, parse_spec

DEFAULT_METHODS = ("sim", "alt", "eg", "ogda", "jare", "conopt", "genreg", "discreg")


@dataclass
class Method:
    """A field transform (or none) followed by an update rule."""

    rule: UpdateRule
    transform: Optional[FieldTransform] = None

    @property
    def name(self) -> str:
        return self.transform.name if self.transform else self.rule.name

    @property
    def params(self) -> dict:
        if self.transform is None:
            return dict(self.rule.params)
        p = {"gamma": self.transform.gamma}
        if self.rule.name != "sim":
            p["rule"] = self.rule.spec
        return p

    @property
    def spec(self) -> str:
        return format_spec(self.name, self.params)

    def field(self, game) -> Field:
        f = game_field(game)
        return self.transform(f) if self.transform else f


def make_method(text: str) -> Method:
    """Parse a method spec (see module docstring)."""
    spec = parse_spec(text, what="method")
    if spec.name in RULES:
        return Method(rule=make_rule(text))
    if spec.name in TRANSFORM_BLOCKS:
        params = dict(spec.params)
        rule = params.pop("rule", "sim")
        if not isinstance(rule, str) or rule not in RULES:
            raise BadInput(f"method {text!r}: rule must be one of {', '.join(RULES)}")
        transform = make_transform(format_spec(spec.name, params))
        return Method(rule=make_rule(rule), transform=transform)
    raise BadInput(f"unknown method {spec.name!r}; valid: {', '.join(list(RULES) + list(TRANSFORM_BLOCKS))}")
