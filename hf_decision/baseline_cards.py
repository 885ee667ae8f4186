"""Model cards of the baseline agents (DQN Q-networks, REINFORCE policies), rendered from
`hf_decision/templates/baseline_model_card.md` with the same metadata layout as the Decision Transformer's card."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from hf_decision.models.policy import PolicyModel
from hf_decision.models.q_network import QNetworkModel

BASELINE_CARD_TEMPLATE = files("hf_decision") / "templates" / "baseline_model_card.md"

DQN_CITATION = """@article{mnih2015human,
  title   = {Human-level control through deep reinforcement learning},
  author  = {Mnih, Volodymyr and Kavukcuoglu, Koray and Silver, David and others},
  journal = {Nature},
  volume  = {518},
  pages   = {529--533},
  year    = {2015}
}"""
REINFORCE_CITATION = """@article{williams1992simple,
  title   = {Simple statistical gradient-following algorithms for connectionist reinforcement learning},
  author  = {Williams, Ronald J.},
  journal = {Machine Learning},
  volume  = {8},
  pages   = {229--256},
  year    = {1992}
}"""
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


def card_profile(model) -> dict[str, Any]:
    """Algorithm name, tags, classes and text of the card of a Q-network or policy."""
    if isinstance(model, QNetworkModel):
        return {
            "algorithm": "DQN",
            "tags": ("reinforcement-learning", "dqn", "deep-q-learning"),
            "agent_class": "QNetworkAgent",
            "model_class": "QNetworkModel",
            "acting": "greedy actions, argmax Q",
            "description": "A [DQN](https://www.nature.com/articles/nature14236) Q-network (Mnih et al. 2015): an "
            "MLP predicting Q(s, a) for every action, acting greedily.",
            "citation": DQN_CITATION,
        }
    if isinstance(model, PolicyModel):
        return {
            "algorithm": "REINFORCE",
            "tags": ("reinforcement-learning", "policy-gradient", "reinforce"),
            "agent_class": "PolicyAgent",
            "model_class": "PolicyModel",
            "acting": "the mode of the policy",
            "description": "A stochastic policy trained with REINFORCE (Williams 1992), the likelihood-ratio policy "
            "gradient on whole episodes.",
            "citation": REINFORCE_CITATION,
        }
    raise TypeError(f"no baseline card for a {type(model).__name__}")


def model_rows(model) -> list[tuple]:
    config = model.config
    if isinstance(model, QNetworkModel):
        actions = f"discrete, {config.num_actions} actions"
    elif config.action_space == "discrete":
        actions = f"discrete, {config.act_dim} actions (categorical)"
    else:
        actions = f"continuous, {config.act_dim} dimensions (diagonal Gaussian)"
    hidden = " × ".join(str(size) for size in config.hidden_sizes) or "none"
    return [
        ("Environment", f"`{config.env_id}`"),
        ("Observation dimension", config.state_dim),
        ("Actions", actions),
        ("Network", f"MLP, hidden layers {hidden}, {config.activation}"),
        ("Parameters", f"{model.num_parameters():,}"),
        ("Observation normalization", "mean/std in `config.json`" if config.state_mean is not None else "none"),
    ]


def baseline_card_content(model, dataset_id: str | None, training: Mapping[str, Any]) -> tuple[tuple, str, dict]:
    """What the card of a Q-network or policy adds to the shared layout (`hub.render_model_card`): its tags (checked
    by `hub.check_model_card`), its default model name and the fields of `baseline_model_card.md`."""
    from hf_decision.hub import _format_value

    profile = card_profile(model)
    tags = (*profile["tags"], *(("offline-rl",) if dataset_id else ()))
    training_rows = [
        (label, _format_value(training[name])) for name, label in TRAINING_FIELDS.items() if name in training
    ]
    fields = {key: profile[key] for key in ("algorithm", "agent_class", "model_class", "acting", "description")}
    fields.update(model_rows=model_rows(model), training_rows=training_rows, citation=profile["citation"])
    return tags, f"{profile['algorithm'].lower()}-{model.config.env_id}", fields
