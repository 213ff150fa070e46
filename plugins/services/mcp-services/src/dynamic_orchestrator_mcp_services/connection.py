"""One downstream MCP service: its session, its tools, and restarts when it dies.

:class:`McpService` is what ``register_services`` registers. Its :meth:`McpService.run`
loop (started in the background by :mod:`.pool`) connects with the official SDK client
(stdio child or streamable HTTP), lists the tools, pins their definitions, and keeps the
session until the service is lost or stopped:

- a stdio child that exits is noticed at once (its stdout ends) and restarted after a
  jittered exponential backoff; a session that stayed up ``stable_after`` seconds resets
  the backoff;
- ``notifications/tools/list_changed`` and every ``refresh_interval`` re-list the tools
  (the re-listing doubles as a liveness check);
- a call that fails for a reason other than the tool itself triggers a re-listing, which
  reconnects if the service is gone.

Tool calls from any task share the session; a call waits for the connection within its
own timeout.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import anyio
import mcp_types as types
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.errors import OrchestratorError, redact
from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import ToolSpec
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types.jsonrpc import CONNECTION_CLOSED
from pydantic import JsonValue

from .environment import child_environment
from .names import qualified_name
from .pins import ToolPins, definition_hash
from .settings import SETTINGS_KEY, ServiceConfig, Settings

__all__ = ["McpService", "ServiceError", "qualified_name", "render_result"]

log = get_logger("mcp_services")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MAX_PAGES = 100


class ServiceError(OrchestratorError):
    """A downstream service could not run a tool call (not the tool's own error)."""


def _describe(exc: BaseException) -> str:
    """One line for an exception, the leaves of an exception group included."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    if isinstance(exc, MCPError):
        return f"MCPError {exc.error.code}: {exc.error.message}"
    text = str(exc)
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _blob_note(kind: str, mime: str | None, data: str) -> str:
    return f"[{kind} {mime or 'unknown type'}, {len(data)} base64 characters, not shown]"


def render_result(result: types.CallToolResult) -> str:
    """A tool result as text: text blocks as they are, other blocks as a short note."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent):
            parts.append(_blob_note("image", block.mime_type, block.data))
        elif isinstance(block, types.AudioContent):
            parts.append(_blob_note("audio", block.mime_type, block.data))
        elif isinstance(block, types.EmbeddedResource):
            res = block.resource
            if isinstance(res, types.TextResourceContents):
                parts.append(f"[resource {res.uri}]\n{res.text}")
            else:
                parts.append(f"[resource {res.uri}] " + _blob_note("blob", res.mime_type, res.blob))
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[resource link {block.uri} ({block.name})]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    text = "\n".join(parts)
    return f"error from the tool: {text}" if result.is_error else text


class _EofWatchingStream:
    """A transport read stream that reports its end (a stdio child that exited)."""

    def __init__(self, inner: Any, on_eof: Any) -> None:
        self._inner = inner
        self._on_eof = on_eof

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_eof()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _EofWatchingStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _EofWatchingStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class McpService:
    """A downstream MCP server from ``mcp_services`` (a ``Service``)."""

    def __init__(
        self,
        name: str,
        service: ServiceConfig,
        *,
        settings: Settings,
        pins: ToolPins,
        config: Config,
    ) -> None:
        self.name = name
        self.capabilities = list(service.capabilities)
        self.service = service
        self.settings = settings
        self.pins = pins
        self.env = (
            child_environment(name, service.env, config, pass_env=settings.pass_env)
            if service.type == "stdio"
            else None
        )
        self.state = "idle"
        self.last_error: str | None = None
        self.restarts = 0
        self.listing_version = 0
        self.blocked: set[str] = set()
        self._tools: list[ToolSpec] = []
        self._names: set[str] = set()
        self._client: Client | None = None
        self._started = False
        self._stopping = False
        self._lost = False
        self._refresh = False

    # --- the Service protocol ------------------------------------------------------------

    def known_tools(self) -> list[ToolSpec]:
        """The tools of the last listing (without blocked ones); empty until first listed."""
        return self._tools

    async def call_tool(self, name: str, arguments: dict[str, JsonValue], *, timeout: float) -> str:
        """Call one tool and return its result as text (untrusted data).

        :raises ServiceError: the tool is unknown or blocked, or the service could not run it.
        :raises TimeoutError: no answer within ``timeout`` seconds, or the service's own
            ``timeout`` if shorter (connecting included); the message names the service.
        """
        tool = self._resolve(name)
        if not self._started or self._stopping:
            raise ServiceError(f"service {self.name!r} is not running")
        own = self.service.timeout
        limit, setting = (
            (own, f"plugins.{SETTINGS_KEY}.services.{self.name}.timeout")
            if own is not None and own < timeout
            else (timeout, "tools.tool_timeout")
        )
        try:
            return await self._call(tool, arguments, limit)
        except TimeoutError:
            raise TimeoutError(
                f"service {self.name!r} did not answer tool {name!r} within {limit:g}s ({setting})"
            ) from None

    async def _call(self, tool: str, arguments: dict[str, JsonValue], timeout: float) -> str:
        with anyio.fail_after(timeout):
            client = await self._connected()
            try:
                result = await client.call_tool(tool, dict(arguments), read_timeout_seconds=timeout)
            except MCPError as exc:
                if exc.error.code == CONNECTION_CLOSED:
                    self._mark_lost()
                    raise ServiceError(
                        f"service {self.name!r} closed the connection during the call; "
                        "it is being restarted"
                    ) from None
                raise ServiceError(f"service {self.name!r}: {exc.error.message}") from None
            except (TimeoutError, anyio.get_cancelled_exc_class()):
                raise
            except Exception as exc:
                self._signal(refresh=True)
                raise ServiceError(f"service {self.name!r}: {_describe(exc)}") from None
        return render_result(result)

    # --- names ---------------------------------------------------------------------------

    def _resolve(self, name: str) -> str:
        if name in self.blocked:
            raise ServiceError(
                f"tool {name!r} of service {self.name!r} is blocked: its definition changed "
                "since it was pinned"
            )
        if name in self._names:
            return name
        for tool in self._names:
            if qualified_name(self.name, tool) == name:
                return tool
        raise ServiceError(f"service {self.name!r} has no tool {name!r}")

    # --- the supervisor loop ---------------------------------------------------------------

    def prepare(self) -> None:
        """Create the loop-bound events; called by the pool inside the event loop."""
        self._wake = anyio.Event()
        self._ready = anyio.Event()
        self.first_attempt = anyio.Event()
        self._stopped = anyio.Event()
        self._started = True

    def stop(self) -> None:
        """Ask :meth:`run` to close the session and return."""
        self._stopping = True
        if self._started:
            self._wake.set()
            self._stopped.set()

    def _mark_lost(self) -> None:
        """The session is gone: new calls wait for the next one; the loop reconnects."""
        self._client = None
        if self._started and self._ready.is_set():
            self._ready = anyio.Event()
        self._signal(lost=True)

    def _signal(self, *, lost: bool = False, refresh: bool = False) -> None:
        self._lost = self._lost or lost
        self._refresh = self._refresh or refresh
        if self._started:
            self._wake.set()

    async def _connected(self) -> Client:
        while self._client is None:
            if self._stopping:
                raise ServiceError(f"service {self.name!r} is stopping")
            await self._ready.wait()
        return self._client

    def _backoff(self, failures: int) -> float:
        cap = min(self.settings.backoff_max, self.settings.backoff_initial * (2**failures))
        return random.uniform(cap / 2, cap)

    async def run(self) -> None:
        """Connect, list, keep the session; restart with backoff until :meth:`stop`."""
        failures = 0
        while not self._stopping:
            started = anyio.current_time()
            self.state = "connecting"
            try:
                await self._session()
            except Exception as exc:
                self.last_error = _describe(exc)
                # The first failure in a row is a warning; the retries after it are info.
                (log.warning if failures == 0 else log.info)(
                    "service_failed", service=self.name, error=self.last_error, failures=failures
                )
            finally:
                self._client = None
                if self._ready.is_set():
                    self._ready = anyio.Event()
                self.first_attempt.set()
            if self._stopping:
                break
            if anyio.current_time() - started >= self.settings.stable_after:
                failures = 0
            delay = self._backoff(failures)
            failures += 1
            self.restarts += 1
            self.state = "restarting"
            log.info("service_restarting", service=self.name, delay=round(delay, 2))
            with anyio.move_on_after(delay):
                await self._stopped.wait()
        self.state = "stopped"

    def _transport(self) -> Any:
        if self.service.type == "http":
            assert self.service.url is not None
            return streamable_http_client(self.service.url)
        command = self.service.command or []
        params = StdioServerParameters(
            command=command[0], args=command[1:], env=self.env, cwd=self.service.cwd
        )
        return stdio_client(params)

    @asynccontextmanager
    async def _watched_transport(self) -> AsyncIterator[tuple[Any, Any]]:
        async with self._transport() as (read, write):
            yield _EofWatchingStream(read, self._mark_lost), write

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            log.debug("service_stream_error", service=self.name, error=_describe(message))
        elif isinstance(message, types.ToolListChangedNotification):
            log.info("service_tools_changed", service=self.name)
            self._signal(refresh=True)
        await anyio.lowlevel.checkpoint()

    async def _session(self) -> None:
        from dynamic_orchestrator import __version__

        self._lost = False
        self._refresh = False
        client = Client(
            self._watched_transport(),
            mode=self.settings.protocol,
            cache=None,
            read_timeout_seconds=self.settings.connect_timeout,
            message_handler=self._on_message,
            client_info=types.Implementation(name="dynamic-orchestrator", version=__version__),
        )
        async with client:
            with anyio.fail_after(self.settings.connect_timeout):
                await self._list(client)
            if self._lost:
                raise ServiceError(f"service {self.name!r} went away while being listed")
            self._client = client
            self.state = "ready"
            self.last_error = None
            self._ready.set()
            self.first_attempt.set()
            log.info("service_ready", service=self.name, tools=len(self._tools))
            await self._serve(client)

    async def _serve(self, client: Client) -> None:
        interval = self.settings.refresh_interval or None
        while True:
            if not (self._stopping or self._lost or self._refresh):
                self._wake = anyio.Event()
                with anyio.move_on_after(interval):
                    await self._wake.wait()
            if self._stopping:
                return
            if self._lost:
                raise ServiceError(f"service {self.name!r} went away")
            self._refresh = False
            with anyio.fail_after(self.settings.connect_timeout):
                await self._list(client)

    # --- listing ---------------------------------------------------------------------------

    async def _list(self, client: Client) -> None:
        tools: list[types.Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        self._publish(tools)

    def _publish(self, tools: list[types.Tool]) -> None:
        hashes = {t.name: definition_hash(t.name, t.description, t.input_schema) for t in tools}
        block = self.settings.on_tool_change == "block"
        check = self.pins.check(self.name, hashes, accept_changes=not block)
        for tool, pinned in check.changed.items():
            log.warning(
                "tool_definition_changed",
                service=self.name,
                tool=tool,
                pinned=pinned[:12],
                listed=hashes[tool][:12],
                action="blocked" if block else "accepted",
            )
        if self.listing_version and (check.added or check.removed):
            log.info(
                "tools_listing_changed", service=self.name, added=check.added, removed=check.removed
            )
        self.blocked = set(check.changed) if block else set()
        limit = self.settings.max_description_chars
        specs = [
            ToolSpec(
                name=t.name,
                description=_CONTROL.sub(" ", t.description or "")[:limit],
                input_schema=t.input_schema,
                service=self.name,
            )
            for t in tools
            if t.name not in self.blocked
        ]
        self._names = {s.name for s in specs}
        self._tools = specs
        self.listing_version += 1

    def status(self) -> Mapping[str, Any]:
        """State, tool count, restarts and last error, for diagnostics."""
        return {
            "state": self.state,
            "tools": len(self._tools),
            "blocked": sorted(self.blocked),
            "restarts": self.restarts,
            "last_error": self.last_error,
        }
