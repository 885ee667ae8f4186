"""The card of a Decision Transformer, rendered from `hf_decision/templates/model_card.md`."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from hf_decision.cards.checking import REQUIRED_TAGS
from hf_decision.cards.formatting import format_value, is_hub_id
from hf_decision.cards.profile import CardContent, CardProfile, file_name

MODEL_CARD_TEMPLATE = files("hf_decision") / "templates" / "model_card.md"
# Training arguments shown in the card, with their labels; `lm_dataset` only when λ > 0.
_TRAINING_FIELDS = {
    "lm_coef": "λ (weight of the language-modeling loss)",
    "lm_dataset": "Text for the language-modeling loss",
    "learning_rate": "Learning rate",
    "backbone_learning_rate": "Backbone learning rate",
    "per_device_train_batch_size": "Batch size (windows per device)",
    "gradient_accumulation_steps": "Gradient accumulation steps",
    "max_steps": "Optimizer steps",
    "warmup_steps": "Warmup steps",
    "lr_scheduler_type": "Learning-rate schedule",
    "weight_decay": "Weight decay",
    "max_grad_norm": "Gradient-norm clipping",
    "window_sampling": "Window sampling",
    "online_env_steps": "Online fine-tuning: environment steps",
    "online_episodes": "Online fine-tuning: episodes collected",
    "exploration_target_return": "Online fine-tuning: exploration target return",
    "replay_size": "Online fine-tuning: replay buffer (episodes)",
    "episodes_per_round": "Online fine-tuning: episodes per round",
    "gradient_steps_per_round": "Online fine-tuning: gradient steps per round",
    "seed": "Seed",
}


def card_content(
    model,
    *,
    per_target: Mapping[float | None, Any],
    dataset_id: str | None,
    training: dict[str, Any],
    conditioning_path: str | Path | None,
) -> CardContent:
    """Tags, base model and fields of a Decision Transformer's card; the usage snippet conditions on the first of
    the config's target returns (else the first evaluated one)."""
    config = model.config
    targets = list(config.target_returns or []) or list(per_target)
    if not targets:
        raise ValueError("model.config.target_returns is empty and no eval_results were given: no target return")
    base_model = config.backbone_name_or_path if is_hub_id(config.backbone_name_or_path) else None
    fields = dict(
        usage_target=f"{targets[0]:g}",
        model_rows=_model_rows(model, targets, base_model, training),
        training_rows=_training_rows(training) if training else None,
        language_loss=bool(training.get("lm_coef")),
        online_env_steps=f"{training['online_env_steps']:,}" if training.get("online_env_steps") else None,
        exploration_target=_format_number(training.get("exploration_target_return")),
        conditioning_file=file_name(conditioning_path),
    )
    return CardContent(REQUIRED_TAGS, f"decision-transformer-{config.env_id}", base_model, fields)


def _model_rows(model, targets: list[float], base_model: str | None, training: dict[str, Any]) -> list[tuple]:
    config = model.config
    if config.action_space == "discrete":
        actions = f"discrete, {config.act_dim} actions"
    else:
        actions = f"continuous, {config.act_dim} dimensions" + (" in [-1, 1] (tanh)" if config.action_tanh else "")
    init = f"[`{base_model}`](https://huggingface.co/{base_model})" if base_model else "random initialization"
    if config.backbone_name_or_path and not base_model:
        init = f"`{config.backbone_name_or_path}`"
    rows = [
        ("Environment", f"`{config.env_id}`"),
        ("State dimension", config.state_dim),
        ("Actions", actions),
        (
            "Backbone",
            f"GPT-2, {config.n_layer} layers, hidden size {config.hidden_size}, {config.n_head} heads (from {init})",
        ),
        ("Parameters", f"{model.num_parameters():,}"),
        ("Context length K", f"{config.context_length} steps ({3 * config.context_length} tokens)"),
        ("Max episode length", config.max_ep_len),
        ("Return scale", f"{config.return_scale:g}"),
        ("Target returns", ", ".join(f"{t:g}" for t in targets)),
        ("Positional embedding", config.positional_embedding),
        ("State normalization", "mean/std in `config.json`" if config.state_mean is not None else "none"),
    ]
    if config.stochastic_policy:
        kind = "categorical" if config.action_space == "discrete" else "Gaussian"
        if config.action_space == "continuous" and config.action_tanh:
            kind = "tanh-squashed Gaussian"
        rows.append(("Policy", f"stochastic ({kind}, Online DT loss); acts with its {_mode(config)} by default"))
    if "lm_coef" in training:
        rows.append(("λ (language-modeling loss weight)", f"{training['lm_coef']:g}"))
    lora = getattr(model, "peft_config", {}).get("default")  # a LoRA adapter (peft): the backbone is loaded apart
    if lora is not None:
        rows.append(
            (
                "LoRA adapter",
                f"rank {lora.r}, alpha {lora.lora_alpha:g} on {', '.join(sorted(lora.target_modules))}; this repo "
                "holds the adapter and the DT's own layers, loaded onto the backbone above (needs `peft`)",
            )
        )
    return rows


def _mode(config) -> str:
    return "mode" if config.action_space == "discrete" else "mean"


def _format_number(value) -> str | None:
    return None if value is None else f"{float(value):g}"


def _training_rows(training: Mapping[str, Any]) -> list[tuple]:
    rows = []
    for name, label in _TRAINING_FIELDS.items():
        value = training.get(name)
        if value is None or (name == "lm_dataset" and not training.get("lm_coef")):
            continue
        rows.append((label, format_value(value)))
    return rows


PROFILE = CardProfile(MODEL_CARD_TEMPLATE, card_content)
