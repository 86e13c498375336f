"""Policies turned into ready-to-run objects, once, at start-up.

For each policy a team uses: each rule gets its detector. The gateway's own validators
(``gateway/...``) are built directly (``detectors``); any other validator is
instantiated through guardrails-ai's registry, and then the rules of each stage are
also composed into a ``Guard`` (kept as ``input_guard`` / ``output_guard``: the same
composition any guardrails-ai tool can run). guardrails-ai is imported only when some
policy names a third-party validator: see ``detectors`` for what that saves.
Requests then only look up their team's ``CompiledPolicy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from gateway.config.schema import Config
from gateway.guard import framework
from gateway.guard.config import JsonSchemaCheck, ParamCaps, Rule
from gateway.guard.detectors import own_detector
from gateway.guard.findings import Detector, Finding
from gateway.guard.options import (
    INJECTION,
    OPTION_TYPES,
    PII,
    TERMS,
    InjectionOptions,
    PiiOptions,
    TermsOptions,
    decode_options,
)
from gateway.guard.pii import ENTITY_TYPES, PiiScanner
from gateway.guard.policies import (
    LoadedPolicy,
    check_policy,
    load_policy,
    policy_names,
    resolve,
)

_CONTENT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_INJECTION_ROLES = ("user", "tool", "function")
# A stream holds back at least this much even when the rules report short matches,
# so placeholders being restored ("[EMAIL_12]") are always seen whole.
_MIN_HOLD_BACK = 24


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    action: str
    detector: Detector
    roles: frozenset[str]
    restore: bool
    # Third-party validators may be slow or do I/O: they run in a worker thread.
    offload: bool
    placeholder: str
    # The guardrails-ai validator of a third-party rule (None for our own detectors).
    validator: Any = field(repr=False)

    def kind(self, finding: Finding) -> str:
        """The placeholder kind for a redacted finding: the PII type, else the rule's."""
        return finding.label if finding.label in ENTITY_TYPES else self.placeholder

    @property
    def whole_text(self) -> bool:
        """Judges a message as a whole (injection), not spans: on a stream it can only
        run once the text is complete."""
        return self.detector.max_span <= 0


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    name: str
    input: tuple[CompiledRule, ...]
    output: tuple[CompiledRule, ...]
    params: ParamCaps | None
    json_schema: JsonSchemaCheck | None
    hold_back: int
    # guardrails-ai Guards of each stage, when the policy has a third-party rule (else None).
    input_guard: Any = field(repr=False)
    output_guard: Any = field(repr=False)

    @property
    def restores(self) -> bool:
        return any(rule.restore for rule in self.input)


class ValidatorDetector:
    """Any guardrails-ai validator as a detector: a failure's ``error_spans`` become
    findings (the whole text when it reports none)."""

    def __init__(self, validator: Any, label: str) -> None:
        self._validator = validator
        self._label = label
        self.max_span = 256

    def scan(self, text: str) -> list[Finding]:
        from guardrails.validators import FailResult  # type: ignore[import-untyped]

        result = self._validator.validate(text, {})
        if not isinstance(result, FailResult):
            return []
        spans = result.error_spans or []
        if not spans:
            return [Finding(0, len(text), self._label)]
        return [Finding(int(s.start), int(s.end), self._label) for s in spans]


def compile_policies(config: Config) -> dict[str, CompiledPolicy]:
    """Policy name → compiled policy, each built once (see ``policy_names``). The
    gateway's own validators run without guardrails-ai; it is imported only when a
    policy names a third-party validator."""
    named = policy_names(config)
    if not named:
        return {}
    loaded = [load_policy(config, name) for name in named]
    third_party = any(_has_third_party(policy) for policy in loaded)
    if third_party:
        framework.load_guardrails()
    built = {policy.name: compile_policy(policy) for policy in loaded}
    if third_party:
        framework.seal()
    return built


def compile_policy(loaded: LoadedPolicy) -> CompiledPolicy:
    check_policy(loaded)
    policy = loaded.policy
    guarded = _has_third_party(loaded)
    in_scan, out_scan = _pii_scanner(policy.input), _pii_scanner(policy.output)
    inputs = tuple(_compile_rule(loaded, r, in_scan, guarded) for r in policy.input)
    outputs = tuple(_compile_rule(loaded, r, out_scan, guarded) for r in policy.output)
    spans = [r.detector.max_span for r in outputs]
    hold_back = policy.stream.hold_back_chars or max([_MIN_HOLD_BACK, *spans])
    return CompiledPolicy(
        name=loaded.name,
        input=inputs,
        output=outputs,
        params=policy.params,
        json_schema=policy.json_schema,
        hold_back=hold_back,
        input_guard=_guard(loaded.name, "input", inputs) if guarded else None,
        output_guard=_guard(loaded.name, "output", outputs) if guarded else None,
    )


def _pii_scanner(rules: Sequence[Rule]) -> PiiScanner:
    """One scanner for every PII rule of a stage, looking for the union of their types."""
    wanted: set[str] = set()
    for rule in rules:
        if rule.validator == PII:
            wanted.update(decode_options(rule.options, PiiOptions).entities)
    return PiiScanner(wanted)


def _has_third_party(loaded: LoadedPolicy) -> bool:
    rules = (*loaded.policy.input, *loaded.policy.output)
    return any(rule.validator not in OPTION_TYPES for rule in rules)


def _compile_rule(
    loaded: LoadedPolicy, rule: Rule, scanner: PiiScanner, guarded: bool
) -> CompiledRule:
    """``guarded``: the policy gets guardrails-ai Guards, so every rule needs its
    validator object too (ours only for composing the Guard; their detector runs)."""
    options = dict(rule.options)
    ours = rule.validator in OPTION_TYPES
    decoded = decode_options(options, OPTION_TYPES[rule.validator]) if ours else None
    if isinstance(decoded, TermsOptions):
        options["terms_files"] = [str(resolve(loaded, f)) for f in decoded.terms_files]
        decoded = msgspec.structs.replace(decoded, terms_files=options["terms_files"])
    validator: Any = None
    if guarded or decoded is None:
        validator = framework.validator_class(rule.validator, rule.module)(
            on_fail="noop", **options
        )
    detector: Detector
    if isinstance(decoded, TermsOptions | PiiOptions | InjectionOptions):
        detector = own_detector(decoded, scanner)  # PII rules share the stage's scan
    else:
        detector = ValidatorDetector(validator, rule.name)
    roles = rule.roles or (_INJECTION_ROLES if rule.validator == INJECTION else _CONTENT_ROLES)
    label = "TERM" if rule.validator == TERMS else rule.name.upper().replace("-", "_")
    return CompiledRule(
        name=rule.name,
        action=rule.action,
        detector=detector,
        roles=frozenset(roles),
        restore=rule.restore,
        offload=not ours,
        placeholder=label,
        validator=validator,
    )


def _guard(policy: str, stage: str, rules: Sequence[CompiledRule]) -> Any:
    return framework.make_guard([r.validator for r in rules], f"{policy}-{stage}")
