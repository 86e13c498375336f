"""The options of the gateway's own validators, decoded (and checked) from a rule's
``options`` mapping. Kept free of guardrails-ai so ``gateway check`` validates policies
without paying for its import."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar, get_args

import msgspec
from msgspec import Meta, Struct, field

from gateway.guard.pii import ENTITY_TYPES

TERMS = "gateway/sensitive_terms"
PII = "gateway/pii"
INJECTION = "gateway/prompt_injection"
EntityType = Literal[
    "EMAIL", "PHONE", "CN_ID_CARD", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "US_SSN", "API_KEY"
]
assert set(get_args(EntityType)) == set(ENTITY_TYPES)  # one list of types, two spellings


class _Options(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class TermsOptions(_Options, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Terms inline and/or from files (one per line, ``#`` comments); relative file
    paths are resolved against the policy file's folder."""

    terms: list[str] = field(default_factory=list)
    terms_files: list[str] = field(default_factory=list)


class PiiOptions(_Options, frozen=True, forbid_unknown_fields=True, kw_only=True):
    entities: list[EntityType] = field(default_factory=lambda: list(get_args(EntityType)))


class InjectionOptions(_Options, frozen=True, forbid_unknown_fields=True, kw_only=True):
    threshold: Annotated[float, Meta(gt=0, lt=1)] = 0.5
    classifier: bool = True  # the shipped linear model; off: heuristics only
    decode: bool = True  # look inside Base64 / hex / URL-encoded / escaped payloads


OPTION_TYPES: dict[str, type[_Options]] = {
    TERMS: TermsOptions,
    PII: PiiOptions,
    INJECTION: InjectionOptions,
}
# What each of our validators can do with a finding: injection has no span to redact.
ALLOWED_ACTIONS: dict[str, frozenset[str]] = {
    TERMS: frozenset({"block", "redact", "flag"}),
    PII: frozenset({"block", "redact", "flag"}),
    INJECTION: frozenset({"block", "flag"}),
}
OptionsT = TypeVar("OptionsT", bound=_Options)


def decode_options(options: dict[str, Any], kind: type[OptionsT]) -> OptionsT:
    """Raises ``msgspec.ValidationError`` naming the bad option."""
    return msgspec.convert(options, kind, strict=False)
