"""The deployer's commands on a Kubernetes target: `--kube-namespace NS` (and
`--kubeconfig`, default $KUBECONFIG) instead of a docker host."""

from __future__ import annotations

import argparse
import json
import os
import shlex
from dataclasses import replace

from neosale_deploy.errors import UsageError
from neosale_deploy.kube.deployer import KubeDeployer, KubeTarget
from neosale_deploy.reference import ImageRef

COMMANDS = ("deploy", "rollback", "status", "history")


def add_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Kubernetes target (Argo Rollouts; instead of a docker host)")
    g.add_argument(
        "--kube-namespace",
        default=os.environ.get("NEOSALE_KUBE_NAMESPACE"),
        help="namespace holding the NEOSALE manifests (deploy/kubernetes)",
    )
    g.add_argument(
        "--kubeconfig", default=os.environ.get("KUBECONFIG"), help="kubeconfig file (default: $KUBECONFIG)"
    )


def run(args: argparse.Namespace) -> int:
    if args.command not in COMMANDS:
        raise UsageError(
            f"{args.command} is for docker hosts: on Kubernetes expected one of {', '.join(COMMANDS)}"
        )
    if not args.kubeconfig:
        raise UsageError("--kube-namespace needs a kubeconfig: pass --kubeconfig PATH or set KUBECONFIG")
    target = KubeTarget(args.kubeconfig, args.kube_namespace)
    if getattr(args, "migrate_command", None):
        target = replace(target, migrate_command=tuple(shlex.split(args.migrate_command)))
    if args.command == "deploy":
        # Checked before connecting anywhere: a bad reference changes nothing.
        backend = ImageRef.parse(args.backend, "--backend")
        frontend = ImageRef.parse(args.frontend, "--frontend")
        return KubeDeployer(target).deploy(
            backend,
            frontend,
            args.approved_by,
            args.production,
            migrate=not args.skip_migrations,
            expect_sha=args.expect_revision or "",
        )
    dep = KubeDeployer(target)
    if args.command == "rollback":
        return dep.rollback(args.approved_by)
    if args.command == "status":
        print(json.dumps(dep.status(), indent=2))
        return 0
    for entry in dep.history()[-args.limit :]:
        print(json.dumps(entry, sort_keys=True))
    return 0
