"""Run the camvault CLI with ``python -m camvault``."""

from camvault.cli import main

main()
