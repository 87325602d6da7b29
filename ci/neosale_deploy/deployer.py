"""Blue-green deploys on one docker host: deploy, rollback, status, history, restore, reconcile.

Every command that changes something holds the target's lock and starts by
reconciling (removing half-started containers, making sure the router runs and
points at a healthy colour), so a rerun after a crash at any phase converges.
"""

from __future__ import annotations

import getpass
import json
import secrets
import shlex
import socket
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, TextIO

from neosale_deploy import accessories, probe
from neosale_deploy import dockerhost as dh
from neosale_deploy.errors import DeployError, LedgerError, UsageError
from neosale_deploy.fingerprint import env_fingerprint
from neosale_deploy.model import (
    COLOURS,
    LABEL_COLOUR,
    LABEL_DEPLOY_ID,
    LABEL_DIGEST,
    LABEL_ENV,
    LABEL_IMAGE,
    LABEL_LOCK,
    LABEL_PROJECT,
    LABEL_ROLE,
    ONE_OFF_ROLES,
    REVISION_LABEL,
    ROLES,
    RoleSpec,
    Target,
    other_colour,
)
from neosale_deploy.probe import Side
from neosale_deploy.reference import ImageRef
from neosale_deploy.releases import (
    Release,
    env_names,
    missing_env,
    release_state,
    release_warning,
    rollback_target,
)
from neosale_deploy.router import Router
from neosale_deploy.routerconf import Routing
from neosale_deploy.state import DeployLock, Ledger, holder_is_stale, now_iso, open_store, parse_iso

Record = dict[str, Any]


def new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


# App containers (both colours, the migration): no capabilities (the apps
# listen above 1024), no privilege gain through setuid binaries.
CONFINED: dict[str, Any] = {"cap_drop": ["ALL"], "security_opt": ["no-new-privileges"]}


def hardening(spec: RoleSpec) -> dict[str, Any]:
    """An app container's confinement: CONFINED plus a read-only root with tmpfs mounts."""
    if not spec.read_only:
        return dict(CONFINED)
    return {**CONFINED, "read_only": True, "tmpfs": dict.fromkeys(spec.tmpfs, "")}


class Run:
    """One command's ledger record, saved after every phase so a crash leaves a trail."""

    def __init__(self, dep: Deployer, kind: str, **fields: Any) -> None:
        self.dep = dep
        self.t0 = time.monotonic()
        self.rec: Record = {
            "id": new_id(),
            "kind": kind,
            "project": dep.target.project,
            "time": now_iso(),
            "by": f"{getpass.getuser()}@{socket.gethostname()}",
            "result": "running",
            "phases": [],
            **fields,
        }

    @property
    def id(self) -> str:
        return str(self.rec["id"])

    def save(self) -> None:
        self.dep.ledger.write(self.rec)

    @contextmanager
    def phase(self, name: str) -> Iterator[Record]:
        entry: Record = {"name": name, "started": now_iso()}
        self.dep.say(f"phase {name}: start")
        start = time.monotonic()
        try:
            yield entry
        except BaseException as exc:
            entry.update(
                ok=False, seconds=round(time.monotonic() - start, 3), error=str(exc) or type(exc).__name__
            )
            self.rec["phases"].append(entry)
            self.dep.say(f"phase {name}: FAILED after {entry['seconds']:.2f}s: {entry['error']}")
            self.save()
            raise
        entry.update(ok=True, seconds=round(time.monotonic() - start, 3))
        self.rec["phases"].append(entry)
        detail = f" ({entry['detail']})" if entry.get("detail") else ""
        self.dep.say(f"phase {name}: done in {entry['seconds']:.2f}s{detail}")
        self.save()

    def finish(self, result: str, reason: str = "", **fields: Any) -> None:
        self.rec.update(
            result=result, reason=reason, finished=now_iso(), seconds=round(time.monotonic() - self.t0, 3)
        )
        self.rec.update(fields)
        self.save()
        self.dep.say(f"{self.rec['kind']} {self.id}: {result}" + (f": {reason}" if reason else ""))


