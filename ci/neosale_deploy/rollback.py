"""Rollback's decisions: switch back to the warm previous colour, or redeploy the last
completed release when that colour is gone; refuse, with nothing changed, when
neither is possible. Pure functions of the routing, the colour view and the
ledger, plus what the Host says of a colour's env."""

from __future__ import annotations

from neosale_deploy.appspec import app_env
from neosale_deploy.colours import Colours
from neosale_deploy.errors import DeployError, UsageError
from neosale_deploy.host import Host
from neosale_deploy.model import ROLES, Target, other_colour
from neosale_deploy.record import LedgerRecord
from neosale_deploy.releases import Release, env_names, missing_env, release_state, rollback_target
from neosale_deploy.routerconf import Routing


def release_of(
    colours: Colours, colour: str, entries: list[LedgerRecord], holder: str | None = None
) -> Release:
    return release_state(entries, colours.deploy_id(colour), colours.digests(colour), holder)


def warm_release(colours: Colours, live: str, entries: list[LedgerRecord]) -> bool:
    """The idle colour runs a completed release (reconcile may yet make it switchable)."""
    idle = other_colour(live)
    return colours.running(idle) and release_of(colours, idle, entries) is Release.COMPLETED


def switchable(routing: Routing | None, colours: Colours, entries: list[LedgerRecord]) -> str | None:
    """The idle colour when it runs a completed release behind the preview port and can
    take traffic at once (its health is asked next); a colour whose deploy never
    completed is never made live."""
    if routing is None or routing.live is None:
        return None
    prev = other_colour(routing.live)
    if routing.preview != prev or not warm_release(colours, routing.live, entries):
        return None
    return prev


def redeploy_target(colours: Colours, live: str, entries: list[LedgerRecord]) -> LedgerRecord:
    """The completed release to start again on the idle colour; refused when there is none."""
    target = rollback_target(entries, colours.digests(live))
    if target is not None:
        return target
    idle = other_colour(live)
    held = ""
    if colours.of(idle):
        state = release_of(colours, idle, entries).value
        held = f"; {idle} holds deploy {colours.deploy_id(idle) or '?'} ({state}), never vetted live"
    raise DeployError(
        f"nothing to roll back to: live {live} runs the only completed release in the ledger{held}; "
        f"live traffic stays on {live}"
    )


def env_needed(host: Host, colour: str) -> dict[str, set[str]]:
    """Per role, the env names `colour`'s containers were given beyond their image's own."""
    needed: dict[str, set[str]] = {}
    for role, c in host.colours().of(colour).items():
        container_env, image_env = host.env_given(c)
        needed[role] = env_names(container_env) - env_names(image_env)
    return needed


def check_env(target: Target, plan: LedgerRecord, live: str, needed: dict[str, set[str]]) -> None:
    """The redeploy has a value for every env name live runs with; refused (naming them) if not."""
    idle = other_colour(live)
    missing = missing_env(needed, {r: app_env(target, r, idle) for r in ROLES})
    if missing:
        raise UsageError(
            f"rollback must start {plan['id']} again on {idle} (its colour is gone), but no value is "
            f"given for {', '.join(missing)}, which live {live} runs with: pass the deploy's env file "
            "with --env-file PATH (ROLE:NAME=VALUE lines); nothing was changed"
        )


def redeploy_plan(host: Host, target: Target, live: str, entries: list[LedgerRecord]) -> LedgerRecord:
    """What a rollback without a warm colour starts again: checked before anything changes."""
    plan = redeploy_target(host.colours(), live, entries)
    check_env(target, plan, live, env_needed(host, live))
    return plan
