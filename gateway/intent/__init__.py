"""Intent routing: router model names (``"model": "auto"``) classified by a small local
model into intents defined in policy, each sent to the model its intent names."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config.schema import Config
    from gateway.embedding.embedder import SyncEmbedder
    from gateway.embedding.service import Embedders
    from gateway.intent.stage import IntentRouting


def build_intent_routing(config: Config, embedders: Embedders) -> IntentRouting | None:
    """The stage with every router's classifier built (embedding each example once);
    None when the config has no routers. Logs each router's held-back accuracy. ONNX
    embedders come from the shared service (the semantic cache may use the same one)."""
    if not config.intents:
        return None
    from gateway.extras import require

    require("cache", "intent routing (its embedder)")
    import logging
    import os
    from pathlib import Path

    from gateway.cache.config import DEFAULT_THRESHOLD, EmbedderConfig
    from gateway.embedding.embedder import default_model_dir
    from gateway.intent.classifier import IntentClassifier
    from gateway.intent.stage import IntentRouting, RouterRuntime

    log = logging.getLogger("gateway.intent")
    routers: dict[str, RouterRuntime] = {}
    for name, router in config.intents.items():
        spec = router.embedder
        embedder: SyncEmbedder | None = None
        if spec.kind != "none":
            directory = (
                Path(os.path.expanduser(spec.model_dir)) if spec.model_dir else default_model_dir()
            )
            int8 = spec.precision == "int8"
            if spec.kind == "use-multilingual":  # plain vectors: languages help each other
                embedder = embedders.use()
            elif spec.kind == "minilm+wordllama":
                embedder = embedders.hybrid(
                    directory,
                    int8=int8,
                    cjk_threshold=EmbedderConfig().effective_cjk_threshold,
                    reference=DEFAULT_THRESHOLD,
                )
            else:  # one MiniLM session per process, shared with the semantic cache
                embedder = embedders.onnx(directory, int8=int8)
        classifier = IntentClassifier(router, embedder.embed_sync if embedder else None)
        routers[name] = RouterRuntime(router, classifier, embedder)
        log.info(
            "intent router %s: %d intents, %d examples, 5-fold held-back accuracy %.3f",
            name,
            len(router.intents),
            sum(len(i.examples) for i in router.intents.values()),
            classifier.held_back_accuracy(),
        )
    return IntentRouting(routers)
