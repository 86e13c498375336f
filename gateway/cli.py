"""``gateway serve | check | keys``: the command line.

``serve`` owns what must exist once per host (local engine processes, the model host
that loads the embedders once for every worker) and hands the HTTP side to uvicorn,
whose workers each build the app from ``$GATEWAY_CONFIG``.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import logging.config
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway import __version__
from gateway.auth.keys_cli import add_keys_command
from gateway.config import Config, ConfigError, default_config_path, load_config
from gateway.labeling import command as label_command

# The well-known key of the embedded default policy: fine on loopback, refused elsewhere.
DEV_KEY = "sk-gateway-local-dev"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    result: int = args.run(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="OpenAI-compatible gateway")
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument(
        "--config", help="policy file (default: $GATEWAY_CONFIG or the embedded default)"
    )
    serve.add_argument("--host", help="bind address (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: server.port, 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default: server.workers)")
    serve.add_argument("--log-level", default=os.environ.get("GATEWAY_LOG_LEVEL", "info"))
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check", help="validate a config file")
    check.add_argument("path")
    check.set_defaults(run=_check)
    label_command.register(commands)
    add_keys_command(commands)
    return parser


def _check(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.path)
    except ConfigError as exc:
        print(f"invalid config {args.path}: {exc}", file=sys.stderr)
        return 1
    if _report_missing(config):
        return 1
    print(
        f"{args.path}: ok ({len(config.providers)} providers, {len(config.models)} models, "
        f"{len(config.teams)} teams, {len(config.keys)} keys)"
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.embedding.hosting import run_model_host
    from gateway.embedding.service import MODEL_HOST_ENV
    from gateway.engines.supervisor import run_engines
    from gateway.protocol import HeadTimeoutProtocol

    path = Path(args.config or os.environ.get("GATEWAY_CONFIG") or default_config_path())
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"invalid config {path}: {exc}", file=sys.stderr)
        return 1
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    workers = args.workers or config.server.workers
    problem = _unsafe_exposure(config, host)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    if _report_missing(config):
        return 1
    # Workers are fresh processes: they rebuild the app from this path.
    os.environ["GATEWAY_CONFIG"] = str(path.resolve())
    log_config = _log_config(args.log_level.upper())
    logging.config.dictConfig(log_config)
    logging.getLogger("gateway").info(
        "gateway %s serving %s on http://%s:%d/v1 with %d worker(s)",
        __version__,
        path,
        host,
        port,
        workers,
    )
    # uvicorn re-raises SIGTERM/SIGINT once it has shut down gracefully; with a handler of
    # our own in place that re-raise lands here instead of killing the process, so the
    # engines are stopped and the exit status is 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _note_signal)
    if workers > 1 and config.telemetry.metrics.enabled:
        # Workers are separate processes: their metrics meet in shared files to add up.
        from gateway.telemetry.metrics import multiprocess_dir

        multiprocess_dir()
    with run_engines(config), run_model_host(config, workers) as model_host:
        if model_host is not None:  # workers embed through it (Embedders.for_process)
            os.environ[MODEL_HOST_ENV] = model_host
        else:
            os.environ.pop(MODEL_HOST_ENV, None)
        uvicorn.run(
            "gateway.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            # httptools with a deadline on request heads (idle and slow-loris clients).
            http=HeadTimeoutProtocol,
            ws="none",  # no WebSocket routes: nor the websockets package in memory
            access_log=False,
            log_config=log_config,
            timeout_graceful_shutdown=int(config.server.shutdown_grace_s),
            server_header=False,
        )
    return 0


def _report_missing(config: Config) -> bool:
    """One line per configured feature whose extra (or model package) is missing."""
    from gateway.extras import problems

    missing = problems(config)
    for line in missing:
        print(f"cannot start: {line}", file=sys.stderr)
    return bool(missing)


def _note_signal(signum: int, frame: object) -> None:
    logging.getLogger("gateway").info("stopped by signal %d", signum)


def _unsafe_exposure(config: Config, host: str) -> str | None:
    if not any(k.key == DEV_KEY for k in config.keys):
        return None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return None
    return (
        f"refusing to listen on {host} with the built-in development key; "
        "set GATEWAY_API_KEY to a secret key first"
    )


def _log_config(level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "plain"},
            "access": {"class": "gateway.telemetry.line_handler.LineHandler"},
        },
        "loggers": {
            "gateway": {"handlers": ["default"], "level": level, "propagate": False},
            "gateway.access": {"handlers": ["access"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
        },
    }
