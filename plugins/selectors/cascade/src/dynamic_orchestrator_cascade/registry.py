"""The verifiers an orchestrator's cascade can use: what ``register_verifiers`` gathered."""

from __future__ import annotations

from typing import Any

from dynamic_orchestrator.log import get_logger

from . import hookspecs
from .hookspecs import VerifierFactory

log = get_logger("cascade")


def collect(pm: Any) -> dict[str, VerifierFactory]:
    """Add the cascade's hook to ``pm`` (once) and call it: every registered verifier by
    name, the first registration of a name kept (pluggy's order: the built-ins last)."""
    caller = getattr(pm.hook, "register_verifiers", None)
    if caller is None or caller.spec is None:
        pm.add_hookspecs(hookspecs)
    found: dict[str, VerifierFactory] = {}

    def register(name: str, factory: VerifierFactory) -> None:
        if not isinstance(name, str) or not name or not callable(factory):
            raise TypeError("register_verifiers: call register(name, factory)")
        if name in found:
            log.info("verifier_registered_twice", name=name, kept="the first")
            return
        found[name] = factory

    pm.hook.register_verifiers(register=register)
    return found


def unknown(name: str, known: dict[str, VerifierFactory]) -> str:
    """The message for a verifier name nothing registered."""
    return f"plugins.cascade.verifier: unknown verifier {name!r}; known: {', '.join(sorted(known))}"
