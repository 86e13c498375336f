"""What the Responses and Messages surface tests share: the stages they run behind."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT

WORDS = ROOT / "tests" / "data" / "dev-hard" / "sensitive-dev-words.txt"


def stages_yaml(key_file: Path) -> str:
    """Two guardrail policies (``pii``: e-mail addresses redacted on the way in;
    ``outbound``: a sensitive term blocked on the way out) and the labeling block."""
    return f"""
guardrails:
  policies:
    pii:
      input:
        - {{name: pii-in, validator: gateway/pii, action: redact, options: {{entities: [EMAIL]}}}}
    outbound:
      output:
        - {{name: confidential-out, validator: gateway/sensitive_terms, action: block,
            options: {{terms_files: ["{WORDS}"]}}}}
labeling:
  producer: "Example AI Ltd."
  key_file: "{key_file}"
"""
