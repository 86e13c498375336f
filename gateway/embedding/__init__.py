"""Text embeddings shared by the semantic cache and the intent routers: the ONNX
all-MiniLM-L6-v2 embedder, its offline export, and the one service that loads each
model once per process."""
