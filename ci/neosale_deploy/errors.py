"""Errors with messages meant for the operator: they name the value and what is expected."""

from __future__ import annotations


class DeployError(Exception):
    """A command could not do its work; live traffic is as it was unless the message says otherwise."""

    exit_code = 1


class UsageError(DeployError):
    """Bad input: an option, an image reference, a config or ledger value."""

    exit_code = 2


class LedgerError(UsageError):
    """A ledger line that is not a record; the message names the line."""


class LockHeldError(DeployError):
    """Another deploy holds the target's lock."""

    exit_code = 3
