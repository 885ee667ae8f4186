"""`FastDropout` has torch's dropout distribution, and the DT trainer's `fast_dropout` option puts it in the model."""

import math

import torch
from torch import nn

from hf_decision import DecisionTransformerModel
from hf_decision.models.decision_transformer.modeling_decision_transformer import FastDropout
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig
from tests.conftest import tiny_dt_config
from tests.trainers.tasks import HORIZON, two_behaviour_dataset


def test_fast_dropout_keeps_each_element_with_probability_1_minus_p_scaled_by_its_inverse():
    torch.manual_seed(0)
    n, p = 200_000, 0.1
    x = torch.ones(n, requires_grad=True)
    y = FastDropout(p).train()(x)
    kept = y != 0
    assert torch.allclose(y[kept], torch.tensor(1 / (1 - p)))
    assert abs(kept.float().mean().item() - (1 - p)) < 4 * math.sqrt(p * (1 - p) / n)  # 4 standard deviations
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # d(x·mask/(1−p))/dx = mask/(1−p), which is y for x = 1


def test_fast_dropout_is_the_identity_in_eval_mode_and_follows_torch_manual_seed():
    layer, x = FastDropout(0.5), torch.randn(64, 8)
    assert torch.equal(layer.eval()(x), x)
    layer.train()
    torch.manual_seed(3)
    first = layer(x)
    torch.manual_seed(3)
    assert torch.equal(layer(x), first)
    assert not torch.equal(layer(x), first)


def test_fast_dropout_option_replaces_every_dropout_layer_of_the_model(tmp_path):
    for fast, expected in ((False, nn.Dropout), (True, FastDropout)):
        dropouts = {"resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1}
        config = tiny_dt_config(state_dim=2, act_dim=1, context_length=4, max_ep_len=HORIZON, **dropouts)
        args = DecisionTransformerTrainingConfig(
            output_dir=str(tmp_path), max_steps=1, use_cpu=True, report_to="none", fast_dropout=fast
        )
        trainer = DecisionTransformerTrainer(DecisionTransformerModel(config), args, two_behaviour_dataset())
        layers = [m for m in trainer.model.modules() if isinstance(m, nn.Dropout)]
        assert len(layers) == 1 + 3 * config.n_layer  # embeddings; attention, residual and MLP of each block
        assert {type(m) for m in layers} == {expected}
        assert all(m.p == 0.1 for m in layers)
