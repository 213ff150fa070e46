"""The gateway in a background thread, for tests: :class:`GatewayServer` (re-exported)."""

from __future__ import annotations

from ..gateway.server import GatewayServer

__all__ = ["GatewayServer"]
