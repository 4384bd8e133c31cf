"""Chaos under load: every fault at once, then proof that nothing acknowledged was lost.

HTTP clients post singles and batches through ``camvault serve`` while it is killed with
SIGKILL and restarted, direct writers insert through the Python API, readers query through
the server and hold snapshots of their own, the disk (a small tmpfs) fills and frees,
another process holds the write lock, and a purger removes an old batch it seeded (writers
write "now", so purge never touches what they were told is stored). At the end, with SQL
of its own in a child process: every event that got a success answer is stored exactly
once, the file is sound and ``camvault check`` agrees, rollups equal a recount, the WAL
stayed under its stated bound, and the server's memory stayed flat.
``CAMVAULT_CHAOS_SECONDS`` sets the length (``make chaos`` runs 180 s).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from camvault import EventStore
from tests.small_disk import small_filesystem

from . import children

pytestmark = pytest.mark.chaos

PYTHON = sys.executable
REPO_ROOT = Path(__file__).resolve().parents[2]
DISK_BYTES = 160 * 2**20
"""Size of the tmpfs the store lives on; the filler takes whatever is free of it."""
RSS_TOLERANCE = 48 * 2**20
"""How far any server's peak memory may rise above the first server's peak (flat memory)."""
KILL_EVERY_S = 2.0
HTTP_CLIENTS = 4
DIRECT_WRITERS = 2


def _seconds() -> float:
    return float(os.environ.get("CAMVAULT_CHAOS_SECONDS", "20"))


def _env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HOME": "/tmp",
    }


def _python(args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run this Python with ``args`` in the test's environment; its output as text."""
    return subprocess.run(
        [PYTHON, *args], capture_output=True, text=True, env=_env(), timeout=timeout, check=False
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss(pid: int) -> int | None:
    """Resident memory of a process in bytes, from /proc (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@contextlib.contextmanager
def small_disk(folder: Path) -> Iterator[str]:
    """Mount a tmpfs of DISK_BYTES on ``folder``; yield how the disk fills; always unmounted."""
    with contextlib.ExitStack() as mounted:
        try:
            mounted.enter_context(small_filesystem(folder, str(DISK_BYTES)))
        except (AssertionError, subprocess.CalledProcessError) as exc:
            yield f"max_page_count (tmpfs mount failed: {exc})"
            return
        yield f"tmpfs of {DISK_BYTES >> 20} MiB, filled and freed by a ballast file"


@dataclass
class Chaos:
    """The processes of one run and what was sampled during it."""

    folder: Path
    db: Path
    url: str
    port: int
    deadline: float
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    server: subprocess.Popen[bytes] | None = None
    server_peaks: list[int] = field(default_factory=list)
    server_peaks_current: int = 0
    exits: list[int] = field(default_factory=list)
    """Exit codes of servers that stopped by themselves before answering."""
    kills: int = 0
    """Servers killed with SIGKILL while clients were posting."""
    start_seconds: list[float] = field(default_factory=list)
    wal_peak: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def spawn(self, script: str, *args: object, name: str) -> subprocess.Popen[bytes]:
        logs = self.folder.parent
        with (logs / f"{name}.err").open("wb") as err, (logs / f"{name}.out").open("wb") as out:
            proc = subprocess.Popen(
                [PYTHON, "-c", script, *map(str, args)], stdout=out, stderr=err, env=_env()
            )
        self.procs.append(proc)
        return proc

    def start_server(self) -> None:
        """Start ``camvault serve`` and wait until it answers (it may fail on a full disk)."""
        with (self.folder.parent / f"serve-{len(self.start_seconds)}.err").open("wb") as log:
            self.server = subprocess.Popen(
                [PYTHON, "-m", "camvault", "serve", "--db", self.url, "--port", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=_env(),
            )
        limit = time.monotonic() + 20
        while time.monotonic() < limit and self.server.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/api/healthz", timeout=1).is_success:
                    return
            time.sleep(0.05)
        if self.server.poll() is not None and not self.stop.is_set():
            self.exits.append(self.server.returncode)

    def kill_server(self) -> None:
        """SIGKILL the server, noting its resident memory just before."""
        if self.server is None:
            return
        rss = _rss(self.server.pid)
        if rss is not None:
            self.server_peaks.append(max(rss, self.server_peaks_current))
        self.server.send_signal(signal.SIGKILL)
        self.server.wait()
        self.server = None

    def run_server(self) -> None:
        """Kill and restart the server every few seconds until the writers are done."""
        while not self.stop.is_set():
            self.server_peaks_current = 0
            begun = time.monotonic()
            self.start_server()
            started = time.monotonic()
            self.start_seconds.append(started - begun)
            while not self.stop.is_set() and time.monotonic() - started < KILL_EVERY_S:
                if self.server is not None and (rss := _rss(self.server.pid)) is not None:
                    self.server_peaks_current = max(self.server_peaks_current, rss)
                self.stop.wait(0.1)
            if not self.stop.is_set():
                self.kills += 1
            self.kill_server()

    def sample_wal(self) -> None:
        """Follow the WAL file's size for the whole run."""
        wal = Path(f"{self.db}-wal")
        while not self.stop.is_set():
            with contextlib.suppress(OSError):
                self.wal_peak = max(self.wal_peak, wal.stat().st_size)
            self.stop.wait(0.02)

    def finish(self) -> None:
        """Wait for the children to reach their deadline (killed if late), then stop the rest."""
        for proc in self.procs:
            try:
                proc.wait(timeout=max(1.0, self.deadline - time.time() + 30))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.stop.set()
        if self.server is not None:
            self.server.kill()
            self.server.wait()


def _answers(folder: Path) -> tuple[set[str], set[str]]:
    """Every event id a writer sent, and those that got a success answer, from their logs."""
    sent: set[str] = set()
    told: set[str] = set()
    for path in folder.glob("*.ids"):
        for line in path.read_text().splitlines():
            kind, _, event_id = line.partition(" ")
            (told if kind == "S" else sent).add(event_id)
    return sent, told


@pytest.mark.timeout(_seconds() + 300)  # the run itself, then the checks of what it left
def test_nothing_acknowledged_is_lost_under_combined_faults(tmp_path: Path) -> None:
    seconds = _seconds()
    disk = tmp_path / "disk"
    with small_disk(disk) as how_full:
        fallback = how_full.startswith("max_page_count")
        db = disk / "chaos.db"
        url = f"sqlite:///{db}?pragma.max_page_count=20000" if fallback else str(db)
        with EventStore(url):
            pass  # created before anyone races to create it
        chaos = Chaos(disk, db, url, _free_port(), time.time() + seconds)
        threads = [
            threading.Thread(target=chaos.run_server, daemon=True),
            threading.Thread(target=chaos.sample_wal, daemon=True),
        ]
        try:
            for thread in threads:
                thread.start()
            for i in range(HTTP_CLIENTS):
                chaos.spawn(
                    children.HTTP_CLIENT,
                    chaos.port,
                    chaos.deadline,
                    tmp_path / f"http{i}.ids",
                    i,
                    name=f"http{i}",
                )
            for i in range(DIRECT_WRITERS):
                chaos.spawn(
                    children.DIRECT_WRITER,
                    url,
                    chaos.deadline,
                    tmp_path / f"direct{i}.ids",
                    100 + i,
                    name=f"direct{i}",
                )
            chaos.spawn(children.SNAPSHOT_READER, db, chaos.deadline, name="snapshots")
            chaos.spawn(children.HTTP_READER, chaos.port, chaos.deadline, name="reads")
            chaos.spawn(children.LOCK_HOLDER, db, chaos.deadline, 1.5, 4.0, name="lock")
            chaos.spawn(children.PURGER, url, chaos.deadline, 2.5, name="purge")
            if not fallback:
                chaos.spawn(children.DISK_FILLER, disk, chaos.deadline, 1.0, 3.0, name="filler")
            chaos.finish()
            for thread in threads:
                thread.join(timeout=30)
        finally:
            chaos.finish()
            with contextlib.suppress(OSError):
                (disk / "ballast").unlink()

        # every writer process is gone: what the file holds is read by programs of its own
        final = _python(["-c", children.FINAL_SQL, str(db)], timeout=120)
        assert final.returncode == 0, final.stderr
        found = json.loads(final.stdout)
        check = _python(["-m", "camvault", "check", "--full", "--db", str(db)], timeout=300)
        info = _python(["-m", "camvault", "info", "--json", "--db", str(db)], timeout=60)
        bound = json.loads(info.stdout)["wal_bound_bytes"]

    sent, told = _answers(tmp_path)
    stored: dict[str, int] = found["ids"]
    writers_ids = {i for i in stored if not i.startswith("old-")}
    reports = {p.stem: p.read_text().strip() for p in tmp_path.glob("*.out")}
    peaks = chaos.server_peaks
    summary = [
        "chaos run",
        f"  seconds {seconds:g}, disk: {how_full}",
        f"  server SIGKILLs under load {chaos.kills}, failed starts {chaos.exits}, "
        f"slowest start {max(chaos.start_seconds, default=0):.1f} s",
        f"  children: {json.dumps(reports)}",
        f"  events sent {len(sent)}, success answers {len(told)}, stored {len(writers_ids)} "
        f"(answer lost {len(writers_ids - told)}; old batch left {len(stored) - len(writers_ids)})",
        f"  lost {len(told - set(stored))}, stored twice {sum(n > 1 for n in stored.values())}",
        f"  WAL peak {chaos.wal_peak / 2**20:.1f} MiB, bound {bound / 2**20:.1f} MiB",
        f"  server peak RSS first {peaks[0] / 2**20 if peaks else 0:.1f} MiB, "
        f"max {max(peaks, default=0) / 2**20:.1f} MiB over {len(peaks)} servers "
        f"(tolerance +{RSS_TOLERANCE >> 20} MiB)",
        f"  integrity {found['integrity']}, camvault check exit {check.returncode}",
        f"  rollup cells {len(found['rollups'])}, recount cells {len(found['recount'])}",
    ]
    print("\n".join(summary))

    assert told, "no writer got a success answer: the run proved nothing"
    assert chaos.kills >= 1, "the server was never killed while clients posted"
    assert told <= set(stored), f"acknowledged but not stored: {sorted(told - set(stored))[:10]}"
    assert all(n == 1 for n in stored.values())
    assert writers_ids <= sent, f"stored but never sent: {sorted(writers_ids - sent)[:10]}"
    assert found["integrity"] == [["ok"]]
    assert check.returncode == 0, check.stdout + check.stderr
    assert found["rollups"] == found["recount"], _diff(found["rollups"], found["recount"])
    assert chaos.wal_peak <= bound
    assert peaks and max(peaks) <= peaks[0] + RSS_TOLERANCE


def _diff(have: dict[str, int], want: dict[str, int]) -> str:
    """The rollup cells that differ from the recount, a few of them."""
    keys = sorted(set(have) | set(want))
    wrong = Counter({k: have.get(k, 0) - want.get(k, 0) for k in keys})
    return f"rollups minus recount: {[(k, n) for k, n in wrong.items() if n][:10]}"
