"""The Decision Transformer trainer: L = L_decision + λ·L_language (Reid et al. 2022)."""

from __future__ import annotations

import json
import logging
import os

import torch
from datasets import Dataset
from transformers import TrainerCallback

from hf_decision.data import DecisionCollator, DecisionWindows, TrajectoryStore, suggest_target_returns
from hf_decision.data.text import build_language_batches
from hf_decision.models.decision_transformer import DecisionTransformerModel
from hf_decision.models.fast_dropout import use_fast_dropout
from hf_decision.trainers.base import RLTrainer
from hf_decision.trainers.callbacks import EnvironmentEvaluationCallback
from hf_decision.trainers.decision_config import DecisionTransformerTrainingConfig

logger = logging.getLogger(__name__)

LANGUAGE_STATE_FILE = "language_batches.json"


class DecisionTransformerTrainer(RLTrainer):
    """Train a `DecisionTransformerModel` on K-step windows of offline trajectories, optionally with a language loss.

    `train_dataset` is a canonical episode dataset (see `hf_decision.data.load_trajectories`) or a `TrajectoryStore`.
    Before training, the data statistics the model needs to act on its own are written into `model.config`:
    `state_mean` / `state_std` when the config has none, and, when `target_returns` is unset, the targets
    `suggest_target_returns` reads off the dataset's episode returns (its best return first, the one an agent acts at
    by default, then the 10/50/90 % quantiles and 1.2 × the best: the sweep evaluations and model cards show).
    The collator then normalizes states with the config's statistics and divides returns-to-go by its `return_scale`.

    With `args.lora_r > 0` the model is wrapped by `hf_decision.models.decision_transformer.lora.add_lora` (the
    `lora` extra): adapters on the frozen backbone, the DT's own modules trained in full; `self.model` is then the
    `DecisionTransformerLoraModel`, `save_model` writes the adapter with the DT's config, and
    `self.trainable_parameters` is `(trainable, total)`.
    With a stochastic policy (`config.stochastic_policy`, the Online DT) `action_loss` is the model's NLL minus the
    temperature-weighted entropy, plus the temperature's own loss (`objectives.online_decision_loss`), and
    `action_nll`, `action_entropy` and `temperature` are logged too.

    With `args.lm_coef = λ > 0`, each micro-step also draws `lm_batch_size × lm_block_size` tokens of text and
    minimizes `action_loss + λ·lm_loss`; `action_loss` and `lm_loss` are logged next to `loss`. With λ = 0 no text
    pipeline is built at all.
    """

    def __init__(
        self,
        model: DecisionTransformerModel,
        args: DecisionTransformerTrainingConfig,
        train_dataset: Dataset | TrajectoryStore,
        callbacks: list[TrainerCallback] | None = None,
        language_batches=None,
        **kwargs,
    ):
        store = (
            train_dataset
            if isinstance(train_dataset, TrajectoryStore)
            else TrajectoryStore.from_dataset(train_dataset)
        )
        config = model.config
        self.dataset_statistics = store.statistics()
        if store.state_dim != config.state_dim:
            raise ValueError(f"the dataset has state_dim={store.state_dim} but the model config {config.state_dim}")
        _require_actions_fit(store, config)
        if config.state_mean is None and config.state_std is None:
            config.state_mean = self.dataset_statistics["state_mean"]
            config.state_std = self.dataset_statistics["state_std"]
        if config.target_returns is None:
            config.target_returns = suggest_target_returns(store)
        windows = DecisionWindows(store, config.context_length, sampling=args.window_sampling)
        collator = DecisionCollator(
            store, config.context_length, config.return_scale, config.state_mean, config.state_std
        )
        if args.fast_dropout:  # off CPU the masks are torch's, and SDPA attention stays
            use_fast_dropout(model, attention=args.device.type == "cpu")
        self.trainable_parameters: tuple[int, int] | None = None  # (trainable, total) with LoRA
        if args.lora_r > 0 and not hasattr(model, "peft_config"):
            model = self._add_lora(model, args)
        callbacks = list(callbacks or [])
        if args.eval_env_steps > 0:
            callbacks.append(EnvironmentEvaluationCallback(args))
        super().__init__(
            model=model, args=args, train_dataset=windows, data_collator=collator, callbacks=callbacks, **kwargs
        )
        for callback in callbacks:
            if isinstance(callback, EnvironmentEvaluationCallback):
                callback.trainer = self
        self.store = store
        self.language_batches = language_batches
        if args.lm_coef > 0 and language_batches is None:
            self.language_batches = self._build_language_batches()

    def _add_lora(self, model: DecisionTransformerModel, args: DecisionTransformerTrainingConfig):
        # peft is the optional `lora` extra: imported only when LoRA is asked for
        from hf_decision.models.decision_transformer.lora import add_lora, trainable_parameters

        if not model.config.backbone_name_or_path:
            logger.warning(
                "LoRA on a randomly initialized backbone: the saved adapter cannot be loaded again (it names no "
                "backbone checkpoint); save hf_decision.models.decision_transformer.lora.merge_lora(model) instead"
            )
        model = add_lora(model, args.lora_r, args.lora_alpha, args.lora_dropout, args.lora_target_modules)
        self.trainable_parameters = trainable_parameters(model)
        trainable, total = self.trainable_parameters
        logger.info(
            "LoRA r=%d: %d of %d parameters trainable (%.2f%%)", args.lora_r, trainable, total, 100 * trainable / total
        )
        return model

    def _build_language_batches(self):
        args = self.args
        tokenizer = args.lm_tokenizer_name_or_path or self.model.config.backbone_name_or_path
        if not tokenizer:
            raise ValueError(
                "lm_coef > 0 needs a tokenizer: set lm_tokenizer_name_or_path, or start from a pretrained backbone"
            )
        return build_language_batches(
            args.lm_dataset,
            tokenizer,
            config=args.lm_dataset_config,
            split=args.lm_split,
            block_size=args.lm_block_size,
            batch_size=args.lm_batch_size,
            seed=args.seed,
        )

    # In the training loop `compute_loss` scales its terms for gradient accumulation itself (see there).
    loss_is_scaled_for_ga = True

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """The micro-batches of one optimizer step, and their number of real (unpadded) steps on all processes."""
        batch_samples, _ = super().get_batch_samples(epoch_iterator, num_batches, device)
        real_steps = sum(batch["attention_mask"].sum() for batch in batch_samples) if batch_samples else 0
        real_steps = torch.as_tensor(real_steps, device=device).reshape(1)
        if self.accelerator.num_processes > 1:
            real_steps = self.accelerator.gather(real_steps)
        return batch_samples, real_steps.sum()

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """`action_loss + λ·lm_loss`, both float32 means; with λ = 0 the text path is not run.

        In the training loop (`num_items_in_batch` = the real steps of the whole optimizer step, see
        `get_batch_samples`), the action loss is this micro-batch's share of the mean over all real steps of the
        optimizer step, on every process and micro-batch: `action_loss · n_real · processes / num_items_in_batch`
        (data parallelism averages the processes' gradients), and `λ·lm_loss` is divided by the accumulation steps.
        So windows of different lengths weigh the same whatever the split into micro-batches and processes: one
        process with batch B trains exactly like two with B/2, or like B/2 with two accumulation steps.
        """
        lm_coef = self.args.lm_coef
        if lm_coef > 0 and model.training:
            inputs = {**inputs, "lm_input_ids": next(self.language_batches).to(inputs["states"].device)}
        outputs = model(**inputs, state_tokens_only=True)  # the same loss, the last block on a third of the tokens
        action, lm = outputs.loss, outputs.lm_loss
        parts = {"action_loss": action} if lm is None else {"action_loss": action, "lm_loss": lm}
        if outputs.action_nll is not None:  # a stochastic policy: NLL − λ·H (see `objectives.online_decision_loss`)
            parts.update(
                action_nll=outputs.action_nll, action_entropy=outputs.action_entropy, temperature=outputs.temperature
            )
        self.record_loss_parts(**parts)
        if num_items_in_batch is not None and model.training:
            real_steps = inputs["attention_mask"].sum() * self.accelerator.num_processes
            action = action * (real_steps / num_items_in_batch)  # exactly action_loss with one process and micro-batch
            lm = lm / self.current_gradient_accumulation_steps if lm is not None else None
        loss = action + lm_coef * lm if lm is not None else action
        return (loss, outputs) if return_outputs else loss

    def save_extra_state(self, folder: str) -> None:
        if self.language_batches is not None:
            with open(os.path.join(folder, LANGUAGE_STATE_FILE), "w") as f:
                json.dump(self.language_batches.state_dict(), f)

    def load_extra_state(self, folder: str) -> None:
        if self.language_batches is None:
            return
        path = os.path.join(folder, LANGUAGE_STATE_FILE)
        if os.path.exists(path):
            with open(path) as f:
                self.language_batches.load_state_dict(json.load(f))
        else:
            logger.warning("%s has no %s: the text restarts from its beginning", folder, LANGUAGE_STATE_FILE)


def _require_actions_fit(store: TrajectoryStore, config) -> None:
    """The dataset's actions must be of the model's kind, and fit its `act_dim`."""
    kind = "discrete" if store.discrete else "continuous"
    if kind != config.action_space:
        hint = (
            " (discrete actions stored as floats? load them with action_space='discrete')"
            if kind == "continuous"
            else ""
        )
        raise ValueError(
            f"the dataset's actions are {kind}{hint} but the model config's action_space is {config.action_space!r}"
        )
    if store.discrete and store.act_dim > config.act_dim:
        raise ValueError(
            f"the dataset holds discrete action {store.act_dim - 1} but the model config has act_dim={config.act_dim} "
            f"(actions 0..{config.act_dim - 1})"
        )
    if not store.discrete and store.act_dim != config.act_dim:
        raise ValueError(f"the dataset has act_dim={store.act_dim} but the model config {config.act_dim}")


__all__ = ["DecisionTransformerTrainer", "DecisionTransformerTrainingConfig"]
