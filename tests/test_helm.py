"""The Helm chart: strict lint, offline render, Kubernetes schemas, and what it wires.

No helm binary or cluster here: ``helm-python-sdk`` runs Helm's own Go SDK (lint and
render, offline) and ``kubernetes-validate`` checks every rendered object against the
bundled Kubernetes JSON schemas. Beyond schema validity, the tests check the wiring that
schemas cannot see: the rendered ``config.yaml`` loads with the gateway's own loader using
exactly the environment the Deployment provides, selectors select, probes hit real
routes, and termination outlasts the longest stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

helm = pytest.importorskip("helm_python", reason="pip install helm-python-sdk (dev extra)")
kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")

from gateway.api.health import ROUTES  # noqa: E402
from gateway.config.loader import parse_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm"
RELEASE, NAMESPACE = "gw", "ai"
FULLNAME = f"{RELEASE}-llm-gateway"
KUBE_VERSIONS = ["1.27.0", kv.latest_version()]  # Chart.yaml: kubeVersion >=1.27
VALUES = {
    "default": None,
    "engines-redis": CHART / "ci" / "engines-redis-values.yaml",
}
ROUTE_PATHS = {p for route in ROUTES for p in route.paths}


def _values(path: Path | None) -> dict[str, Any] | None:
    return yaml.safe_load(path.read_text()) if path else None


class Rendered:
    """One release rendered offline: objects by (kind, name), plus NOTES.txt."""

    def __init__(self, values: dict[str, Any] | None) -> None:
        with helm.Chart.load(CHART) as chart:
            out = chart.render(values=values, name=RELEASE, namespace=NAMESPACE)
        self.notes = next(v for k, v in out.items() if k.endswith("NOTES.txt"))
        self.objects = [
            doc
            for name, text in sorted(out.items())
            if not name.endswith("NOTES.txt")
            for doc in yaml.safe_load_all(text)
            if doc
        ]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
        return found[0]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    @property
    def gateway(self) -> dict[str, Any]:
        return self.get("Deployment", FULLNAME)

    @property
    def container(self) -> dict[str, Any]:
        spec = self.gateway["spec"]["template"]["spec"]
        return next(c for c in spec["containers"] if c["name"] == "gateway")

    @property
    def config_text(self) -> str:
        return str(self.get("ConfigMap", FULLNAME)["data"]["config.yaml"])

    def environment(self) -> dict[str, str]:
        """The container's variables, every Secret reference given a distinct value."""
        env = {}
        for var in self.container["env"]:
            env[var["name"]] = var.get("value") or f"sk-test-{var['name'].lower()}-0123456789"
        return env


@pytest.fixture(scope="module", params=list(VALUES), ids=list(VALUES))
def case(request: pytest.FixtureRequest) -> Iterator[tuple[str, Rendered]]:
    yield request.param, Rendered(_values(VALUES[request.param]))


# --- lint and schemas ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(VALUES))
def test_lint_strict_is_clean(name: str) -> None:
    report = helm.lint(CHART, _values(VALUES[name]), strict=True, namespace=NAMESPACE)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


def test_every_manifest_validates_against_kubernetes(case: tuple[str, Rendered]) -> None:
    _, rendered = case
    checked = 0
    for obj in rendered.objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: checked by test_service_monitor_selects_the_services
        for version in KUBE_VERSIONS:
            try:
                kv.validate(obj, version, strict=True)
            except kv.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                pytest.fail(
                    f"{obj['kind']}/{obj['metadata']['name']} on {version}: {path}: {exc.message}"
                )
            checked += 1
    assert checked >= 2 * 4


def test_validator_rejects_a_broken_manifest() -> None:
    """The check above means something: a misspelt field fails strict validation."""
    rendered = Rendered(None)
    broken = json.loads(json.dumps(rendered.gateway))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, KUBE_VERSIONS[-1], strict=True)


# --- the gateway's config ----------------------------------------------------------------


