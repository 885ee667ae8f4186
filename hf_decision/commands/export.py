"""Export a trained agent (Decision Transformer, DQN Q-network or REINFORCE policy checkpoint) to ONNX, check the
file with `onnx.checker` and compare onnxruntime's output with the eager model's.

    hf-decision-export --model_dir runs/dt-hopper-v5 [--output runs/dt-hopper-v5/model.onnx]

The file carries the model's config, so it acts on its own: `hf_decision.export.load_onnx_agent(path)`.
Needs the `onnx` extra. Every flag can also come from `--config file.yaml`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from transformers import AutoModel, HfArgumentParser

import hf_decision  # noqa: F401  (registers the hf_decision model types with AutoModel)
from hf_decision.commands import console_script
from hf_decision.commands.parsing import parse_with_config
from hf_decision.export import ONNX_FILE, export_onnx, max_abs_difference
from hf_decision.export.onnx import DEFAULT_OPSET


@dataclass
class ExportArguments:
    model_dir: str = field(metadata={"help": "Checkpoint folder or Hub id of an hf_decision agent."})
    output: str | None = field(
        default=None, metadata={"help": f"ONNX file to write; default: <model_dir>/{ONNX_FILE}."}
    )
    opset_version: int = field(default=DEFAULT_OPSET, metadata={"help": "ONNX opset of the graph."})
    tolerance: float = field(
        default=1e-4,
        metadata={"help": "Largest |onnxruntime − eager| allowed on example inputs before the export is refused."},
    )


def main(args: ExportArguments) -> dict:
    model = AutoModel.from_pretrained(args.model_dir)
    if args.output is None and not Path(args.model_dir).is_dir():
        raise ValueError(f"{args.model_dir} is not a local folder: pass --output")
    output = Path(args.output) if args.output is not None else Path(args.model_dir) / ONNX_FILE
    export_onnx(model, output, opset_version=args.opset_version)
    difference = max_abs_difference(model, output)
    print(f"Wrote {output} ({type(model).__name__}); max |onnxruntime − eager| on example inputs: {difference:.2e}")
    if not difference <= args.tolerance:  # NaN fails too
        output.unlink()
        raise ValueError(f"onnxruntime and eager outputs differ by {difference} > {args.tolerance}; removed {output}")
    return {"output": str(output), "max_abs_difference": difference}


def cli(argv: list[str] | None = None) -> dict:
    (args,) = parse_with_config(HfArgumentParser(ExportArguments), argv if argv is not None else sys.argv[1:])
    return main(args)


run = console_script(cli)


if __name__ == "__main__":
    cli()
