"""How fast does `talking crime import` read and store police.uk files, and is every row accounted for?

Generates a large file from the real October 2022 Lancashire records (the every-tenth-row slice in
tests/fixtures/police_uk, 1,584 records) repeated with the month moved on each time, so one file
holds a year of months (1,000,000 rows, about 210 MB, by default). Runs the command as an operator
would, on a fresh database, with its progress bar, and prints the wall time, rows per second and
what was stored. Exits 1 if the incidents stored are not the rows placed in the 14 areas.

    .venv/bin/python benchmarks/crime.py                         # SQLite, 1,000,000 rows
    .venv/bin/python benchmarks/crime.py --database postgres --rows 200000
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import POSTGRES_ADMIN_URL, load_average
from tqdm import tqdm

from talking.crime.police_file import read_path
from talking.testing.databases import fresh_database

SLICE = Path(__file__).parents[1] / "tests" / "fixtures" / "police_uk" / "2022-10-lancashire-street-every-10th.csv"
MONTHS = [f"{year}-{month:02d}" for year, month in [(2021, m) for m in (11, 12)] + [(2022, m) for m in range(1, 11)]]


def write_file(path: Path, rows: int) -> None:
    """``rows`` records: the slice over and over, each pass in the next of twelve months."""
    with SLICE.open(encoding="utf-8", newline="") as source:
        reader = csv.reader(source)
        header = next(reader)
        records = list(reader)
    at_month = header.index("Month")
    with path.open("w", encoding="utf-8", newline="") as out, tqdm(total=rows, desc="writing", unit="row") as bar:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        written = 0
        while written < rows:
            month = MONTHS[(written // len(records)) % len(MONTHS)]
            batch = records[: rows - written]
            for record in batch:
                record[at_month] = month
            writer.writerows(batch)
            written += len(batch)
            bar.update(len(batch))


def main() -> int:
    """Generate the file, import it, check what was stored."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000, help="records in the generated file [1,000,000]")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="talking-crime-"))
    try:
        big = workdir / "lancashire-street.csv"
        write_file(big, args.rows)
        expected = read_path(big).rows_stored  # the reader's own count, to check the stored total against
        size = big.stat().st_size
        print(
            f"crime: {args.rows:,} rows ({size / 1e6:.0f} MB) on {args.database}; load average {load_average()}",
            flush=True,
        )
        with fresh_database(args.database, workdir, POSTGRES_ADMIN_URL) as database:
            env = {**os.environ, "TALKING_DATABASE_URL": database.url}
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "talking", "crime", "import", str(big)],
                env=env,
                cwd=workdir,
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
            stored = database.query("SELECT coalesce(sum(incidents), 0) FROM crime_counts")[0][0]
        summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "(nothing printed)"
        print(f"\n  import: {elapsed:.1f} s wall ({args.rows / elapsed:,.0f} rows/s), exit {done.returncode}")
        print(f"  the command said: {summary}")
        print(f"  stored {stored:,} incidents / {expected:,} rows in the 14 areas")
        ok = done.returncode == 0 and stored == expected
        print("  check: stored == rows in the 14 areas" + (" ok" if ok else " FAILED"))
        return 0 if ok else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
