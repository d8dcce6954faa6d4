"""The outcome of a claim's check: exactly one of four verdicts, with its evidence.

* ``holds`` - the statement is true; the evidence says what kind of evidence it is
  (:data:`EVIDENCE_KINDS`: a symbolic identity, an exactly checked certificate, exact
  arithmetic on a grid, fuzzing over a stated range with the worst margin seen, simulation);
* ``refuted`` - a concrete counterexample, and the ``stabcheck`` command that reproduces it;
* ``holds with correction`` - the statement is wrong as printed, but a stated correction holds
  (a sign, a factor, a missing condition): both are given, with the evidence for each;
* ``inconclusive`` - what was tried.

A :class:`Result` is produced by a check function at run time; the registry never stores one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from stabcheck.errors import BadInput

HOLDS = "holds"
REFUTED = "refuted"
CORRECTED = "holds with correction"
INCONCLUSIVE = "inconclusive"
#: the only verdicts a check can end in
VERDICTS = (HOLDS, REFUTED, CORRECTED, INCONCLUSIVE)

#: kinds of evidence, strongest first; a result may combine several
EVIDENCE_KINDS = (
    "symbolic identity",      # sympy proves an identity over symbolic parameters
    "exact certificate",      # a certificate checked in rational arithmetic
    "exact arithmetic",       # exact (rational / algebraic) computation on stated inputs
    "fuzzed",                 # property checked on N generated inputs; worst margin reported
    "numerical",              # floating-point computation on a stated grid
    "simulation",             # trajectories run (float64 or mpmath), distances measured
)


#: how a verdict was reached (the JSON's ``evidence_kind``): a proof (symbolic, or exact
#: arithmetic on the whole stated domain or on a concrete counterexample), a search (seeded
#: Hypothesis draws, grids, fuzzing over the domain), or simulation (trajectories)
DECISION_KINDS = ("proof", "search", "simulation")
_PROOF_METHODS = ("symbolic identity", "exact certificate")
_SEARCH_METHODS = ("exact arithmetic", "fuzzed", "numerical")


def decision_kind(methods: Sequence[str]) -> Optional[str]:
    """The weakest of the methods used: simulation < search < proof (None if no method)."""
    if not methods:
        return None
    if "simulation" in methods:
        return "simulation"
    if any(m in _SEARCH_METHODS for m in methods):
        return "search"
    return "proof"


def _ekind(k: Optional[str]) -> Optional[str]:
    if k is not None and k not in DECISION_KINDS:
        raise BadInput(f"unknown evidence_kind {k!r}; valid: {', '.join(DECISION_KINDS)}")
    return k


def _kinds(kind: Union[str, Sequence[str], None]) -> tuple:
    if kind is None:
        return ()
    ks = (kind,) if isinstance(kind, str) else tuple(kind)
    bad = [k for k in ks if k not in EVIDENCE_KINDS]
    if bad:
        raise BadInput(f"unknown evidence kind {bad[0]!r}; valid: {', '.join(EVIDENCE_KINDS)}")
    return ks


@dataclass(frozen=True)
class Result:
    """What a check concluded.

    Attributes
    ----------
    verdict : str
        One of :data:`VERDICTS`.
    evidence : str
        One or two sentences: what was computed and what it showed.
    kinds : tuple of str
        The kinds of evidence (:data:`EVIDENCE_KINDS`).
    command : str or None
        A ``stabcheck ...`` command that reproduces the counterexample (refuted), or shows
        the evidence.
    counterexample : str or None
        The concrete input that breaks the printed statement (refuted / corrected).
    printed, correction : str or None
        For ``holds with correction``: what is printed and the corrected statement that holds.
    details : list of str
        Further lines of evidence (shown in docs/claims.md).
    ekind : str or None
        How the verdict was reached (:data:`DECISION_KINDS`); derived from ``kinds`` if None.
    draws : int or None
        How many inputs the search drew (Hypothesis draws, grid points, starts x step counts).
    domain : dict or None
        The domain the statement was decided over (:class:`~stabcheck.claims.domain.Domain`).
    out_of_domain : bool
        The input lies outside the claim's stated hypotheses: nothing was decided about the
        claim (verdict ``inconclusive``), never a refutation.
    """

    verdict: str
    evidence: str
    kinds: tuple = ()
    command: Optional[str] = None
    counterexample: Optional[str] = None
    printed: Optional[str] = None
    correction: Optional[str] = None
    details: tuple = field(default_factory=tuple)
    ekind: Optional[str] = None
    draws: Optional[int] = None
    domain: Optional[dict] = None
    out_of_domain: bool = False

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise BadInput(f"unknown verdict {self.verdict!r}; valid: {', '.join(VERDICTS)}")
        _ekind(self.ekind)

    @property
    def kind(self) -> str:
        return " + ".join(self.kinds)

    @property
    def evidence_kind(self) -> Optional[str]:
        return self.ekind or decision_kind(self.kinds)

    def with_domain(self, domain: Optional[dict]) -> "Result":
        """This result with ``domain`` filled in where the check left it empty."""
        from dataclasses import replace

        return self if self.domain is not None or domain is None else replace(self, domain=domain)

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "evidence": self.evidence, "evidence_kind": self.evidence_kind,
                "evidence_methods": list(self.kinds), "draws": self.draws, "domain": self.domain,
                "out_of_domain": self.out_of_domain,
                "command": self.command, "counterexample": self.counterexample,
                "printed": self.printed, "correction": self.correction, "details": list(self.details)}


def holds(evidence: str, kind: Union[str, Sequence[str]], *, command: Optional[str] = None,
          details: Sequence[str] = (), evidence_kind: Optional[str] = None, draws: Optional[int] = None) -> Result:
    """The statement holds; ``kind`` names the evidence (see :data:`EVIDENCE_KINDS`)."""
    return Result(HOLDS, evidence, _kinds(kind), command=command, details=tuple(details),
                  ekind=_ekind(evidence_kind), draws=draws)


def refuted(counterexample: str, command: Optional[str], *, evidence: str = "",
            kind: Union[str, Sequence[str], None] = None, details: Sequence[str] = ()) -> Result:
    """The statement is false: ``counterexample`` breaks it; ``command`` reproduces it."""
    return Result(REFUTED, evidence or f"counterexample: {counterexample}", _kinds(kind), command=command,
                  counterexample=counterexample, details=tuple(details))


def corrected(printed: str, correction: str, evidence: str, *, kind: Union[str, Sequence[str], None] = None,
              command: Optional[str] = None, counterexample: Optional[str] = None,
              details: Sequence[str] = ()) -> Result:
    """As printed the statement fails (``counterexample``); ``correction`` holds (``evidence``)."""
    return Result(CORRECTED, evidence, _kinds(kind), command=command, counterexample=counterexample,
                  printed=printed, correction=correction, details=tuple(details))


def inconclusive(tried: str, *, details: Sequence[str] = (), command: Optional[str] = None) -> Result:
    """Nothing could be decided; ``tried`` says what was attempted."""
    return Result(INCONCLUSIVE, tried, (), command=command, details=tuple(details))


def out_of_domain(why: str, domain: Optional[dict] = None) -> Result:
    """The input violates the claim's stated hypotheses: reported as such (``inconclusive``,
    ``out_of_domain``), never as a refutation of the claim."""
    return Result(INCONCLUSIVE, f"out of the claim's domain: {why}; nothing is decided about the claim",
                  (), domain=domain, out_of_domain=True)


@dataclass(frozen=True)
class Outcome:
    """One part of a check: did a (printed or corrected) statement survive the test?

    Check helpers return Outcomes; :func:`decide` turns the printed statement's outcome and
    an optional correction's outcome into a :class:`Result`.
    """

    ok: Optional[bool]          # True: holds; False: a counterexample; None: undecided
    evidence: str
    kinds: tuple = ()
    counterexample: Optional[str] = None
    command: Optional[str] = None
    details: tuple = ()
    ekind: Optional[str] = None
    draws: Optional[int] = None
    domain: Optional[dict] = None
    out_of_domain: bool = False


def outcome(ok: Optional[bool], evidence: str, kind: Union[str, Sequence[str], None] = None, *,
            counterexample: Optional[str] = None, command: Optional[str] = None,
            details: Sequence[str] = (), evidence_kind: Optional[str] = None, draws: Optional[int] = None,
            domain: Optional[dict] = None, out_of_domain: bool = False) -> Outcome:
    return Outcome(ok, evidence, _kinds(kind), counterexample, command, tuple(details), _ekind(evidence_kind),
                   draws, domain, out_of_domain)


def _weakest(*ks) -> Optional[str]:
    ks = [k for k in ks if k]
    for k in reversed(DECISION_KINDS):
        if k in ks:
            return k
    return None


def _okind(o: Outcome) -> Optional[str]:
    return o.ekind or decision_kind(o.kinds)


def _sum_draws(*ds) -> Optional[int]:
    ds = [d for d in ds if d is not None]
    return sum(ds) if ds else None


def decide(printed: Outcome, *, correction: Optional[Outcome] = None, printed_text: str = "",
           correction_text: str = "", command: Optional[str] = None) -> Result:
    """Combine outcomes into a verdict (the only place verdicts are chosen).

    * printed holds -> ``holds``;
    * printed fails, a correction is given and holds -> ``holds with correction``;
    * printed fails otherwise -> ``refuted`` (with the printed counterexample);
    * printed undecided -> ``inconclusive``.
    """
    cmd = printed.command or command
    if printed.out_of_domain:
        return Result(INCONCLUSIVE, printed.evidence, printed.kinds, command=cmd, details=printed.details,
                      domain=printed.domain, out_of_domain=True)
    common = dict(domain=printed.domain)
    if printed.ok is True:
        details = printed.details + ((f"also checked: {correction_text} - {correction.evidence}",)
                                     if correction is not None and correction_text else ())
        return Result(HOLDS, printed.evidence, printed.kinds, command=cmd, details=details,
                      ekind=_okind(printed), draws=printed.draws, **common)
    if printed.ok is False:
        if correction is not None and correction.ok is True:
            return Result(CORRECTED, f"as printed: {printed.evidence}; corrected: {correction.evidence}",
                          tuple(dict.fromkeys(printed.kinds + correction.kinds)),
                          command=cmd or correction.command, counterexample=printed.counterexample,
                          printed=printed_text or None, correction=correction_text or None,
                          details=printed.details + correction.details,
                          ekind=_weakest(_okind(printed), _okind(correction)),
                          draws=_sum_draws(printed.draws, correction.draws), **common)
        extra = ()
        if correction is not None:
            extra = (f"proposed correction ({correction_text}) did not hold either: {correction.evidence}",)
        return Result(REFUTED, printed.evidence, printed.kinds, command=cmd,
                      counterexample=printed.counterexample or printed.evidence,
                      details=printed.details + extra, ekind=_okind(printed), draws=printed.draws, **common)
    return Result(INCONCLUSIVE, printed.evidence, printed.kinds, command=cmd, details=printed.details,
                  ekind=_okind(printed), draws=printed.draws, **common)


def all_of(parts: Sequence[Outcome], *, sep: str = "; ") -> Outcome:
    """Conjunction: fails at the first failing part, undecided if any part is, else holds."""
    kinds = tuple(dict.fromkeys(k for p in parts for k in p.kinds))
    details = tuple(d for p in parts for d in p.details)
    ek = _weakest(*[_okind(p) for p in parts])
    dr = _sum_draws(*[p.draws for p in parts])
    dom = next((p.domain for p in parts if p.domain is not None), None)
    for p in parts:
        if p.out_of_domain:
            return Outcome(None, p.evidence, kinds, None, p.command, details, ek, dr, p.domain, True)
    for p in parts:
        if p.ok is False:
            return Outcome(False, p.evidence, kinds, p.counterexample, p.command, details, _okind(p), dr, dom)
    if any(p.ok is None for p in parts):
        und = [p for p in parts if p.ok is None]
        return Outcome(None, sep.join(p.evidence for p in und), kinds, None, und[0].command, details, ek, dr, dom)
    cmd = next((p.command for p in parts if p.command), None)
    return Outcome(True, sep.join(p.evidence for p in parts), kinds, None, cmd, details, ek, dr, dom)
