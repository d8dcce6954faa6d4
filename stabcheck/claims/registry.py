"""The claims registry: statements and their check functions (never expected verdicts).

Register a claim with the :func:`claim` decorator on a zero-argument check function that
returns a :class:`~stabcheck.claims.verdicts.Result`::

    from stabcheck.claims import claim, holds, refuted

    @claim(id="mypaper/thm1", source="Me et al. (2025)", location="Theorem 1",
           statement="Sim-GDA on the WGAN Dirac-GAN diverges for every step size.")
    def _check():
        ...
        return holds("spectral radius sqrt(1 + eta^2) > 1 for eta in ...", kind="exact arithmetic")

Claims from other packages are found in three ways (see docs/claims-howto.md):

* importing the module that defines them (``stabcheck claims --plugin mypkg.claims``);
* the entry-point group ``stabcheck.claims`` (``[project.entry-points."stabcheck.claims"]
  mypaper = "mypkg.claims"``): every entry point is imported by :func:`load_entry_points`;
* calling :func:`register` with a :class:`Claim`.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from stabcheck.errors import BadInput

ENTRY_POINT_GROUP = "stabcheck.claims"
#: the built-in claim modules, one per paper, in report order
BUILTIN_MODULES = ("stabcheck.claims.mescheder", "stabcheck.claims.nagarajan_kolter",
                   "stabcheck.claims.nie_patel", "stabcheck.claims.deoliveira")

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._.-]*$")


@dataclass(frozen=True)
class Claim:
    """A published statement and the check that decides it.

    Attributes
    ----------
    id : str
        ``paper/label``, lower case (e.g. ``nie-patel/thm3``).
    source : str
        The paper (authors, year, title).
    location : str
        Where in the paper (theorem, equation, slide).
    statement : str
        One or two sentences in the paper's own conventions.
    convention : str
        The translation into stabcheck's conventions, when it differs (may be empty).
    check : callable
        ``check() -> Result``; deterministic (fixed seeds).
    module : str
        The module that registered it (plugins are re-imported in worker processes).
    domain : Domain or None
        What the statement quantifies over, the paper's hypotheses, the fixed constants
        (:class:`~stabcheck.claims.domain.Domain`); reported with every result.
    mutants : tuple of Mutant
        Deliberately false variants of the printed statement, each run through the same check
        (``stabcheck claims --mutants``): a check that cannot catch them proves nothing.
    """

    id: str
    source: str
    location: str
    statement: str
    check: Callable = field(repr=False, compare=False)
    convention: str = ""
    module: str = ""
    domain: object = field(default=None, compare=False)
    mutants: tuple = field(default=(), compare=False)

    def to_json(self) -> dict:
        return {"id": self.id, "source": self.source, "location": self.location,
                "statement": self.statement, "convention": self.convention or None}

    def domain_json(self):
        return None if self.domain is None else self.domain.to_json()

    def mutant(self, name: str) -> "Mutant":
        return next(m for m in self.mutants if m.name == name)


@dataclass(frozen=True)
class Mutant:
    """A deliberately false variant of a claim's printed statement (``what``), decided by the
    claim's own check (``check() -> Result``). It is caught when the check does not say
    ``holds`` (nor leaves it undecided): ``refuted`` or ``holds with correction``."""

    name: str
    what: str
    check: Callable = field(repr=False, compare=False)


def _mutants(spec) -> tuple:
    out = []
    for name, val in (spec or {}).items():
        if isinstance(val, Mutant):
            out.append(val)
            continue
        what, fn = val
        if not callable(fn):
            raise BadInput(f"mutant {name!r}: check must be callable")
        out.append(Mutant(name, what, fn))
    return tuple(out)


_REGISTRY: dict[str, Claim] = {}


def register(c: Claim, *, replace: bool = False) -> Claim:
    """Add a claim; re-registering the same id from the same module replaces it."""
    if not isinstance(c, Claim):
        raise BadInput(f"register() needs a stabcheck.claims.Claim, got {type(c).__name__}")
    if not _ID.match(c.id):
        raise BadInput(f"bad claim id {c.id!r}: expected 'paper/label' in lower case (e.g. 'nie-patel/thm3')")
    for name in ("source", "location", "statement"):
        if not isinstance(getattr(c, name), str) or not getattr(c, name).strip():
            raise BadInput(f"claim {c.id!r}: {name} must be a non-empty string")
    if not callable(c.check):
        raise BadInput(f"claim {c.id!r}: check must be callable")
    old = _REGISTRY.get(c.id)
    if old is not None and not replace and old.module != c.module:
        raise BadInput(f"claim id {c.id!r} is registered twice (by {old.module} and {c.module})")
    _REGISTRY[c.id] = c
    return c


def claim(*, id: str, source: str, location: str, statement: str, convention: str = "", domain=None,
          mutants: Optional[dict] = None) -> Callable:
    """Decorator: register the decorated zero-argument check function as a claim.

    ``domain`` (a :class:`~stabcheck.claims.domain.Domain`) states what the statement
    quantifies over; ``mutants`` maps a name to ``(what, check)``: a deliberately false
    variant of the printed statement and a zero-argument call of the same check on it.
    The function is returned unchanged (so it can still be called directly in tests).
    """

    def deco(fn: Callable) -> Callable:
        register(Claim(id=id, source=source, location=location, statement=statement, check=fn,
                       convention=convention, module=getattr(fn, "__module__", ""), domain=domain,
                       mutants=_mutants(mutants)))
        return fn

    return deco


def unregister(claim_id: str) -> None:
    """Remove a claim (tests)."""
    _REGISTRY.pop(claim_id, None)


def load_builtin() -> None:
    for mod in BUILTIN_MODULES:
        importlib.import_module(mod)


def load_plugin(module: str) -> list:
    """Import a module that registers claims; return the ids it added (BadInput if it fails)."""
    before = set(_REGISTRY)
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's input
        raise BadInput(f"claims plugin {module!r} could not be imported: {type(exc).__name__}: {exc}") from None
    return [k for k in _REGISTRY if k not in before]


def load_entry_points() -> list:
    """Import every module named in the ``stabcheck.claims`` entry-point group."""
    from importlib.metadata import entry_points

    loaded = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:  # noqa: BLE001
            raise BadInput(f"claims entry point {ep.name!r} ({ep.value}) could not be loaded: "
                           f"{type(exc).__name__}: {exc}") from None
        loaded.append(ep.value)
    return loaded


def all_claims(*, builtin: bool = True, entry_points: bool = True, plugins: Iterable[str] = ()) -> list:
    """Every registered claim, in registration order (built-ins first)."""
    if builtin:
        load_builtin()
    if entry_points:
        load_entry_points()
    for p in plugins:
        load_plugin(p)
    claims = _REGISTRY.values() if builtin else [c for c in _REGISTRY.values() if c.module not in BUILTIN_MODULES]
    return ordered(claims)


def ordered(claims: Iterable[Claim]) -> list:
    """Built-in claims in paper order (:data:`BUILTIN_MODULES`), each paper in its module's
    registration order, then other claims in registration order - independent of the order in
    which modules happened to be imported."""
    seq = {cid: i for i, cid in enumerate(_REGISTRY)}
    rank = {m: i for i, m in enumerate(BUILTIN_MODULES)}
    return sorted(claims, key=lambda c: (rank.get(c.module, len(rank)), seq.get(c.id, len(seq))))


def get_claim(claim_id: str) -> Optional[Claim]:
    return _REGISTRY.get(claim_id)


def select(claims: list, patterns: Optional[Iterable[str]]) -> list:
    """The claims whose id matches one of ``patterns`` (exact ids or shell globs such as
    ``nie-patel/*``); BadInput naming the valid ids when a pattern matches nothing."""
    import fnmatch

    if not patterns:
        return list(claims)
    out, seen = [], set()
    for pat in patterns:
        hits = [c for c in claims if c.id == pat or fnmatch.fnmatchcase(c.id, pat)]
        if not hits:
            raise BadInput(f"no claim matches {pat!r}; valid ids: {', '.join(c.id for c in claims)}")
        for c in hits:
            if c.id not in seen:
                seen.add(c.id)
                out.append(c)
    order = {c.id: i for i, c in enumerate(claims)}
    return sorted(out, key=lambda c: order[c.id])
