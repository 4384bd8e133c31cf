"""The processes of the chaos run, as scripts: each takes its arguments on the command line.

Every writer appends ``A id`` before it sends an event and ``S id`` once the event got a
success answer (stored, or already stored under that id), flushing each line, so the parent
knows what each writer was told even though the server is killed under it.
"""

from __future__ import annotations

HTTP_CLIENT = """
import random, sys, time
import httpx
port, deadline, out, seed = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rnd = random.Random(seed)
log = open(out, "a", buffering=1)
n = 0
retry = []  # ids whose answer was lost (connection dropped): sent again until answered
with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
    while time.time() < deadline:
        size = 1 if rnd.random() < 0.5 else rnd.randint(2, 20)
        items = []
        for _ in range(size):
            if retry and rnd.random() < 0.5:
                items.append(retry.pop())
                continue
            n += 1
            event_id = f"h{seed}-{n}"
            log.write(f"A {event_id}\\n")
            label = rnd.choice(["person", "car", "dog"])
            items.append({"event_id": event_id, "camera_id": f"cam{rnd.randint(1, 3)}",
                          "detected_objects": [{"label": label, "confidence": 0.9}],
                          "person_name": rnd.choice([None, "alice", "bob"]),
                          "llm_description": "a visitor at the door"})
        body = items[0] if size == 1 else items
        try:
            answer = client.post("/api/events", json=body)
        except httpx.HTTPError:
            retry.extend(items)
            time.sleep(0.05)
            continue
        if answer.status_code == 200:
            for result in answer.json()["results"]:
                if result["status"] in ("inserted", "duplicate"):
                    log.write(f"S {result['event_id']}\\n")
        time.sleep(rnd.uniform(0.005, 0.03))
print("done", n)
"""

DIRECT_WRITER = """
import random, sys, time
from camvault import DatabaseError, Event, EventStore, DetectedObject
db, deadline, out, seed = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rnd = random.Random(seed)
log = open(out, "a", buffering=1)
n = 0
with EventStore(db) as store:
    while time.time() < deadline:
        batch = []
        for _ in range(1 if rnd.random() < 0.6 else rnd.randint(2, 30)):
            n += 1
            event_id = f"d{seed}-{n}"
            log.write(f"A {event_id}\\n")
            batch.append(Event(event_id=event_id, camera_id=f"cam{rnd.randint(1, 3)}",
                               detected_objects=[DetectedObject(label=rnd.choice(["person", "cat"]),
                                                                confidence=0.8)],
                               person_name=rnd.choice([None, "carol"])))
        try:
            if len(batch) == 1:
                stored = store.insert_event(batch[0])
            else:
                result = store.insert_events(batch)
                stored = result.failed == 0
        except DatabaseError:
            time.sleep(0.05)
            continue
        if stored:
            for ev in batch:
                log.write(f"S {ev.event_id}\\n")
        time.sleep(rnd.uniform(0.005, 0.03))
print("done", n)
"""

SNAPSHOT_READER = """
import sys, time
import apsw
db, deadline = sys.argv[1], float(sys.argv[2])
held = 0
conn = apsw.Connection(db)
conn.set_busy_timeout(5_000)
while time.time() < deadline:
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*), max(ts) FROM events").fetchall()
        time.sleep(0.02)  # keeps its snapshot a while, again and again: checkpoints wait
        conn.execute("COMMIT")
        held += 1
    except apsw.Error as exc:
        print("read failed:", exc, file=sys.stderr)
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    time.sleep(0.002)
print("snapshots", held)
"""

HTTP_READER = """
import sys, time
import httpx
port, deadline = int(sys.argv[1]), float(sys.argv[2])
answered = 0
with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
    while time.time() < deadline:
        for path in ("/api/events?limit=50", "/api/histogram?bucket=hour", "/api/count"):
            try:
                answered += client.get(path).is_success
            except httpx.HTTPError:
                time.sleep(0.05)
        time.sleep(0.02)
print("answered", answered)
"""

LOCK_HOLDER = """
import sys, time
import apsw
db, deadline, hold, every = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
held = 0
while time.time() + every < deadline:
    time.sleep(every)
    conn = apsw.Connection(db)
    conn.set_busy_timeout(10_000)
    try:
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(hold)
        conn.execute("ROLLBACK")
        held += 1
    except apsw.Error as exc:
        print("lock not taken:", exc, file=sys.stderr)
    finally:
        conn.close()
print("held", held)
"""

PURGER = """
import sys, time
from datetime import UTC, datetime, timedelta
from camvault import DatabaseError, Event, EventStore
db, deadline, every = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
old = datetime.now(UTC) - timedelta(days=400)  # writers write now: purge never touches theirs
purged = runs = n = 0
with EventStore(db) as store:
    while time.time() + every < deadline:
        time.sleep(every)
        try:
            batch = [Event(event_id=f"old-{n + i}", camera_id="cam1", timestamp=old,
                           person_name="olga") for i in range(300)]
            store.insert_events(batch)
            n += len(batch)
            purged += store.purge(older_than=timedelta(days=365)).events
            runs += 1
        except DatabaseError as exc:
            print("purge round failed:", exc, file=sys.stderr)
print("purged", purged, runs)
"""

DISK_FILLER = """
import os, sys, time
folder, deadline = sys.argv[1], float(sys.argv[2])
full_s, free_s = float(sys.argv[3]), float(sys.argv[4])
path = os.path.join(folder, "ballast")
fills = 0
while time.time() + free_s < deadline:
    time.sleep(free_s)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        while True:
            os.write(fd, b"\\0" * (1 << 20))
    except OSError:
        fills += 1
    finally:
        os.close(fd)
    time.sleep(full_s)
    os.remove(path)
print("fills", fills)
"""

FINAL_SQL = """
import json, sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
ids = {}
for event_id, count in conn.execute("SELECT event_id, count(*) FROM events GROUP BY event_id"):
    ids[event_id] = count
integrity = conn.execute("PRAGMA integrity_check").fetchall()
recount = {}
# the rollups count the events at or below positions.rolled; a killed writer leaves newer ones
# for the next open to count (schema 7)
counted = "id <= (SELECT rolled FROM positions)"
rows = conn.execute(
    f"SELECT 'event', ts - ts % 3600000000, camera_id, '', count(*) FROM events WHERE {counted} "
    "GROUP BY 1, 2, 3, 4 "
    "UNION ALL SELECT 'label', hour, camera_id, label, count(*) FROM (SELECT DISTINCT e.id, "
    "e.ts - e.ts % 3600000000 AS hour, e.camera_id, json_extract(j.value, '$.label') AS label "
    f"FROM events e, json_each(e.detected_objects) j WHERE e.{counted}) GROUP BY 1, 2, 3, 4 "
    "UNION ALL SELECT 'person', ts - ts % 3600000000, camera_id, person_name, count(*) FROM events "
    f"WHERE person_name IS NOT NULL AND {counted} GROUP BY 1, 2, 3, 4"
)
for dim, hour, camera, key, n in rows:
    recount[f"{dim}|{hour}|{camera}|{key}"] = n
rollups = {f"{d}|{h}|{c}|{k}": n for d, h, c, k, n in
           conn.execute("SELECT dim, hour, camera_id, key, n FROM rollup_hourly WHERE n != 0")}
print(json.dumps({"ids": ids, "integrity": integrity, "recount": recount, "rollups": rollups}))
"""
