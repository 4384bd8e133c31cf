"""FRIGATE: live Frigate ingest through the local broker, camvault vs a plain MQTT consumer.

N lifecycles of tracked objects (new, three updates, end; Frigate 0.16's payloads, several
cameras, objects overlapping in time) are published on a topic prefix of the run's own, at
QoS 0 and not retained as Frigate does. camvault's side is ``consume_frigate`` on a fresh
SQLite store in a child process, with a second child following the store through
``AsyncEventStore.watch()``; the baseline is a paho-mqtt callback writing each message to
stdlib sqlite3 (INSERT OR REPLACE + commit) in a child process, the way hobby integrations
do. Stored lifecycles/s runs from the first publish until the last lifecycle's end state is
stored, read with plain SQL, which also counts what was lost. Three runs per side: one paced
a little above the goal rate (the goals of rate and loss), one flat out (the most each
consumer stores; at QoS 0 the broker drops what a slow subscriber cannot take) and a light
one at a rate both sustain (the latency goal, without queueing in front of the consumer).
Each round also publishes the workload flat out to a bare paho client that only counts what
arrives: the ceiling of any consumer built on paho, against which the ratio goal is read.
The broker's URL is ``CAMVAULT_BENCH_MQTT_URL``, else ``CAMVAULT_TEST_MQTT_URL``, else
mqtt://127.0.0.1:1883; the section is skipped with one line when no broker answers.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console

from benchmarks import frigate_sides
from benchmarks.frigate_check import Loss, check, closed
from benchmarks.frigate_load import (
    CAMERAS,
    MESSAGES_PER_LIFECYCLE,
    OVERLAP,
    Message,
    Published,
    Workload,
    close,
    connect,
    publish,
    workload,
)
from benchmarks.harness import Config, Latency, latency, scratch
from benchmarks.report import Figure, Section, at_most, ratio_at_least
from camvault.errors import InvalidInputError
from camvault.ingest.mqtt import parse_mqtt_url

TITLE = "FRIGATE: live ingest through Mosquitto, camvault vs paho + sqlite3 (medians of rounds)"
ENV_VARS = ("CAMVAULT_BENCH_MQTT_URL", "CAMVAULT_TEST_MQTT_URL")
DEFAULT_URL = "mqtt://127.0.0.1:1883"
SIDES = ("camvault", "plain")
GOAL_RATE = 1_000
"""Lifecycles/s camvault must store (5,000 messages/s)."""
GOAL_RATIO = 5.0
GOAL_P99_MS = 50.0
PACED = GOAL_RATE * 1.25
"""Lifecycles/s offered in the paced run: above the goal, so meeting it is not by construction."""
LIGHT = 50
"""Lifecycles/s offered in the latency run (250 messages/s: a very busy Frigate)."""
WARMUP = 100
"""Lifecycles published and stored before each timed run (the first also proves the
subscription is in place: QoS 0 messages sent before it are gone)."""
QUIET_S = 5.0
"""Once publishing is over, a run ends after this long without progress: the rest is lost."""
START_S = 60.0
"""How long a consumer may take to subscribe and store its first lifecycle."""
POLL_S = 0.025
"""How often the parent counts closed objects with plain SQL while a run goes on."""


def broker_url() -> tuple[str, str]:
    """Return the broker URL to benchmark on and where it came from."""
    for name in ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value, name
    return DEFAULT_URL, "the default"


def skipped(reason: str) -> Section:
    """Return an empty section whose one note says why it did not run."""
    reason = " ".join(reason.split())
    return Section(TITLE, [], [f"frigate section skipped: {reason}"], {"skipped": reason})


def _token() -> str:
    """Return a name part no other run uses."""
    return f"{os.getpid()}{secrets.token_hex(4)}"


def forget_session(url: str, client_id: str) -> None:
    """End the persistent session camvault's consumer left on the broker (clean start)."""
    target = parse_mqtt_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if target.username:
        client.username_pw_set(target.username, target.password)
    try:
        client.connect(target.host, target.port, clean_start=True)
        client.loop_start()
        deadline = time.monotonic() + 5
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.01)
        client.disconnect()
        client.loop_stop()
    except OSError:
        pass


