"""One command's run: its ledger record, saved after every phase so a crash leaves a
trail, and the lock it holds while it changes anything."""

from __future__ import annotations

import getpass
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, cast

from neosale_deploy.errors import LedgerError
from neosale_deploy.record import Kind, LedgerRecord, Phase, PhaseRecord, Result, new_id, now_iso
from neosale_deploy.state import Ledger


class Project(Protocol):
    """What a run needs of a target: the project its records name."""

    @property
    def project(self) -> str: ...


class Context(Protocol):
    """What a run needs of the command that makes it (a docker-host or a Kubernetes deployer)."""

    @property
    def target(self) -> Project: ...

    @property
    def ledger(self) -> Ledger: ...

    def say(self, msg: str) -> None: ...


class Lock(Protocol):
    """The target's lock (state.DeployLock, kube.state.LeaseLock); `where` names it."""

    @property
    def where(self) -> str: ...

    def acquire(self, deploy_id: str, command: str) -> None: ...

    def release(self) -> None: ...


class Run:
    def __init__(self, dep: Context, kind: Kind | str, **fields: Any) -> None:
        self.dep = dep
        self.t0 = time.monotonic()
        rec: dict[str, Any] = {
            "id": new_id(),
            "kind": Kind(kind),
            "project": dep.target.project,
            "time": now_iso(),
            "by": f"{getpass.getuser()}@{socket.gethostname()}",
            "result": Result.RUNNING,
            "phases": [],
            **fields,
        }
        self.rec = cast(LedgerRecord, rec)  # **fields are LedgerRecord keys

    @property
    def id(self) -> str:
        return self.rec["id"]

    def save(self) -> None:
        self.dep.ledger.write(self.rec)

    @contextmanager
    def phase(self, name: Phase | str) -> Iterator[PhaseRecord]:
        # str: setup's phases are named after its accessories
        entry: PhaseRecord = {"name": name, "started": now_iso()}
        self.dep.say(f"phase {name}: start")
        start = time.monotonic()
        try:
            yield entry
        except BaseException as exc:
            self._ended(entry, start, ok=False, error=str(exc) or type(exc).__name__)
            self.dep.say(f"phase {name}: FAILED after {entry['seconds']:.2f}s: {entry['error']}")
            self.save()
            raise
        self._ended(entry, start, ok=True)
        detail = f" ({entry['detail']})" if entry.get("detail") else ""
        self.dep.say(f"phase {name}: done in {entry['seconds']:.2f}s{detail}")
        self.save()

    def _ended(self, entry: PhaseRecord, start: float, ok: bool, error: str = "") -> None:
        entry.update({"ok": ok, "seconds": round(time.monotonic() - start, 3)})
        if error:
            entry["error"] = error
        self.rec["phases"].append(entry)

    def finish(self, result: Result | str, reason: str = "", **fields: Any) -> None:
        seconds = round(time.monotonic() - self.t0, 3)
        self.rec.update(
            {"result": Result(result), "reason": reason, "finished": now_iso(), "seconds": seconds}
        )
        cast(dict[str, Any], self.rec).update(fields)  # LedgerRecord keys, as Run(**fields)
        self.save()
        self.dep.say(f"{self.rec['kind']} {self.id}: {result}" + (f": {reason}" if reason else ""))


def hold_lock(dep: Context, lock: Lock, run: Run, body: Callable[[], int], save_first: bool = True) -> int:
    """`body()` under the target's lock, the ledger read afresh; the run ends failed or
    interrupted (and says so in the ledger) when body raises."""
    _acquire(dep, lock, run)
    try:
        if save_first:
            run.save()
        return int(body())
    except BaseException as exc:
        # Nothing is written next to a corrupted line: the operator repairs it first.
        if run.rec["result"] == Result.RUNNING and not isinstance(exc, LedgerError):
            stopped = isinstance(exc, KeyboardInterrupt | SystemExit)
            run.finish(Result.INTERRUPTED if stopped else Result.FAILED, str(exc) or type(exc).__name__)
        raise
    finally:
        dep.ledger.hold(False)
        lock.release()


def _acquire(dep: Context, lock: Lock, run: Run) -> None:
    # Not a ledger phase until it succeeds: only the lock holder writes the ledger.
    dep.say(f"phase {Phase.LOCK}: start")
    start, started = time.monotonic(), now_iso()
    lock.acquire(run.id, run.rec["kind"])
    # What was read before is not what we append to: the last holder may have written since.
    dep.ledger.hold(True)
    seconds = round(time.monotonic() - start, 3)
    run.rec["phases"].append({"name": Phase.LOCK, "started": started, "ok": True, "seconds": seconds})
    dep.say(f"phase {Phase.LOCK}: done in {seconds:.2f}s ({lock.where})")
