"""uvicorn's server for a process that serves until it is stopped: once started it settles
its heap (:func:`dynamic_orchestrator.serving_heap.settle_heap`). Imported only by the
commands that serve over HTTP (``gateway``, ``serve --transport http``), so uvicorn is
imported on demand.
"""

from __future__ import annotations

import socket

import uvicorn
from dynamic_orchestrator.serving_heap import settle_heap

__all__ = ["SettledServer"]


class SettledServer(uvicorn.Server):
    """A uvicorn server that settles the process's heap after start-up."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        settle_heap()
