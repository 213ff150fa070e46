"""The cascade's own hook: installed plugins add verifiers by name.

The cascade adds this specification to the plugin manager when an orchestrator starts
(``pm.add_hookspecs``), so the host's hooks stay the host's. A plugin that implements it
marks the implementation ``optionalhook=True`` (pluggy's way to implement another
plugin's hook): it then loads whether or not the cascade is installed, and whichever
registers first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dynamic_orchestrator import hookspec

if TYPE_CHECKING:
    from dynamic_orchestrator.contract import Config

    from .verifiers import Verifier


@dataclass(frozen=True)
class VerifierRequest:
    """What a verifier factory is given for one request."""

    text: str
    """The request's text (what a self-check asks about)."""
    config: Config
    """The loaded configuration: ``config.plugin_settings("cascade", CascadeSettings)`` for
    the cascade's settings, or the verifier plugin's own section."""


VerifierFactory = Callable[[VerifierRequest], "Verifier"]
"""Makes the verifier for one request (a verifier may hold per-request state)."""


@hookspec
def register_verifiers(register: Callable[[str, VerifierFactory], None]) -> None:
    """Add verifiers the cascade can be set to (``plugins.cascade.verifier: <name>``).

    Called once when an orchestrator starts. A verifier judges the answers gathered so far
    (:class:`~dynamic_orchestrator_cascade.verifiers.Verifier`): ``accept``, ``escalate``
    or ``more``. The built-ins (``agreement``, ``scorer``, ``self_check``) are registered
    the same way, last, so a plugin registering one of their names replaces it.

    :param register: call ``register(name, factory)`` once per verifier; ``factory``
        takes a :class:`VerifierRequest` and returns the verifier for that request. The
        first registration of a name wins.
    """
