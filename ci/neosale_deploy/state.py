"""The ledger (JSON lines) and the deploy lock, both kept on the target's docker host by default.

The lock is a labelled, never-started container named <project>-deploy-lock:
the daemon creates a name once, so two deployers on any machines cannot both
hold it. A holder that died is detected (same host and boot, its pid gone or
reused) or, from another machine, ages out after lock_ttl.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from neosale_deploy import dockerhost as dh
from neosale_deploy.errors import DeployError, LedgerError, LockHeldError
from neosale_deploy.fingerprint import new_key
from neosale_deploy.model import LABEL_LOCK, LABEL_PROJECT, LABEL_ROLE, Target
from neosale_deploy.record import LedgerRecord, merge, now_iso, parse_iso

LEDGER = "ledger.jsonl"
# The target's key for env fingerprints (see fingerprint.py): readable only where the ledger is.
KEY = "fingerprint.key"
STATE_DIR = "/state"


class Store(Protocol):
    where: str

    def read(self) -> str: ...

    def append(self, line: str) -> None: ...

    def hold(self, held: bool) -> None: ...

    def key(self) -> str:
        """The target's fingerprint key, created (random) on first use."""
        ...


class DirStore:
    """A ledger file in a local directory (--state-dir): O_APPEND writes."""

    def __init__(self, directory: str) -> None:
        self.path = Path(directory) / LEDGER
        self.where = str(self.path)

    def read(self) -> str:
        try:
            return self.path.read_text()
        except FileNotFoundError:
            return ""

    def append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def hold(self, held: bool) -> None:
        pass  # every append goes to the end of the file as it is

    def key(self) -> str:
        path = self.path.with_name(KEY)
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, new_key().encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        return path.read_text().strip()


class VolumeStore:
    """The ledger in a docker volume on the target host, reached through a stopped holder container.

    The Engine API has no append: a write puts the file back whole. So a write
    starts from a copy read while this process holds the deploy lock (and after
    its own last write): a copy read before the lock may miss what the previous
    holder wrote last. Reading creates nothing; the first write creates the
    holder and the volume.
    """

    def __init__(self, client: Any, target: Target) -> None:
        self.client = client
        self.target = target
        self.where = f"volume {target.names.state_volume}:{LEDGER}"
        self._held = False
        self._text: str | None = None  # the file as of our last read or write under the lock
        self._writes = 0

    @property
    def name(self) -> str:
        return f"{self.target.project}-deploy-state"

    def _create(self) -> None:
        if dh.get_container(self.client, self.name) is not None:
            return
        dh.ensure_image(self.client, self.target.router_image, "router image")
        dh.ensure_volume(self.client, self.target, self.target.names.state_volume)
        with contextlib.suppress(dh.APIError):  # created concurrently: fine
            self.client.api.create_container(
                self.target.router_image,
                command=["true"],
                name=self.name,
                labels={LABEL_PROJECT: self.target.project, LABEL_ROLE: "state"},
                host_config=self.client.api.create_host_config(
                    binds=[f"{self.target.names.state_volume}:{STATE_DIR}:rw"]
                ),
            )

    def hold(self, held: bool) -> None:
        """Told when the deploy lock is taken and let go: copies from before are not trusted."""
        self._held = held
        self._text = None

    def read(self) -> str:
        held, writes = self._held, self._writes
        # By name, no inspect first: the common case costs one API call. A missing holder reads as empty.
        text = dh.get_file(dh.handle(self.client, self.name), f"{STATE_DIR}/{LEDGER}") or ""
        if held and self._held and writes == self._writes:  # no write of ours ran meanwhile
            self._text = text
        return text

    def key(self) -> str:
        holder = dh.handle(self.client, self.name)
        found = dh.get_file(holder, f"{STATE_DIR}/{KEY}")
        if found:
            return found.strip()
        self._create()
        key = new_key()
        dh.put_files(holder, STATE_DIR, {KEY: key}, mode=0o600)
        return key

    def append(self, line: str) -> None:
        text = self._text if self._text is not None else self.read()
        try:
            dh.put_files(dh.handle(self.client, self.name), STATE_DIR, {LEDGER: text + line})
        except dh.NotFound:
            self._create()
            dh.put_files(dh.handle(self.client, self.name), STATE_DIR, {LEDGER: text + line})
        self._writes += 1
        self._text = text + line if self._held else None


def open_store(client: Any, target: Target) -> Store:
    return DirStore(target.state_dir) if target.state_dir else VolumeStore(client, target)


