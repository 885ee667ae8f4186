"""`FastDropout` has torch's dropout expectation with a keep probability within 2⁻¹⁷ of 1 − p, the attention function
that uses it computes GPT-2's eager attention, and the DT trainer's `fast_dropout` option puts both in the model."""

import math

import pytest
import torch
from torch import nn
from transformers.models.gpt2.modeling_gpt2 import eager_attention_forward

from hf_decision import DecisionTransformerModel
from hf_decision.models.fast_dropout import (
    FAST_DROPOUT_ATTENTION,
    FastDropout,
    eager_attention_with_fast_dropout,
    fast_dropout,
    use_fast_dropout,
)
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig
from tests.conftest import tiny_dt_config
from tests.trainers.tasks import HORIZON, two_behaviour_dataset

DROPOUTS = {"resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1}


@pytest.mark.parametrize("p", [0.1, 0.5, 1e-4, 1e-6, 1 - 1e-6])
def test_fast_dropout_keeps_each_element_with_probability_q_near_1_minus_p_scaled_by_1_over_q(p):
    q = round((1 - p) * 2**16) / 2**16  # what 1 − p rounds to on the 16-bit grid: 1 for p = 1e-6, 0 for 1 − 1e-6
    assert abs(q - (1 - p)) <= 2**-17
    torch.manual_seed(0)
    n = 400_000
    x = torch.ones(n, requires_grad=True)
    y = FastDropout(p).train()(x)
    kept = y != 0
    if q == 0:
        assert not kept.any()
        return
    assert torch.allclose(y[kept], torch.tensor(1 / q), rtol=1e-7)  # so E[y] = x exactly
    assert abs(kept.double().mean().item() - q) < 4 * math.sqrt(q * (1 - q) / n) + 1e-6  # 4 standard deviations
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # d(x·mask/q)/dx = mask/q, which is y for x = 1


def test_fast_dropout_is_the_identity_in_eval_mode_and_follows_torch_manual_seed():
    layer, x = FastDropout(0.5), torch.randn(64, 8)
    assert torch.equal(layer.eval()(x), x)
    assert fast_dropout(x, 0.0) is x
    layer.train()
    torch.manual_seed(3)
    first = layer(x)
    torch.manual_seed(3)
    assert torch.equal(layer(x), first)
    assert not torch.equal(layer(x), first)


def test_fast_dropout_keeps_the_dtype_of_a_bfloat16_input():
    x = torch.ones(1000, dtype=torch.bfloat16)
    y = fast_dropout(x, 0.25)
    assert y.dtype == torch.bfloat16
    assert set(torch.unique(y).tolist()) == {0.0, 1.3359375}  # 1/0.75 in bfloat16


def _qkv_and_mask(seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(3, 2, 7, 5, generator=g) for _ in range(3))
    mask = torch.zeros(3, 1, 7, 7).masked_fill(torch.ones(7, 7, dtype=torch.bool).triu(1), torch.finfo().min)
    return q, k, v, mask


def test_attention_without_dropout_is_gpt2_eager_attention_bit_for_bit():
    q, k, v, mask = _qkv_and_mask()
    module = nn.Module()
    ours = eager_attention_with_fast_dropout(module, q, k, v, mask, scaling=0.3)
    theirs = eager_attention_forward(module.eval(), q, k, v, mask, scaling=0.3)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)


def test_attention_drops_probabilities_with_probability_p():
    q, k, v, mask = _qkv_and_mask()
    q, k, v, mask = q.repeat(200, 1, 1, 1), k.repeat(200, 1, 1, 1), v.repeat(200, 1, 1, 1), mask.repeat(200, 1, 1, 1)
    _, reference = eager_attention_forward(nn.Module().eval(), q, k, v, mask)
    torch.manual_seed(0)
    _, probs = eager_attention_with_fast_dropout(nn.Module(), q, k, v, mask, dropout=0.3)
    positive = reference > 0
    dropped = (probs[positive] == 0).double().mean().item()
    assert abs(dropped - 0.3) < 4 * math.sqrt(0.3 * 0.7 / positive.sum().item())
    kept = probs[positive] != 0
    assert torch.allclose(probs[positive][kept], reference[positive][kept] * 2**16 / round(0.7 * 2**16))


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_use_fast_dropout_switches_the_backbone_attention_without_changing_outputs_or_checkpoints(attn, tmp_path):
    config = tiny_dt_config(state_dim=3, act_dim=2, attn_implementation=attn, **DROPOUTS)
    torch.manual_seed(0)
    model = DecisionTransformerModel(config).eval()
    g = torch.Generator().manual_seed(1)
    inputs = dict(
        states=torch.randn(2, 5, 3, generator=g),
        actions=torch.randn(2, 5, 2, generator=g),
        returns_to_go=torch.randn(2, 5, 1, generator=g),
        timesteps=torch.arange(5).repeat(2, 1),
        attention_mask=torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]),
    )
    real = inputs["attention_mask"].bool()  # outputs at padded steps depend on the attention kernel

    def preds(m):
        return m(**inputs).action_preds[real]

    before = preds(model)
    assert use_fast_dropout(model) == 1 + 3 * config.n_layer
    assert model.transformer.config._attn_implementation == FAST_DROPOUT_ATTENTION
    torch.testing.assert_close(preds(model), before, rtol=1e-6, atol=1e-6)
    model.save_pretrained(tmp_path)
    assert FAST_DROPOUT_ATTENTION not in (tmp_path / "config.json").read_text()
    reloaded = DecisionTransformerModel.from_pretrained(tmp_path)  # with transformers' default attention
    assert reloaded.transformer.config._attn_implementation != FAST_DROPOUT_ATTENTION
    torch.testing.assert_close(preds(reloaded), before, rtol=1e-6, atol=1e-6)


def test_use_fast_dropout_leaves_the_attention_without_attention_dropout_or_when_asked_to():
    model = DecisionTransformerModel(tiny_dt_config(attn_implementation="eager", resid_pdrop=0.1))
    use_fast_dropout(model)
    assert model.transformer.config._attn_implementation == "eager"
    model = DecisionTransformerModel(tiny_dt_config(attn_implementation="sdpa", **DROPOUTS))
    assert use_fast_dropout(model, attention=False) == 1 + 3 * model.config.n_layer
    assert model.transformer.config._attn_implementation == "sdpa"


def test_fast_dropout_option_replaces_every_dropout_layer_of_the_model(tmp_path):
    for fast, expected in ((False, nn.Dropout), (True, FastDropout)):
        config = tiny_dt_config(state_dim=2, act_dim=1, context_length=4, max_ep_len=HORIZON, **DROPOUTS)
        args = DecisionTransformerTrainingConfig(
            output_dir=str(tmp_path), max_steps=1, use_cpu=True, report_to="none", fast_dropout=fast
        )
        trainer = DecisionTransformerTrainer(DecisionTransformerModel(config), args, two_behaviour_dataset())
        layers = [m for m in trainer.model.modules() if isinstance(m, nn.Dropout)]
        assert len(layers) == 1 + 3 * config.n_layer  # embeddings; attention, residual and MLP of each block
        assert {type(m) for m in layers} == {expected}
        assert all(m.p == 0.1 for m in layers)
        attention = trainer.model.transformer.config._attn_implementation
        assert (attention == FAST_DROPOUT_ATTENTION) == fast
