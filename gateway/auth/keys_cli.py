"""``gateway keys create | list | revoke``: manage keys in the configured state store.

Acts on the store directly (the SQLite file, or Redis), not through a running gateway,
so it works before the first start and when the admin API is not exposed. Running
gateways pick the change up within a second. The new key is printed once, on its own
line, so ``KEY=$(gateway keys create --team t --quiet)`` works.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gateway.auth.keys import KeyStore
from gateway.auth.manage import AccountAdmin
from gateway.config import ConfigError, default_config_path, load_config
from gateway.errors import GatewayError
from gateway.state import StateError, open_state

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def add_keys_command(commands: Any) -> None:
    keys = commands.add_parser("keys", help="create, list or revoke API keys")
    keys.add_argument("--config", help="policy file (default: $GATEWAY_CONFIG or the default)")
    actions = keys.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", help="create a key (printed once)")
    create.add_argument("--team", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--expires-in", help="lifetime: 3600, 90m, 12h, 30d, 8w")
    create.add_argument("--budget-usd", type=float, help="this key's own budget")
    create.add_argument("--budget-period", choices=["daily", "weekly", "monthly", "total"])
    create.add_argument("--quiet", action="store_true", help="print the key only")
    create.set_defaults(run=_create)

    listing = actions.add_parser("list", help="list keys (ids and prefixes, never keys)")
    listing.add_argument("--team")
    listing.set_defaults(run=_list)

    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id")
    revoke.set_defaults(run=_revoke)
    for action in (create, listing, revoke):
        # Accepted after the action too: ``gateway keys list --config prod.yaml``.
        action.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _create(args: argparse.Namespace) -> int:
    expires_at = None
    if args.expires_in:
        match = _DURATION.match(args.expires_in.strip())
        if not match:
            print(f"invalid --expires-in {args.expires_in!r} (e.g. 90m, 30d)", file=sys.stderr)
            return 2
        expires_at = time.time() + float(match.group(1)) * _UNITS[match.group(2)]

    async def act(admin: AccountAdmin) -> None:
        record, secret = await admin.create_key(
            args.team,
            name=args.name,
            expires_at=expires_at,
            budget_usd=args.budget_usd,
            budget_period=args.budget_period,
        )
        if args.quiet:
            print(secret)
            return
        print(f"id:     {record.id}")
        print(f"team:   {record.team}")
        print(f"key:    {secret}")
        print("The key is shown only this once; store it now.", file=sys.stderr)

    return _run(args, act)


def _list(args: argparse.Namespace) -> int:
    async def act(admin: AccountAdmin) -> None:
        rows = await admin.list_keys(args.team)
        print(f"{'ID':<22} {'TEAM':<16} {'PREFIX':<14} {'STATUS':<8} {'SOURCE':<7} NAME")
        for row in rows:
            print(
                f"{row['id']:<22} {row['team']:<16} {row['prefix']:<14} "
                f"{row['status']:<8} {row['source']:<7} {row.get('name') or ''}"
            )

    return _run(args, act)


def _revoke(args: argparse.Namespace) -> int:
    async def act(admin: AccountAdmin) -> None:
        record = await admin.revoke_key(args.id)
        print(f"revoked {record.id} (team {record.team})")

    return _run(args, act)


def _run(args: argparse.Namespace, act: Callable[[AccountAdmin], Awaitable[None]]) -> int:
    path = Path(args.config or os.environ.get("GATEWAY_CONFIG") or default_config_path())
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"invalid config {path}: {exc}", file=sys.stderr)
        return 1

    async def main() -> None:
        state = open_state(config)
        await state.start()
        try:
            await act(AccountAdmin(config, state, KeyStore(config)))
        finally:
            await state.aclose()

    try:
        asyncio.run(main())
    except GatewayError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except StateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
