"""Training configuration of the Decision Transformer: transformers' `TrainingArguments` plus the DT's knobs.

Defaults follow the original Decision Transformer recipe (Chen et al. 2021, gym experiments): batch 64, AdamW with
learning rate 1e-4 and weight decay 1e-4, 10k steps of linear warmup then a constant rate, gradient-norm clipping at
0.25, dropout 0.1 (in the model config).

Training speed on CPU (`benchmarks/train_throughput.py`): the defaults are exact float32 (transformers' fused AdamW,
SDPA attention) and reproduce transformers' own DT loss by loss. On a CPU with bf16 instructions (AVX-512-bf16, AMX)
the recommended setting is `bf16=True, use_cpu=True` (accelerate's bfloat16 autocast; weights, optimizer and losses
stay float32) with `fast_dropout=True` (the same expectation, much cheaper masks, also for the attention
probabilities): about 1.9× the steps/s of the float32 defaults on 2 cores for the standard DT and 2× at GPT-2-small
size, final loss within 0.1%. They are off by default because bf16 rounds the forward pass and `fast_dropout` draws
other masks than torch's dropout for the same seed. On a CPU without bf16 instructions (AVX2 only) bf16 matrix
products are emulated and a step is several times slower than in float32: there the recommended setting is
`fast_dropout=True` alone. `cpu_has_fast_bf16()` tells which case a machine is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from hf_decision.models.decision_transformer.configuration_decision_transformer import LORA_TARGET_MODULES
from hf_decision.trainers.rl_config import RLTrainingConfig


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AVX-512-bf16 or AMX), so that `bf16=True` speeds
    up CPU training; without them torch emulates bf16 and it slows training down several-fold."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private torch probes: absent means "no"
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


@dataclass
class DecisionTransformerTrainingConfig(RLTrainingConfig):
    """`RLTrainingConfig` (transformers' `TrainingArguments`, evaluation in the environment, the non-finite loss
    policy) plus the language-modeling term and the DT's optimization knobs."""

    # --- the λ·language-modeling term (Reid et al. 2022) ---
    lm_coef: float = field(
        default=0.0,
        metadata={"help": "λ: weight of the next-token loss on text added to the action loss. 0 builds no text data."},
    )
    lm_dataset: str = field(
        default="Salesforce/wikitext",
        metadata={"help": "Text for the language loss: a Hub dataset id, or local text file(s) / folder."},
    )
    lm_dataset_config: str | None = field(
        default="wikitext-103-raw-v1", metadata={"help": "Hub configuration of `lm_dataset` (ignored for local text)."}
    )
    lm_split: str = field(default="train", metadata={"help": "Split of `lm_dataset` to read."})
    lm_tokenizer_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Tokenizer for the text; default: the backbone checkpoint the model was initialized from."},
    )
    lm_batch_size: int = field(default=4, metadata={"help": "Text sequences per optimizer micro-step."})
    lm_block_size: int = field(default=128, metadata={"help": "Tokens per text sequence."})

    # --- optimization ---
    backbone_learning_rate: float | None = field(
        default=None, metadata={"help": "Separate learning rate for the GPT-2 backbone; default: `learning_rate`."}
    )
    window_sampling: str = field(
        default="length",
        metadata={
            "help": "How K-step windows are drawn: 'length' (episode ∝ length, uniform start; the original DT) "
            "or 'windows' (uniform over complete windows)."
        },
    )

    # --- LoRA (Hu et al. 2022) through peft, the `lora` extra ---
    lora_r: int = field(
        default=0,
        metadata={
            "help": "Rank of LoRA adapters on the GPT-2 backbone; 0: no LoRA, every weight trains. With LoRA the "
            "backbone is frozen (its token embedding, so the tied LM head of λ·LM, included) and the DT's own "
            "embeddings and action head train in full; the saved model is the adapter (hf_decision.models.lora)."
        },
    )
    lora_alpha: float = field(default=32.0, metadata={"help": "LoRA scale: the update is (lora_alpha / lora_r)·BA."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the input of the LoRA adapters."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: list(LORA_TARGET_MODULES),
        metadata={"help": "Backbone modules that get adapters; default: GPT-2's attention and MLP projections."},
    )

    fast_dropout: bool = field(
        default=False,
        metadata={
            "help": "Drop with `hf_decision.models.fast_dropout` masks: every dropout layer of the model, and "
            "GPT-2's attention probabilities (eager or SDPA attention becomes an eager attention that uses them). "
            "Keep probability within 2^-17 of 1 - p, scaled by its inverse; 16-bit words of numpy's SFC64 seeded by "
            "torch's generator, about 7x cheaper than torch's dropout on CPU (other devices: unchanged). Other masks "
            "than torch's for the same seed."
        },
    )

    # --- transformers defaults changed to the DT recipe ---
    per_device_train_batch_size: int = field(default=64, metadata={"help": "Windows per device and micro-step."})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate."})
    weight_decay: float = field(default=1e-4, metadata={"help": "AdamW weight decay (linear weights only)."})
    warmup_steps: float = field(default=10_000, metadata={"help": "Linear warmup steps (or ratio if < 1)."})
    lr_scheduler_type: str = field(
        default="constant_with_warmup", metadata={"help": "Learning-rate schedule after warmup."}
    )
    max_grad_norm: float = field(default=0.25, metadata={"help": "Gradient-norm clipping."})

    def __post_init__(self):
        super().__post_init__()
        if self.lm_coef < 0:
            raise ValueError(f"lm_coef must be >= 0, got {self.lm_coef}")
        if self.window_sampling not in ("length", "windows"):
            raise ValueError(f"window_sampling must be 'length' or 'windows', got {self.window_sampling!r}")
        if self.lora_r < 0 or self.lora_alpha <= 0 or not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError(
                f"LoRA needs lora_r >= 0, lora_alpha > 0 and lora_dropout in [0, 1), got lora_r={self.lora_r}, "
                f"lora_alpha={self.lora_alpha}, lora_dropout={self.lora_dropout}"
            )
        for name in ("lm_batch_size", "lm_block_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
