"""The labeling and telemetry config sections: defaults, and errors that name the field."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, parse_config


def test_defaults() -> None:
    config = parse_config("{}")
    assert config.labeling.enabled and config.labeling.visible.position == "off"
    assert not config.telemetry.tracing.enabled
    assert config.telemetry.metrics.enabled and config.telemetry.access_log.enabled
    assert not config.telemetry.tracing.capture_content


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("telemetry: {tracing: {exporter: zipkin}}", "telemetry.tracing.exporter"),
        ("telemetry: {tracing: {sample_ratio: 2}}", "telemetry.tracing.sample_ratio"),
        ("telemetry: {metrics: {enabeld: true}}", "telemetry.metrics"),
        ("labeling: {producer: ''}", "labeling.producer"),
        ("labeling: {visible: {position: middle}}", "labeling.visible.position"),
        ("teams: {a: {labeling: {visible: {colour: red}}}}", "teams.a.labeling.visible"),
        ("teams: {a: {telemetry: {capture_content: maybe}}}", "teams.a.telemetry.capture_content"),
    ],
)
def test_bad_fields_are_named(text: str, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert path in str(caught.value)
