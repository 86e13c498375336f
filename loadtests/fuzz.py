"""The long hostile-input run: schemathesis over the gateway's OpenAPI document (every
operation under ``/v1`` and ``/admin``, positive and negative cases) and the
JSON-structure fuzzer on chat bodies, against a real ``gateway serve`` with tracing on,
in front of the OpenAI-wire emulator. The CI sample of the same drivers is
``tests/test_fuzz.py``; both are in ``tests/fuzzing.py``.

Judged: 0 responses with status 500, 0 crashes (connection dropped without an answer,
or the process gone), 0 hangs (no answer within 15 s), every error in OpenAI's shape,
and neither the gateway's log nor its exported spans carry a key or prompt text.

Run: ``python loadtests/fuzz.py --examples 200 --json-cases 3000`` (about 10,000
schemathesis requests plus 3,000 structural ones; 10-20 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.conftest import MASTER_KEY, TEAM_KEY, UPSTREAM_KEY, GatewayProcess  # noqa: E402
from tests.emulators.openai_upstream import EmulatorServer  # noqa: E402
from tests.emulators.otlp_collector import OTLPCollector  # noqa: E402
from tests.fuzzing import CANARY, Tally, json_fuzz, openapi_fuzz  # noqa: E402
from tests.test_fuzz import fuzz_config  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--examples", type=int, default=200, help="per operation and mode")
    p.add_argument("--json-cases", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0, help="0: derandomized (reproducible)")
    args = p.parse_args(argv)
    emulator = EmulatorServer(api_key=UPSTREAM_KEY, hang_seconds=5).start()
    collector = OTLPCollector().start()
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-"))
    gateway = GatewayProcess(
        fuzz_config(emulator.base_url, collector.http_endpoint),
        tmp,
        env={"GATEWAY_DATA_DIR": str(tmp / "data")},
    )
    try:
        gateway.wait("/health/ready")
        by_schema, by_structure = Tally(), Tally()
        started = time.monotonic()
        openapi_fuzz(
            gateway.url,
            team_key=TEAM_KEY,
            master_key=MASTER_KEY,
            examples=args.examples,
            tally=by_schema,
            seed=args.seed,
        )
        print(f"schemathesis: {by_schema.summary()} in {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        json_fuzz(
            gateway.url,
            key=TEAM_KEY,
            model="gpt-4o-mini",
            count=args.json_cases,
            tally=by_structure,
            seed=args.seed or 1,
        )
        print(f"json fuzzer: {by_structure.summary()} in {time.monotonic() - started:.0f} s")
        alive = gateway.process.poll() is None
        time.sleep(1)  # the last span batch
    finally:
        code = gateway.stop()
        emulator.stop()
        collector.stop()
    logs = gateway.logs()
    spans = repr(collector.spans)
    leaks = [
        f"{name} in {where}"
        for name, secret in (
            ("prompt canary", CANARY),
            ("team key", TEAM_KEY),
            ("master key", MASTER_KEY),
            ("upstream key", UPSTREAM_KEY),
        )
        for where, text in (("logs", logs), ("spans", spans))
        if secret in text
    ]
    print(
        f"gateway alive to the end: {alive}; exit status {code}; {len(collector.spans)} spans "
        f"and {len(logs.splitlines())} log lines searched: "
        f"{', '.join(leaks) if leaks else 'no key or prompt text'}"
    )
    problems = [*by_schema.problems(), *by_structure.problems(), *leaks]
    for problem in problems:
        print("FAIL:", problem)
    return 1 if problems or not alive else 0


if __name__ == "__main__":
    sys.exit(main())