@dataclass(slots=True)
class Child:
    """A spawned process and the pipe it answers on."""

    process: multiprocessing.process.BaseProcess
    answer: Connection

    def result(self, timeout: float = 120.0) -> dict[str, Any]:
        """Wait for the child's answer, then for its end; stop it if it does not answer."""
        try:
            got: dict[str, Any] = (
                self.answer.recv() if self.answer.poll(timeout) else {"error": "no answer"}
            )
        except EOFError:  # it died before answering; its traceback is on stderr
            got = {"error": "the process ended without an answer"}
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        return got


def _spawn(target: Callable[..., None], *args: Any) -> Child:
    """Start ``target(*args, send_end)`` in a spawned process."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=target, args=(*args, send), daemon=True)
    process.start()
    send.close()
    return Child(process, receive)


def _lifecycle_of(messages: list[Message], object_id: str) -> list[Message]:
    return [m for m in messages if m.object_id == object_id]


def _wait_closed(db: Path, side: str, count: int, timeout: float) -> int:
    """Poll until the side's database holds ``count`` closed objects; return the count."""
    deadline = time.monotonic() + timeout
    n = closed(db, side)
    while n < count and time.monotonic() < deadline:
        time.sleep(POLL_S)
        n = closed(db, side)
    return n


def _start(
    client: mqtt.Client, topic: str, db: Path, side: str, warm: Workload, consumer: Child
) -> int:
    """Publish the warm-up until the consumer stores it; return the objects closed by then."""
    first = _lifecycle_of(warm.messages, warm.messages[0].object_id)
    deadline = time.monotonic() + START_S
    while closed(db, side) < 1:  # QoS 0 before the subscription is lost: publish again
        if time.monotonic() > deadline or not consumer.process.is_alive():
            raise RuntimeError(f"the {side} consumer stored nothing: {consumer.result(5)}")
        publish(client, topic, first)
        time.sleep(0.2)
    publish(client, topic, warm.messages)
    return _wait_closed(db, side, warm.lifecycles, 30)


