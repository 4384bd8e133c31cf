"""Maintenance batches are sized to hold the write lock briefly, whatever a delete costs."""

from __future__ import annotations

from camvault.backends.pacing import FIRST, TARGET_S, Pacer


def test_slow_batches_shrink_to_the_target_and_fast_ones_grow_at_most_double() -> None:
    pacer = Pacer(500)
    assert pacer.size == FIRST
    pacer.took(TARGET_S * 4)  # four times too long: a quarter of the size
    assert pacer.size == FIRST // 4
    for expected in (16, 32, 64, 128, 256, 500, 500):
        pacer.took(TARGET_S / 100)  # far quicker than the target: double, up to the cap
        assert pacer.size == expected
    pacer.took(TARGET_S * 1000)  # a stall: down to the floor, never to nothing
    assert pacer.size == 4


def test_a_cap_below_the_first_size_holds() -> None:
    pacer = Pacer(3)
    assert pacer.size == 3
    pacer.took(0.0)
    assert pacer.size == 3
    pacer.took(10.0)
    assert pacer.size == 3  # the floor never lifts a batch above its cap
