"""LoRA through peft: the adapters sit on the backbone only, the DT's own modules train in full, and the adapter
checkpoint reloads and merges to the same actions."""

import pytest
import torch
from transformers import AutoModel, GPT2Config, GPT2LMHeadModel

from hf_decision import DecisionTransformerModel
from tests.conftest import random_window, tiny_dt_config

pytest.importorskip("peft")
from hf_decision.models.decision_transformer.lora import (  # noqa: E402  (after the skip without peft)
    DT_MODULES,
    DecisionTransformerLoraModel,
    add_lora,
    merge_lora,
    trainable_parameters,
)


def tiny_backbone(path, action_space="continuous"):
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(n_embd=24, n_layer=2, n_head=3, vocab_size=40, n_positions=48)).save_pretrained(path)
    dropout = dict(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    return DecisionTransformerModel.from_pretrained_backbone(
        path, state_dim=4, act_dim=3, action_space=action_space, context_length=5, max_ep_len=50, **dropout
    )


def trained_lora(path, action_space="continuous", r=4):
    """A LoRA model whose adapters and DT modules moved away from their initialization (B starts at zero)."""
    model = add_lora(tiny_backbone(path / "gpt2", action_space), r, dropout=0.0)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.2 * torch.randn_like(p))
    return model.eval()


def test_only_adapters_and_the_dt_modules_train():
    model = add_lora(DecisionTransformerModel(tiny_dt_config(n_layer=2)), r=2)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert all("lora_" in name or ".modules_to_save." in name for name in trainable)
    for module in DT_MODULES:
        assert any(f".{module}.modules_to_save." in name for name in trainable), module
    for layer in range(2):
        for projection in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
            assert f"base_model.model.transformer.h.{layer}.{projection}.lora_A.default.weight" in trainable
    base = model.get_base_model()
    assert not base.transformer.wte.weight.requires_grad and base.lm_head.weight is base.transformer.wte.weight
    n_trainable, total = trainable_parameters(model)
    assert n_trainable == sum(p.numel() for name, p in model.named_parameters() if name in trainable)
    plain = DecisionTransformerModel(tiny_dt_config(n_layer=2)).num_parameters()
    lora = sum(p.numel() for name, p in model.named_parameters() if "lora_" in name)
    assert total == plain + lora  # frozen backbone + adapters + DT modules, each counted once


def test_language_loss_trains_the_adapters_through_the_frozen_tied_head():
    model = add_lora(DecisionTransformerModel(tiny_dt_config(n_layer=2)), r=2, dropout=0.0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_()
    ids = torch.randint(0, 32, (2, 7))
    model.lm_forward(ids, labels=ids).loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert grads and all("lora_" in name for name in grads)
    assert model.get_base_model().transformer.wte.weight.grad is None


@pytest.mark.parametrize("action_space", ["continuous", "discrete"])
def test_saved_adapter_reloads_and_merges_to_the_same_actions(tmp_path, action_space):
    model = trained_lora(tmp_path, action_space)
    batch = random_window(model.config)
    batch["attention_mask"][0, :2] = 0
    expected = model(**batch, state_tokens_only=True).action_preds

    model.save_pretrained(tmp_path / "adapter")
    saved = {p.name for p in (tmp_path / "adapter").iterdir()}
    assert {"config.json", "adapter_config.json", "adapter_model.safetensors"} <= saved
    assert "model.safetensors" not in saved  # the backbone is not copied
    for loader in (DecisionTransformerModel.from_pretrained, AutoModel.from_pretrained):
        loaded = loader(tmp_path / "adapter")
        assert isinstance(loaded, DecisionTransformerLoraModel) and not loaded.training
        assert torch.equal(loaded(**batch, state_tokens_only=True).action_preds, expected)

    merged = merge_lora(DecisionTransformerModel.from_pretrained(tmp_path / "adapter"))
    assert type(merged) is DecisionTransformerModel and all(p.requires_grad for p in merged.parameters())
    merged.save_pretrained(tmp_path / "merged")
    plain = DecisionTransformerModel.from_pretrained(tmp_path / "merged")  # strict: a plain checkpoint
    torch.testing.assert_close(plain(**batch).action_preds, expected, rtol=0, atol=1e-5)
    assert plain.lm_head.weight is plain.transformer.wte.weight


def test_target_modules_must_be_backbone_modules():
    model = DecisionTransformerModel(tiny_dt_config())
    with pytest.raises(ValueError, match="unknown: \\['embed_state'\\]"):
        add_lora(model, r=2, target_modules=["c_attn", "embed_state"])
    with pytest.raises(ValueError, match="rank"):
        add_lora(model, r=0)


def test_an_adapter_on_a_random_backbone_refuses_to_load(tmp_path):
    add_lora(DecisionTransformerModel(tiny_dt_config()), r=2).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="randomly initialized.*merge_lora"):
        DecisionTransformerModel.from_pretrained(tmp_path)


def test_onnx_export_asks_for_the_merged_model(tmp_path):
    pytest.importorskip("onnx")
    from hf_decision.export import export_onnx

    with pytest.raises(TypeError, match="merge_lora"):
        export_onnx(add_lora(DecisionTransformerModel(tiny_dt_config()), r=2), tmp_path / "model.onnx")
