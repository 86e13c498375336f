"""``gateway verify``: check a saved response's AI-content label, offline.

Exit status: 0 valid, 1 tampered, 3 unsigned, 2 usage or input errors. Keys come from
``--keys`` files (a JWKS document as served at /.well-known/jwks.json, or a PEM or
base64 public key), else from the gateway config's labeling section.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from gateway.config import load_config
from gateway.labeling.keys import (
    LabelKeyError,
    PublicKey,
    b64url_decode,
    parse_public,
    public_key,
    verification_keys,
)
from gateway.labeling.saved import parse_header_lines, parse_saved
from gateway.labeling.verify import Verifier

EXIT_CODES = {"valid": 0, "tampered": 1, "unsigned": 3}


def register(commands: Any) -> None:
    verify = commands.add_parser(
        "verify",
        help="check the AI-content label of a saved response",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument(
        "response",
        help="saved response: `curl -i` output, an SSE capture, a JSON body, or '-' for stdin",
    )
    verify.add_argument("--headers", help="headers saved apart (`curl -D FILE`)")
    verify.add_argument(
        "--keys", action="append", default=[], help="JWKS, PEM or base64 public key (repeatable)"
    )
    verify.add_argument("--config", help="gateway config whose labeling keys to trust")
    verify.add_argument("--json", action="store_true", help="print the full verdict as JSON")
    verify.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        keys = _keys(args)
        data = sys.stdin.buffer.read() if args.response == "-" else Path(args.response).read_bytes()
        headers, body = parse_saved(data)
        if args.headers:
            headers = {**parse_header_lines(Path(args.headers).read_bytes()), **headers}
    except (OSError, LabelKeyError, ValueError) as exc:
        print(f"gateway verify: {exc}", file=sys.stderr)
        return 2
    if not keys:
        print("gateway verify: no public keys: pass --keys or --config", file=sys.stderr)
        return 2
    verdict = Verifier(keys).verify(headers, body)
    if args.json:
        print(msgspec.json.encode(verdict).decode())
    else:
        print(f"{verdict.result}: {verdict.reason}")
    return EXIT_CODES[verdict.result]


def _keys(args: argparse.Namespace) -> list[PublicKey]:
    if args.keys:
        return [key for path in args.keys for key in _read_keys(Path(path))]
    return verification_keys(load_config(args.config).labeling)


def _read_keys(path: Path) -> list[PublicKey]:
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("{"):
        document = json.loads(text)
        entries = document.get("keys", [document]) if isinstance(document, dict) else []
        keys = []
        for entry in entries:
            if entry.get("kty") == "OKP" and entry.get("crv") == "Ed25519":
                raw = b64url_decode(str(entry["x"]))
                keys.append(public_key(raw))
        return keys
    return [parse_public(text, str(path))]
