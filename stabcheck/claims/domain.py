"""What a claim quantifies over, and how a universal statement is decided on it.

A :class:`Domain` names the variables a statement quantifies over (each an interval), the
hypotheses the paper states (with where it states them), and the constants the check fixes.
A statement over a domain is decided

* symbolically where sympy can (:func:`prove_negative` / :func:`prove_positive` on slack
  variables: a proof, reported as ``evidence_kind: proof``), otherwise
* by :func:`search`: a seeded Hypothesis search over the domain that shrinks a failure to a
  minimal counterexample, after the domain's edge cases (``evidence_kind: search``, with the
  number of draws).

An input outside the domain is reported as out of domain
(:func:`~stabcheck.claims.verdicts.out_of_domain`), never as a refutation.

The CI profile draws few inputs; ``stabcheck claims --thorough`` (:func:`set_profile`) draws
more (the environment variable ``STABCHECK_CLAIMS_PROFILE`` carries it to worker processes).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Optional, Sequence

import sympy as sp

PROFILES = ("ci", "thorough")
_ENV = "STABCHECK_CLAIMS_PROFILE"


def set_profile(name: str) -> None:
    from stabcheck.errors import BadInput

    if name not in PROFILES:
        raise BadInput(f"unknown claims profile {name!r}; valid: {', '.join(PROFILES)}")
    os.environ[_ENV] = name


def profile() -> str:
    p = os.environ.get(_ENV, "ci")
    return p if p in PROFILES else "ci"


def draws(ci: int, thorough: Optional[int] = None) -> int:
    """The number of draws for the current profile (thorough: 10x the CI number by default)."""
    return ci if profile() == "ci" else (thorough if thorough is not None else 10 * ci)


@dataclass(frozen=True)
class Var:
    """A quantified variable ranging over an interval (``hi = None``: unbounded above)."""

    name: str
    lo: float
    hi: Optional[float] = None
    lo_open: bool = True
    hi_open: bool = True
    integer: bool = False

    def contains(self, x) -> bool:
        x = float(x)
        if x < self.lo or (self.lo_open and x == self.lo):
            return False
        if self.hi is not None and (x > self.hi or (self.hi_open and x == self.hi)):
            return False
        return not self.integer or float(x).is_integer()

    def text(self) -> str:
        lb = "(" if self.lo_open else "["
        rb = ")" if self.hi_open or self.hi is None else "]"
        hi = "inf" if self.hi is None else _num(self.hi)
        return f"{self.name} in {lb}{_num(self.lo)}, {hi}{rb}" + (" (integer)" if self.integer else "")


def _num(x) -> str:
    if isinstance(x, Fraction):
        return str(x)
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Domain:
    """Variables (quantified), hypotheses (text, where the paper states them), constants."""

    variables: tuple = ()
    hypotheses: tuple = ()           # ((text, where), ...)
    constants: dict = field(default_factory=dict)
    note: str = ""

    def to_json(self) -> dict:
        return {"variables": [v.text() for v in self.variables],
                "hypotheses": [{"statement": h, "where": w} for h, w in self.hypotheses],
                "constants": {k: (v if isinstance(v, (int, float, str, list, type(None))) else str(v))
                              for k, v in self.constants.items()},
                **({"note": self.note} if self.note else {})}

    def var(self, name: str) -> Var:
        return next(v for v in self.variables if v.name == name)

    def violated(self, values: dict) -> Optional[str]:
        """The first variable whose value lies outside its range (text), or None."""
        for v in self.variables:
            if v.name in values and not v.contains(values[v.name]):
                return f"{v.name} = {_num(values[v.name])} violates {v.text()}"
        return None

    def widened(self, **ranges) -> "Domain":
        """A copy with some variables' ranges replaced (``name=Var(...)``): mutants use it."""
        vs = tuple(ranges.get(v.name, v) for v in self.variables)
        return Domain(vs, self.hypotheses, dict(self.constants), self.note)


# ----------------------------------------------------------------------------- proofs

def _sign_proved(expr: sp.Expr, sign: int) -> bool:
    e = sp.factor(sp.expand(sign * expr))
    if e.is_positive:
        return True
    e2 = sp.expand(sign * expr)
    return bool(e2.is_positive)


def prove_positive(expr: sp.Expr) -> bool:
    """sympy decides ``expr > 0`` from its symbols' assumptions (positive / nonnegative
    slack variables): True only when proved."""
    return _sign_proved(expr, 1)


def prove_negative(expr: sp.Expr) -> bool:
    return _sign_proved(expr, -1)


