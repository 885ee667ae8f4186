"""The card of a DQN Q-network (`baseline_model_card.md`)."""

from hf_decision.cards.baseline import baseline_profile

DQN_CITATION = """@article{mnih2015human,
  title   = {Human-level control through deep reinforcement learning},
  author  = {Mnih, Volodymyr and Kavukcuoglu, Koray and Silver, David and others},
  journal = {Nature},
  volume  = {518},
  pages   = {529--533},
  year    = {2015}
}"""

PROFILE = baseline_profile(
    algorithm="DQN",
    tags=("reinforcement-learning", "dqn", "deep-q-learning"),
    model_class="QNetworkModel",
    acting="greedy actions, argmax Q",
    description="A [DQN](https://www.nature.com/articles/nature14236) Q-network (Mnih et al. 2015): an MLP "
    "predicting Q(s, a) for every action, acting greedily.",
    citation=DQN_CITATION,
    actions=lambda config: f"discrete, {config.act_dim} actions",
)
