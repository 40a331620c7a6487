"""How fast does the sender deliver the outbox to a local SMTP server?

Queues N messages (20,000 by default) on a fresh database, starts an aiosmtpd sink in a process of
its own on 127.0.0.1, runs `talking mail send` as an operator would and prints messages/s delivered
and the sender's CPU. Exits 1 unless every message ended up sent. The target: at least 300
messages/s (80,000 in under 5 minutes).

    .venv/bin/python benchmarks/mail.py                                   # SQLite, 20,000 messages
    .venv/bin/python benchmarks/mail.py --messages 80000 --database postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import POSTGRES_ADMIN_URL, load_average, process_tree_cpu_seconds

from talking.db.engine import create_engine
from talking.mail.outbox import OutgoingMessage, queue_message
from talking.testing.databases import fresh_database
from talking.testing.server import free_port

TEXT = (
    "Hello,\n\nWe are asking residents of Preston which community safety issues matter most where they"
    " live. It takes about 3 minutes: https://talking.example/s/{n}\n\nThank you,\nLancashire Talking"
)


async def queue_all(database_url: str, count: int) -> None:
    """Queue ``count`` invitations, a thousand per transaction, through the outbox's own function."""
    engine = create_engine(database_url)
    try:
        for start in range(0, count, 1000):
            async with engine.begin() as conn:
                for n in range(start, min(count, start + 1000)):
                    await queue_message(
                        conn,
                        OutgoingMessage(
                            to=f"resident{n}@example.org",
                            subject="Your views on community safety in Preston",
                            text=TEXT.format(n=n),
                            kind="invitation",
                            unsubscribe_url=f"https://talking.example/members/unsubscribe/t{n}",
                        ),
                    )
    finally:
        await engine.dispose()


def wait_for_port(port: int) -> None:
    """Return once something listens on the port."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the SMTP sink did not start on port {port}")


def main() -> int:
    """Queue, send, measure, check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=20_000, help="messages in the outbox [20,000]")
    parser.add_argument("--rate", type=int, default=100_000, help="TALKING_MAIL_RATE for the run [100,000]")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="talking-mail-"))
    port = free_port()
    # The sink in its own process: in ours it would share the sender's interpreter lock.
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with fresh_database(args.database, workdir, POSTGRES_ADMIN_URL) as database:
            print(f"mail: {args.messages:,} messages on {args.database}; load average {load_average()}", flush=True)
            started = time.perf_counter()
            asyncio.run(queue_all(database.url, args.messages))
            print(f"  queued in {time.perf_counter() - started:.1f} s", flush=True)
            wait_for_port(port)
            env = {
                **os.environ,
                "TALKING_DATABASE_URL": database.url,
                "TALKING_SMTP_URL": f"smtp://127.0.0.1:{port}",
                "TALKING_MAIL_RATE": str(args.rate),
            }
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            sink_before = process_tree_cpu_seconds(sink.pid)
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "talking", "mail", "send"],
                env=env,
                cwd=workdir,
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            sink_cpu = process_tree_cpu_seconds(sink.pid) - sink_before
            sent = database.query("SELECT count(*) FROM mail_outbox WHERE status = 'sent'")[0][0]
        print(f"  the command said: {done.stdout.strip() or '(nothing)'}")
        print(
            f"  delivered {sent:,} in {elapsed:.1f} s wall: {sent / elapsed:,.0f} messages/s;"
            f" sender CPU {cpu:.1f} s ({1000 * cpu / max(sent, 1):.2f} ms a message),"
            f" the sink's {sink_cpu:.1f} s"
        )
        ok = done.returncode == 0 and sent == args.messages
        print("  check: every message sent" + (" ok" if ok else " FAILED"))
        return 0 if ok else 1
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