def measure(
    side: str,
    work: Workload,
    warm: Workload,
    url: str,
    *,
    qos: int = 0,
    rate: float | None = None,
    quiet_s: float = QUIET_S,
    watch: bool = True,
) -> dict[str, Any]:
    """Publish ``work`` to a fresh consumer of ``side``; return rate, loss and latency.

    With ``watch``, camvault's latency is taken by a watch() reader in another process;
    without, no reader runs (as on the plain side) and camvault has no latency figure.
    """
    token = _token()
    prefix, client_id = f"cvbench{token}", f"cvbench-{side}-{token}"
    topic = f"{prefix}/events"
    with scratch("frigate") as folder:
        db = folder / "events.db"
        ctx = multiprocessing.get_context("spawn")
        stop = ctx.Event()
        if side == "camvault":
            consumer = _spawn(
                frigate_sides.camvault_consumer, str(db), url, prefix, client_id, watch, stop
            )
        else:
            consumer = _spawn(frigate_sides.plain_consumer, str(db), url, prefix, client_id, stop)
        watcher: Child | None = None
        publisher = connect(url, f"cvbench-pub-{token}")
        try:
            base = _start(publisher, topic, db, side, warm, consumer)
            if side == "camvault" and watch:
                ready = ctx.Event()
                watcher = _spawn(frigate_sides.watcher, str(db), stop, ready)
                if not ready.wait(START_S):
                    raise RuntimeError("the watch() reader did not start")
            pub = Published()
            sender = threading.Thread(
                target=publish,
                args=(publisher, topic, work.messages),
                kwargs={"qos": qos, "rate": rate, "out": pub},
                daemon=True,
            )
            done, last_ns = 0, time.monotonic_ns()
            sender.start()
            while done < work.lifecycles:
                time.sleep(POLL_S)
                now_done = closed(db, side) - base
                now = time.monotonic_ns()
                if now_done > done:
                    done, last_ns = now_done, now
                elif not sender.is_alive() and now - last_ns > quiet_s * 1e9:
                    break
            sender.join()
        finally:
            stop.set()
            close(publisher)
        answer = consumer.result()
        seen = watcher.result() if watcher is not None else {}
        if side == "camvault":
            forget_session(url, client_id)
        if "error" in answer or "error" in seen:
            raise RuntimeError(f"{side}: {answer.get('error') or seen.get('error')}")
        lost = check(db, side, work.final_top_score)
        arrived: dict[str, int] = seen.get("seen") or answer.get("stored") or {}
        committed: dict[str, int] = answer.get("stored") or {}
        watched = side == "plain" or watcher is not None
    elapsed_s = (last_ns - pub.first_ns) / 1e9
    samples = [arrived[i] - sent for i, sent in pub.new_sent_ns.items() if i in arrived]
    to_commit = [committed[i] - sent for i, sent in pub.new_sent_ns.items() if i in committed]
    return {
        "side": side,
        "qos": qos,
        "rate_limit": rate,
        "lifecycles": work.lifecycles,
        "messages": pub.messages,
        "publish_s": (pub.last_ns - pub.first_ns) / 1e9,
        "elapsed_s": elapsed_s,
        "rate": lost.stored / elapsed_s if elapsed_s > 0 else 0.0,
        "loss": lost,
        "latency": latency(samples),
        "commit_latency": latency(to_commit),
        "not_seen": len(pub.new_sent_ns) - len(samples) if watched else None,
        "consumer": answer.get("stats"),
    }


BARE_QUIET_S = 1.0
"""The bare run ends once its count has not moved for this long after the last publish."""


def measure_bare(work: Workload, url: str) -> dict[str, Any]:
    """Publish ``work`` flat out to a bare paho client that only counts; return its rate."""
    token = _token()
    topic = f"cvbench{token}/events"
    ctx = multiprocessing.get_context("spawn")
    received = ctx.RawValue("q", 0)
    ready, stop = ctx.Event(), ctx.Event()
    child = _spawn(
        frigate_sides.bare_receiver, url, topic, f"cvbench-bare-{token}", received, ready, stop
    )
    publisher = connect(url, f"cvbench-pub-{token}")
    try:
        if not ready.wait(START_S):
            raise RuntimeError("the bare client did not subscribe")
        pub = publish(publisher, topic, work.messages)
        count, moved = received.value, time.monotonic()
        while time.monotonic() - moved < BARE_QUIET_S:
            time.sleep(POLL_S)
            if received.value != count:
                count, moved = received.value, time.monotonic()
    finally:
        stop.set()
        close(publisher)
    answer = child.result()
    if "error" in answer:
        raise RuntimeError(f"bare: {answer['error']}")
    elapsed_s = (answer["last_ns"] - pub.first_ns) / 1e9
    return {
        "side": "bare",
        "messages": pub.messages,
        "publish_s": (pub.last_ns - pub.first_ns) / 1e9,
        "received": count,
        "elapsed_s": elapsed_s,
        "messages_per_s": count / elapsed_s if elapsed_s > 0 else 0.0,
    }


def _describe(run: dict[str, Any]) -> str:
    lat: Latency = run["latency"]
    loss: Loss = run["loss"]
    how = f"QoS {run['qos']}, " + (
        f"{run['rate_limit']:,.0f} msg/s" if run["rate_limit"] else "flat out"
    )
    seen = f"  p50 {lat.p50_us / 1e3:7.1f} ms  p99 {lat.p99_us / 1e3:7.1f} ms" if lat.n else ""
    return (
        f"frigate {run['side']:9} {how:21} {run['rate']:6,.0f} lifecycles/s  "
        f"lost {loss.lost:6,}{seen}"
    )