class Ledger:
    """One JSON object per line; a record is rewritten (appended again) as it progresses, last wins."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def lines(self) -> list[LedgerRecord]:
        out: list[LedgerRecord] = []
        for n, line in enumerate(self.store.read().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LedgerError(
                    f"ledger {self.store.where} line {n} is corrupted ({exc.msg} at column {exc.colno}): "
                    f"{line[:120]!r}; expected one JSON object per line: repair or delete that line"
                ) from None
            if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
                raise LedgerError(
                    f"ledger {self.store.where} line {n} is not a deploy record: {line[:120]!r}; "
                    'expected a JSON object with a string "id"'
                )
            out.append(cast(LedgerRecord, rec))
        return out

    def entries(self) -> list[LedgerRecord]:
        """Records merged by id (latest snapshot), in the order they started."""
        return merge(self.lines())

    def write(self, record: LedgerRecord) -> None:
        self.store.append(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")

    def hold(self, held: bool) -> None:
        """The deploy lock is now held (or let go): only its holder writes."""
        self.store.hold(held)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str:
    """A process's start time: tells a live holder from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def holder_info(deploy_id: str, command: str) -> dict[str, Any]:
    pid = os.getpid()
    return {
        "id": deploy_id,
        "command": command,
        "pid": pid,
        "start": _start_ticks(pid),
        "host": socket.gethostname(),
        "boot": _boot_id(),
        "user": getpass.getuser(),
        "time": now_iso(),
    }


def describe_holder(h: dict[str, Any]) -> str:
    who = f"{h.get('user', '?')}@{h.get('host', '?')} pid {h.get('pid', '?')}"
    return f"{h.get('command', '?')} {h.get('id', '?')} by {who} since {h.get('time', '?')}"


def holder_is_stale(h: dict[str, Any], ttl: float) -> str | None:
    """Why the holder no longer holds (a reason), or None while it may still be working."""
    try:
        age = time.time() - parse_iso(str(h.get("time")))
    except ValueError:
        return "the lock has no readable time"
    if h.get("host") == socket.gethostname() and h.get("boot") == _boot_id():
        pid = int(h.get("pid", 0))
        if not pid or _start_ticks(pid) != h.get("start"):
            return f"its process {pid} is gone"
        return None
    if age > ttl:
        return f"it is {age:.0f}s old (lock_ttl {ttl:.0f}s)"
    return None


def take_over_or_refuse(
    held: dict[str, Any], ttl: float, project: str, free: str, log: Callable[[str], None]
) -> None:
    """Refuse (LockHeldError) while the holder may still be working; else say it is taken over.
    `free` tells an operator how to free the lock of a holder that is dead."""
    reason = holder_is_stale(held, ttl)
    if reason is None:
        raise LockHeldError(
            f"{project} is locked by {describe_holder(held)}; "
            f"wait for it to finish (or, if it is dead, {free})"
        )
    log(f"taking over stale lock of {describe_holder(held)}: {reason}")


@dataclass
class DeployLock:
    """The target's lock: a never-started container only one deployer can create."""

    client: Any
    target: Target
    log: Callable[[str], None]
    lock_id: str | None = field(default=None, init=False)

    @property
    def where(self) -> str:
        return self.target.names.lock

    def acquire(self, deploy_id: str, command: str) -> None:
        t = self.target
        info = holder_info(deploy_id, command)
        for _ in range(3):
            try:
                # The low-level call: one round trip, the SDK's create also inspects.
                created = self.client.api.create_container(
                    t.router_image,
                    command=["true"],
                    name=t.names.lock,
                    labels={LABEL_PROJECT: t.project, LABEL_ROLE: "lock", LABEL_LOCK: json.dumps(info)},
                )
                self.lock_id = str(created["Id"])
                return
            except dh.ImageNotFound:
                dh.ensure_image(self.client, t.router_image, "router image")
                continue
            except dh.APIError as exc:
                if exc.status_code != 409:
                    raise DeployError(f"could not create lock {t.names.lock}: {exc.explanation}") from None
            existing = dh.get_container(self.client, t.names.lock)
            if existing is None:
                continue
            try:
                held = json.loads(dh.label(existing, LABEL_LOCK) or "{}")
            except json.JSONDecodeError:
                held = {}
            take_over_or_refuse(held, t.lock_ttl, t.project, f"remove container {t.names.lock}", self.log)
            # By id: a concurrent taker that already replaced it is not removed.
            with contextlib.suppress(dh.NotFound):
                existing.remove(force=True)
        raise LockHeldError(f"{t.project}: could not take lock {t.names.lock} (contended)")

    def release(self) -> None:
        if self.lock_id is not None:
            with contextlib.suppress(dh.NotFound):
                self.client.api.remove_container(self.lock_id, force=True)
            self.lock_id = None
