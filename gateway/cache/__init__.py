"""Exact and semantic response cache: stage, store, embedder, index and guard."""
