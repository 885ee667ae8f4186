"""What the cards of the baseline agents (DQN Q-networks, REINFORCE policies) share: they are rendered from
`hf_decision/templates/baseline_model_card.md` with the same metadata layout as the Decision Transformer's card;
each family (`cards.dqn`, `cards.reinforce`) brings its name, tags, text and the description of its actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from hf_decision.cards.formatting import format_value
from hf_decision.cards.profile import CardContent, CardProfile

BASELINE_CARD_TEMPLATE = files("hf_decision") / "templates" / "baseline_model_card.md"

# Training arguments shown in the card, with their labels.
TRAINING_FIELDS = {
    "gamma": "Discount γ",
    "learning_rate": "Learning rate",
    "per_device_train_batch_size": "Batch size (transitions)",
    "max_steps": "Gradient steps",
    "target_update_interval": "Target-network update interval",
    "tau": "Target-network τ",
    "double_dqn": "Double DQN",
    "td_loss": "TD loss",
    "exploration_final_eps": "Final ε",
    "episodes_per_batch": "Episodes per gradient step",
    "reward_to_go": "Reward-to-go",
    "baseline": "Baseline",
    "entropy_coef": "Entropy coefficient",
    "seed": "Seed",
}


def model_rows(model, actions: str) -> list[tuple]:
    """The card's table of an MLP model: environment, sizes, `actions` (the family's description), network."""
    config = model.config
    hidden = " × ".join(str(size) for size in config.hidden_sizes) or "none"
    return [
        ("Environment", f"`{config.env_id}`"),
        ("Observation dimension", config.state_dim),
        ("Actions", actions),
        ("Network", f"MLP, hidden layers {hidden}, {config.activation}"),
        ("Parameters", f"{model.num_parameters():,}"),
        ("Observation normalization", "mean/std in `config.json`" if config.state_mean is not None else "none"),
    ]


def baseline_profile(
    *,
    algorithm: str,
    tags: tuple[str, ...],
    model_class: str,
    acting: str,
    description: str,
    citation: str,
    actions: Callable[[Any], str],
) -> CardProfile:
    """The card profile of a baseline family; `actions(config)` describes its action space."""

    def card_content(
        model,
        *,
        per_target: Mapping[float | None, Any],
        dataset_id: str | None,
        training: Mapping[str, Any],
        conditioning_path: str | Path | None,
    ) -> CardContent:
        training_rows = [
            (label, format_value(training[name])) for name, label in TRAINING_FIELDS.items() if name in training
        ]
        fields = dict(
            algorithm=algorithm,
            agent_class=model.agent_class,
            model_class=model_class,
            acting=acting,
            description=description,
            model_rows=model_rows(model, actions(model.config)),
            training_rows=training_rows,
            citation=citation,
        )
        card_tags = (*tags, *(("offline-rl",) if dataset_id else ()))
        return CardContent(card_tags, f"{algorithm.lower()}-{model.config.env_id}", None, fields)

    return CardProfile(BASELINE_CARD_TEMPLATE, card_content)
