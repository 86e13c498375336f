"""``python -m gateway.cache.export_onnx OUT_DIR``: the command the Dockerfile and the
docs use. It exports the embedder (``gateway.embedding.export_onnx``) and, beside it,
the cache verifiers' pair models (``gateway.cache.verifier``: MiniLM for Latin script,
multilingual-e5-small for Chinese), so a container starts without torch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.cache import verifier
from gateway.embedding.export_onnx import export, export_pair_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.cache.export_onnx",
        description="Export the cache's embedder and verifiers to ONNX.",
    )
    parser.add_argument("out_dir", type=Path, help="folder to write the models into")
    out_dir: Path = parser.parse_args(argv).out_dir
    export(out_dir)
    for weights in (verifier.WEIGHTS, verifier.WEIGHTS_ZH):
        export_pair_model(out_dir, weights)
    print(f"exported all-MiniLM-L6-v2 and the cache verifiers to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