def run(cfg: Config, console: Console) -> Section:
    """Run the Frigate section, or skip it when no broker answers."""
    url, source = broker_url()
    try:
        close(connect(url, f"cvbench-probe-{_token()}"))
    except (OSError, InvalidInputError) as exc:
        return skipped(f"no MQTT broker at {url} ({source}): {exc}")
    log = console.log
    log(f"frigate: broker {url} from {source}; generating {cfg.frigate_lifecycles:,} lifecycles")
    work = workload(cfg.frigate_lifecycles, seed=11)
    warm = workload(WARMUP, seed=12, start=time.time() - 3600)
    light = workload(cfg.frigate_light, seed=13)
    raw: dict[str, Any] = {
        "url_from": source,
        "lifecycles": work.lifecycles,
        "messages": len(work.messages),
        "payload_bytes": work.payload_bytes,
        "paced_lifecycles_per_s": PACED,
        "light_lifecycles": cfg.frigate_light,
        "light_lifecycles_per_s": LIGHT,
        "load_average": [os.getloadavg()[0]],
        "paced": {side: [] for side in SIDES},
        "flat": {side: [] for side in SIDES},
        "light": {side: [] for side in SIDES},
        "qos1": [],
        "bare": [],
    }
    for r in range(cfg.frigate_rounds):
        order = SIDES if r % 2 == 0 else SIDES[::-1]
        for kind, load, rate in (
            ("paced", work, PACED * MESSAGES_PER_LIFECYCLE),
            ("flat", work, None),
            ("light", light, LIGHT * MESSAGES_PER_LIFECYCLE),
        ):
            for side in order:
                run = measure(side, load, warm, url, rate=rate, watch=kind == "light")
                raw[kind][side].append(run)
                log(_describe(raw[kind][side][-1]))
        bare = measure_bare(work, url)
        raw["bare"].append(bare)
        log(
            f"frigate bare      flat out {bare['messages_per_s']:9,.0f} messages/s received, "
            f"{bare['received']:,} of {bare['messages']:,}"
        )
    raw["qos1"].append(measure("camvault", work, warm, url, qos=1, watch=False))
    log(_describe(raw["qos1"][-1]))
    raw["load_average"].append(os.getloadavg()[0])
    return Section(TITLE, figures(raw), notes(raw, cfg), raw)


def _median(runs: list[dict[str, Any]], get: Callable[[dict[str, Any]], float]) -> float:
    return float(statistics.median(get(r) for r in runs))


def _rate(r: dict[str, Any]) -> float:
    return float(r["rate"])


def _lost(r: dict[str, Any]) -> float:
    return float(r["loss"].lost)


def _p50_ms(r: dict[str, Any]) -> float:
    return float(r["latency"].p50_us) / 1e3


def _p99_ms(r: dict[str, Any]) -> float:
    return float(r["latency"].p99_us) / 1e3


def _commit_p50_ms(r: dict[str, Any]) -> float:
    return float(r["commit_latency" if r["side"] == "camvault" else "latency"].p50_us) / 1e3


def _commit_p99_ms(r: dict[str, Any]) -> float:
    return float(r["commit_latency" if r["side"] == "camvault" else "latency"].p99_us) / 1e3


def _bare_lifecycles(r: dict[str, Any]) -> float:
    return float(r["messages_per_s"]) / MESSAGES_PER_LIFECYCLE


def _pair(
    runs: dict[str, list[dict[str, Any]]], get: Callable[[dict[str, Any]], float]
) -> tuple[float, float]:
    return _median(runs["camvault"], get), _median(runs["plain"], get)