class Deployer:
    def __init__(self, target: Target, out: TextIO | None = None) -> None:
        self.target = target
        self.out = out or sys.stdout
        self.t0 = time.monotonic()
        self.client = dh.connect(target)
        self.router = Router(self.client, target, self.say)
        self.store = open_store(self.client, target)
        self.ledger = Ledger(self.store)
        self._snapshot: list[dh.Info] | None = None

    def say(self, msg: str) -> None:
        print(f"[neosale-deploy {time.monotonic() - self.t0:6.2f}s] {msg}", file=self.out, flush=True)

    # ---- colours -------------------------------------------------------------

    def refresh(self) -> None:
        """Forget the container snapshot (after we start or remove containers, or to re-poll)."""
        self._snapshot = None

    def containers(self) -> list[dh.Info]:
        # One list call serves every question until refresh(): over a loaded
        # or remote host each API round trip costs tens of milliseconds.
        if self._snapshot is None:
            self._snapshot = dh.list_project(self.client, self.target)
        return self._snapshot

    def colour_containers(self, colour: str) -> dict[str, dh.Info]:
        return {
            c.label(LABEL_ROLE): c
            for c in self.containers()
            if c.label(LABEL_COLOUR) == colour and c.label(LABEL_ROLE) in ROLES
        }

    def colour_running(self, colour: str) -> bool:
        cs = self.colour_containers(colour)
        return len(cs) == len(ROLES) and all(
            c.state == "running" and c.health != "unhealthy" for c in cs.values()
        )

    def colour_digests(self, colour: str) -> dict[str, str]:
        return {role: c.label(LABEL_IMAGE) for role, c in self.colour_containers(colour).items()}

    def colour_deploy_id(self, colour: str) -> str:
        ids = {c.label(LABEL_DEPLOY_ID) for c in self.colour_containers(colour).values()}
        return ids.pop() if len(ids) == 1 else ""

    def remove_colour(self, colour: str, why: str, graceful: bool = False) -> None:
        for role, c in self.colour_containers(colour).items():
            self.say(f"removing {colour} {role} ({c.name}): {why}")
            dh.remove_id(self.client, c, self.target.stop_timeout if graceful else None)
        self.refresh()

    def healthy(self, side: Side) -> tuple[bool, str]:
        checks = probe.check_all(self.target, side)
        return all(c.ok for c in checks), "; ".join(str(c) for c in checks)

    # ---- ledger views --------------------------------------------------------

    def successful_ids(self, entries: list[Record]) -> set[str]:
        """Deploy ids whose containers were once live and healthy: those may be kept warm."""
        return {
            str(e["colour_deploy_id"])
            for e in entries
            if e.get("result") == "success" and e.get("colour_deploy_id")
        }

    def last_success(self, entries: list[Record]) -> Record | None:
        done = [e for e in entries if e.get("result") == "success" and e.get("finished")]
        return max(done, key=lambda e: str(e["finished"])) if done else None

    # ---- reconcile -----------------------------------------------------------

    def reconcile(self, run: Run) -> Routing:
        """Converge after whatever happened before: returns the routing now in force."""
        t = self.target
        self.refresh()
        entries = self.ledger.entries()
        for e in entries:
            if e.get("result") == "running" and e["id"] != run.id:
                # The ledger is written when a phase ends: the crash was in the phase after.
                done = [p["name"] for p in e.get("phases", []) if p.get("ok")]
                where = f"after phase {done[-1]}" if done else "before its first phase"
                e.update(result="interrupted", reason=f"the deployer stopped {where}; found by {run.id}")
                self.ledger.write(e)
                self.say(f"{e.get('kind', 'deploy')} {e['id']} was interrupted {where}")
        for c in self.containers():
            if c.label(LABEL_ROLE) in ONE_OFF_ROLES:
                if c.state == "running":
                    # A migration or backup of a dead deployer: let it end rather than cut it.
                    self.say(f"waiting for leftover one-off {c.name} to finish")
                    with suppress(*dh.Timeout):
                        self.client.api.wait(c.id, timeout=t.migrate_timeout)
                self.say(f"removing leftover one-off container {c.name}")
                dh.remove_id(self.client, c)
        dh.ensure_network(self.client, t)
        ok_ids = self.successful_ids(entries)
        last = self.last_success(entries)

        def initial() -> Routing:
            running = [c for c in COLOURS if self.colour_running(c)]
            preferred = [last.get("colour")] if last else []
            for colour in [*preferred, *running]:
                if colour in running and self.colour_deploy_id(str(colour)) in ok_ids:
                    return Routing(str(colour), other_colour(str(colour)))
            return Routing(None, COLOURS[0])

        self.router.ensure(initial)
        routing = self.router.routing()
        if routing is None:
            raise DeployError(f"router {t.router_name} has no readable upstream.conf")
        if routing.drift:
            self.say(f"{routing.drift}; live traffic is on {routing.live or 'none'}, which stays live")
        live = routing.live
        if live is not None:
            ok, detail = self.healthy(Side.LIVE)
            if not ok or not self.colour_running(live):
                self.say(f"live colour {live} is not healthy: {detail}")
                alt = other_colour(live)
                alt_ok = self.colour_running(alt) and self.colour_deploy_id(alt) in ok_ids
                if alt_ok and routing.preview != alt:
                    routing = self.router.apply(live, alt)
                if alt_ok and self.healthy(Side.PREVIEW)[0]:
                    self.say(f"switching live traffic to healthy colour {alt}")
                    routing = self.router.apply(alt, live)
                    live = alt
                else:
                    self.say(f"no healthy colour to switch to; live stays {live}")
        # Idle colours: keep the previous live colour warm for retain_seconds, remove anything else.
        expired = last is not None and time.time() > parse_iso(str(last["finished"])) + t.retain_seconds
        for colour in COLOURS:
            if colour == live or not self.colour_containers(colour):
                continue
            if self.colour_deploy_id(colour) not in ok_ids:
                self.remove_colour(colour, "half-started by an interrupted or failed deploy")
            elif not self.colour_running(colour):
                self.remove_colour(colour, "not running")
            elif expired:
                self.remove_colour(colour, f"retain period of {t.retain_seconds:.0f}s is over", graceful=True)
        idle = other_colour(live) if live else COLOURS[0]
        if routing.live != live or routing.preview != idle or routing.drift:
            routing = self.router.apply(live, idle)
        return routing

    # ---- deploy --------------------------------------------------------------

    def deploy(
        self,
        backend: ImageRef,
        frontend: ImageRef,
        approved_by: str | None = None,
        production: bool = False,
        migrate: bool = True,
        expect_revision: str | None = None,
    ) -> int:
        self.ledger.entries()  # a corrupted ledger stops us before anything changes
        if production:
            self._pg_env()  # so does a missing or malformed database URL
        for line in accessories.missing(self.client, self.target):
            self.say(f"warning: accessory {line}; the apps may not reach it (`setup` creates it)")
        run = Run(
            self,
            "deploy",
            approved_by=approved_by,
            production=production,
            backend=backend.ref,
            frontend=frontend.ref,
        )
        return self._locked(
            run,
            lambda: self._roll_out(
                run, {"backend": backend, "frontend": frontend}, production, migrate, expect_revision
            ),
        )

    def _locked(self, run: Run, body: Any, save_first: bool = True) -> int:
        lock = DeployLock(self.client, self.target, self.say)
        # Not a ledger phase until it succeeds: only the lock holder writes the ledger.
        self.say("phase lock: start")
        start, started = time.monotonic(), now_iso()
        lock.acquire(run.id, str(run.rec["kind"]))
        # What was read before is not what we append to: the last holder may have written since.
        self.ledger.hold(True)
        seconds = round(time.monotonic() - start, 3)
        run.rec["phases"].append({"name": "lock", "started": started, "ok": True, "seconds": seconds})
        self.say(f"phase lock: done in {seconds:.2f}s ({self.target.lock_name})")
        try:
            if save_first:
                run.save()
            return int(body())
        except BaseException as exc:
            # Nothing is written next to a corrupted line: the operator repairs it first.
            if run.rec["result"] == "running" and not isinstance(exc, LedgerError):
                reason = str(exc) or type(exc).__name__
                run.finish(
                    "interrupted" if isinstance(exc, KeyboardInterrupt | SystemExit) else "failed", reason
                )
            raise
        finally:
            self.ledger.hold(False)
            lock.release()

    def _check_revision(self, images: dict[str, ImageRef], sha: str) -> None:
        """The approval names a commit: refuse images built from another one."""
        for role in ROLES:
            labels = self.client.images.get(images[role].pull_ref).labels or {}
            found = labels.get(REVISION_LABEL, "")
            if found != sha:
                raise UsageError(
                    f"--{role} image {images[role].ref} was built from commit {found or '(no label)'!r}, "
                    f"not the approved {sha!r}: expected its {REVISION_LABEL} label to be the approved sha"
                )

    def _env(self, role: str, colour: str) -> dict[str, str]:
        t = self.target
        spec = t.roles[role]
        env = dict(spec.env)
        env.setdefault("PORT", str(spec.port))
        env["NEOSALE_COLOUR"] = colour
        env["NEOSALE_ROLE"] = role
        if role == "frontend":
            # Each colour's frontend talks to its own colour's backend.
            env.setdefault(
                "BACKEND_URL", f"http://{t.container_name(colour, 'backend')}:{t.roles['backend'].port}"
            )
        return env

    def _roll_out(
        self,
        run: Run,
        images: dict[str, ImageRef],
        production: bool,
        migrate: bool,
        expect_revision: str | None,
    ) -> int:
        t = self.target
        with run.phase("reconcile") as ph:
            routing = self.reconcile(run)
            ph["detail"] = f"live={routing.live or 'none'}"
        live = routing.live
        key = self.store.key()
        envs = {role: env_fingerprint(key, t.roles[role].env) for role in ROLES}
        run.rec["env"] = envs
        if live is not None and self._already_live(run, live, images, envs):
            return 0
        idle = other_colour(live) if live else COLOURS[0]
        run.rec.update(colour=idle, previous_colour=live)
        with run.phase("images") as ph:
            ids = {role: dh.ensure_app_image(self.client, images[role], f"--{role} image") for role in ROLES}
            ph["detail"] = ", ".join(f"{r} {i[:19]}" for r, i in ids.items())
            if expect_revision:
                self._check_revision(images, expect_revision)
        if production:
            with run.phase("backup") as ph:
                backup = self._backup(run.id)
                run.rec["backup"] = backup
                ph["detail"] = f"{backup['id']} {backup['bytes']} bytes"
        try:
            if migrate:
                with run.phase("migrate") as ph:
                    ph["detail"] = self._migrate(images["backend"], run.id, idle)
            with run.phase("start-idle") as ph:
                self.remove_colour(idle, "replaced by this deploy")
                for role in ROLES:
                    self.client.containers.run(
                        images[role].pull_ref,
                        name=t.container_name(idle, role),
                        detach=True,
                        environment=self._env(role, idle),
                        labels={
                            LABEL_PROJECT: t.project,
                            LABEL_COLOUR: idle,
                            LABEL_ROLE: role,
                            LABEL_IMAGE: images[role].ref,
                            LABEL_DIGEST: images[role].digest,
                            LABEL_DEPLOY_ID: run.id,
                            LABEL_ENV: envs[role],
                        },
                        network=t.network_name,
                        restart_policy={"Name": "unless-stopped"},
                        **hardening(t.roles[role]),
                    )
                self.refresh()
                ph["detail"] = f"{idle}: " + ", ".join(t.container_name(idle, r) for r in ROLES)
            with run.phase("health") as ph:
                ph["detail"] = self._wait_healthy(idle)
            with run.phase("smoke") as ph:
                result = probe.run_smoke(t, t.preview_url)
                ph["detail"] = result.detail
                if not result.ok:
                    raise DeployError(f"smoke on preview {t.preview_url} failed: {result.detail}")
            with run.phase("switch") as ph:
                self.router.apply(idle, other_colour(idle))
                ph["detail"] = f"live {live or 'none'} -> {idle}"
        except DeployError as exc:
            after = self.router.routing()
            if after is not None and after.live == idle:  # reloaded, then failed to confirm
                self.router.apply(live, idle)
            self.remove_colour(idle, "deploy failed before the switch")
            run.finish("failed", f"{run.rec.get('phases', [{}])[-1].get('name', '?')}: {exc}")
            return 1
        try:
            with run.phase("verify") as ph:
                ph["detail"] = self._verify(idle)
        except DeployError as exc:
            with run.phase("switch-back") as ph:
                self.router.apply(live, idle)
                ph["detail"] = f"live {idle} -> {live or 'none'}"
            self.remove_colour(idle, "failed verification after the switch")
            run.finish(
                "rolled-back", f"verify after switch failed: {exc}; live traffic is back on {live or 'none'}"
            )
            return 1
        run.finish(
            "success",
            f"live on {idle}",
            colour_deploy_id=run.id,
            retain_until=datetime.fromtimestamp(time.time() + t.retain_seconds, UTC).isoformat(
                timespec="seconds"
            ),
        )
        return 0

    def _already_live(self, run: Run, live: str, images: dict[str, ImageRef], envs: dict[str, str]) -> bool:
        """The live colour runs these digests with this env, healthy: the run ends as a no-op."""
        if self.colour_digests(live) != {role: images[role].ref for role in ROLES}:
            return False
        running = {role: c.label(LABEL_ENV) for role, c in self.colour_containers(live).items()}
        changed = [role for role in ROLES if running.get(role) != envs[role]]
        if changed:
            # A rotated secret goes out as a release of its own, like new images.
            self.say(f"same images as live {live}; the env of {', '.join(changed)} changed: rolling out")
            run.rec["env_changed"] = changed
            return False
        if not self.healthy(Side.LIVE)[0]:
            return False
        run.finish(
            "success",
            f"already live on {live}; nothing to do",
            colour=live,
            colour_deploy_id=self.colour_deploy_id(live),
            noop=True,
        )
        return True

    def _one_off(
        self, image: str, role: str, deploy_id: str, argv: list[str], **kwargs: Any
    ) -> tuple[int, str]:
        t = self.target
        name = f"{t.project}-{role}-{deploy_id}"
        c = self.client.containers.create(
            image,
            entrypoint=argv[:1],
            command=argv[1:],
            name=name,
            labels={LABEL_PROJECT: t.project, LABEL_ROLE: role, LABEL_DEPLOY_ID: deploy_id},
            network=t.network_name,
            **kwargs,
        )
        try:
            c.start()
            try:
                code = int(c.wait(timeout=t.migrate_timeout).get("StatusCode", -1))
            except dh.Timeout:
                c.kill()
                return -1, f"timed out after {t.migrate_timeout:.0f}s: {dh.logs_tail(c)}"
            return code, dh.logs_tail(c)
        finally:
            dh.remove(c)

    def _migrate(self, image: ImageRef, deploy_id: str, colour: str) -> str:
        argv = list(self.target.migrate_command)
        code, logs = self._one_off(
            image.pull_ref,
            "migrate",
            deploy_id,
            argv,
            environment=self._env("backend", colour),
            **hardening(self.target.roles["backend"]),
        )
        if code != 0:
            raise DeployError(
                f"migration `{shlex.join(argv)}` with {image.ref} exited {code}; nothing was switched: {logs}"
            )
        return logs.splitlines()[-1] if logs else f"`{shlex.join(argv)}` exit 0"

    def _wait_healthy(self, colour: str) -> str:
        t = self.target
        deadline = time.monotonic() + t.health_timeout
        while True:
            self.refresh()
            cs = self.colour_containers(colour)
            docker_ok = True
            for role, c in cs.items():
                st, h = c.state, c.health
                if st in ("exited", "dead", "restarting") or h == "unhealthy":
                    why = f"{st}, health {h}"
                    raise DeployError(f"{colour} {role} ({c.name}) is {why}: {dh.logs_id(self.client, c)}")
                docker_ok = docker_ok and st == "running" and h in (None, "healthy")
            ok, detail = self.healthy(Side.PREVIEW)
            if docker_ok and ok and len(cs) == len(ROLES):
                return detail
            if time.monotonic() > deadline:
                raise DeployError(f"colour {colour} not healthy within {t.health_timeout:.0f}s: {detail}")
            time.sleep(0.25)

    def _verify(self, colour: str) -> str:
        """Live traffic through the router answers from `colour` and is healthy for verify_seconds."""
        t = self.target
        end = time.monotonic() + t.verify_seconds
        rounds = failures = 0
        last = ""
        while True:
            marker = self.router.marker()
            ok, detail = self.healthy(Side.LIVE)
            page = probe.get(t.live_url, "/")
            if marker is None or marker.live != colour:
                ok, detail = False, f"router answers live={marker.live if marker else '?'}"
            elif page.status is None or page.status >= 500:
                ok, detail = False, str(page)
            rounds += 1
            failures = 0 if ok else failures + 1
            last = detail
            if failures >= 2:
                raise DeployError(detail)
            if time.monotonic() >= end and failures == 0:
                return f"{rounds} rounds ok: {last}"
            time.sleep(0.2)

    # ---- rollback ------------------------------------------------------------

    def rollback(self, approved_by: str | None = None) -> int:
        self._require_deployed()
        run = Run(self, "rollback", approved_by=approved_by)
        # A rollback is measured in seconds: the ledger is read (and checked),
        # once the lock is held, while the old colour is probed, and first
        # written after the switch.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return self._locked(
                run, lambda: self._rollback(run, pool.submit(self.ledger.entries)), save_first=False
            )

    def _require_deployed(self) -> None:
        """Without a router or a colour there is nothing to roll back: refuse before creating any."""
        # Not the snapshot: what the rollback sees is listed once the lock is held.
        project = dh.list_project(self.client, self.target)
        if not any(c.label(LABEL_ROLE) in (*ROLES, "router") for c in project):
            raise DeployError(f"{self.target.project} has no live colour to roll back from; deploy first")

    def _warm_previous(self, routing: Routing | None, entries: Callable[[], list[Record]]) -> str | None:
        """The idle colour when it runs a completed release, is healthy on preview and can
        take traffic at once; a colour whose deploy never completed is never made live."""
        if routing is None or routing.live is None:
            return None
        prev = other_colour(routing.live)
        if routing.preview != prev or not self.colour_running(prev):
            return None
        if not self.healthy(Side.PREVIEW)[0]:
            return None
        # The ledger last: its read overlaps the probes above.
        return prev if self._release(prev, entries()) is Release.COMPLETED else None

    def _release(self, colour: str, entries: list[Record], holder: str | None = None) -> Release:
        return release_state(entries, self.colour_deploy_id(colour), self.colour_digests(colour), holder)

    def _rollback(self, run: Run, pending: Future[list[Record]]) -> int:
        t = self.target
        # The router's own answer is one HTTP request; its file needs two API calls.
        routing = self.router.marker()
        prev = self._warm_previous(routing, pending.result)
        entries = pending.result()  # a corrupted ledger stops us here, before any switch
        if routing is None or prev is None:
            if (
                routing is not None
                and routing.live is not None
                and not self._warm_release(routing.live, entries)
            ):
                # A redeploy it is: nothing to return to, or no values for the env it needs, stop us
                # here, before reconcile or anything else changes.
                self._redeploy_plan(routing.live, entries)
            with run.phase("reconcile") as ph:
                routing = self.reconcile(run)
                ph["detail"] = f"live={routing.live or 'none'}"
            prev = self._warm_previous(routing, lambda: entries)
        live = routing.live
        if live is None:
            raise DeployError(f"{t.project} has no live colour to roll back from; deploy first")
        run.rec.update(
            colour=other_colour(live), previous_colour=live, rolled_back_from=self.colour_digests(live)
        )
        if prev is not None:
            return self._switch_back_to(run, prev, live)
        return self._redeploy(run, self._redeploy_plan(live, entries), other_colour(live))

    def _warm_release(self, live: str, entries: list[Record]) -> bool:
        """The idle colour runs a completed release (reconcile may yet make it switchable)."""
        idle = other_colour(live)
        return self.colour_running(idle) and self._release(idle, entries) is Release.COMPLETED

    def _switch_back_to(self, run: Run, prev: str, live: str) -> int:
        """The old colour is warm: switch first and tidy up afterwards; seconds count here."""
        with run.phase("switch") as ph:
            self.router.apply(prev, live)
            ph["detail"] = f"live {live} -> {prev} (kept warm)"
        run.rec.update(self.colour_digests(prev))
        try:
            with run.phase("verify") as ph:
                ph["detail"] = self._verify(prev)
        except DeployError as exc:
            with run.phase("switch-back"):
                self.router.apply(live, prev)
            run.finish("failed", f"verify of {prev} failed: {exc}; live traffic is back on {live}")
            return 1
        run.finish("success", f"live on {prev} again", colour_deploy_id=self.colour_deploy_id(prev))
        with run.phase("reconcile"):
            self.reconcile(run)
        return 0

    def _redeploy_plan(self, live: str, entries: list[Record]) -> Record:
        """The completed release to start again on the idle colour; refused, with nothing
        changed, when there is none or the target lacks env the live colour runs with."""
        idle = other_colour(live)
        target = rollback_target(entries, self.colour_digests(live))
        if target is None:
            held = ""
            if self.colour_containers(idle):
                state = self._release(idle, entries).value
                held = (
                    f"; {idle} holds deploy {self.colour_deploy_id(idle) or '?'} ({state}), never vetted live"
                )
            raise DeployError(
                f"nothing to roll back to: live {live} runs the only completed release in the ledger{held}; "
                f"live traffic stays on {live}"
            )
        missing = missing_env(self._env_needed(live), {r: self._env(r, idle) for r in ROLES})
        if missing:
            raise UsageError(
                f"rollback must start {target['id']} again on {idle} (its colour is gone), but no value is "
                f"given for {', '.join(missing)}, which live {live} runs with: pass the deploy's env file "
                "with --env-file PATH (ROLE:NAME=VALUE lines); nothing was changed"
            )
        return target

    def _env_needed(self, colour: str) -> dict[str, set[str]]:
        """Per role, the env names `colour`'s containers were given beyond their image's own."""
        needed: dict[str, set[str]] = {}
        for role, c in self.colour_containers(colour).items():
            attrs = self.client.api.inspect_container(c.id)
            image_env = self.client.api.inspect_image(attrs["Image"])["Config"].get("Env") or []
            needed[role] = env_names(attrs["Config"].get("Env") or []) - env_names(image_env)
        return needed

    def _redeploy(self, run: Run, target: Record, idle: str) -> int:
        """The old colour is gone: start its release's digests again, as a deploy does."""
        self.say(f"{idle} is gone; redeploying {target['id']}: {target['backend']} {target['frontend']}")
        run.rec["redeploy_of"] = target["id"]
        images = {role: ImageRef.parse(str(target[role]), f"ledger {target['id']} {role}") for role in ROLES}
        run.rec.update({role: images[role].ref for role in ROLES})
        # Schema changes are expand/contract, so the older code runs on the newer schema.
        return self._roll_out(run, images, production=False, migrate=False, expect_revision=None)

    # ---- database backup / restore --------------------------------------------

    def _pg_env(self) -> tuple[dict[str, str], str]:
        return accessories.pg_env(self.target, "--production")

    def _backup(self, deploy_id: str) -> Record:
        t = self.target
        env, where = self._pg_env()
        dh.ensure_image(self.client, t.postgres_image, "postgres image")
        dh.ensure_volume(self.client, t, t.backup_volume_name)
        backup_id = f"{t.project}-{deploy_id}"
        path = f"/backups/{backup_id}.dump"
        script = 'set -e; pg_dump -Fc --no-owner -f "$1.part"; mv "$1.part" "$1"; wc -c <"$1"'
        code, logs = self._one_off(
            t.postgres_image,
            "backup",
            deploy_id,
            ["sh", "-c", script, "backup", path],
            environment=env,
            volumes={t.backup_volume_name: {"bind": "/backups", "mode": "rw"}},
        )
        if code != 0:
            raise DeployError(f"backup of {where} failed (exit {code}); nothing was changed: {logs}")
        size = logs.split()[-1] if logs else "0"
        return {
            "id": backup_id,
            "file": f"{t.backup_volume_name}:{backup_id}.dump",
            "bytes": int(size),
            "database": where,
        }

    def restore(self, backup_id: str, approved_by: str | None = None) -> int:
        entries = self.ledger.entries()
        known = {
            str(e["backup"]["id"]): e
            for e in entries
            if isinstance(e.get("backup"), dict) and e["backup"].get("id")
        }
        if backup_id not in known:
            listed = ", ".join(sorted(known)[-5:]) or "none recorded"
            raise UsageError(f"backup {backup_id!r} is not in the ledger: expected one of {listed}")
        run = Run(self, "restore", approved_by=approved_by, backup={"id": backup_id})
        return self._locked(run, lambda: self._restore(run, backup_id))

    def _restore(self, run: Run, backup_id: str) -> int:
        t = self.target
        env, where = self._pg_env()
        with run.phase("restore") as ph:
            code, logs = self._one_off(
                t.postgres_image,
                "restore",
                run.id,
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "-d",
                    env["PGDATABASE"],
                    f"/backups/{backup_id}.dump",
                ],
                environment=env,
                volumes={t.backup_volume_name: {"bind": "/backups", "mode": "ro"}},
            )
            if code != 0:
                raise DeployError(f"pg_restore of {backup_id} into {where} exited {code}: {logs}")
            ph["detail"] = f"{backup_id} -> {where}"
        run.finish("success", f"restored {backup_id} into {where}")
        return 0

    def reconcile_command(self) -> int:
        self.ledger.entries()
        run = Run(self, "reconcile")

        def body() -> int:
            with run.phase("reconcile") as ph:
                routing = self.reconcile(run)
                ph["detail"] = f"live={routing.live or 'none'}"
            run.finish("success", f"live={routing.live or 'none'}")
            return 0

        return self._locked(run, body)

    def setup(self) -> int:
        """The target's accessories (PostgreSQL, Redis) running and healthy; idempotent."""
        wanted = accessories.wanted(self.target)  # bad credentials stop us before anything changes
        self.ledger.entries()
        run = Run(self, "setup")

        def body() -> int:
            dh.ensure_network(self.client, self.target)
            done = []
            for acc in wanted:
                with run.phase(acc.name) as ph:
                    ph["detail"] = accessories.ensure(self.client, self.target, acc, self.say)
                    done.append(ph["detail"])
            run.finish("success", "; ".join(done) or "the target has no accessories")
            return 0

        return self._locked(run, body)

    # ---- read-only views -------------------------------------------------------

    def status(self) -> Record:
        t = self.target
        entries = self.ledger.entries()
        router = self.router.container()
        routing = self.router.routing()
        lock = dh.get_container(self.client, t.lock_name)
        held = None if lock is None else json.loads(dh.label(lock, LABEL_LOCK) or "{}")
        # A deploy whose holder may still run is in progress; anyone else's unfinished one was interrupted.
        holder = None if held is None or holder_is_stale(held, t.lock_ttl) else str(held.get("id"))
        colours: Record = {}
        for colour in COLOURS:
            if self.colour_containers(colour):
                colours[colour] = self._colour_view(colour, routing, entries, holder)
        live = None if routing is None else routing.live
        return {
            "project": t.project,
            "host": t.docker_host,
            "router": None if router is None else {"name": router.name, "state": dh.state(router)},
            "live": live,
            "router_drift": None if routing is None else routing.drift or None,
            "preview": None if routing is None else routing.preview,
            "live_url": t.live_url,
            "preview_url": t.preview_url,
            "colours": colours,
            "warnings": [
                w
                for colour, info in colours.items()
                if (w := release_warning(colour, info["deploy_id"], Release(info["release"]), colour == live))
            ],
            "lock": held,
            "last": [_summary(e) for e in entries[-5:]],
        }

    def _colour_view(
        self, colour: str, routing: Routing | None, entries: list[Record], holder: str | None
    ) -> Record:
        info: Record = {
            "deploy_id": self.colour_deploy_id(colour),
            "release": self._release(colour, entries, holder).value,
            "containers": {
                r: {"name": c.name, "state": c.state, "health": c.health}
                for r, c in self.colour_containers(colour).items()
            },
            "images": self.colour_digests(colour),
        }
        if routing is not None and colour in (routing.live, routing.preview):
            side = Side.LIVE if colour == routing.live else Side.PREVIEW
            info["http_ok"], info["http"] = self.healthy(side)
        return info

    def history(self) -> list[Record]:
        return self.ledger.entries()


def _summary(e: Record) -> Record:
    keys = ("id", "kind", "time", "result", "reason", "colour", "backend", "frontend", "approved_by")
    return {k: e.get(k) for k in keys if e.get(k) is not None}
