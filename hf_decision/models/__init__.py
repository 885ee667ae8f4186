from hf_decision.models.decision_transformer import DecisionTransformerConfig, DecisionTransformerModel
from hf_decision.models.policy import PolicyConfig, PolicyModel
from hf_decision.models.q_network import QNetworkConfig, QNetworkModel

__all__ = [
    "DecisionTransformerConfig",
    "DecisionTransformerModel",
    "PolicyConfig",
    "PolicyModel",
    "QNetworkConfig",
    "QNetworkModel",
]
