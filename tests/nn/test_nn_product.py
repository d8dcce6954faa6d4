"""The switched system over a window (issue 12, point 1): the spectrum of a product of
one-step maps linearized at one point matches the dense product of their Jacobians."""

import numpy as np
import pytest
import torch

from nn_fixtures import LOSSES, batch, trained
from stabcheck.errors import BadInput
from stabcheck.nn import prepare_map, product_map_spectrum

MATCH = 1e-8


@pytest.mark.parametrize("opt", ["adam", "rmsprop"])
def test_product_spectrum_matches_the_dense_product(opt):
    G, D, og, od = trained(opt, steps=4)
    b = batch()
    sim = prepare_map(G, D, LOSSES, b, rule="sim", optimizer=(og, od))
    alt = prepare_map(G, D, LOSSES, b, rule="alt:n_d=2", optimizer=(og, od))
    order = [sim, alt, alt, sim, alt]  # sim applied first
    res = product_map_spectrum(order, k=3, arpack_tol=1e-13)
    J = {id(m): torch.func.jacrev(m.step)(m.z).numpy() for m in (sim, alt)}  # test only: a few hundred components
    P = np.eye(sim.z.numel())
    for m in order:
        P = J[id(m)] @ P
    lam = np.linalg.eigvals(P)
    assert res.arpack_status == "converged" and res.n_converged == 3
    for w in res.eigenvalues:
        assert np.min(np.abs(lam - w)) < MATCH
    np.testing.assert_allclose(np.sort(np.abs(res.eigenvalues))[::-1], np.sort(np.abs(lam))[::-1][:3], atol=MATCH)
    # two distinct maps: two linearizations, five factors per product
    assert res.extra["product"] == {"factors": 5, "distinct_maps": 2,
                                    "linearized_at": "one common state z (the switched linear system)"}
    # the order matters: the reversed product is a different matrix (similar only when the maps commute)
    Q = np.eye(sim.z.numel())
    for m in reversed(order):
        Q = J[id(m)] @ Q
    assert np.linalg.norm(P - Q) > 1e-6


def test_product_of_maps_at_different_points_is_refused():
    G, D, og, od = trained("adam", steps=4)
    b = batch()
    sim = prepare_map(G, D, LOSSES, b, rule="sim", optimizer=(og, od))
    ogda = prepare_map(G, D, LOSSES, b, rule="ogda", optimizer=(og, od))  # a memory slot: another state layout
    with pytest.raises(BadInput, match="one linearization point"):
        product_map_spectrum([sim, ogda])
    with pytest.raises(BadInput, match="non-empty sequence"):
        product_map_spectrum([])
    # same point and layout, another step size
    a = prepare_map(G, D, LOSSES, b, rule="sim", eta=0.1)
    c = prepare_map(G, D, LOSSES, b, rule="alt", eta=0.2)
    with pytest.raises(BadInput, match="one step size"):
        product_map_spectrum([a, c])
