"""The gateway's validators as guardrails-ai ``Validator`` subclasses.

Registered under ``gateway/sensitive_terms``, ``gateway/pii`` and
``gateway/prompt_injection``, they work in any guardrails ``Guard`` (a failure
carries ``error_spans`` and a ``fix_value`` with the spans replaced by ``[TYPE]``).
Each wraps a detector object (``.detector``) built once from its options; the
gateway's stages call the detector directly, because a ``Guard.validate`` call costs
milliseconds of bookkeeping and starts a thread per call, while the detector itself
runs in microseconds.

Imported only through ``framework.load_guardrails`` (it imports guardrails-ai).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guardrails.validators import (  # type: ignore[import-untyped]
    ErrorSpan,
    FailResult,
    PassResult,
    Validator,
    register_validator,
)

from gateway.guard.detectors import injection_detector, terms_detector
from gateway.guard.findings import Detector, Finding
from gateway.guard.options import INJECTION, PII, TERMS
from gateway.guard.pii import ENTITY_TYPES, PiiDetector


class _DetectorValidator(Validator):  # type: ignore[misc]
    detector: Detector
    what: str = "content"

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        text = value if isinstance(value, str) else str(value)
        findings = self.detector.scan(text)
        if not findings:
            return PassResult()
        return FailResult(
            error_message=f"{self.what} found: {', '.join(sorted({f.label for f in findings}))}",
            fix_value=_replace(text, findings),
            error_spans=[ErrorSpan(start=f.start, end=f.end, reason=f.label) for f in findings],
        )


@register_validator(name=TERMS, data_type="string")
class SensitiveTerms(_DetectorValidator):
    what = "sensitive term"

    def __init__(
        self,
        terms: Sequence[str] = (),
        terms_files: Sequence[str] = (),
        on_fail: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(on_fail=on_fail, terms=list(terms), terms_files=list(terms_files),
                         **kwargs)  # fmt: skip
        self.detector = terms_detector(list(terms), list(terms_files))


@register_validator(name=PII, data_type="string")
class PersonalData(_DetectorValidator):
    what = "personal data"

    def __init__(
        self, entities: Sequence[str] = ENTITY_TYPES, on_fail: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(on_fail=on_fail, entities=list(entities), **kwargs)
        self.detector = PiiDetector(entities)


@register_validator(name=INJECTION, data_type="string")
class PromptInjection(_DetectorValidator):
    what = "prompt injection"

    def __init__(
        self,
        threshold: float = 0.5,
        classifier: bool = True,
        decode: bool = True,
        on_fail: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(on_fail=on_fail, threshold=threshold, classifier=classifier,
                         decode=decode, **kwargs)  # fmt: skip
        self.detector = injection_detector(threshold, classifier, decode)


def _replace(text: str, findings: list[Finding]) -> str:
    if len(findings) == 1 and findings[0].label == "injection":
        return ""
    pieces: list[str] = []
    position = 0
    for finding in findings:
        pieces.append(text[position : finding.start])
        pieces.append(f"[{finding.label.upper()}]")
        position = finding.end
    pieces.append(text[position:])
    return "".join(pieces)
