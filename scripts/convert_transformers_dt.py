"""Convert a checkpoint of transformers' `DecisionTransformerModel` into an hf_decision checkpoint.

transformers' DT checkpoints (e.g. `edbeeching/decision-transformer-gym-hopper-medium`) store neither the context
length nor the data statistics; pass them here so the converted model can act on its own:

    python scripts/convert_transformers_dt.py --model_name_or_path edbeeching/decision-transformer-gym-hopper-medium \
        --output_dir hopper-medium-dt --context_length 20 --return_scale 1000 --env_id Hopper-v5 \
        --state_mean 1.3 ... --state_std 0.17 ...
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hf_decision import DecisionTransformerModel


@dataclass
class ConvertArguments:
    model_name_or_path: str = field(metadata={"help": "Hub id or folder of a transformers DecisionTransformerModel."})
    output_dir: str = field(metadata={"help": "Where to save the converted hf_decision checkpoint."})
    context_length: int = field(default=20, metadata={"help": "K, the number of steps the model was trained on."})
    return_scale: float = field(default=1000.0, metadata={"help": "Divisor applied to returns-to-go in training."})
    state_mean: list[float] | None = field(default=None, metadata={"help": "Per-dimension state mean."})
    state_std: list[float] | None = field(default=None, metadata={"help": "Per-dimension state standard deviation."})
    target_returns: list[float] | None = field(default=None, metadata={"help": "Target returns for evaluation."})
    env_id: str | None = field(default=None, metadata={"help": "Gymnasium id of the environment."})


def main(args: ConvertArguments) -> DecisionTransformerModel:
    model = DecisionTransformerModel.from_transformers_dt(
        args.model_name_or_path,
        context_length=args.context_length,
        return_scale=args.return_scale,
        state_mean=args.state_mean,
        state_std=args.state_std,
        target_returns=args.target_returns,
        env_id=args.env_id,
    )
    model.save_pretrained(args.output_dir)
    print(f"Saved {type(model).__name__} to {args.output_dir}")
    return model


if __name__ == "__main__":
    (convert_args,) = HfArgumentParser(ConvertArguments).parse_args_into_dataclasses()
    main(convert_args)
