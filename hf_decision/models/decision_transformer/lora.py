"""LoRA fine-tuning of a Decision Transformer with peft (Hu et al. 2022; LaMo, Shi et al. 2024), the `lora` extra.

`add_lora(model, r)` puts low-rank adapters on the GPT-2 backbone's attention and MLP projections and freezes every
other backbone weight, its token embedding (hence the tied LM head of the λ·LM term) included; the DT's own
embeddings, their LayerNorm and the action head (`DT_MODULES`, outside the backbone) are trained in full, as peft's
`modules_to_save`. The result is a `DecisionTransformerLoraModel`, a `peft.PeftModel` that acts and trains as the DT
does (`forward`, `get_action`, `config`, agents, the trainer). Its `save_pretrained` writes `config.json` (the DT's
architecture and data statistics, and the backbone checkpoint it started from), `adapter_config.json` and
`adapter_model.safetensors` (the adapters and the DT modules: a few MB for a GPT-2-medium backbone).
`DecisionTransformerModel.from_pretrained(folder)` loads it back onto the backbone its config names, and
`merge_lora(model)` folds the adapters into the weights: a plain `DecisionTransformerModel` checkpoint.

This module imports peft at its top: import it only where LoRA is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING

from peft import LoraConfig, PeftModel

from hf_decision.models.decision_transformer.configuration_decision_transformer import (
    LORA_TARGET_MODULES,
    DecisionTransformerConfig,
)
from hf_decision.models.decision_transformer.inputs import HUB_KWARGS

if TYPE_CHECKING:  # the model class comes in as an argument: its `from_pretrained` is what calls `load_lora`
    from hf_decision.models.decision_transformer.modeling_decision_transformer import DecisionTransformerModel

# The DT's modules outside the GPT-2 backbone, trained in full next to the adapters. (`lm_head` is not one: it is the
# backbone's token embedding, tied.)
DT_MODULES = ("embed_timestep", "embed_return", "embed_state", "embed_action", "embed_ln", "predict_action")


class DecisionTransformerLoraModel(PeftModel):
    """A `DecisionTransformerModel` with LoRA adapters on its backbone (see the module docstring); built by
    `add_lora`, loaded by `DecisionTransformerModel.from_pretrained`, turned into a plain model by `merge_lora`."""

    def save_pretrained(self, save_directory: str | PathLike, **kwargs) -> None:
        """peft's adapter files (adapters and DT modules) and the DT's `config.json`, which names the backbone."""
        super().save_pretrained(save_directory, **kwargs)
        if kwargs.get("is_main_process", True):
            self.get_base_model().config.save_pretrained(save_directory)


def add_lora(
    model: DecisionTransformerModel,
    r: int,
    alpha: float = 32.0,
    dropout: float = 0.05,
    target_modules: Sequence[str] = LORA_TARGET_MODULES,
) -> DecisionTransformerLoraModel:
    """Wrap `model` (in place, as peft does) with rank-`r` adapters on the backbone modules named `target_modules`
    (GPT-2's `c_attn`, `c_proj`, `c_fc` by default: every attention and MLP projection), scaled by `alpha / r`, with
    dropout `dropout` on their input. The backbone is frozen, the DT's own modules (`DT_MODULES`) are trained."""
    if r < 1:
        raise ValueError(f"the LoRA rank r must be >= 1, got {r}")
    backbone_names = {name.rsplit(".", 1)[-1] for name, _ in model.transformer.named_modules()}
    unknown = sorted(set(target_modules) - backbone_names)
    if not target_modules or unknown:
        raise ValueError(
            f"lora_target_modules must name modules of the GPT-2 backbone (e.g. {list(LORA_TARGET_MODULES)}); "
            f"got {list(target_modules)}, unknown: {unknown}"
        )
    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        modules_to_save=list(DT_MODULES),
        fan_in_fan_out=True,  # GPT-2's projections are transformers' `Conv1D`, whose weight is [in, out]
    )
    return DecisionTransformerLoraModel(model, config)


def load_lora(
    model_class: type[DecisionTransformerModel], source: str | PathLike, is_trainable: bool = False, **kwargs
) -> DecisionTransformerLoraModel:
    """The LoRA model saved in `source` (a folder or Hub repo): the DT its `config.json` describes, built by
    `model_class.from_pretrained_backbone` on the backbone checkpoint that config names (`backbone_name_or_path`),
    with the saved adapters and DT modules. Other `from_pretrained` keyword arguments than the Hub ones (`revision`,
    `token`, ...) are ignored."""
    hub = {name: kwargs[name] for name in HUB_KWARGS if name in kwargs}
    config = kwargs.get("config")
    if not isinstance(config, DecisionTransformerConfig):
        config = DecisionTransformerConfig.from_pretrained(source, **hub)
    if not config.backbone_name_or_path:
        raise ValueError(
            f"{source} holds LoRA adapters of a DT whose backbone was randomly initialized (its config names no "
            "backbone_name_or_path), so the adapters cannot be applied to anything: save `merge_lora(model)` instead"
        )
    base = model_class.from_pretrained_backbone(config.backbone_name_or_path, config=config)
    model = DecisionTransformerLoraModel.from_pretrained(base, source, is_trainable=is_trainable, **hub)
    return model if is_trainable else model.eval()


def merge_lora(model: DecisionTransformerLoraModel) -> DecisionTransformerModel:
    """Fold the adapters into the backbone weights and put the trained DT modules in place: a plain
    `DecisionTransformerModel` that `save_pretrained` writes as any other (and agents load as any other). peft merges
    in place, so `model` is not to be used afterwards. Every parameter of the result is trainable again."""
    merged = model.merge_and_unload()
    merged.requires_grad_(True)
    merged.tie_weights()
    return merged


def trainable_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameters of a model as it trains, each tensor counted once; for a LoRA model the total
    is the frozen backbone, the adapters and the DT modules (peft's frozen originals of those are not counted)."""
    parameters = {id(p): p for name, p in model.named_parameters() if ".original_module." not in name}
    trainable = sum(p.numel() for p in parameters.values() if p.requires_grad)
    return trainable, sum(p.numel() for p in parameters.values())
