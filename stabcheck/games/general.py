"""The general block form of Nie & Patel, Lemma 3: field Jacobian ``A = [[0, -P], [P^T, Q]]``.

``P`` is ``n_gen x n_disc`` (how the generator's update depends on the discriminator) and
``Q`` is ``n_disc x n_disc``, symmetric (negative semidefinite under their Assumption 2).
(As printed, the paper gives ``P`` as m x n and ``Q`` as m x m with m the generator's
dimension, which is inconsistent with the block form; stabcheck uses the consistent shapes.)

The game is the quadratic one whose field is exactly ``v(x) = A x``:
``L_G = theta^T P psi`` and ``L_D = theta^T P psi + psi^T Q psi / 2``; equilibrium 0.
Matrix entries given as strings (``"1/3"``) or decimals are taken exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import sympy as sp

from stabcheck.errors import BadInput
from stabcheck.games.base import Game, exact


def _matrix(value, name: str) -> sp.Matrix:
    if isinstance(value, (str, Path)):
        path = Path(value)
        if not path.exists():
            raise BadInput(f"--{name}: file {path} does not exist")
        try:
            if path.suffix == ".npy":
                data = np.load(path, allow_pickle=False).tolist()
            elif path.suffix == ".json":
                data = json.loads(path.read_text())
            else:
                raise BadInput(f"--{name}: expected a .npy or .json file, got {path.name}")
        except (ValueError, OSError) as exc:
            raise BadInput(f"--{name}: could not read {path}: {exc}") from None
    else:
        data = value
    shape_msg = f"--{name}: expected a non-empty rectangular 2-D matrix of real numbers"
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        data = [[data]]
    if not isinstance(data, (list, tuple)) or not data:
        raise BadInput(shape_msg)
    if all(isinstance(r, (int, float)) and not isinstance(r, bool) for r in data):
        data = [list(data)]  # one row
    if not all(isinstance(r, (list, tuple)) and r for r in data) or any(len(r) != len(data[0]) for r in data):
        raise BadInput(shape_msg + " (ragged or not 2-D)")
    n_entries = len(data) * len(data[0])
    if n_entries > MAX_ENTRIES:
        raise BadInput(f"--{name}: {len(data)}x{len(data[0])} is above the limit of {MAX_ENTRIES} entries "
                       "for exact analysis")
    rows = []
    for r in data:
        row = []
        for v in r:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise BadInput(shape_msg + f"; got an entry {v!r}")
            try:
                row.append(exact(v))
            except BadInput as exc:
                raise BadInput(f"--{name}: {exc}") from None
        rows.append(row)
    return sp.Matrix(rows)


#: the largest P or Q accepted (exact sympy analysis of a bigger block game does not finish in minutes)
MAX_ENTRIES = 1024


def general_game(P, Q) -> Game:
    """Build the quadratic game with field Jacobian ``[[0, -P], [P^T, Q]]`` (exact)."""
    P = _matrix(P, "P")
    Q = _matrix(Q, "Q")
    n, m = P.shape
    if Q.shape != (m, m):
        raise BadInput(f"--Q must be {m}x{m} (P is {n}x{m}: n_gen x n_disc), got {Q.shape[0]}x{Q.shape[1]}")
    asym = max((abs(float(e)) for e in (Q - Q.T)), default=0.0)
    scale = max((abs(float(e)) for e in Q), default=0.0)
    if asym > 1e-12 * max(scale, 1.0):
        raise BadInput(f"--Q must be symmetric (Lemma 3's Q = (g1''+g2'') E[grad D grad D^T]); "
                       f"max |Q - Q^T| = {asym:.3g}")
    theta = list(sp.symbols(f"theta1:{n + 1}", real=True))
    psi = list(sp.symbols(f"psi1:{m + 1}", real=True))
    th, ps = sp.Matrix(theta), sp.Matrix(psi)
    L_G = (th.T * P * ps)[0, 0]
    L_D = L_G + (ps.T * Q * ps)[0, 0] / 2
    return Game(name="general", loss=None,
                params={"P": [[float(e) for e in P.row(i)] for i in range(n)],
                        "Q": [[float(e) for e in Q.row(i)] for i in range(m)]},
                theta=theta, psi=psi, L_G=sp.expand(L_G), L_D=sp.expand(L_D),
                equilibrium=[sp.Integer(0)] * (n + m), convention="thesis",
                description="general block game (Nie & Patel Lemma 3)")
