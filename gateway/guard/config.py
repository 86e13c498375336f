"""Config for guardrails: the root ``guardrails`` section and the policy documents.

A policy is a named YAML document (``policies/guardrails/<name>.yaml``, or inline under
``guardrails.policies``) listing rules for the input and the output, parameter caps
and JSON-schema checking. Each team picks one by name (``teams.<t>.guardrails``);
teams without one get ``guardrails.default_policy`` (empty: no guardrails).

Only msgspec here, so ``gateway.config.schema`` can import it without pulling in
guardrails-ai; the validators are built from these specs at start-up
(``gateway.guard.build``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct, field

Action = Literal["block", "redact", "flag"]
RuleName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
NO_POLICY = "off"  # a team's explicit opt-out when a default policy is set


class _Base(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Rule(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One validator applied to the input or the output, and what to do when it fails.

    ``validator`` is one of ours (``gateway/sensitive_terms``, ``gateway/pii``,
    ``gateway/prompt_injection``) or any guardrails-ai registered validator, e.g. a Hub
    validator installed with ``guardrails hub install`` (``hub://guardrails/regex_match``);
    ``module`` names a module to import first so that it registers itself. ``options``
    are the validator's own keyword arguments.
    """

    name: RuleName
    validator: str
    action: Action = "block"
    options: dict[str, Any] = field(default_factory=dict)
    # Message roles whose text is checked (chat). Default: every role for term and PII
    # rules (the provider sees all of it); user and tool content for injection rules.
    roles: list[Role] | None = None
    module: str = ""
    # redact on input: put the original values back into the answer.
    restore: bool = False


class ParamCaps(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Limits on generation parameters: ``clamp`` lowers them, ``refuse`` answers 400."""

    max_temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    max_tokens: Annotated[int, Meta(ge=1)] | None = None
    max_n: Annotated[int, Meta(ge=1, le=128)] | None = None
    action: Literal["clamp", "refuse"] = "clamp"


class JsonSchemaCheck(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """When a chat request asks for ``response_format: json_schema``, check the answer.

    ``repair``: one more upstream call showing the model its error, then ``error`` if
    that fails too; ``error``: 502 ``output_schema_mismatch``; ``flag``: pass it on and
    note it. Streams are checked at the end and can only be flagged.
    """

    action: Literal["repair", "error", "flag"] = "repair"


class StreamPolicy(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Output rules on streams hold back this many characters (0: the longest match any
    output rule can report) so a term split across chunks is seen whole."""

    hold_back_chars: Annotated[int, Meta(ge=0, le=4096)] = 0


class Policy(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    description: str = ""
    input: list[Rule] = field(default_factory=list)
    output: list[Rule] = field(default_factory=list)
    params: ParamCaps | None = None
    json_schema: JsonSchemaCheck | None = None
    stream: StreamPolicy = field(default_factory=StreamPolicy)


class Guardrails(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # Where ``<name>.yaml`` policies live; empty: policies/guardrails beside the source
    # tree (or shipped in the package). Relative paths are from the working directory.
    policies_dir: str = ""
    default_policy: str = ""
    # Inline policies (same shape as a policy file); a name here wins over a file of
    # the same name. Decoded by gateway.guard.policies, so errors name the policy.
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
