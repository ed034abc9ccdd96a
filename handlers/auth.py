"""Who may call the HTTP endpoints: the intake token, and HubSpot's v3 signature. One place for both."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from flask import request

from bot.intake.crm_webhooks import hubspot_signature_ok

if TYPE_CHECKING:
    from bot.runtime.leadbot import Leadbot


def bearer_token_ok(header: str | None, expected: str | None) -> bool:
    if not expected or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), expected.encode())


def hubspot_signed(leadbot: Leadbot, body: bytes) -> bool:
    """The request in hand carries HubSpot's v3 signature of this body, made at most five minutes ago."""
    return hubspot_signature_ok(
        secret=leadbot.settings.hubspot_client_secret or "",
        method=request.method,
        uris=[request.url, request.url.replace("http://", "https://", 1)],
        body=body,
        timestamp=request.headers.get("X-HubSpot-Request-Timestamp"),
        signature=request.headers.get("X-HubSpot-Signature-v3"),
        now_ms=int(leadbot.clock.now().timestamp() * 1000),
    )
