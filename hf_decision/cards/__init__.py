"""Model and dataset cards: the layout every agent card shares (`rendering`), its offline check (`checking`), and
one profile per family (`decision_transformer`, `dqn`, `reinforce`; `dataset` for collected datasets)."""

from hf_decision.cards.checking import LIBRARY_NAME, REQUIRED_TAGS, check_model_card
from hf_decision.cards.dataset import dataset_card
from hf_decision.cards.formatting import is_hub_id, per_target_results, results_table
from hf_decision.cards.rendering import card_profile, render_model_card

__all__ = [
    "LIBRARY_NAME",
    "REQUIRED_TAGS",
    "card_profile",
    "check_model_card",
    "dataset_card",
    "is_hub_id",
    "per_target_results",
    "render_model_card",
    "results_table",
]
