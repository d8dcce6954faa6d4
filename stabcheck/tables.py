"""Text tables for the command line, drawn by ``rich`` (one look for every command).

Plain text without colour or markup, so the output is the same on a terminal, in a pipe and in
a test; columns are as wide as their widest cell (no wrapping: a long cell makes the line long
rather than breaking the table).
"""

from __future__ import annotations

from typing import Iterable, Sequence

#: no table is wrapped below this many characters per line
_WIDTH = 100_000


def text_table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, justify: Sequence[str] = ()) -> str:
    """The table as text: a header row, a rule under it, one line per row.

    ``justify`` gives ``"left"`` / ``"right"`` per column (default left)."""
    import io

    from rich import box
    from rich.console import Console
    from rich.table import Table

    rule = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)  # SIMPLE_HEAD in ASCII
    t = Table(box=rule, show_edge=False, pad_edge=False, expand=False)
    for i, c in enumerate(columns):
        t.add_column(str(c), justify=justify[i] if i < len(justify) else "left", no_wrap=True)
    for r in rows:
        t.add_row(*(str(v) for v in r))
    buf = io.StringIO()
    Console(file=buf, width=_WIDTH, color_system=None, force_terminal=False, highlight=False,
            markup=False, emoji=False).print(t)
    lines = [line.rstrip() for line in buf.getvalue().splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    lead = min((len(x) - len(x.lstrip(" ")) for x in lines if x.strip()), default=0)
    return "\n".join(x[lead:] for x in lines)
