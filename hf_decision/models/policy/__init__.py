from hf_decision.models.policy.configuration_policy import PolicyConfig
from hf_decision.models.policy.modeling_policy import PolicyModel, PolicyOutput

__all__ = ["PolicyConfig", "PolicyModel", "PolicyOutput"]