def figures(raw: dict[str, Any]) -> list[Figure]:
    """Return the section's figures, with goals."""
    paced, flat, light = raw["paced"], raw["flat"], raw["light"]
    n = f"{raw['lifecycles']:,}"
    at = f"{raw['paced_lifecycles_per_s']:,.0f}/s offered"
    calm = f"{raw['light_lifecycles_per_s']:,.0f} lifecycles/s"
    stored = _pair(paced, _rate)
    lost = _pair(paced, _lost)
    top = _pair(flat, _rate)
    flat_lost = _pair(flat, _lost)
    out = [
        Figure(
            f"stored, {n} lifecycles at {at}",
            "lifecycles/s",
            *stored,
            f">= {GOAL_RATE:,} lifecycles/s",
            stored[0] >= GOAL_RATE,
        ),
        Figure(f"lifecycles lost of {n} at {at}", "", *lost, "0", lost[0] == 0),
        ratio_at_least(f"stored, {n} lifecycles flat out", "lifecycles/s", *top, GOAL_RATIO),
        Figure(f"lifecycles lost of {n} flat out", "", *flat_lost),
        Figure(f"publish-to-watch p50 at {calm}", "ms", *_pair(light, _p50_ms)),
        at_most(f"publish-to-watch p99 at {calm}", "ms", *_pair(light, _p99_ms), GOAL_P99_MS),
        Figure(f"publish-to-commit p50 at {calm}", "ms", *_pair(light, _commit_p50_ms)),
        Figure(f"publish-to-commit p99 at {calm}", "ms", *_pair(light, _commit_p99_ms)),
        Figure(
            f"lifecycles lost of {raw['light_lifecycles']:,} at {calm}", "", *_pair(light, _lost)
        ),
    ]
    if raw["bare"]:
        bare = _median(raw["bare"], _bare_lifecycles)
        out.append(
            Figure(
                f"stored, {n} lifecycles flat out, against a bare paho client only counting",
                "lifecycles/s",
                top[0],
                bare,
            )
        )
    for q in raw["qos1"][:1]:
        out.append(Figure(f"stored, QoS 1 publish, {n} flat out", "lifecycles/s", q["rate"], None))
        out.append(Figure(f"lifecycles lost of {n}, QoS 1 publish", "", q["loss"].lost, None))
    return out


def _per_round(runs: list[dict[str, Any]], get: Callable[[dict[str, Any]], float]) -> list[float]:
    return [round(get(r), 1) for r in runs]


def _lost_line(loss: Loss) -> str:
    return (
        f"{loss.lost:,} ({loss.missing:,} missing, {loss.still_open:,} open, "
        f"{loss.wrong_score:,} with an older top score)"
    )


