"""A third-party guardrails-ai validator, as a user would ship one (or install from the
Hub): the guard e2e tests name it in a policy with ``module: tests.guard_plugin``."""

from __future__ import annotations

from typing import Any

from guardrails.validators import (  # type: ignore[import-untyped]
    ErrorSpan,
    FailResult,
    PassResult,
    Validator,
    register_validator,
)


@register_validator(name="tests/no-codename", data_type="string")
class NoCodename(Validator):  # type: ignore[misc]
    """Fails on a code word, reporting where it is."""

    def __init__(self, word: str, on_fail: Any = None, **kwargs: Any) -> None:
        super().__init__(on_fail=on_fail, word=word, **kwargs)
        self.word = word

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        spans = []
        start = value.find(self.word)
        while start >= 0:
            spans.append(ErrorSpan(start=start, end=start + len(self.word), reason="codename"))
            start = value.find(self.word, start + 1)
        if not spans:
            return PassResult()
        return FailResult(error_message="code name", error_spans=spans)
