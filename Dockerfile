# Minimal image of the gateway (the full multi-stage image with the local engine, the
# embedding model and the Helm chart belong to the container issue).
# Build: docker build -t llm-gateway .
# Run:   docker run -p 8080:8080 -e GATEWAY_API_KEY=sk-... -e OPENAI_API_KEY=... (or mount a policy over /etc/gateway/default.yaml) llm-gateway
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY policies ./policies
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 gateway
COPY --from=build /install /usr/local
COPY policies /etc/gateway/
WORKDIR /home/gateway
USER 10001
ENV GATEWAY_CONFIG=/etc/gateway/default.yaml \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health/live', timeout=2)"]
ENTRYPOINT ["gateway", "serve"]
