"""Run the ``talking`` command with ``python -m talking``."""

from talking.cli import main

main()
