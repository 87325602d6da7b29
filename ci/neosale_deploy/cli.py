"""`python -m neosale_deploy COMMAND [options]`.

Exit codes: 0 done, 1 deploy failed or rolled back (traffic on the old colour),
2 bad input (nothing changed), 3 another deploy holds the lock.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from neosale_deploy.envfile import Assignment, parse_assignment, parse_env_file
from neosale_deploy.errors import DeployError, UsageError
from neosale_deploy.kube import cli as kube_cli
from neosale_deploy.login import PASSWORD_ENV, RegistryLogin
from neosale_deploy.model import REVISION_LABEL, Target, load_target
from neosale_deploy.record import LedgerRecord, digests_of
from neosale_deploy.reference import ImageRef
from neosale_deploy.releases import Release

if TYPE_CHECKING:
    from neosale_deploy.deployer import Deployer


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("target (override the --config file)")
    g.add_argument("--config", default=os.environ.get("NEOSALE_DEPLOY_CONFIG"), help="TOML target file")
    g.add_argument("--project", help="e.g. neosale-staging (prefix of every container, volume, network)")
    g.add_argument(
        "--host", help="docker host: unix:///var/run/docker.sock, tcp://HOST:2376, ssh://USER@HOST"
    )
    g.add_argument("--tls-ca")
    g.add_argument("--tls-cert")
    g.add_argument("--tls-key")
    g.add_argument("--no-tls-verify", dest="tls_verify", action="store_false", default=None)
    g.add_argument("--ssh-key", help="private key for an ssh:// host (default: ~/.ssh/config, agent)")
    g.add_argument("--ssh-known-hosts", help="known_hosts file holding the ssh:// host's key")
    g.add_argument(
        "--registry-user",
        help=f"the host pulls the images logged in as this user (a private registry); the password "
        f"or token comes from ${PASSWORD_ENV} (deploy, rollback)",
    )
    _router_options(g)
    _app_options(g)
    kube_cli.add_options(p)
    return p


def _router_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--network")
    g.add_argument("--router-image")
    g.add_argument("--router-conf", help="the repository's nginx/ folder (default: this checkout's)")
    g.add_argument("--router-port", type=int)
    g.add_argument("--preview-port", type=int)
    g.add_argument("--router-bind")
    g.add_argument("--preview-bind")
    g.add_argument("--public-host", help="where this machine reaches the router's ports")
    g.add_argument("--conf-volume", help="docker volume or absolute host dir for the router's conf.d")
    g.add_argument("--state-dir", help="local ledger directory (default: a volume on the docker host)")


def _app_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--postgres-image")
    g.add_argument("--redis-image")
    g.add_argument("--database-url")
    g.add_argument("--migrate-command", help="shell-quoted; default: node dist/migrate.js")
    g.add_argument(
        "--smoke", choices=["auto", "neosale_smoke", "builtin"], help="smoke runner (default auto)"
    )
    g.add_argument("--smoke-config", help="neosale_smoke TOML file")
    g.add_argument("--smoke-command", help="shell-quoted; {url} is the preview URL; default: built-in probe")
    g.add_argument("--retain-seconds", type=float)
    g.add_argument("--health-timeout", type=float)
    g.add_argument("--verify-seconds", type=float)
    g.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="ROLE:NAME=VALUE",
        help="container environment (repeatable)",
    )
    g.add_argument(
        "--env-file",
        metavar="PATH",
        help='ROLE:NAME=VALUE lines (# comments; a "..." value may span lines): secrets off the command line',
    )


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="neosale-deploy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("deploy", parents=[common], help="blue-green deploy of two images pinned by digest")
    d.add_argument("--backend", required=True, help="IMAGE@sha256:...")
    d.add_argument("--frontend", required=True, help="IMAGE@sha256:...")
    d.add_argument("--approved-by")
    d.add_argument("--production", action="store_true", help="back up PostgreSQL (pg_dump -Fc) first")
    d.add_argument("--skip-migrations", action="store_true")
    d.add_argument(
        "--expect-revision",
        metavar="SHA",
        help=f"refuse images whose {REVISION_LABEL} label is another commit",
    )
    r = sub.add_parser("rollback", parents=[common], help="back to the previous colour")
    r.add_argument("--approved-by")
    s = sub.add_parser("status", parents=[common], help="live colour, digests, health, last deploys")
    s.add_argument("--json", action="store_true")
    h = sub.add_parser("history", parents=[common], help="the ledger")
    h.add_argument("--json", action="store_true")
    h.add_argument("--limit", type=int, default=20)
    rs = sub.add_parser("restore", parents=[common], help="restore a PostgreSQL backup named in the ledger")
    rs.add_argument("backup_id")
    rs.add_argument("--approved-by")
    sub.add_parser("reconcile", parents=[common], help="converge: router up and healthy, leftovers removed")
    sub.add_parser("setup", parents=[common], help="PostgreSQL and Redis on the target, created when missing")
    return parser


_TARGET_OPTIONS = (
    "project",
    "host",
    "tls_ca",
    "tls_cert",
    "tls_key",
    "tls_verify",
    "ssh_key",
    "ssh_known_hosts",
    "network",
    "router_image",
    "router_conf",
    "router_port",
    "preview_port",
    "router_bind",
    "preview_bind",
    "public_host",
    "conf_volume",
    "state_dir",
    "postgres_image",
    "redis_image",
    "database_url",
    "retain_seconds",
    "health_timeout",
    "verify_seconds",
    "smoke",
    "smoke_config",
)


def _env_file(path: str | None) -> list[Assignment]:
    if not path:
        return []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--env-file {path!r} cannot be read ({exc.strerror}): expected a file") from None
    except UnicodeDecodeError:
        raise UsageError(f"--env-file {path!r} is not UTF-8 text: expected ROLE:NAME=VALUE lines") from None
    return parse_env_file(text, path)


def _target(args: argparse.Namespace) -> Target:
    overrides: dict[str, Any] = {k: getattr(args, k) for k in _TARGET_OPTIONS}
    for key in ("migrate_command", "smoke_command"):
        value = getattr(args, key)
        if value is not None:
            overrides[key] = tuple(shlex.split(value))
    target = load_target(args.config, **overrides)
    assignments = [
        *_env_file(args.env_file),
        *(parse_assignment(item, f"--env #{n}") for n, item in enumerate(args.env, start=1)),
    ]
    if assignments:
        roles = dict(target.roles)
        for a in assignments:
            roles[a.role] = replace(roles[a.role], env={**roles[a.role].env, a.name: a.value})
        target = replace(target, roles=roles)
    return target


def _print_history(entries: list[LedgerRecord]) -> None:
    for e in entries:
        phases = " ".join(
            f"{p['name']}:{p.get('seconds', '?')}s{'' if p.get('ok') else '!'}" for p in e.get("phases", [])
        )
        print(
            f"{e['id']}  {e.get('kind', '?'):9} {e.get('result', '?'):12} colour={e.get('colour') or '-'} "
            f"approved_by={e.get('approved_by') or '-'}"
        )
        for role, ref in digests_of(e).items():
            if ref:
                print(f"    {role:8} {ref}")
        if e.get("backup"):
            print(f"    backup   {e['backup'].get('id')} {e['backup'].get('bytes', '')}")
        if e.get("reason"):
            print(f"    reason   {e['reason']}")
        if phases:
            print(f"    phases   {phases}")


def _colour_mark(colour: str, info: dict[str, Any], live: str | None) -> str:
    """LIVE only for a completed release; a colour whose deploy never completed says so."""
    release = Release(info["release"])
    if release is Release.COMPLETED:
        return "LIVE" if colour == live else "idle"
    return ("SERVING, " if colour == live else "") + str(release.value).upper()


def _print_status(st: dict[str, Any]) -> None:
    router = st["router"]
    print(f"project {st['project']} on {st['host']}")
    where = (
        f"{router['name']} {router['state']}" if router else "MISSING (rerun deploy or reconcile to recreate)"
    )
    print(f"router  {where}")
    print(f"live    {st['live'] or 'none'} at {st['live_url']}")
    print(f"preview {st['preview'] or 'none'} at {st['preview_url']}")
    if st.get("router_drift"):
        print(f"WARNING {st['router_drift']}: run reconcile to rewrite it for what nginx serves")
    for colour, info in st["colours"].items():
        mark = _colour_mark(colour, info, st["live"])
        http = "" if "http_ok" not in info else f" http={'ok' if info['http_ok'] else 'FAIL'}"
        print(f"{colour:6}  {mark} deploy={info['deploy_id'] or '?'}{http}")
        for role, c in info["containers"].items():
            print(f"    {role:8} {c['state']}/{c['health'] or '-'} {info['images'].get(role, '')}")
    for warning in st["warnings"]:
        print(f"WARNING {warning}")
    if st["lock"]:
        print(
            f"lock    held by {st['lock'].get('command')} {st['lock'].get('id')} pid {st['lock'].get('pid')}"
        )
    print("last deploys:")
    for e in st["last"]:
        print(f"    {e['id']} {e.get('kind')} {e.get('result')} {e.get('colour', '-')} {e.get('reason', '')}")


def _docker(args: argparse.Namespace, login: RegistryLogin | None = None) -> Deployer:
    """The docker-host deployer; imported here so a Kubernetes command does not load the docker SDK."""
    from neosale_deploy.deployer import Deployer

    return Deployer(_target(args), login=login)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds: the lock is released and the ledger says "interrupted".
    raise SystemExit(128 + signum)


def _deploy(args: argparse.Namespace) -> int:
    # Checked before connecting anywhere: a bad reference changes nothing.
    backend = ImageRef.parse(args.backend, "--backend")
    frontend = ImageRef.parse(args.frontend, "--frontend")
    login = RegistryLogin.from_env(args.registry_user)
    return _docker(args, login).deploy(
        backend,
        frontend,
        args.approved_by,
        args.production,
        migrate=not args.skip_migrations,
        expect_revision=args.expect_revision,
    )


def _rollback(args: argparse.Namespace) -> int:
    # A release whose colour is gone is pulled again: it may need the login.
    login = RegistryLogin.from_env(args.registry_user)
    return _docker(args, login).rollback(args.approved_by)


def _status(args: argparse.Namespace) -> int:
    st = _docker(args).status()
    if args.json:
        print(json.dumps(st, indent=2))
    else:
        _print_status(st)
    return 0


def _history(args: argparse.Namespace) -> int:
    entries = _docker(args).history()[-args.limit :]
    if args.json:
        for e in entries:
            print(json.dumps(e, sort_keys=True))
    else:
        _print_history(entries)
    return 0


# One function per subcommand (build_parser declares their options).
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "deploy": _deploy,
    "rollback": _rollback,
    "restore": lambda args: _docker(args).restore(args.backup_id, args.approved_by),
    "reconcile": lambda args: _docker(args).reconcile_command(),
    "setup": lambda args: _docker(args).setup(),
    "status": _status,
    "history": _history,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if args.kube_namespace:
            return kube_cli.run(args)
        return COMMANDS[args.command](args)
    except DeployError as exc:
        print(f"neosale-deploy: error: {exc}", file=sys.stderr)
        return exc.exit_code