def test_rendered_config_loads_with_exactly_the_pod_environment(
    case: tuple[str, Rendered],
) -> None:
    """Every ${VAR} in config.yaml is provided by the Deployment (else the loader raises,
    as the pod would at start), and the result passes the gateway's own validation."""
    _, rendered = case
    config = parse_config(rendered.config_text, env=rendered.environment())
    assert config.server.host == "0.0.0.0"
    assert config.server.port == rendered.container["ports"][0]["containerPort"]
    args = rendered.container["args"]
    assert args[args.index("--workers") + 1] == str(config.server.workers)
    assert args[args.index("--config") + 1] == "/etc/gateway/config.yaml"
    assert config.admin.master_key == rendered.environment()["GATEWAY_MASTER_KEY"]
    assert config.keys, "no client key configured"


def test_policy_files_are_mounted_next_to_the_config(case: tuple[str, Rendered]) -> None:
    _, rendered = case
    data = rendered.get("ConfigMap", FULLNAME)["data"]
    volume = next(
        v for v in rendered.gateway["spec"]["template"]["spec"]["volumes"] if v["name"] == "config"
    )
    mounted = {item["key"]: item["path"] for item in volume["configMap"]["items"]}
    assert set(mounted) == set(data), "every ConfigMap key is mounted, and only those"
    policies = sorted(p for p in (ROOT / "policies").rglob("*") if p.is_file())
    assert policies
    for path in policies:
        rel = path.relative_to(ROOT / "policies").as_posix()
        key = next(k for k, v in mounted.items() if v == f"policies/{rel}")
        assert data[key] == path.read_text(), f"{rel} differs from the repository's copy"
    mount = next(m for m in rendered.container["volumeMounts"] if m["name"] == "config")
    assert mount["mountPath"] == "/etc/gateway" and mount["readOnly"] is True


# --- the gateway pod ---------------------------------------------------------------------


