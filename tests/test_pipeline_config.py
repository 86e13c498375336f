"""Config errors of the pipeline sections name the field, as ``gateway check`` shows."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, parse_config

BASE = """
providers: {p: {kind: openai, base_url: "http://127.0.0.1:9/v1", health: null}}
models:
  small: {targets: [{provider: p, model: s}]}
  large: {targets: [{provider: p, model: l}]}
teams: {t: {}}
"""

ROUTER = """
intents:
  auto:
    default: chat
    intents:
      chat: {target: small, examples: ["hi"]}
      code: {target: large, examples: ["write code"]}
"""


@pytest.mark.parametrize(
    ("extra", "path", "problem"),
    [
        (
            ROUTER.replace("default: chat", "default: nope"),
            "intents.auto.default",
            "unknown intent",
        ),
        (
            ROUTER.replace("target: large", "target: huge"),
            "intents.auto.intents.code.target",
            "unknown model",
        ),
        (ROUTER.replace('["hi"]', "[]"), "intents.auto.intents.chat.examples", "length"),
        (
            ROUTER.replace("default: chat", "default: chat\n    colour: red"),
            "intents.auto.colour",
            "unknown field",
        ),
        (ROUTER.replace("auto:", "small:"), "intents.small", "also a model name"),
        (
            "experiments: {e: {model: small, variants: [{name: a, model: small}, {name: b, model: large}]}}",
            "experiments.e.model",
            "already a model name",
        ),
        (
            "experiments: {e: {model: ab, variants: [{name: a, model: small}, {name: b, model: huge}]}}",
            "experiments.e.variants[1].model",
            "unknown model",
        ),
        (
            "experiments: {e: {model: ab, variants: [{name: a, model: small}]}}",
            "experiments.e.variants",
            "length",
        ),
        (
            "experiments: {e: {model: ab, variants: [{name: a, model: small, weight: 0}, {name: b, model: large}]}}",
            "experiments.e.variants[0].weight",
            "",
        ),
        ("confidence: {default_policy: strict}", "confidence.default_policy", "unknown policy"),
        ("confidence: {policies: {p: {action: retry}}}", "confidence.policies", "retry_model"),
        (
            "confidence: {policies: {p: {action: retry, retry_model: huge}}}",
            "confidence.policies.p.retry_model",
            "unknown model",
        ),
        ("confidence: {policies: {p: {min_mean: 2}}}", "confidence.policies", "<= 1"),
    ],
    ids=[
        "default-not-an-intent",
        "unknown-target",
        "no-examples",
        "unknown-field",
        "router-shadows-model",
        "experiment-shadows-model",
        "variant-unknown-model",
        "one-variant",
        "zero-weight",
        "unknown-default-gate",
        "retry-without-model",
        "retry-unknown-model",
        "threshold-above-one",
    ],
)
def test_bad_pipeline_config_names_the_field(extra: str, path: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + extra, env={})
    assert caught.value.path.startswith(path), str(caught.value)
    assert problem in str(caught.value)


def test_team_gate_policy_must_exist() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE.replace("teams: {t: {}}", "teams: {t: {confidence: nope}}"), env={})
    assert caught.value.path == "teams.t.confidence"


def test_a_valid_pipeline_config_loads() -> None:
    text = BASE.replace(
        "teams: {t: {}}", "teams: {t: {confidence: p, feedback: {retain_content: true}}}"
    )
    config = parse_config(
        text
        + ROUTER
        + "experiments: {e: {model: ab, variants: [{name: a, model: small}, {name: b, model: large}]}}\n"
        + "confidence: {policies: {p: {action: replace, message: sorry}}}\n",
        env={},
    )
    assert config.intents["auto"].intents["code"].target == "large"
    assert config.teams["t"].feedback is not None and config.teams["t"].feedback.retain_content
