"""Must hold: bad input to stabcheck.nn raises BadInput with one clear line."""

import pytest
import torch

from nn_fixtures import LOSSES, batch, small_gan, trained
from stabcheck.errors import BadInput
from stabcheck.nn import update_map_spectrum


def _raises(match, **kw):
    args = {"losses": LOSSES, "batch": batch(), "eta": 0.1, "k": 3, "field_k": 0}
    G, D = kw.pop("modules", small_gan(0))
    args.update(kw)
    with pytest.raises(BadInput, match=match) as e:
        update_map_spectrum(G, D, **args)
    msg = str(e.value)
    assert "\n" not in msg and 0 < len(msg) <= 300
    return msg


def test_module_types():
    G, D = small_gan(0)
    _raises("generator must be a torch.nn.Module", modules=(lambda z: z, D))
    _raises("discriminator must be a torch.nn.Module", modules=(G, "D"))


def test_batch_of_the_wrong_shape():
    bad = batch()
    bad["real"] = torch.randn(16, 3)  # the discriminator takes 2-D points
    _raises("evaluating the losses on the batch failed", batch=bad)
    _raises("no batch", batch=None)
    _raises("batch or sampler, not both", sampler=lambda g: batch())


def test_gan_class_needs_a_batch_dict():
    gans = pytest.importorskip("gpu_validation.gans")
    _raises("'z' and 'real'", losses=gans.make_gan("bce"), batch=torch.randn(4, 2))


def test_losses_malformed():
    _raises("losses must be", losses=(LOSSES[0],))
    _raises("scalar|evaluating the losses", losses=(lambda G, D, b: G(b["z"]), LOSSES[1]))


def test_k_too_large():
    G, D = small_gan(0)
    dim = sum(p.numel() for p in list(G.parameters()) + list(D.parameters()))
    _raises("k=218", k=dim - 1)
    _raises("k must be an integer", k=0)
    _raises("field_k=", field_k=dim)


def test_optimizer_params_must_be_the_modules():
    G, D, og, od = trained("adam", steps=1)
    G2, D2 = small_gan(1)  # other modules
    _raises("not exactly the generator", modules=(G2, D), optimizer=(og, od), eta=None)
    _raises("not exactly the discriminator", modules=(G, D2), optimizer=(og, od), eta=None)
    _raises("one torch optimizer per player", modules=(G, D), optimizer=og, eta=None)
    _raises("differs from the generator optimizer's lr", modules=(G, D), optimizer=(og, od), eta=0.5)
    _raises("already carries optimizer keys", modules=(G, D), optimizer=(og, od), eta=None, rule="sim:momentum=0.5")


@pytest.mark.parametrize("make, match", [
    (lambda p: torch.optim.Adam(p, amsgrad=True), "amsgrad"),
    (lambda p: torch.optim.Adam(p, weight_decay=0.1), "weight_decay"),
    (lambda p: torch.optim.AdamW(p), "weight_decay"),
    (lambda p: torch.optim.Adam(p, maximize=True), "maximize"),
    (lambda p: torch.optim.RMSprop(p, centered=True), "centered"),
    (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), "nesterov"),
    (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1), "dampening"),
    (lambda p: torch.optim.Adagrad(p), "supported: torch.optim.Adam"),
])
def test_unsupported_optimizer_options(make, match):
    G, D = small_gan(0)
    og, od = make(G.parameters()), make(D.parameters())
    _raises(match, modules=(G, D), optimizer=(og, od), eta=None)


def test_optimizer_without_state_or_mixed_kinds():
    G, D = small_gan(0)
    _raises("taken no step", modules=(G, D), eta=None,
            optimizer=(torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())))
    _raises("taken no step", modules=(G, D), eta=None,
            optimizer=(torch.optim.RMSprop(G.parameters()), torch.optim.RMSprop(D.parameters())))
    _raises("optimizers differ", modules=(G, D), eta=None,
            optimizer=(torch.optim.Adam(G.parameters()), torch.optim.RMSprop(D.parameters())))


def test_spec_errors():
    _raises("eta .* required", eta=None)
    _raises("eta must be finite", eta=float("nan"))
    _raises("unknown update rule", rule="nope")
    _raises("rule must be a spec string", rule=3)
    _raises("momentum must lie in", optimizer="opt=sgd,momentum=1.5")
    _raises("opt_state has", optimizer="opt=sgd,momentum=0.5", opt_state=[0.0, 1.0])
    _raises("has no state", opt_state=[0.0] * 219)
    _raises("tol must be finite", tol=-1.0)
