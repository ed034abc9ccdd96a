"""What the HubSpot stand-in knows of a fresh portal: its objects' properties, pipeline and association types."""

from __future__ import annotations

OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "calls": "0-48", "emails": "0-49"}
OBJECT_TYPE_IDS |= {"notes": "0-46", "meetings": "0-47"}
# Writable properties per object, with the options of enumerations (a fresh portal's).
PROPERTIES: dict[str, dict[str, tuple[str, ...] | None]] = {
    "contacts": {
        "email": None, "firstname": None, "lastname": None, "company": None, "jobtitle": None, "phone": None,
        "country": None, "state": None, "industry": None, "hubspot_owner_id": None,
        "hs_lead_status": (
            "NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING",
        ),
        "lifecyclestage": (
            "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
            "evangelist", "other",
        ),
    },
    "companies": {"name": None, "domain": None, "hubspot_owner_id": None},
    "deals": {
        "dealname": None, "pipeline": None, "dealstage": None, "closedate": None, "amount": None,
        "description": None, "hubspot_owner_id": None,
    },
    "calls": {
        "hs_timestamp": None, "hs_call_title": None, "hs_call_body": None, "hubspot_owner_id": None,
        "hs_call_direction": ("INBOUND", "OUTBOUND"),
        "hs_call_status": ("BUSY", "CALLING_CRM_USER", "CANCELED", "COMPLETED", "CONNECTING", "FAILED", "IN_PROGRESS",
                           "MISSED", "NO_ANSWER", "QUEUED", "RINGING"),
    },
    "emails": {
        "hs_timestamp": None, "hs_email_subject": None, "hs_email_text": None, "hubspot_owner_id": None,
        "hs_email_direction": ("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
        "hs_email_status": ("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"),
    },
    "notes": {"hs_timestamp": None, "hs_note_body": None, "hubspot_owner_id": None},
    "meetings": {
        "hs_timestamp": None, "hs_meeting_title": None, "hs_meeting_body": None, "hubspot_owner_id": None,
        "hs_meeting_start_time": None, "hs_meeting_end_time": None,
        "hs_meeting_outcome": ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"),
    },
}  # fmt: skip
# The default sales pipeline's stages.
PIPELINES = {
    "default": (
        "appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
        "contractsent", "closedwon", "closedlost",
    )
}  # fmt: skip
# HUBSPOT_DEFINED association types allowed from one object type to another.
ASSOCIATION_TYPES = {
    ("calls", "contacts"): {194},
    ("emails", "contacts"): {198},
    ("notes", "contacts"): {202},
    ("meetings", "contacts"): {200},
    ("notes", "deals"): {214},
    ("deals", "contacts"): {3},
    ("deals", "companies"): {5, 341},
    ("contacts", "companies"): {1, 279},
}
ACTIVITIES = ("calls", "emails", "notes", "meetings")
# An activity's association label to a contact, as a read with ?associations=contacts names it.
ASSOCIATION_LABELS = {"calls": "call_to_contact", "emails": "email_to_contact", "notes": "note_to_contact",
                      "meetings": "meeting_event_to_contact"}  # fmt: skip
