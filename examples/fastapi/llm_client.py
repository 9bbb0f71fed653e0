"""An async OpenAI-compatible chat-completions client on httpx that streams the response chunks.

It owns the transport only: the request, the status check and the server-sent events. The caller
measures and reports the call by feeding the chunks to llm_openai.CallMeter, as app.py does, so
TTFT is timed exactly as in the standard-library client examples/python/llm_openai.py.

    client = OpenAIChatStreamer()          # $OPENAI_BASE_URL, $OPENAI_API_KEY
    async for chunk in client.stream_chat("gpt-4o-mini", [{"role": "user", "content": "Hi"}]):
        ...                                # each a chat.completion.chunk dict
    await client.aclose()
"""
import os

import httpx

from llm_openai import DEFAULT_BASE_URL, DONE, IncompleteStreamError, chat_request_body, sse_payload


class OpenAIChatStreamer:
    """Streams chat completions from base_url (default $OPENAI_BASE_URL, else OpenAI's API) with
    api_key (default $OPENAI_API_KEY; no Authorization header without one). Safe to share between
    the tasks of one event loop; close it with aclose().

    stream_chat raises httpx.HTTPStatusError for an error status, httpx.TransportError (e.g.
    RemoteProtocolError) for a connection lost mid-stream, and IncompleteStreamError for a
    stream that ends before `data: [DONE]`.
    """

    def __init__(self, base_url=None, api_key=None, *, timeout=60.0, http=None):
        base = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.url = base.rstrip("/") + "/chat/completions"
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.http = http or httpx.AsyncClient(timeout=timeout)

    async def stream_chat(self, model, messages, **params):
        """Yields the parsed chunks of one streamed call (the usage chunk included)."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = chat_request_body(model, messages, True, **params)
        async with self.http.stream("POST", self.url, json=body, headers=headers) as response:
            if response.status_code >= 400:
                await response.aread()  # so that the error carries the provider's message
                response.raise_for_status()
            async for line in response.aiter_lines():
                payload = sse_payload(line)
                if payload is DONE:
                    return
                if payload is not None:
                    yield payload
        raise IncompleteStreamError("the stream ended before data: [DONE]")

    async def aclose(self):
        await self.http.aclose()
