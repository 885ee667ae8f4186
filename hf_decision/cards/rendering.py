"""Rendering an agent's model card: the layout every card shares, filled by the profile of the agent's family.

The card's metadata follows what the Hub's reinforcement-learning pages read: `library_name: hf_decision`, the
family's tags and the env id, and a `model-index` whose metrics are `mean_reward` values written
`"<mean> +/- <std>"`, one per evaluated target return (the first is the target the agent uses by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

import hf_decision
from hf_decision.agents import agent_class_for
from hf_decision.cards import decision_transformer, dqn, reinforce
from hf_decision.cards.checking import LIBRARY_NAME, check_model_card
from hf_decision.cards.formatting import dataset_rows, is_hub_id, per_target_results, results_table
from hf_decision.cards.profile import CardProfile, as_dict, file_name

# agent class name → the card profile of its family
CARD_PROFILES: dict[str, CardProfile] = {
    "DecisionTransformerAgent": decision_transformer.PROFILE,
    "QNetworkAgent": dqn.PROFILE,
    "PolicyAgent": reinforce.PROFILE,
}


def card_profile(model) -> CardProfile:
    """The card profile of the family of the agent acting with `model` (`agent_class_for`)."""
    name = agent_class_for(model).__name__
    if name not in CARD_PROFILES:
        raise TypeError(f"no model card for a {type(model).__name__} (acted by {name})")
    return CARD_PROFILES[name]


def render_model_card(
    model,
    *,
    eval_results: Mapping[str, Any] | None = None,
    dataset_id: str | None = None,
    training_args: Any = None,
    dataset_statistics: Mapping[str, Any] | None = None,
    plot_path: str | Path | None = None,
    video_path: str | Path | None = None,
    repo_id: str | None = None,
    license: str = "other",
    conditioning_path: str | Path | None = None,
) -> ModelCard:
    """The model card of an agent, rendered from the template of its family's profile and checked: a Decision
    Transformer's from `hf_decision/templates/model_card.md`, a DQN Q-network's or REINFORCE policy's from
    `baseline_model_card.md`.

    Args:
        model: a `DecisionTransformerModel`, `QNetworkModel` or `PolicyModel`; its config must name the `env_id`.
        eval_results: an `evaluate(...)` result, or a mapping target → result; becomes the `model-index`.
        dataset_id: the training dataset; listed in the metadata when it is a Hub id.
        training_args: the training config (or a dict of its fields) the model was trained with.
        dataset_statistics: `TrajectoryStore.statistics()` of the training data.
        plot_path, video_path: the evaluation plot and rollout video; the card links them by file name, so they
            must sit next to `README.md`.
        conditioning_path: a Decision Transformer's achieved-against-target plot (`plot_return_conditioning`),
            linked the same way.
        repo_id: the Hub id (or folder) the usage snippet loads; names the model in the `model-index`.
        license: the license metadata; `"other"` leaves the choice to the publisher.

    Raises:
        ValueError: naming the missing field (env id, target return) or the card metadata that failed its check.
    """
    config = model.config
    if not config.env_id:
        raise ValueError("model.config.env_id is required: the card's tags and model-index name the environment")
    profile = card_profile(model)
    per_target = per_target_results(eval_results)
    hub_dataset = dataset_id if is_hub_id(dataset_id) else None
    content = profile.content(
        model,
        per_target=per_target,
        dataset_id=dataset_id,
        training=as_dict(training_args),
        conditioning_path=conditioning_path,
    )
    model_name = (repo_id or content.default_name).rstrip("/").split("/")[-1]
    eval_metadata = [_eval_result(config.env_id, target, r) for target, r in per_target.items()]
    card_data = ModelCardData(
        library_name=LIBRARY_NAME,
        license=license,
        pipeline_tag="reinforcement-learning",
        tags=[*content.tags, config.env_id],
        datasets=[hub_dataset] if hub_dataset else None,
        base_model=content.base_model,
        # `model_name` only names the model-index; without results it would be a stray metadata key.
        model_name=model_name if eval_metadata else None,
        eval_results=eval_metadata or None,
    )
    card = ModelCard.from_template(
        card_data,
        template_str=profile.template.read_text(encoding="utf-8"),
        model_name=model_name,
        env_id=config.env_id,
        repo_id=repo_id or "path/to/agent-folder",
        eval_table=results_table(per_target) if per_target else None,
        eval_episodes=_episodes(per_target),
        dataset_id=dataset_id,
        hub_dataset=hub_dataset,
        dataset_rows=dataset_rows(dataset_statistics) if dataset_statistics else None,
        plot_file=file_name(plot_path),
        video_file=file_name(video_path),
        license=license,
        version=hf_decision.__version__,
        **content.fields,
    )
    check_model_card(
        card,
        env_id=config.env_id,
        n_results=len(per_target),
        base_model=content.base_model,
        dataset_id=hub_dataset,
        tags=content.tags,
    )
    return card


def _eval_result(env_id: str, target: float | None, result: Mapping[str, Any]) -> EvalResult:
    return EvalResult(
        task_type="reinforcement-learning",
        dataset_type=env_id,
        dataset_name=env_id,
        metric_type="mean_reward",
        metric_name="mean_reward" if target is None else f"mean_reward@{target:g}",
        metric_value=f"{result['mean_return']:.2f} +/- {result['std_return']:.2f}",
    )


def _episodes(per_target: Mapping[float | None, Mapping[str, Any]]) -> int | None:
    counts = {len(r["returns"]) for r in per_target.values() if r.get("returns") is not None}
    return counts.pop() if len(counts) == 1 else None
