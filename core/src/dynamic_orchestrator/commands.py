"""What sub-commands share, the built-in ones and those plugins register."""

from __future__ import annotations

import click

__all__ = ["UsageFailure"]


class UsageFailure(click.ClickException):
    """Bad usage or bad configuration: the command exits with status 2."""

    exit_code = 2
