"""Do staff actions sent all at once get answers, not server errors, and is each one recorded?

Starts a real `talking serve` (two workers unless told) on a fresh database, makes the accounts,
tokens and surveys directly in it, then sends everything at the same moment from this process
(talking.testing.staff_storm): sign-ins through the real form, each from a browser of its own;
wrong passwords for one account; publishes and closes through the API; responses.csv exports
(each written to the audit log); and first uses of API tokens (each updates last_used_at).

It prints the answers by action and status, and what the database recorded: every sign-in and
failed attempt in the audit log, every failed attempt counted by the throttle, one audit row per
publish, close and export. It exits 1 if any answer was 5xx or a count is off.

    .venv/bin/python benchmarks/concurrency.py                       # SQLite, 2 workers
    .venv/bin/python benchmarks/concurrency.py --database postgres
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from common import POSTGRES_ADMIN_URL, load_average

from talking.testing import staff_storm
from talking.testing.databases import fresh_database
from talking.testing.server import live_server


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes [2]")
    parser.add_argument("--sign-ins", type=int, default=40, help="staff signing in, each once [40]")
    parser.add_argument("--wrong", type=int, default=60, help="wrong passwords for one account [60]")
    parser.add_argument("--publishes", type=int, default=20, help="drafts published [20]")
    parser.add_argument("--closes", type=int, default=20, help="open surveys closed [20]")
    parser.add_argument("--exports", type=int, default=40, help="responses.csv downloads [40]")
    parser.add_argument("--tokens", type=int, default=20, help="API tokens used for the first time [20]")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (server log, SQLite file)")
    return parser.parse_args()


def expected(args: argparse.Namespace) -> dict[str, int]:
    """What the database must hold afterwards."""
    return {
        "sign_in": args.sign_ins,
        "sign_in_failed": args.wrong,
        "target throttle failures": args.wrong,
        "survey_published": args.publishes + args.closes,  # the open ones were published when made
        "survey_closed": args.closes,
        "responses_exported": args.exports,
        "tokens touched": args.tokens,
    }


def main() -> int:
    """Run it once; the exit status."""
    args = arguments()
    workdir = Path(tempfile.mkdtemp(prefix="talking-concurrency-"))
    load_before = load_average()
    try:
        with fresh_database(args.database, workdir, POSTGRES_ADMIN_URL) as database:
            cast = asyncio.run(
                staff_storm.prepare(
                    database.url,
                    staff=args.sign_ins,
                    tokens=args.tokens,
                    drafts=args.publishes,
                    open_surveys=args.closes,
                )
            )
            with live_server(database.url, workdir, args.workers) as server:
                print(f"concurrency: {server.url} ({args.workers} worker(s)) on {args.database}", flush=True)
                answers = asyncio.run(
                    staff_storm.storm(server.url, cast, wrong_passwords=args.wrong, exports=args.exports)
                )
                locked = server.log().count("database is locked")
            stored = asyncio.run(staff_storm.stored(database.url))
    finally:
        if args.keep:
            print(f"  kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    sent = sum(sum(statuses.values()) for statuses in answers.by_action.values())
    print(
        f"\n{args.database}, {args.workers} worker(s): {sent} actions at once, all answered in {answers.seconds:.1f} s"
    )
    print("answers by action (status: count):")
    print("\n".join(answers.lines()))
    print(f"server errors (5xx): {answers.server_errors()}; 'database is locked' in the server log: {locked}")
    print("recorded (audit log, throttle):")
    problems = []
    for what, want in expected(args).items():
        got = stored.get(what, 0)
        print(f"  {what:<26} {got:>4}" + ("" if got == want else f"  (expected {want})"))
        if got != want:
            problems.append(what)
    print(f"load average before {load_before}; after {load_average()}")
    failed = answers.server_errors() > 0 or locked > 0 or bool(problems)
    print("check: " + ("FAILED" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
