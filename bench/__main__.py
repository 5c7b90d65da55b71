"""`python -m bench NAME [key=value ...]`: run one benchmark, print one JSON line.

`python -m bench all` runs every benchmark, each in its own process, prints their lines
and writes `bench/RESULTS.md` (see `bench/report.py`).

Only the result line goes to stdout; logs and anything else printed go to stderr.
Exit status: 0 targets met, 1 targets missed or the benchmark failed, 2 usage error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from bench import registry
from bench.measure import peak_rss_mb

USAGE = (
    "usage: python -m bench NAME [key=value ...]   (or BENCH_<KEY>=value; "
    "BENCH_LOG_LEVEL=INFO for progress on stderr)"
)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("BENCH_LOG_LEVEL", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    names = registry.available()
    if not args or args[0] in ("-h", "--help"):
        print(f"{USAGE}\navailable: all, {', '.join(names)}", file=sys.stderr)
        return 2 if not args else 0
    name = args[0]
    if name == "all":
        from bench import report

        results = report.run_all(names)
        return 0 if all(r.get("ok") is True for r in results) else 1
    try:
        runner = registry.load(name)
        opts = registry.Options.parse(args[1:])
    except (registry.UnknownBenchmark, registry.BadOption, registry.BadResult) as exc:
        print(f"bench: {exc}\n{USAGE}", file=sys.stderr)
        return 2

    out = sys.stdout
    result: dict[str, Any] = {"bench": name}
    try:
        # Whatever else the code under test prints must not pollute the one result line.
        with contextlib.redirect_stdout(sys.stderr):
            figures = asyncio.run(runner(opts))
        registry.check(name, figures)
        result.update({k: v for k, v in figures.items() if k != "bench"})
    except registry.BadOption as exc:
        print(f"bench: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    except Exception as exc:
        logging.getLogger("bench").exception("benchmark %s failed", name)
        result.update(error=f"{type(exc).__name__}: {exc}", ok=False)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result), file=out, flush=True)
    return 0 if result.get("ok") is True else 1


if __name__ == "__main__":
    sys.exit(main())
