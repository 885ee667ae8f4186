"""Gradient checkpointing composes with `state_tokens_only`: the same gradients, bit for bit, with every block
(the last one's state-token part included) checkpointed."""

import pytest
import torch

from hf_decision import DecisionTransformerModel
from tests.conftest import random_window, tiny_dt_config


def enable_checkpointing(model):
    # transformers renamed `gradient_checkpointing_enable` to `activation_checkpointing_enable` within 5.x
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable()


def loss_and_gradients(checkpointing: bool, state_tokens_only: bool, attention: str, dropout: float):
    torch.manual_seed(0)
    config = tiny_dt_config(
        n_layer=3, attn_implementation=attention, resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout
    )
    model = DecisionTransformerModel(config).train()
    calls = []
    if checkpointing:
        enable_checkpointing(model)
        for block in model.transformer.h:
            function = block._gradient_checkpointing_func
            block._gradient_checkpointing_func = lambda *a, _f=function, **k: calls.append(1) or _f(*a, **k)
    batch = random_window(model.config, batch_size=3)
    batch["attention_mask"][0, :2] = 0
    torch.manual_seed(1)  # the same dropout masks in every run
    out = model(**batch, labels=batch["actions"], state_tokens_only=state_tokens_only)
    out.loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return out, grads, len(calls)


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_checkpointing_gives_identical_gradients_with_state_tokens_only(attention, dropout):
    plain, plain_grads, _ = loss_and_gradients(False, True, attention, dropout)
    checkpointed, grads, calls = loss_and_gradients(True, True, attention, dropout)
    assert calls == 3  # every block checkpointed, the last one's state-token part too
    assert checkpointed.last_hidden_state.shape == (3, 5, 16)  # the state-token path ran, not the full backbone
    assert torch.equal(checkpointed.loss, plain.loss)
    assert grads.keys() == plain_grads.keys() and "transformer.h.2.mlp.c_fc.weight" in grads
    for name, grad in grads.items():
        assert torch.equal(grad, plain_grads[name]), name  # checkpointing replays the same dropout masks


def test_checkpointed_state_tokens_match_the_checkpointed_full_backbone():
    states_only, grads, _ = loss_and_gradients(True, True, "sdpa", 0.0)
    full, full_grads, calls = loss_and_gradients(True, False, "sdpa", 0.0)
    assert calls == 3 and full.last_hidden_state.shape == (3, 15, 16)
    torch.testing.assert_close(states_only.loss, full.loss)
    for name, grad in grads.items():
        torch.testing.assert_close(grad, full_grads[name], msg=name)


def test_evaluation_and_inference_skip_checkpointing():
    model = DecisionTransformerModel(tiny_dt_config(n_layer=2))
    enable_checkpointing(model)
    for block in model.transformer.h:
        block._gradient_checkpointing_func = None  # calling it would fail
    batch = random_window(model.config)
    with torch.no_grad():
        model.train()(**batch, state_tokens_only=True)
    model.eval()(**batch, state_tokens_only=True).action_preds.sum().backward()
