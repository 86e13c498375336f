"""The child process of a ``llama-cpp`` engine: llama.cpp's own OpenAI-compatible server.

Runs ``xllamacpp.Server`` (prebuilt manylinux CPU wheels, no compiler) until SIGTERM or
SIGINT. It is a process of its own, started by ``gateway.engines.supervisor``, so the
gateway's workers never load the model and a crashed engine is restarted without them.

    python -m gateway.engines.llama_server --model FILE --port 8181 [--threads 2] ...
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.engines.llama_server")
    parser.add_argument("--model", required=True, help="GGUF file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--context-size", type=int, default=2048, help="tokens per slot")
    parser.add_argument("--parallel", type=int, default=1, help="requests decoded at once")
    parser.add_argument("--served-name", default="")
    args = parser.parse_args(argv)
    try:
        import xllamacpp  # type: ignore[import-untyped]
    except ImportError:
        from gateway.engines.llamacpp import NO_XLLAMACPP

        print(NO_XLLAMACPP, file=sys.stderr)
        return 2
    # Block the stop signals before the server's threads start, so they inherit the
    # mask and the signal is taken here by sigwait instead of killing a C++ thread.
    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.n_parallel = args.parallel
    # Without a unified KV cache llama.cpp splits n_ctx between the slots.
    params.n_ctx = args.context_size * args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    if args.served_name:
        params.model_alias = {args.served_name}
    server = xllamacpp.Server(params)
    print(f"llama.cpp server listening on {server.listening_address}", file=sys.stderr, flush=True)
    signal.sigwait(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
