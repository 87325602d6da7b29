"""Database work, in one-off containers on the target's network: migrations, and
PostgreSQL backup (pg_dump -Fc) and restore. Credentials travel as PG* variables,
never on a command line."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from neosale_deploy import dockerhost as dh
from neosale_deploy.accessories import pg_env
from neosale_deploy.appspec import app_env, hardening
from neosale_deploy.errors import DeployError
from neosale_deploy.model import LABEL_DEPLOY_ID, LABEL_PROJECT, LABEL_ROLE, App, Target
from neosale_deploy.record import BackupRecord, LedgerRecord
from neosale_deploy.reference import ImageRef

# sh -c SCRIPT backup FILE: a dump appears whole or not at all; prints its size.
BACKUP_SCRIPT = 'set -e; pg_dump -Fc --no-owner -f "$1.part"; mv "$1.part" "$1"; wc -c <"$1"'


@dataclass(frozen=True)
class Database:
    """Where the shared database is: libpq's variables and a password-free name for messages."""

    env: dict[str, str]
    where: str


def database(target: Target, need: str = "--production") -> Database:
    """The target's database_url (else the backend's DATABASE_URL), checked; `need` names who asks."""
    env, where = pg_env(target, need)
    return Database(env, where)


def known_backups(entries: Iterable[LedgerRecord]) -> dict[str, LedgerRecord]:
    """The ledger's records that made a backup, by backup id."""
    return {str(b["id"]): e for e in entries if isinstance(b := e.get("backup"), Mapping) and b.get("id")}


class OneOffs:
    """Containers that run one command to its end: labelled, so reconcile removes leftovers."""

    def __init__(self, client: Any, target: Target) -> None:
        self.client = client
        self.target = target

    def run(self, image: str, role: str, deploy_id: str, argv: list[str], **kwargs: Any) -> tuple[int, str]:
        """Exit code and the log's tail; -1 after migrate_timeout (the container is killed)."""
        t = self.target
        c = self.client.containers.create(
            image,
            entrypoint=argv[:1],
            command=argv[1:],
            name=f"{t.project}-{role}-{deploy_id}",
            labels={LABEL_PROJECT: t.project, LABEL_ROLE: role, LABEL_DEPLOY_ID: deploy_id},
            network=t.names.network,
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

    def migrate(self, image: ImageRef, deploy_id: str, colour: str) -> str:
        """migrate_command with the new backend image and its env; its last line of output."""
        argv = list(self.target.migrate_command)
        backend = self.target.roles[App.BACKEND]
        env = app_env(self.target, App.BACKEND, colour)
        code, logs = self.run(
            image.pull_ref, "migrate", deploy_id, argv, environment=env, **hardening(backend)
        )
        if code != 0:
            raise DeployError(
                f"migration `{shlex.join(argv)}` with {image.ref} exited {code}; nothing was switched: {logs}"
            )
        return logs.splitlines()[-1] if logs else f"`{shlex.join(argv)}` exit 0"

    def backup(self, deploy_id: str) -> BackupRecord:
        t = self.target
        db = database(t)
        dh.ensure_image(self.client, t.postgres_image, "postgres image")
        dh.ensure_volume(self.client, t, t.names.backup_volume)
        backup_id = f"{t.project}-{deploy_id}"
        argv = ["sh", "-c", BACKUP_SCRIPT, "backup", f"/backups/{backup_id}.dump"]
        volumes = {t.names.backup_volume: {"bind": "/backups", "mode": "rw"}}
        code, logs = self.run(
            t.postgres_image, "backup", deploy_id, argv, environment=db.env, volumes=volumes
        )
        if code != 0:
            raise DeployError(f"backup of {db.where} failed (exit {code}); nothing was changed: {logs}")
        size = logs.split()[-1] if logs else "0"
        return {
            "id": backup_id,
            "file": f"{t.names.backup_volume}:{backup_id}.dump",
            "bytes": int(size),
            "database": db.where,
        }

    def restore(self, db: Database, backup_id: str, run_id: str) -> None:
        """pg_restore --clean of a backup into the database."""
        t = self.target
        argv = ["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", db.env["PGDATABASE"]]
        argv.append(f"/backups/{backup_id}.dump")
        volumes = {t.names.backup_volume: {"bind": "/backups", "mode": "ro"}}
        code, logs = self.run(t.postgres_image, "restore", run_id, argv, environment=db.env, volumes=volumes)
        if code != 0:
            raise DeployError(f"pg_restore of {backup_id} into {db.where} exited {code}: {logs}")
