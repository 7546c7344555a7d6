"""Which transport carries a provider's calls: the lean client for plain HTTP, aiohttp otherwise."""

from __future__ import annotations

import aiohttp

from rejoinder.providers.transport import Transport
from rejoinder.providers.transport.http1 import Http1Response
from tests.scripted_upstream import ScriptedUpstream

BODY = [b'{"model":"m","messages":[{"role":"user","content":"hi"}]}']
HEADERS = {"content-type": "application/json"}


async def _posted(transport: Transport) -> object:
    answer = await transport.post(BODY, HEADERS)
    try:
        assert answer.status == 200 and await answer.read()
    finally:
        answer.close()
    return answer


async def test_plain_http_takes_the_lean_client_even_after_a_model_listing(
    scripted_upstream: ScriptedUpstream,
) -> None:
    transport = Transport(f"{scripted_upstream.base_url}/chat/completions", 5.0)
    listing = await transport.get(f"{scripted_upstream.base_url}/models", {})  # always aiohttp
    listing.close()

    assert isinstance(await _posted(transport), Http1Response)
    assert isinstance(await _posted(transport), Http1Response)
    await transport.aclose()


async def test_request_hooks_or_an_injected_session_take_aiohttp(scripted_upstream: ScriptedUpstream) -> None:
    url = f"{scripted_upstream.base_url}/chat/completions"
    hooked = Transport(url, 5.0, trace_configs=[aiohttp.TraceConfig()])
    async with aiohttp.ClientSession() as session:
        injected = Transport(url, 5.0, session)

        for transport in (hooked, injected):
            assert not isinstance(await _posted(transport), Http1Response)
            await transport.aclose()
        assert not session.closed, "an injected session is its owner's to close"
