"""The Frigate benchmark: its workload, its loss check, and a tiny run through the real broker."""

from __future__ import annotations

import dataclasses
import io
import os
from collections import defaultdict
from typing import Any

import orjson
import pytest
from rich.console import Console

from benchmarks import frigate
from benchmarks.frigate_check import loss
from benchmarks.frigate_load import Workload, workload
from benchmarks.harness import QUICK

MQTT_URL = os.environ.get("CAMVAULT_TEST_MQTT_URL")
needs_broker = pytest.mark.skipif(not MQTT_URL, reason="CAMVAULT_TEST_MQTT_URL is not set")


def _by_object(work: Workload) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in work.messages:
        out[message.object_id].append(orjson.loads(message.payload))
    return out


def test_a_lifecycle_is_new_three_updates_end_in_order() -> None:
    work = workload(30, seed=1)
    lifecycles = _by_object(work)
    assert len(lifecycles) == 30 == work.lifecycles
    for object_id, bodies in lifecycles.items():
        assert [b["type"] for b in bodies] == ["new", "update", "update", "update", "end"]
        afters = [b["after"] for b in bodies]
        assert {a["id"] for a in afters} == {object_id}
        assert [a["end_time"] is None for a in afters] == [True, True, True, True, False]
        # Frigate's top score is the best score seen so far; the last one is what must be stored
        assert afters[-1]["top_score"] == max(a["score"] for a in afters)
        assert work.final_top_score[object_id] == afters[-1]["top_score"]
        for before, body in zip(afters, bodies[1:], strict=False):
            assert body["before"] == before


def test_lifecycles_overlap_across_cameras() -> None:
    work = workload(40, seed=2)
    ids = [m.object_id for m in work.messages]
    first_end = next(i for i, m in enumerate(work.messages) if m.kind == "end")
    assert len(set(ids[:first_end])) > 10  # many objects are in flight before one ends
    cameras = {b[0]["after"]["camera"] for b in _by_object(work).values()}
    assert len(cameras) >= 4


def test_loss_names_missing_open_and_stale_lifecycles() -> None:
    expected = {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6}
    rows = [("a", 1, 0.9), ("b", 0, 0.8), ("c", 1, 0.65), ("x", 1, 0.5)]
    got = loss(expected, rows)
    assert (got.missing, got.still_open, got.wrong_score) == (1, 1, 1)
    assert (got.lost, got.stored, got.expected) == (3, 1, 4)
    assert sorted(got.examples) == ["b", "c", "d"]
    assert loss(expected, [(k, 1, v) for k, v in expected.items()]).lost == 0


@needs_broker
def test_tiny_section_runs_and_stores_everything() -> None:
    cfg = dataclasses.replace(QUICK, frigate_lifecycles=40, frigate_light=10, frigate_rounds=1)
    section = frigate.run(cfg, Console(file=io.StringIO()))
    assert section.figures, section.notes
    for kind in ("paced", "flat", "light"):
        for side in frigate.SIDES:
            (run,) = section.raw[kind][side]
            assert run["loss"].lost == 0, (kind, side, run["loss"])
            assert run["rate"] > 0
    assert section.raw["light"]["camvault"][0]["latency"].n == 10  # watch() saw every new
    assert section.raw["light"]["plain"][0]["latency"].n == 10
    assert section.raw["light"]["camvault"][0]["commit_latency"].n == 10  # the commit bus too
    (bare,) = section.raw["bare"]  # the bare client counted each of 40 x 5 messages once
    assert (bare["received"], bare["messages"]) == (200, 200)
    assert bare["messages_per_s"] > 0


@needs_broker
@pytest.mark.parametrize("side", frigate.SIDES)
def test_a_lifecycle_left_out_is_reported_lost(side: str) -> None:
    assert MQTT_URL is not None
    work = workload(12, seed=3)
    ids = list(work.final_top_score)
    never, unended, stale = ids[2], ids[5], ids[7]
    messages = [
        m
        for m in work.messages
        if m.object_id != never and not (m.object_id == unended and m.kind == "end")
    ]
    expected = dict(work.final_top_score)
    expected[stale] = round(expected[stale] - 0.01, 4)  # not the score that was published
    partial = Workload(messages, expected)
    run = frigate.measure(side, partial, workload(5, seed=4), MQTT_URL, quiet_s=1.0)
    got = run["loss"]
    assert (got.missing, got.still_open, got.wrong_score) == (1, 1, 1)
    assert sorted(got.examples) == sorted([never, unended, stale])
    assert got.stored == 9


@pytest.mark.parametrize("url", ["mqtt://127.0.0.1:1", "http://127.0.0.1:1883"])
def test_no_broker_skips_the_section_with_one_line(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("CAMVAULT_BENCH_MQTT_URL", url)
    section = frigate.run(dataclasses.replace(QUICK, frigate_rounds=1), Console(file=io.StringIO()))
    assert section.figures == []
    (note,) = section.notes
    assert note.startswith("frigate section skipped: no MQTT broker at " + url)
    assert "CAMVAULT_BENCH_MQTT_URL" in note
