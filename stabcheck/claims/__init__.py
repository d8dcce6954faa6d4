"""The source papers' results as executable checks (``stabcheck claims``).

* :mod:`~stabcheck.claims.verdicts` - the four verdicts and their evidence;
* :mod:`~stabcheck.claims.registry` - the :func:`claim` decorator, plugins, entry points;
* :mod:`~stabcheck.claims.runner` - run checks in parallel, with time limits;
* :mod:`~stabcheck.claims.report` - table, JSON and the markdown of docs/claims.md;
* one module per paper: :mod:`~stabcheck.claims.mescheder`,
  :mod:`~stabcheck.claims.nagarajan_kolter`, :mod:`~stabcheck.claims.nie_patel`,
  :mod:`~stabcheck.claims.deoliveira`.

Importing this package does not import the paper modules (they are loaded by
:func:`~stabcheck.claims.registry.all_claims`).
"""

from stabcheck.claims.registry import (Claim, all_claims, claim, get_claim, load_entry_points,  # noqa: F401
                                       load_plugin, register, select, unregister)
from stabcheck.claims.runner import ClaimRun, run_claims, run_one  # noqa: F401
from stabcheck.claims.verdicts import (CORRECTED, EVIDENCE_KINDS, HOLDS, INCONCLUSIVE, REFUTED,  # noqa: F401
                                       VERDICTS, Outcome, Result, all_of, corrected, decide, holds,
                                       inconclusive, outcome, refuted)
