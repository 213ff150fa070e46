"""The streamed chat completion over a pooled ``aiohttp`` session: the gateway's hot path.

Building each request through the SDK (its request options, headers and the ``httpx``
transport) was the largest share of a gateway turn's CPU when profiled. :class:`Wire`
sends the same request (the SDK client's own URL, headers and key, taken once) on a
keep-alive ``aiohttp`` session and yields the ``data:`` chunks as dicts. Errors keep the
SDK's meaning: an HTTP error status becomes the SDK's own :class:`openai.APIStatusError`
(built by the client from the response), an error chunk in the stream an
:class:`openai.APIError`, and a failed or timed-out connection an
:class:`openai.APIConnectionError` / :class:`openai.APITimeoutError`.

Used when ``aiohttp`` is installed and no proxy variable is set (the SDK honours those);
otherwise the provider streams through the SDK.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp
    import openai

__all__ = ["Wire", "wire_for"]


class Wire:
    """One provider's chat-completions endpoint on a pooled session (one per event loop)."""

    def __init__(self, client: openai.AsyncOpenAI) -> None:
        from openai._types import Omit

        self.client = client
        self.url = str(client.base_url).rstrip("/") + "/chat/completions"
        headers = {**client.default_headers, **client.auth_headers}
        self.headers = {
            k: v for k, v in headers.items() if isinstance(v, str) and not isinstance(v, Omit)
        }
        self.headers.update({"Content-Type": "application/json", "Accept": "text/event-stream"})
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_here(self) -> aiohttp.ClientSession:
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                skip_auto_headers=("User-Agent",),
                auto_decompress=False,
            )
            self._loop = loop
        return self._session

    async def chunks(self, body: dict[str, Any], timeout: float) -> AsyncIterator[Any]:
        """The streamed answer's chunks (dicts), after the status has been checked."""
        import aiohttp
        import openai

        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        limits = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        try:
            response = await self._session_here().post(
                self.url, data=data, headers=self.headers, timeout=limits
            )
        except TimeoutError:
            raise openai.APITimeoutError(request=self._request()) from None
        except aiohttp.ClientError as exc:
            raise openai.APIConnectionError(message=str(exc), request=self._request()) from exc
        try:
            if response.status >= 400:
                raise await self._status_error(response)
            buffer = b""
            async for piece in response.content.iter_any():
                buffer += piece
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    for line in event.splitlines():
                        if not line.startswith(b"data:"):
                            continue
                        payload = line[5:].strip()
                        if payload == b"[DONE]":
                            return
                        chunk = json.loads(payload)
                        if isinstance(chunk, dict) and chunk.get("error"):
                            error = chunk["error"]
                            message = error.get("message") if isinstance(error, dict) else None
                            raise openai.APIError(
                                message=message
                                if isinstance(message, str) and message
                                else "An error occurred during streaming",
                                request=self._request(),
                                body=error,
                            )
                        yield chunk
        except TimeoutError:
            raise openai.APITimeoutError(request=self._request()) from None
        except aiohttp.ClientError as exc:
            raise openai.APIConnectionError(message=str(exc), request=self._request()) from exc
        finally:
            response.release()

    def _request(self) -> Any:
        import httpx2

        return httpx2.Request("POST", self.url)

    async def _status_error(self, response: aiohttp.ClientResponse) -> openai.APIStatusError:
        import httpx2

        content = await response.read()
        answer = httpx2.Response(
            response.status,
            headers=list(response.headers.items()),
            content=content,
            request=self._request(),
        )
        return self.client._make_status_error_from_response(answer)

    async def aclose(self) -> None:
        """Close the session, when it belongs to the running loop."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                return
            if running is self._loop:
                await session.close()


def wire_for(client: openai.AsyncOpenAI) -> Wire | None:
    """A :class:`Wire` for this client, or None (no ``aiohttp``, or a proxy is set)."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return None
    if urllib.request.getproxies():
        return None
    return Wire(client)
