"""What a district map costs: projecting the boundaries once per process, then each map drawn from them.

The outlines (pyproj to British National Grid, fitted to the drawing, labels placed) are computed once
and cached; a page only picks the fills and writes the links. The script prints the one-off cost in a
fresh interpreter, the time to draw one map with its legend and table (median of many), and the size
of the SVG a page carries. No target is set; the figures say whether the map could ever matter to a
page's time (a report page takes milliseconds to render).

    .venv/bin/python benchmarks/maps.py
    .venv/bin/python benchmarks/maps.py --repeat 5000
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

ONE_OFF = """
import time
started = time.perf_counter()
from talking.maps import outlines
imported = time.perf_counter()
outlines()
done = time.perf_counter()
print(f"{imported - started:.3f} {done - imported:.3f}")
"""


def main(argv: list[str] | None = None) -> None:
    """Print the one-off projection cost and the per-map drawing cost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="maps to draw for the median")
    args = parser.parse_args(argv)

    found = subprocess.run([sys.executable, "-c", ONE_OFF], capture_output=True, text=True, check=True)
    imported, projected = (float(x) for x in found.stdout.split())
    print(
        f"maps: import talking.maps {imported * 1000:.0f} ms; "
        f"outlines once per process (PROJ loaded, projected, fitted, labels placed) {projected * 1000:.0f} ms"
    )

    from talking.maps import district_map, outlines

    codes = [o.code for o in outlines().districts]
    values = {code: 20.0 + 2.7 * i for i, code in enumerate(codes[1:])}
    options = {
        "caption": "Burglary: priority score in each district",
        "legend_title": "Priority score",
        "units": "out of 100",
        "links": {code: f"/staff/surveys/1/report/districts/{code}" for code in codes},
        "suppressed": {codes[0]: "fewer than 10 answers"},
    }
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        drawn = district_map("issue-map", values, **options)
        timings.append(time.perf_counter() - started)
    print(
        f"maps: one map drawn from the cached outlines: median {statistics.median(timings) * 1e6:.0f} us, "
        f"p99 {sorted(timings)[int(len(timings) * 0.99)] * 1e6:.0f} us over {args.repeat:,}; "
        f"SVG {len(str(drawn.svg)) / 1024:.1f} KiB"
    )


if __name__ == "__main__":
    main()
