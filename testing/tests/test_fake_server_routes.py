"""The fake provider server can be taught another wire format on an extra route."""

from __future__ import annotations

import httpx2
from dynamic_orchestrator_testing.fake_server import FakeProviderServer
from starlette.requests import Request
from starlette.responses import JSONResponse


async def test_an_extra_route_is_served_before_the_built_in_ones(
    fake_provider_server: FakeProviderServer,
) -> None:
    async def cohere(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"text": "fourth format: " + body["message"]})

    fake_provider_server.add_route("/v2/chat", cohere)
    async with httpx2.AsyncClient(base_url=fake_provider_server.url) as client:
        answer = await client.post("/v2/chat", json={"message": "hi"})
        assert answer.json() == {"text": "fourth format: hi"}
        built_in = await client.post(
            "/v1/messages",
            json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        )
        assert built_in.json()["content"][0]["text"] == "echo: x"
