"""What the HubSpot stand-in sends out and what a person does in HubSpot's own screens.

Webhooks as HubSpot delivers an app's subscriptions (generic `object.creation` of calls, emails, meetings
and notes; `object.propertyChange` of a contact's `hubspot_owner_id`), v3-signed with the app's client
secret; Leadbot's own API writes produce them too (changeSource INTEGRATION), as in a real portal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from bot.devtools.standin.hubspot_schema import ASSOCIATION_TYPES, OBJECT_TYPE_IDS

APP_ID = 3010001  # the app whose webhook subscriptions the stand-in serves


def hubspot_v3_headers(secret: str, method: str, url: str, body: str, timestamp_ms: int) -> dict:
    """HubSpot's v3 request signature: base64(HMAC-SHA256(client secret, method + URI + body + timestamp))."""
    message = f"{method}{url}{body}{timestamp_ms}".encode()
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": str(timestamp_ms),
    }


ENGAGEMENT_TEXT = {
    "calls": ("hs_call_title", "hs_call_body"),
    "emails": ("hs_email_subject", "hs_email_text"),
    "meetings": ("hs_meeting_title", "hs_meeting_body"),
    "notes": ("hs_note_body", "hs_note_body"),
}


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class HubSpotPeople:
    """Mixed into FakeHubSpot (which has the lock, the objects, `_create`, `_update` and `emit`)."""

    def send_webhooks_to(self, url: str, client_secret: str, now=None) -> None:
        """Deliver the app's webhook subscriptions (activities created, contact owner changed) to `url`."""
        self.send_events_to(
            url, lambda to, body: hubspot_v3_headers(client_secret, "POST", to, body, _ms(self.now())), now
        )

    def log_activity_as_user(
        self, object_type: str, contact_id: str, owner_id: str | None, at: datetime | None = None, title: str = ""
    ) -> str:
        """A rep logs a call (email, meeting, note) on a contact in HubSpot; its id."""
        title_name, body_name = ENGAGEMENT_TEXT[object_type]
        properties = {"hs_timestamp": str(_ms(at or self.now())), title_name: title, body_name: ""}
        if owner_id:
            properties["hubspot_owner_id"] = owner_id
        type_id = min(ASSOCIATION_TYPES[(object_type, "contacts")])
        association = {"to": {"id": contact_id},
                       "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}  # fmt: skip
        with self._cond:
            return self._create(object_type, properties, [association], source="CRM_UI")["id"]

    def set_owner_as_user(self, contact_id: str, owner_id: str) -> None:
        """A person changes the contact's owner in HubSpot."""
        with self._cond:
            self._update("contacts", self.objects["contacts"][contact_id], {"hubspot_owner_id": owner_id},
                         source="CRM_UI")  # fmt: skip

    def _event(self, subscription_type: str, object_type: str, object_id: str, source: str, **more) -> None:
        self.emit([{
            "eventId": next(self._ids), "subscriptionId": 2025001, "portalId": int(self.portal_id), "appId": APP_ID,
            "occurredAt": _ms(self.now()), "subscriptionType": subscription_type, "attemptNumber": 0,
            "objectId": int(object_id), "objectTypeId": OBJECT_TYPE_IDS[object_type], "changeSource": source,
            "sourceId": "userId:7700001" if source == "CRM_UI" else str(APP_ID), **more,
        }])  # fmt: skip
