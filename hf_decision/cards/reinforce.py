"""The card of a REINFORCE policy (`baseline_model_card.md`)."""

from hf_decision.cards.baseline import baseline_profile

REINFORCE_CITATION = """@article{williams1992simple,
  title   = {Simple statistical gradient-following algorithms for connectionist reinforcement learning},
  author  = {Williams, Ronald J.},
  journal = {Machine Learning},
  volume  = {8},
  pages   = {229--256},
  year    = {1992}
}"""


def _actions(config) -> str:
    if config.action_space == "discrete":
        return f"discrete, {config.act_dim} actions (categorical)"
    return f"continuous, {config.act_dim} dimensions (diagonal Gaussian)"


PROFILE = baseline_profile(
    algorithm="REINFORCE",
    tags=("reinforcement-learning", "policy-gradient", "reinforce"),
    model_class="PolicyModel",
    acting="the mode of the policy",
    description="A stochastic policy trained with REINFORCE (Williams 1992), the likelihood-ratio policy gradient on "
    "whole episodes.",
    citation=REINFORCE_CITATION,
    actions=_actions,
)
