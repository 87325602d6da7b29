"""Blue-green releases on Kubernetes: the operator's commands, each a short recipe.

deploy and rollback change the namespace under the Lease lock, with a ledger
record saved after every phase, as on a docker host. A release moves in
Argo Rollouts' stages (new pods behind the preview Services, smoke analysis,
promotion, smoke on the live router); a failed one is put back on the
release that was live. A rerun after a crash first converges what the last
run left half done.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from neosale_deploy.errors import DeployError
from neosale_deploy.kube.api import KubeApi
from neosale_deploy.kube.config import load_kubeconfig
from neosale_deploy.kube.jobs import backup_job, migrate_job, migrate_job_name, run_job
from neosale_deploy.kube.release import ReleaseFailed, rollout_path, view, wait_for
from neosale_deploy.kube.rollouts import CONTAINER, RolloutView, Stage, container, release_patch
from neosale_deploy.kube.state import ConfigMapStore, LeaseLock
from neosale_deploy.model import App
from neosale_deploy.record import BackupRecord, Kind, LedgerRecord, Phase, Result, digests_of
from neosale_deploy.reference import ImageRef
from neosale_deploy.run import Run, hold_lock
from neosale_deploy.state import Ledger

APPS = (App.BACKEND, App.FRONTEND)


@dataclass(frozen=True)
class KubeTarget:
    """A namespace holding the NEOSALE manifests (deploy/kubernetes), reached with a kubeconfig."""

    kubeconfig: str
    namespace: str
    migrate_command: tuple[str, ...] = ("node", "dist/migrate.js")
    migrate_timeout: float = 600.0
    release_timeout: float = 600.0
    lock_ttl: float = 7200.0

    @property
    def project(self) -> str:
        return self.namespace


class KubeDeployer:
    def __init__(self, target: KubeTarget, out: TextIO | None = None, api: KubeApi | None = None) -> None:
        self.target = target
        self.out = out or sys.stdout
        self.t0 = time.monotonic()
        self.api = api or KubeApi(load_kubeconfig(target.kubeconfig, target.namespace))
        self.ledger = Ledger(ConfigMapStore(self.api))

    def say(self, msg: str) -> None:
        print(f"[neosale-deploy {time.monotonic() - self.t0:6.2f}s] {msg}", file=self.out, flush=True)

    # ---- commands ----------------------------------------------------------------

    def deploy(
        self,
        backend: ImageRef,
        frontend: ImageRef,
        approved_by: str | None = None,
        production: bool = False,
        migrate: bool = True,
        expect_sha: str = "",
    ) -> int:
        self.api.check_namespace()
        self.ledger.entries()  # a corrupted ledger stops us before anything changes
        images = {App.BACKEND: backend, App.FRONTEND: frontend}
        fields = {"approved_by": approved_by, "production": production}
        run = Run(self, Kind.DEPLOY, **fields, backend=backend.ref, frontend=frontend.ref)
        return self._locked(run, lambda: self._release(run, images, production, migrate, expect_sha))

    def rollback(self, approved_by: str | None = None) -> int:
        self.api.check_namespace()
        previous = self._previous_release()
        run = Run(self, Kind.ROLLBACK, approved_by=approved_by, **previous)

        def body() -> int:
            with run.phase(Phase.SWITCH) as ph:
                self._put_back(previous)
                ph["detail"] = f"back to {previous[App.BACKEND]}, {previous[App.FRONTEND]}"
            run.finish(Result.SUCCESS, "the previous release is live")
            return 0

        # Measured in seconds: the ledger is first written after the switch.
        return self._locked(run, body, save_first=False)

    def status(self) -> dict[str, object]:
        self.api.check_namespace()
        views = {app: view(self.api, app) for app in APPS}
        last = self.ledger.entries()[-5:]
        return {
            "namespace": self.target.namespace,
            "rollouts": {
                app: {"image": v.image, "stage": v.stage, "phase": v.phase} for app, v in views.items()
            },
            "last": [{k: r.get(k) for k in ("id", "kind", "result", "reason", "time")} for r in last],
        }

    def history(self) -> list[LedgerRecord]:
        return self.ledger.entries()

    # ---- deploy ------------------------------------------------------------------

    def _locked(self, run: Run, body: Callable[[], int], save_first: bool = True) -> int:
        return hold_lock(self, LeaseLock(self.api, self.target.lock_ttl, self.say), run, body, save_first)

    def _release(
        self, run: Run, images: dict[App, ImageRef], production: bool, migrate: bool, expect_sha: str
    ) -> int:
        live = self._converge(run)
        same = all(live[app].image == images[app].ref for app in APPS)
        if production and not same:
            with run.phase(Phase.BACKUP) as ph:
                run.rec["backup"] = backup = self._backup(run.id)
                ph["detail"] = f"{backup['id']} {backup['bytes']} bytes"
        if migrate:  # a Job per backend image: runs once, also for images the manifests brought
            with run.phase(Phase.MIGRATE) as ph:
                ph["detail"] = self._migrate(images[App.BACKEND])
        if same:
            if not all(v.settled for v in live.values()):  # a first install, finishing
                with run.phase(Phase.VERIFY) as ph:
                    wait_for(self.api, APPS, Stage.HEALTHY, self.target.release_timeout)
                    ph["detail"] = "the installed release is healthy"
            run.finish(Result.SUCCESS, "already live; nothing to do", noop=True)
            return 0
        try:
            self._roll(run, images, expect_sha)
        except ReleaseFailed as exc:
            with run.phase(Phase.SWITCH_BACK) as ph:
                self._put_back({app: live[app].image for app in APPS})
                ph["detail"] = "the previous release is live"
            run.finish(Result.ROLLED_BACK, f"{exc}; live traffic is on the previous release")
            return 1
        run.finish(Result.SUCCESS, "promoted")
        return 0

    def _converge(self, run: Run) -> dict[App, RolloutView]:
        """A release a killed run left in flight is put back on what was stable (a
        first install, with nothing stable yet, is left to finish)."""
        with run.phase(Phase.RECONCILE) as ph:
            views = {app: view(self.api, app) for app in APPS}
            unsettled = [v for v in views.values() if v.stable and not v.settled]
            if unsettled:
                stable = self._stable_images(unsettled)
                self.say(
                    f"a release was left in flight ({', '.join(v.phase for v in unsettled)}): putting back"
                )
                self._put_back({**{app: views[app].image for app in APPS}, **stable})
                views = {app: view(self.api, app) for app in APPS}
            ph["detail"] = ", ".join(f"{app}={v.image}" for app, v in views.items())
        return views

    def _stable_images(self, views: list[RolloutView]) -> dict[App, str]:
        """The image each Rollout's stable ReplicaSet runs (what is live)."""
        out = {}
        for v in views:
            rs = self.api.get(
                self.api.path("replicasets", api="/apis/apps/v1"),
                labelSelector=f"rollouts-pod-template-hash={v.stable}",
            )["items"]
            for c in rs[0]["spec"]["template"]["spec"]["containers"] if rs else []:
                if c["name"] == CONTAINER[v.app]:
                    out[v.app] = str(c["image"])
        return out

    def _roll(self, run: Run, images: dict[App, ImageRef], expect_sha: str) -> None:
        timeout = self.target.release_timeout
        with run.phase(Phase.START_IDLE) as ph:
            for app in APPS:
                path = rollout_path(self.api, app)
                self.api.patch(path, release_patch(self.api.get(path), app, images[app].ref, expect_sha))
            wait_for(self.api, APPS, Stage.ANALYSING, timeout)
            ph["detail"] = "new ReplicaSets behind the preview Services"
        with run.phase(Phase.SMOKE) as ph:
            wait_for(self.api, APPS, Stage.PROMOTED, timeout)
            ph["detail"] = "pre-promotion analysis passed; promoted"
        with run.phase(Phase.VERIFY) as ph:
            wait_for(self.api, APPS, Stage.HEALTHY, timeout)
            ph["detail"] = "post-promotion analysis passed"

    def _put_back(self, images: dict[App, str] | dict[str, str]) -> None:
        """Both Rollouts on these images, healthy (the abort cleared)."""
        for app in APPS:
            path = rollout_path(self.api, app)
            obj = self.api.get(path)
            if container(obj, app)["image"] != images[app] or (obj.get("status") or {}).get("abort"):
                self.api.patch(path, release_patch(obj, app, images[app], ""))
        wait_for(self.api, APPS, Stage.HEALTHY, self.target.release_timeout, fail_fast=False)

    def _previous_release(self) -> dict[str, str]:
        """The images of the release live before the live one (ledger order, repeats merged)."""
        releases: list[dict[str, str]] = []
        for rec in self.ledger.entries():
            images = digests_of(rec)
            done = rec.get("result") == Result.SUCCESS and all(images.values())
            if done and (not releases or releases[-1] != images):
                releases.append(images)
        if len(releases) < 2:
            raise DeployError(f"{self.target.namespace} has no earlier release in its ledger to roll back to")
        return releases[-2]

    def _migrate(self, backend: ImageRef) -> str:
        name = migrate_job_name(backend, self.target.migrate_command)
        body = migrate_job(
            name, self.api.get(rollout_path(self.api, App.BACKEND)), backend.ref, self.target.migrate_command
        )
        tail = run_job(self.api, body, self.target.migrate_timeout)
        return tail.splitlines()[-1] if tail else f"{name} done"

    def _backup(self, run_id: str) -> BackupRecord:
        sts = self.api.get(self.api.path("statefulsets", "neosale-postgres", api="/apis/apps/v1"))
        image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
        backup_id = f"{self.target.namespace}-{run_id}".lower()
        tail = run_job(
            self.api,
            backup_job(f"neosale-backup-{run_id.lower()}", image, f"{backup_id}.dump"),
            self.target.migrate_timeout,
        )
        size = tail.split()[-1] if tail else "0"
        return {"id": backup_id, "file": f"pvc neosale-backups:{backup_id}.dump", "bytes": int(size)}
