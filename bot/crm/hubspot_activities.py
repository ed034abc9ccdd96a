"""Activities made in HubSpot (calls, emails, meetings, notes) as Leadbot reads them back to count as touches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.crm.records import LEADBOT_SIGNATURE, CrmActivity

# Activities made in HubSpot that count as touches: object → (contact method, title property, body property).
ENGAGEMENTS = {
    "calls": ("call", "hs_call_title", "hs_call_body"),
    "emails": ("email", "hs_email_subject", "hs_email_text"),
    "meetings": ("meeting", "hs_meeting_title", "hs_meeting_body"),
    "notes": ("other", "hs_note_body", "hs_note_body"),
}
# The object type ids webhooks name them by.
ENGAGEMENT_TYPE_IDS = {"0-48": "calls", "0-49": "emails", "0-47": "meetings", "0-46": "notes"}


def _from_ms_or_iso(value: str | None) -> datetime | None:
    """hs_timestamp as HubSpot answers it: an ISO instant (or, from older portals, epoch milliseconds)."""
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def activity_read(objects: str, found: Any) -> CrmActivity:
    """hubspot-api-client's answer to a read with ?associations=contacts, in Leadbot's terms."""
    channel, title_name, body_name = ENGAGEMENTS[objects]
    properties = found.properties or {}
    contacts = (found.associations or {}).get("contacts")
    text = f"{properties.get(title_name) or ''}\n{properties.get(body_name) or ''}"
    return CrmActivity(
        id=f"{objects}:{found.id}",
        channel=channel,
        owner_crm_id=properties.get("hubspot_owner_id") or None,
        at=_from_ms_or_iso(properties.get("hs_timestamp")) or found.created_at,
        record_ids=tuple(str(a.id) for a in (contacts.results if contacts else None) or []),
        title=(properties.get(title_name) or "")[:200],
        by_leadbot=LEADBOT_SIGNATURE in text,
    )
