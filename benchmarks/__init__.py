"""camvault benchmarks: camvault against a hand-written raw-SQL baseline, side by side.

Run with ``make bench`` or ``python -m benchmarks --help``.
"""
