from hf_decision.models.decision_transformer.configuration_decision_transformer import DecisionTransformerConfig
from hf_decision.models.decision_transformer.modeling_decision_transformer import (
    DecisionTransformerModel,
    DecisionTransformerOutput,
    DecisionTransformerPreTrainedModel,
)

__all__ = [
    "DecisionTransformerConfig",
    "DecisionTransformerModel",
    "DecisionTransformerOutput",
    "DecisionTransformerPreTrainedModel",
]
