"""PII redaction of text that leaves the gateway (the feedback export), by a team's
guardrail policy. The guard owns it; the feedback feature receives it as a function
from the app and imports nothing of the guard.

The export runs the span detectors of the team's policy (rules that redact or block;
whole-message judges such as the injection classifier find no spans to cut) over every
exported text, and always the built-in PII detector as a floor: a team without a
policy must not export raw e-mail addresses or ID numbers to a fine-tuning file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.guard.findings import Detector, Finding
from gateway.guard.pii import ENTITY_TYPES, PiiDetector
from gateway.guard.redact import Redactor

if TYPE_CHECKING:  # a policy exists only where the guard extra is installed
    from gateway.guard.compiled import CompiledPolicy

Redact = Callable[[str], str]
_REDACTING = ("redact", "block")


def redaction_for(policy: CompiledPolicy | None) -> Redact:
    detectors: list[tuple[Detector, Callable[[Finding], str]]] = [
        (PiiDetector(), lambda f: f.label if f.label in ENTITY_TYPES else "PII")
    ]
    if policy is not None:
        for rule in (*policy.input, *policy.output):
            if rule.action in _REDACTING and not rule.whole_text:
                detectors.append((rule.detector, rule.kind))

    def redact(text: str) -> str:
        """Placeholders are numbered per text ([EMAIL_1], ...); values never survive."""
        if not text:
            return text
        spans: list[tuple[Finding, str, bool]] = []
        for detector, kind in detectors:
            spans.extend((f, kind(f), False) for f in detector.scan(text))
        return Redactor().apply(text, spans) if spans else text

    return redact
