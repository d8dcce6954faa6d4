"""Training methods = an optional field transform composed with an update rule.

Method specs (``--method``, repeatable):

* rules: ``sim``, ``alt[:n_d=,n_g=,first=]``, ``eg``, ``ogda``;
* field transforms (default rule ``sim``): ``jare[:gamma=]``, ``conopt[:gamma=]``,
  ``genreg[:gamma=]``, ``discreg[:gamma=]``; add ``rule=alt|eg|ogda`` to compose with
  another rule, and that rule's parameters as further keys (e.g. ``jare:gamma=10,rule=eg``,
  ``conopt:gamma=1,rule=alt,n_d=1,n_g=1,first=generator``). Default ``gamma = 1``;
* every rule takes the optimizer keys of :mod:`stabcheck.optimizers` (``ratio=``,
  ``momentum=``, ``opt=``, ``beta1=``, ``precond=``, ``t=``): ``alt:momentum=-0.5``,
  ``sim:ratio=4``, ``jare:gamma=10,opt=adam,beta1=0.5,precond=100``;
* a user rule from an import path: ``pkg.mod:MyRule[:k=v,...]`` (a subclass of
  :class:`stabcheck.rules.UpdateRule`; see docs/extending.md).

A spec printed by :attr:`Method.spec` parses back to the same method.

In Python, compose freely: ``Method(rule=Alt(n_d=5, momentum=-0.3), transform=FieldTransform("jare", 10))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from stabcheck.errors import BadInput
from stabcheck.fields import TRANSFORM_BLOCKS, Field, FieldTransform, game_field, make_transform
from stabcheck.rules import RULES, UpdateRule, is_import_path, make_rule
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
            return dict(self.rule.all_params)
        p = {"gamma": self.transform.gamma}
        if self.rule.name != "sim":
            p["rule"] = self.rule.name
        p.update(self.rule.all_params)
        return p

    @property
    def optimizer(self):
        """The rule's :class:`stabcheck.optimizers.Optimizer`."""
        return self.rule.optimizer

    @property
    def spec(self) -> str:
        """A spec that :func:`make_method` parses back to this method."""
        if self.transform is None:
            return self.rule.spec
        return format_spec(self.name, self.params)

    def field(self, game) -> Field:
        f = game_field(game)
        return self.transform(f) if self.transform else f


def make_method(text: str) -> Method:
    """Parse a method spec (see module docstring)."""
    if not isinstance(text, str):
        raise BadInput(f"a method spec must be a string, got {text!r}")
    if is_import_path(text, TRANSFORM_BLOCKS):
        return Method(rule=make_rule(text))
    spec = parse_spec(text, what="method")
    if spec.name in RULES:
        return Method(rule=make_rule(text))
    if spec.name in TRANSFORM_BLOCKS:
        params = dict(spec.params)
        rule = params.pop("rule", "sim")
        if not isinstance(rule, str) or rule not in RULES:
            raise BadInput(f"method {text!r}: rule must be one of {', '.join(RULES)}")
        tparams = {k: params.pop(k) for k in list(params) if k == "gamma"}
        transform = make_transform(format_spec(spec.name, tparams))
        return Method(rule=make_rule(format_spec(rule, params)), transform=transform)
    raise BadInput(f"unknown method {spec.name!r}; valid: {', '.join(list(RULES) + list(TRANSFORM_BLOCKS))}")
