"""The background task that runs every service's session for one orchestrator.

The sessions outlive the ``startup`` hook that opens them and are closed by ``shutdown``,
which the host may call from another task or inside a shielded scope; a task group held
across those two calls would break anyio's nesting rules. So the pool runs one root task
of its own (an asyncio task, or a trio system task), holding a task group with one
:meth:`~.connection.McpService.run` loop per service, and ``stop`` asks every loop to
finish and waits for the root to end (cancelling it past a deadline).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import anyio
from dynamic_orchestrator.log import get_logger

from .connection import McpService

__all__ = ["ServicePool"]

log = get_logger("mcp_services.pool")


class ServicePool:
    """Runs the sessions of some services in the background."""

    def __init__(self, services: Sequence[McpService]) -> None:
        self.services = list(services)
        self._task: Any = None
        self._scope: anyio.CancelScope | None = None
        self._done: anyio.Event | None = None

    async def start(self, wait: float) -> None:
        """Start every session; wait up to ``wait`` seconds for their first listings.

        Never raises because a service failed: it is logged and retried in the background.
        """
        self._done = anyio.Event()
        for service in self.services:
            service.prepare()
        self._task = _spawn(self._root)
        with anyio.move_on_after(wait) as scope:
            for service in self.services:
                await service.first_attempt.wait()
        if scope.cancelled_caught:
            pending = [s.name for s in self.services if not s.first_attempt.is_set()]
            log.warning("services_still_connecting", services=pending, waited=wait)

    async def _root(self) -> None:
        assert self._done is not None
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                async with anyio.create_task_group() as group:
                    for service in self.services:
                        group.start_soon(service.run, name=f"mcp-service-{service.name}")
        except Exception as exc:  # the loops catch their own errors; this is a last guard
            log.error("service_pool_failed", error=repr(exc))
        finally:
            self._done.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Close every session (children are ended) and wait for the background task."""
        if self._done is None:
            return
        for service in self.services:
            service.stop()
        with anyio.move_on_after(timeout):
            await self._done.wait()
        if not self._done.is_set() and self._scope is not None:
            log.warning("service_pool_cancelled", timeout=timeout)
            self._scope.cancel()
            with anyio.move_on_after(timeout):
                await self._done.wait()


def _spawn(func: Any) -> Any:
    """Run ``func()`` as a task of its own on the running event loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: trio
        import trio

        trio.lowlevel.spawn_system_task(func)
        return None
    return loop.create_task(func())
