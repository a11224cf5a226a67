"""HTTP hygiene for the study app: body size limits, strict JSON, protective headers."""

from __future__ import annotations

import json
import re

from fastapi import HTTPException, Request

MAX_BODY = 4096  # bytes; the largest legitimate request is a name of 80 characters
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # The owner token travels in the results page URL; never send it on as a Referer.
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
]


class GuardMiddleware:
    """Pure ASGI middleware: refuse declared oversized bodies early; add security headers.

    Bodies without a Content-Length (chunked) are limited while reading, in `read_json`.
    """

    def __init__(self, app, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                if not v.isdigit():
                    await _plain(send, 400, b"bad Content-Length")
                    return
                if int(v) > self.max_body:
                    await _plain(send, 413, b"request body too large")
                    return

        async def send_guarded(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_guarded)


async def _plain(send, status: int, text: bytes) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(text)).encode()),
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})


async def read_json(request: Request, limit: int = MAX_BODY) -> dict:
    """The request body as a JSON object; 413 when over `limit` bytes, 400 when not JSON."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, "request body too large")
    if not body:
        return {}
    # JSON only: a cross-site form or text/plain post would otherwise get through without
    # a CORS preflight.
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(415, "send the body as application/json")
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        raise HTTPException(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "request body must be a JSON object")
    return data


def check_keys(data: dict, allowed: set[str]) -> None:
    """Raise a 400 error naming the fields of a request body that are not in `allowed`."""
    extra = sorted(set(data) - allowed)
    if extra:
        raise HTTPException(400, f"unknown field(s): {', '.join(extra)}")


def valid_token(text: str) -> bool:
    """A session id or image token as this app makes them (random URL-safe text)."""
    return TOKEN_RE.fullmatch(text) is not None