def sign_of(expr: sp.Expr, substitutions: Sequence[dict] = ()) -> tuple:
    """The sign of ``expr`` on a domain, proved factor by factor: each factor of
    ``sp.factor_list(expr)`` is decided from its symbols' assumptions, else after one of
    ``substitutions`` (each maps a variable to a parametrization of the domain by positive or
    nonnegative slack symbols). Returns ``(sign, steps)``: ``sign`` in {+1, -1} when proved,
    ``None`` when some factor is undecided; ``steps`` says how each factor was decided."""
    num, den = sp.fraction(sp.factor(sp.together(expr)))
    cn, fn = sp.factor_list(num)
    cd, fd = sp.factor_list(den)
    c = cn / cd
    factors = list(fn) + [(f, m) for f, m in fd]   # a denominator factor has the same sign effect
    sign = 1 if c > 0 else -1 if c < 0 else 0
    if sign == 0:
        return 0, ["the expression is identically 0"]
    steps = []
    for f, mult in factors:
        s = 1 if prove_positive(f) else -1 if prove_negative(f) else None
        how = "its symbols' signs"
        if s is None:
            for sub in substitutions:
                g = sp.expand(f.xreplace(sub))
                s = 1 if prove_positive(g) else -1 if prove_negative(g) else None
                if s is not None:
                    how = "the domain's parametrization " + ", ".join(f"{k} = {v}" for k, v in sub.items()) + f" -> {sp.factor(g)}"
                    break
        if s is None:
            return None, steps + [f"factor {f} undecided"]
        steps.append(f"{f} {'> 0' if s > 0 else '< 0'} ({how})")
        sign *= s if mult % 2 else 1
    return sign, steps


# ----------------------------------------------------------------------------- search

def _strategy(v: Var, cap: float):
    from hypothesis import strategies as st

    hi = v.hi if v.hi is not None else cap
    if v.integer:
        lo = math.floor(v.lo) + (1 if v.lo_open and float(v.lo).is_integer() else 0)
        return st.integers(min_value=lo, max_value=math.ceil(hi) - (1 if v.hi_open and v.hi is not None else 0))
    # fractions with small denominators shrink toward simple rationals (and are exact)
    lo = Fraction(v.lo).limit_denominator(10 ** 6)
    hi = Fraction(hi).limit_denominator(10 ** 6)
    return st.fractions(min_value=lo, max_value=hi, max_denominator=1000).filter(v.contains)


def edge_points(domain: Domain, cap: float = 100.0, eps: Fraction = Fraction(1, 1000)) -> list:
    """Edge cases: every combination of each variable's ends (just inside when open) and one
    interior point."""
    import itertools

    cols = []
    for v in domain.variables:
        lo = Fraction(v.lo).limit_denominator(10 ** 6) + (eps if v.lo_open else 0)
        hi = Fraction(v.hi if v.hi is not None else cap).limit_denominator(10 ** 6) - (eps if (v.hi_open and v.hi is not None) else 0)
        mid = (lo + hi) / 2
        vals = [lo, mid, hi]
        if v.integer:
            vals = sorted({math.ceil(lo), math.floor(hi)})
        cols.append(vals)
    return [dict(zip([v.name for v in domain.variables], combo)) for combo in itertools.product(*cols)]


@dataclass
class SearchResult:
    counterexample: Optional[dict]   # a minimal failing point (after shrinking), or None
    draws: int                       # inputs evaluated (edge cases + Hypothesis draws)
    edge_cases: int


def search(fails: Callable[[dict], bool], domain: Domain, *, n: int, cap: float = 100.0) -> SearchResult:
    """Look for a point of ``domain`` where ``fails(point)`` is True: the domain's edge cases
    first, then a seeded Hypothesis search of ``n`` draws that shrinks a failure to a minimal
    counterexample. ``point`` maps variable names to exact ``Fraction`` values."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    count = [0]

    def f(pt):
        count[0] += 1
        return bool(fails(pt))

    edges = edge_points(domain, cap)
    found = next((pt for pt in edges if domain.violated(pt) is None and f(pt)), None)
    n_edge = count[0]
    strat = st.fixed_dictionaries({v.name: _strategy(v, cap) for v in domain.variables})
    cfg = settings(max_examples=n, derandomize=True, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck),
                   phases=[Phase.explicit, Phase.generate, Phase.shrink])
    if found is None:
        try:  # derandomize=True: the draws are fixed (seeded from the search itself)
            found = find(strat, f, settings=cfg)
        except NoSuchExample:
            found = None
    return SearchResult(found, count[0], n_edge)


def point_text(pt: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in pt.items())
