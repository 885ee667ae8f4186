from hf_decision.models.decision_transformer import DecisionTransformerConfig, DecisionTransformerModel

__all__ = ["DecisionTransformerConfig", "DecisionTransformerModel"]
