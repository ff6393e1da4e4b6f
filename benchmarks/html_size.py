"""The HTML page's size for a run's JSON report, and for the same run grown to N checks.

    python -m pytest --inference-check examples/ --inference-check-json=r.json
    python benchmarks/html_size.py r.json [--checks 50]

The grown run repeats the report's results under new test names (each a check of its own, with
its breaks, stages and numerics), so the size follows what a real run of that many checks
carries. Rendering time is printed too (warm: the template is compiled once per process).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time

from pytest_inferencecheck.reporters import html, json_report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", help="an inferencecheck-report/1 JSON file")
    ap.add_argument("--checks", type=int, default=50, help="grow the run to this many checks")
    args = ap.parse_args()
    header, results = json_report.read(args.report)
    grown = []
    while len(grown) < args.checks:
        for r in results:
            twin = copy.deepcopy(r)
            if twin.nodeid:
                path, _, rest = twin.nodeid.partition("::")
                twin.nodeid = f"{path}::copy{len(grown)}_{rest}"
            twin.model = f"{twin.model}-{len(grown)}"
            grown.append(twin)
            if len(grown) == args.checks:
                break
    for label, batch in ((f"the report ({len(results)} checks)", results),
                         (f"grown to {len(grown)} checks", grown)):
        start = time.perf_counter()
        page = html.render(batch, header=header)
        took = time.perf_counter() - start
        print(f"{label}: {len(page.encode()):,} bytes, rendered in {took * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
