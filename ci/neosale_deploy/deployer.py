"""Blue-green deploys on one docker host: the operator's commands, each a short recipe.

deploy, rollback, restore, reconcile and setup change the host under the
target's lock; all but setup start by reconciling (removing half-started
containers, making sure the router runs and points at a healthy colour), so a
rerun after a crash at any phase converges. status and history only read.
The work is done by small modules: rollout (the steps of a roll-out),
reconcile and rollback (decisions over the colour view and the ledger),
database (one-off containers: migrations, backup, restore), accessories
(PostgreSQL and Redis), status.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TextIO

from neosale_deploy import accessories
from neosale_deploy import dockerhost as dh
from neosale_deploy.colours import Colours
from neosale_deploy.connect import connect
from neosale_deploy.database import OneOffs, database, known_backups
from neosale_deploy.errors import DeployError, UsageError
from neosale_deploy.fingerprint import env_fingerprint
from neosale_deploy.host import DockerHost, remove_colour
from neosale_deploy.login import RegistryLogin
from neosale_deploy.model import COLOURS, ROLES, App, Target, other_colour
from neosale_deploy.probe import Side
from neosale_deploy.reconcile import Reconciler
from neosale_deploy.record import Kind, LedgerRecord, Phase, Result, set_images
from neosale_deploy.reference import ImageRef
from neosale_deploy.rollback import redeploy_plan, switchable, warm_release
from neosale_deploy.rollout import Images, RollOut, env_changed, same_release
from neosale_deploy.router import Router
from neosale_deploy.routerconf import Routing
from neosale_deploy.run import Run, hold_lock
from neosale_deploy.state import DeployLock, Ledger, open_store
from neosale_deploy.status import StatusView, View

__all__ = ["Deployer", "Run"]


class Deployer:
    def __init__(self, target: Target, out: TextIO | None = None, login: RegistryLogin | None = None) -> None:
        self.target = target
        self.out = out or sys.stdout
        self.t0 = time.monotonic()
        self.client = connect(target)
        self.router = Router(self.client, target, self.say)
        self.host = DockerHost(self.client, target, self.router)
        self.store = open_store(self.client, target)
        self.ledger = Ledger(self.store)
        self.reconcile = Reconciler(self.host, self.ledger, target, self.say)
        self.login = login
        self.steps = RollOut(self.client, target, self.host)
        self.one_offs = OneOffs(self.client, target)

    def say(self, msg: str) -> None:
        """Every log line goes through here: `[neosale-deploy  1.23s] ...`."""
        print(f"[neosale-deploy {time.monotonic() - self.t0:6.2f}s] {msg}", file=self.out, flush=True)

    @property
    def colours(self) -> Colours:
        return self.host.colours()

    # ---- commands ----------------------------------------------------------------

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
            database(self.target)  # so does a missing or malformed database URL
        for line in accessories.missing(self.client, self.target):
            self.say(f"warning: accessory {line}; the apps may not reach it (`setup` creates it)")
        images: dict[str, ImageRef] = {App.BACKEND: backend, App.FRONTEND: frontend}
        fields = {"approved_by": approved_by, "production": production}
        run = Run(self, Kind.DEPLOY, **fields, backend=backend.ref, frontend=frontend.ref)
        return self._locked(run, lambda: self._roll_out(run, images, production, migrate, expect_revision))

    def rollback(self, approved_by: str | None = None) -> int:
        # Without a router or a colour there is nothing to roll back: refuse before creating any.
        if not Colours(tuple(dh.list_project(self.client, self.target))).deployed():
            raise DeployError(f"{self.target.project} has no live colour to roll back from; deploy first")
        run = Run(self, Kind.ROLLBACK, approved_by=approved_by)
        # A rollback is measured in seconds: the ledger is read (and checked),
        # once the lock is held, while the old colour is probed, and first
        # written after the switch.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return self._locked(
                run, lambda: self._rollback(run, pool.submit(self.ledger.entries)), save_first=False
            )

    def restore(self, backup_id: str, approved_by: str | None = None) -> int:
        known = known_backups(self.ledger.entries())
        if backup_id not in known:
            listed = ", ".join(sorted(known)[-5:]) or "none recorded"
            raise UsageError(f"backup {backup_id!r} is not in the ledger: expected one of {listed}")
        run = Run(self, Kind.RESTORE, approved_by=approved_by, backup={"id": backup_id})

        def body() -> int:
            db = database(self.target)
            with run.phase(Phase.RESTORE) as ph:
                self.one_offs.restore(db, backup_id, run.id)
                ph["detail"] = f"{backup_id} -> {db.where}"
            run.finish(Result.SUCCESS, f"restored {backup_id} into {db.where}")
            return 0

        return self._locked(run, body)

    def reconcile_command(self) -> int:
        self.ledger.entries()
        run = Run(self, Kind.RECONCILE)

        def body() -> int:
            routing = self._reconcile_phase(run)
            run.finish(Result.SUCCESS, f"live={routing.live or 'none'}")
            return 0

        return self._locked(run, body)

    def setup(self) -> int:
        """The target's accessories (PostgreSQL, Redis) running and healthy; idempotent."""
        wanted = accessories.wanted(self.target)  # bad credentials stop us before anything changes
        self.ledger.entries()
        run = Run(self, Kind.SETUP)

        def body() -> int:
            dh.ensure_network(self.client, self.target)
            done = []
            for acc in wanted:
                with run.phase(acc.name) as ph:
                    ph["detail"] = accessories.ensure(self.client, self.target, acc, self.say)
                    done.append(ph["detail"])
            run.finish(Result.SUCCESS, "; ".join(done) or "the target has no accessories")
            return 0

        return self._locked(run, body)

    def status(self) -> View:
        return StatusView(self.host, self.target)(self.ledger.entries())

    def history(self) -> list[LedgerRecord]:
        return self.ledger.entries()

    # ---- deploy ------------------------------------------------------------------

    def _locked(self, run: Run, body: Callable[[], int], save_first: bool = True) -> int:
        lock = DeployLock(self.client, self.target, self.say)
        return hold_lock(self, lock, run, body, save_first)

    def _reconcile_phase(self, run: Run) -> Routing:
        with run.phase(Phase.RECONCILE) as ph:
            routing = self.reconcile(run.id)
            ph["detail"] = f"live={routing.live or 'none'}"
        return routing

    def _roll_out(
        self, run: Run, images: Images, production: bool, migrate: bool, expect_revision: str | None
    ) -> int:
        live = self._reconcile_phase(run).live
        key = self.store.key()
        envs: dict[str, str] = {role: env_fingerprint(key, self.target.roles[role].env) for role in ROLES}
        run.rec["env"] = envs
        if live is not None and self._already_live(run, live, images, envs):
            return 0
        idle = other_colour(live) if live else COLOURS[0]
        run.rec.update({"colour": idle, "previous_colour": live})
        with run.phase(Phase.IMAGES) as ph:
            ph["detail"] = self.steps.pull(images, expect_revision, self.login)
        if production:
            with run.phase(Phase.BACKUP) as ph:
                backup = run.rec["backup"] = self.one_offs.backup(run.id)
                ph["detail"] = f"{backup['id']} {backup['bytes']} bytes"
        if not self._start_and_switch(run, images, envs, migrate, live, idle):
            return 1
        if not self._verify_or_switch_back(run, live, idle):
            return 1
        retain_until = datetime.fromtimestamp(time.time() + self.target.retain_seconds, UTC)
        run.finish(
            Result.SUCCESS,
            f"live on {idle}",
            colour_deploy_id=run.id,
            retain_until=retain_until.isoformat(timespec="seconds"),
        )
        return 0

    def _already_live(self, run: Run, live: str, images: Images, envs: dict[str, str]) -> bool:
        """The live colour runs these digests with this env, healthy: the run ends as a no-op."""
        if not same_release(self.colours, live, images):
            return False
        changed = env_changed(self.colours, live, envs)
        if changed:
            # A rotated secret goes out as a release of its own, like new images.
            self.say(f"same images as live {live}; the env of {', '.join(changed)} changed: rolling out")
            run.rec["env_changed"] = changed
            return False
        if not self.host.healthy(Side.LIVE)[0]:
            return False
        deploy_id = self.colours.deploy_id(live)
        reason = f"already live on {live}; nothing to do"
        run.finish(Result.SUCCESS, reason, colour=live, colour_deploy_id=deploy_id, noop=True)
        return True

    def _start_and_switch(
        self, run: Run, images: Images, envs: dict[str, str], migrate: bool, live: str | None, idle: str
    ) -> bool:
        """Migrate, start the idle colour, gate it and switch; on failure live stays as it was."""
        try:
            if migrate:
                with run.phase(Phase.MIGRATE) as ph:
                    ph["detail"] = self.one_offs.migrate(images[App.BACKEND], run.id, idle)
            with run.phase(Phase.START_IDLE) as ph:
                remove_colour(self.host, self.say, idle, "replaced by this deploy")
                ph["detail"] = self.steps.start(idle, images, run.id, envs)
            with run.phase(Phase.HEALTH) as ph:
                ph["detail"] = self.steps.wait_healthy(idle)
            with run.phase(Phase.SMOKE) as ph:
                ph["detail"] = self.steps.smoke()
            with run.phase(Phase.SWITCH) as ph:
                self.host.apply(idle, other_colour(idle))
                ph["detail"] = f"live {live or 'none'} -> {idle}"
        except DeployError as exc:
            after = self.host.routing()
            if after is not None and after.live == idle:  # reloaded, then failed to confirm
                self.host.apply(live, idle)
            remove_colour(self.host, self.say, idle, "deploy failed before the switch")
            phases = run.rec.get("phases") or [{}]
            run.finish(Result.FAILED, f"{phases[-1].get('name', '?')}: {exc}")
            return False
        return True

    def _verify_or_switch_back(self, run: Run, live: str | None, idle: str) -> bool:
        try:
            with run.phase(Phase.VERIFY) as ph:
                ph["detail"] = self.steps.verify(idle)
        except DeployError as exc:
            with run.phase(Phase.SWITCH_BACK) as ph:
                self.host.apply(live, idle)
                ph["detail"] = f"live {idle} -> {live or 'none'}"
            remove_colour(self.host, self.say, idle, "failed verification after the switch")
            back = f"live traffic is back on {live or 'none'}"
            run.finish(Result.ROLLED_BACK, f"verify after switch failed: {exc}; {back}")
            return False
        return True

    # ---- rollback ----------------------------------------------------------------

    def _warm_previous(
        self, routing: Routing | None, entries: Callable[[], list[LedgerRecord]]
    ) -> str | None:
        # The preview probe first: the ledger's read, still in flight, overlaps it.
        if routing is None or routing.live is None or routing.preview != other_colour(routing.live):
            return None
        if not self.host.healthy(Side.PREVIEW)[0]:
            return None
        return switchable(routing, self.colours, entries())

    def _rollback(self, run: Run, pending: Future[list[LedgerRecord]]) -> int:
        # The router's own answer is one HTTP request; its file needs two API calls.
        routing = self.host.marker()
        prev = self._warm_previous(routing, pending.result)
        entries = pending.result()  # a corrupted ledger stops us here, before any switch
        if routing is None or prev is None:
            if (
                routing is not None
                and routing.live is not None
                and not warm_release(self.colours, routing.live, entries)
            ):
                # A redeploy it is: nothing to return to, or no values for the env it
                # needs, stop us here, before reconcile or anything else changes.
                redeploy_plan(self.host, self.target, routing.live, entries)
            routing = self._reconcile_phase(run)
            prev = self._warm_previous(routing, lambda: entries)
        live = routing.live
        if live is None:
            raise DeployError(f"{self.target.project} has no live colour to roll back from; deploy first")
        digests = self.colours.digests(live)
        run.rec.update({"colour": other_colour(live), "previous_colour": live, "rolled_back_from": digests})
        if prev is not None:
            return self._switch_back_to(run, prev, live)
        return self._redeploy(run, redeploy_plan(self.host, self.target, live, entries), other_colour(live))

    def _switch_back_to(self, run: Run, prev: str, live: str) -> int:
        """The old colour is warm: switch first and tidy up afterwards; seconds count here."""
        with run.phase(Phase.SWITCH) as ph:
            self.host.apply(prev, live)
            ph["detail"] = f"live {live} -> {prev} (kept warm)"
        set_images(run.rec, self.colours.digests(prev))
        try:
            with run.phase(Phase.VERIFY) as ph:
                ph["detail"] = self.steps.verify(prev)
        except DeployError as exc:
            with run.phase(Phase.SWITCH_BACK):
                self.host.apply(live, prev)
            run.finish(Result.FAILED, f"verify of {prev} failed: {exc}; live traffic is back on {live}")
            return 1
        run.finish(Result.SUCCESS, f"live on {prev} again", colour_deploy_id=self.colours.deploy_id(prev))
        with run.phase(Phase.RECONCILE):
            self.reconcile(run.id)
        return 0

    def _redeploy(self, run: Run, plan: LedgerRecord, idle: str) -> int:
        """The old colour is gone: start its release's digests again, as a deploy does."""
        self.say(f"{idle} is gone; redeploying {plan['id']}: {plan['backend']} {plan['frontend']}")
        run.rec["redeploy_of"] = plan["id"]
        images: dict[str, ImageRef] = {
            role: ImageRef.parse(str(plan.get(role)), f"ledger {plan['id']} {role}") for role in ROLES
        }
        set_images(run.rec, {role: images[role].ref for role in ROLES})
        # Schema changes are expand/contract, so the older code runs on the newer schema.
        return self._roll_out(run, images, production=False, migrate=False, expect_revision=None)
