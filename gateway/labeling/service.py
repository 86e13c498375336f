"""Everything labeling builds at start-up: the signer, the stage, the verifier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.auth.per_team import PerTeam
from gateway.config.schema import Config, Team
from gateway.labeling.keys import signing_key, verification_keys
from gateway.labeling.label import AIGC_HEADER, DISCLOSURE_HEADER, Labeler
from gateway.labeling.stage import LabelAnswers
from gateway.labeling.verify import Verifier
from gateway.labeling.visible import VisibleNotice

JWKS_PATH = "/.well-known/jwks.json"
DESCRIPTOR_PATH = "/.well-known/ai-content-label"
VERIFY_PATH = "/labels/verify"


@dataclass(frozen=True, slots=True)
class Labels:
    labeler: Labeler | None
    verifier: Verifier
    stage: LabelAnswers | None
    jwks: dict[str, Any]
    descriptor: dict[str, Any]


def build_labels(config: Config) -> Labels:
    settings = config.labeling
    keys = verification_keys(settings)
    labeler: Labeler | None = None
    stage: LabelAnswers | None = None
    if settings.enabled:
        labeler = Labeler(settings.producer, signing_key(settings))
        own = labeler.public
        keys = [own, *(k for k in keys if k.kid != own.kid)]
        default = VisibleNotice(settings.visible)

        def notice(team: Team) -> VisibleNotice:
            own = team.labeling.visible if team.labeling is not None else None
            return default if own is None else VisibleNotice(own)

        stage = LabelAnswers(labeler, PerTeam(notice, default, config.teams))
    jwks = {"keys": [key.jwk() for key in keys]}
    descriptor = {
        "producer": settings.producer,
        "labels": "enabled" if settings.enabled else "disabled",
        "standards": ["GB 45438-2025 implicit label", "EU AI Act Art. 50(2)"],
        "headers": [AIGC_HEADER, DISCLOSURE_HEADER],
        "signature": "compact JWS (RFC 7515), alg EdDSA (Ed25519), in AIGC.ReservedCode1",
        "stream_binding": "SSE comment ': aigc {AIGC JSON}' before 'data: [DONE]'",
        "jwks_uri": JWKS_PATH,
        "verify_uri": VERIFY_PATH,
    }
    return Labels(labeler, Verifier(keys), stage, jwks, descriptor)