def notes(raw: dict[str, Any], cfg: Config) -> list[str]:
    """Return the explanations printed under the section's table."""
    paced, flat, light = raw["paced"], raw["flat"], raw["light"]
    size = raw["payload_bytes"] / max(raw["messages"], 1)
    publish_rate = [round(r["messages"] / r["publish_s"]) for r in flat["camvault"]]
    out = [
        f"broker URL from {raw['url_from']}; a shared 2-core machine (the 1-minute load "
        "average at the start and the end: "
        + " / ".join(f"{x:.1f}" for x in raw["load_average"])
        + f"); figures are medians of {cfg.frigate_rounds} round(s), the sides' order swapped "
        "each round; every run in the JSON",
        f"workload: {raw['lifecycles']:,} lifecycles = {raw['messages']:,} messages (new, "
        f"3 updates, end; {size:,.0f} bytes each on average: before + after in Frigate "
        f"0.16's shape) over {len(CAMERAS)} cameras, ~{OVERLAP * (MESSAGES_PER_LIFECYCLE - 1)} "
        "objects in flight at once; a fresh topic prefix, client id and database per run; "
        f"{WARMUP} warm-up lifecycles stored first (which also proves the subscription)",
        "camvault: consume_frigate (no Frigate HTTP) on a fresh SQLite store in a child "
        "process, after settle_heap() as `camvault ingest frigate` does; in the latency run a "
        "second child follows the store with AsyncEventStore.watch() (also settled) and notes "
        "when each event first appears (no reader runs "
        "in the other runs, as on the plain side); plain: a paho-mqtt on_message callback doing "
        "json.loads, INSERT OR REPLACE of the object row and commit on stdlib sqlite3 (WAL, "
        "synchronous=NORMAL: camvault's own durability) in a child process; the publisher "
        "(paho, QoS 0, not retained, as Frigate publishes) is the parent",
        "stored lifecycles/s: from the first publish until the last end state was stored, "
        f"counted with plain SQL every {POLL_S * 1e3:.0f} ms; lost = missing, still open or "
        "without the final top score, checked with plain SQL once the consumer stops "
        f"({QUIET_S:g} s without progress ends a run)",
        f"paced: {raw['paced_lifecycles_per_s']:,.0f} lifecycles/s offered "
        f"({raw['paced_lifecycles_per_s'] * MESSAGES_PER_LIFECYCLE:,.0f} messages/s); "
        f"lifecycles/s per round camvault {_per_round(paced['camvault'], _rate)}, plain "
        f"{_per_round(paced['plain'], _rate)}; when a consumer falls behind, its latency is "
        "the queue in front of it",
        f"latency: {raw['light_lifecycles']:,} lifecycles at {raw['light_lifecycles_per_s']} "
        "lifecycles/s; camvault from the publish of `new` until watch() yields the event in "
        "another process; plain (it has no watch): until its commit returned, which flatters "
        "it; publish-to-commit: camvault until its commit bus (AsyncEventStore.subscribe in "
        "the consumer) hands the event over, plain until its commit returned; watch p99 ms "
        f"per round camvault {_per_round(light['camvault'], _p99_ms)}, plain "
        f"{_per_round(light['plain'], _p99_ms)}",
        f"flat out: the publisher as fast as paho goes ({publish_rate} messages/s); at QoS 0 "
        "Mosquitto drops what a subscriber has not taken once its queue is full, so a "
        "consumer slower than the publisher loses lifecycles; lifecycles/s per round "
        f"camvault {_per_round(flat['camvault'], _rate)}, plain {_per_round(flat['plain'], _rate)}",
        "QoS 1: the flat-out run with the publisher at QoS 1 (camvault subscribes at QoS 1 with "
        "a persistent session and acknowledges after storing; Mosquitto's stock per-client "
        "queue is 1,000 messages), camvault only, one run",
        "consumer counters (last flat-out run): camvault "
        f"{flat['camvault'][-1]['consumer'] if flat['camvault'] else '-'}, plain "
        f"{flat['plain'][-1]['consumer'] if flat['plain'] else '-'}",
    ]
    if raw["bare"] and flat["plain"]:
        plain = _median(flat["plain"], _rate)
        bare = _median(raw["bare"], _bare_lifecycles)
        sent = statistics.median(r["messages"] / r["publish_s"] for r in raw["bare"])
        out.append(
            f"the ratio goal's reach: {GOAL_RATIO:g}x the plain consumer's flat-out rate is "
            f"{GOAL_RATIO * plain:,.0f} lifecycles/s "
            f"({GOAL_RATIO * plain * MESSAGES_PER_LIFECYCLE:,.0f} messages/s); in the same run "
            f"the publisher sent {sent:,.0f} messages/s and a bare paho client (paho's own "
            "network loop, MQTT 5 as camvault's; no JSON, no store) took "
            f"{bare * MESSAGES_PER_LIFECYCLE:,.0f} messages/s ({bare / plain:.1f}x the plain "
            "consumer), received of "
            f"{raw['bare'][0]['messages']:,} per round: {[r['received'] for r in raw['bare']]}"
        )
    losses = [
        f"{kind} {r['side']} round {i + 1}: {_lost_line(r['loss'])}"
        for kind in ("paced", "flat", "light")
        for side in SIDES
        for i, r in enumerate(raw[kind][side])
        if r["loss"].lost
    ] + [f"QoS 1 camvault: {_lost_line(r['loss'])}" for r in raw["qos1"] if r["loss"].lost]
    if losses:
        out.append("lost lifecycles (ids of some in the JSON): " + "; ".join(losses))
    return out