def test_pod_is_hardened(case: tuple[str, Rendered]) -> None:
    _, rendered = case
    pod = rendered.gateway["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 1000
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    sc = rendered.container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    writable = {m["mountPath"] for m in rendered.container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/tmp", "/var/lib/gateway"}
    assert rendered.container["resources"]["limits"]["memory"]
    keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
    assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}


def test_embedded_state_and_label_key_live_where_they_persist(case: tuple[str, Rendered]) -> None:
    """The embedded state goes to the data volume (not the read-only config mount), and
    every replica signs labels with the one key from the Secret."""
    _, rendered = case
    env = rendered.environment()
    data = next(m for m in rendered.container["volumeMounts"] if m["name"] == "data")
    assert env["GATEWAY_DATA_DIR"] == data["mountPath"]
    config = parse_config(rendered.config_text, env=env)
    assert config.labeling.signing_key == env["GATEWAY_LABEL_SIGNING_KEY"]


def test_probes_hit_real_routes(case: tuple[str, Rendered]) -> None:
    _, rendered = case
    c = rendered.container
    assert c["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert c["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert c["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["path"] in ROUTE_PATHS
        assert c[probe]["httpGet"]["port"] == c["ports"][0]["name"]


def test_termination_outlasts_the_longest_stream(case: tuple[str, Rendered]) -> None:
    """SIGKILL may come only after the preStop pause plus the whole drain, and the drain
    covers every provider's longest exchange (timeouts.total)."""
    _, rendered = case
    config = parse_config(rendered.config_text, env=rendered.environment())
    pod = rendered.gateway["spec"]["template"]["spec"]
    pre_stop = int(rendered.container["lifecycle"]["preStop"]["exec"]["command"][-1])
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > pre_stop + config.server.shutdown_grace_s
    longest = max(p.timeouts.total for p in config.providers.values())
    assert config.server.shutdown_grace_s >= longest


def test_service_and_budgets_select_the_gateway_pods(case: tuple[str, Rendered]) -> None:
    _, rendered = case
    labels = rendered.gateway["spec"]["template"]["metadata"]["labels"]
    selector = rendered.gateway["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    service = rendered.get("Service", FULLNAME)
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == rendered.container["ports"][0]["name"]
    for pdb in rendered.of_kind("PodDisruptionBudget"):
        assert pdb["spec"]["selector"]["matchLabels"] == selector
    for hpa in rendered.of_kind("HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] == FULLNAME
        assert "replicas" not in rendered.gateway["spec"], "the HPA owns replicas"


def test_service_monitor_selects_the_services(case: tuple[str, Rendered]) -> None:
    name, rendered = case
    monitors = rendered.of_kind("ServiceMonitor")
    if name == "default":
        assert monitors == []
        return
    assert monitors
    services = rendered.of_kind("Service")
    for monitor in monitors:
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        wanted = monitor["spec"]["selector"]["matchLabels"]
        chosen = [s for s in services if wanted.items() <= s["metadata"]["labels"].items()]
        assert chosen, f"ServiceMonitor {monitor['metadata']['name']} selects no Service"
        for endpoint in monitor["spec"]["endpoints"]:
            for service in chosen:
                assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    gateway_monitor = rendered.get("ServiceMonitor", FULLNAME)
    endpoint = gateway_monitor["spec"]["endpoints"][0]
    assert endpoint["path"] == "/metrics"
    # /metrics is not anonymous: Prometheus sends the scrape token the gateway reads.
    credentials = endpoint["authorization"]["credentials"]
    assert endpoint["authorization"]["type"] == "Bearer"
    assert credentials == {"name": f"{FULLNAME}-keys", "key": "metrics-token"}
    env = {
        e["name"]: e
        for e in rendered.get("Deployment", FULLNAME)["spec"]["template"]["spec"]["containers"][0][
            "env"
        ]
    }
    assert env["GATEWAY_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"] == credentials
    config = yaml.safe_load(rendered.config_text)
    assert config["telemetry"]["metrics"]["token"] == "${GATEWAY_METRICS_TOKEN}"


# --- Redis and engines (the engines-redis values) ---------------------------------------


@pytest.fixture(scope="module")
def full() -> Rendered:
    return Rendered(_values(VALUES["engines-redis"]))


def test_redis_is_persistent_and_is_the_gateway_state(full: Rendered) -> None:
    name = f"{FULLNAME}-redis"
    sts = full.get("StatefulSet", name)
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--dir") + 1] == "/data"
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert full.get("Service", name)["spec"]["clusterIP"] == "None"
    config = parse_config(full.config_text, env=full.environment())
    password = full.environment()["REDIS_PASSWORD"]
    assert config.state.url == f"redis://:{password}@{name}:6379/0"
    assert "--requirepass" in args


def test_engines_request_gpus_and_wait_for_model_load(full: Rendered) -> None:
    values = _values(VALUES["engines-redis"])
    assert values is not None
    trt = values["trtllm"]
    deployments = [d for d in full.of_kind("Deployment") if "-trtllm-" in d["metadata"]["name"]]
    assert len(deployments) == trt["instances"]
    for dep in deployments:
        pod = dep["spec"]["template"]["spec"]
        c = pod["containers"][0]
        assert c["command"] == ["trtllm-serve"]
        assert c["args"][0] == trt["model"]
        assert c["args"][c["args"].index("--served_model_name") + 1] == trt["servedModelName"]
        assert c["resources"]["limits"]["nvidia.com/gpu"] == trt["gpus"]
        startup = c["startupProbe"]
        assert startup["httpGet"]["path"] == "/health"
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 1800
        extra = c["args"][c["args"].index("--config") + 1]
        mount = next(m for m in c["volumeMounts"] if extra.startswith(m["mountPath"]))
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        engine_cfg = yaml.safe_load(
            full.get("ConfigMap", volume["configMap"]["name"])["data"][Path(extra).name]
        )
        assert engine_cfg["return_perf_metrics"] is True, "no /prometheus/metrics to route on"
        assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])


def test_gateway_routes_to_every_engine_by_load(full: Rendered) -> None:
    values = _values(VALUES["engines-redis"])
    assert values is not None
    config = parse_config(full.config_text, env=full.environment())
    model = config.models[values["trtllm"]["modelName"]]
    assert model.routing.strategy == "engine-aware"
    engine_targets = [t for t in model.targets if config.providers[t.provider].kind == "trtllm"]
    services = {s["metadata"]["name"]: s for s in full.of_kind("Service")}
    reached = set()
    for target in engine_targets:
        provider = config.providers[target.provider]
        assert provider.metrics.source == "prometheus"
        url = re.fullmatch(r"http://([\w.-]+):(\d+)/v1", provider.base_url)
        assert url, provider.base_url
        service = services[url.group(1)]
        assert int(url.group(2)) == service["spec"]["ports"][0]["port"]
        reached.add(url.group(1))
    assert len(reached) == values["trtllm"]["instances"], "one provider per engine instance"


def test_engines_and_redis_only_accept_the_gateway(full: Rendered) -> None:
    gateway_labels = full.gateway["spec"]["template"]["metadata"]["labels"]
    policies = full.of_kind("NetworkPolicy")
    assert {p["metadata"]["name"] for p in policies} == {
        f"{FULLNAME}-redis",
        f"{FULLNAME}-trtllm",
    }
    for policy in policies:
        peers = policy["spec"]["ingress"][0]["from"]
        assert peers[0]["podSelector"]["matchLabels"].items() <= gateway_labels.items()


def _exposed_families() -> set[str]:
    """Metric families a gateway exposes on /metrics (every one, with or without samples)."""
    from prometheus_client.parser import text_string_to_metric_families

    from gateway.telemetry.config import Metrics
    from gateway.telemetry.metrics import GatewayMetrics

    text = GatewayMetrics(Metrics(), health=lambda: {"p": True}).exposition().decode()
    return {family.name for family in text_string_to_metric_families(text)}


def test_dashboard_queries_only_metrics_the_gateway_exposes(full: Rendered) -> None:
    cm = full.get("ConfigMap", f"{FULLNAME}-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(cm["data"]["llm-gateway.json"])
    assert dashboard["uid"] and dashboard["panels"]
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    queries = [
        v["query"]["query"]
        for v in dashboard["templating"]["list"]
        if "query" in v and isinstance(v["query"], dict)
    ]
    # A metric name is what precedes a selector, or label_values()'s first argument.
    used = set(re.findall(r"\b((?:gateway|gen_ai)_\w+)\{", " ".join(exprs + queries)))
    used |= set(re.findall(r"label_values\((\w+)", " ".join(queries)))
    base = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used}
    exposed = _exposed_families()
    assert base - exposed == set(), f"the dashboard queries metrics nobody exposes: {exposed}"
    assert len(base) >= 12


@pytest.mark.parametrize("name", list(VALUES))
def test_notes_show_the_openai_sdk_call(name: str) -> None:
    rendered = Rendered(_values(VALUES[name]))
    config = parse_config(rendered.config_text, env=rendered.environment())
    assert "from openai import OpenAI" in rendered.notes
    assert 'base_url=os.environ["GATEWAY_URL"] + "/v1"' in rendered.notes
    model = re.search(r'model="([^"]+)"', rendered.notes)
    assert model and model.group(1) in config.models
    secret = re.search(r"create secret generic (\S+)", rendered.notes)
    refs = {
        v["valueFrom"]["secretKeyRef"]["name"]
        for v in rendered.container["env"]
        if "valueFrom" in v and not v["valueFrom"]["secretKeyRef"].get("optional")
    }
    assert secret and refs == {secret.group(1)}


# --- values the chart refuses --------------------------------------------------------------

REFUSED = [
    ("replicas-without-redis", {"replicaCount": 3}, "shared state"),
    ("autoscaling-without-redis", {"autoscaling": {"enabled": True}}, "shared state"),
    (
        "drain-shorter-than-streams",
        {"shutdown": {"longestStreamSeconds": 300, "preStopSeconds": 5}},
        "timeouts.total",
    ),
    ("pdb-one-replica", {"podDisruptionBudget": {"enabled": True}}, "drains"),
    ("config-not-yaml", {"config": "providers: [1"}, "not valid YAML"),
    ("unknown-value", {"replicas": 2}, "additional properties"),
    ("wrong-type", {"replicaCount": "two"}, "replicaCount"),
    ("bad-enum", {"redis": {"appendfsync": "sometimes"}}, "appendfsync"),
    ("bad-redis-url", {"externalRedis": {"url": "http://redis:6379"}}, "url"),
]


@pytest.mark.parametrize(
    ("values", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_chart_refuses_values_that_would_misbehave(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError) as exc, helm.Chart.load(CHART) as chart:
        chart.render(values=values, name=RELEASE, namespace=NAMESPACE)
    assert message in str(exc.value)


def test_replicas_with_redis_render() -> None:
    rendered = Rendered({"replicaCount": 3, "redis": {"enabled": True}})
    assert rendered.gateway["spec"]["replicas"] == 3
