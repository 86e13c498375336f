"""``python -m gateway.cache.export_onnx OUT_DIR``: the command the Dockerfile and the
docs use, kept working; the export itself lives with the embedder, in
``gateway.embedding.export_onnx``."""

from __future__ import annotations

import sys

from gateway.embedding.export_onnx import main

if __name__ == "__main__":
    sys.exit(main())
