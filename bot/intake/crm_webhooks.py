"""CRM webhooks: HubSpot workflow webhooks (signed, v3) and Salesforce Flow callouts, mapped to intake fields."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import unquote

HUBSPOT_MAX_AGE_MS = 5 * 60 * 1000

HUBSPOT_FIELDS = {
    "email": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "company": "company",
    "jobtitle": "title",
    "phone": "phone",
    "mobilephone": "phone",
    "country": "country",
    "state": "region",
    "numemployees": "company_size",
    "company_size": "company_size",
    "industry": "industry",
    "hs_analytics_source": "source",
    "createdate": "created_at",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
    "demo_request": "demo_request",
    "product_interest": "product_interest",
}
SALESFORCE_FIELDS = {
    "Email": "email",
    "FirstName": "first_name",
    "LastName": "last_name",
    "Company": "company",
    "Title": "title",
    "Phone": "phone",
    "MobilePhone": "phone",
    "Country": "country",
    "State": "region",
    "NumberOfEmployees": "company_size",
    "Industry": "industry",
    "LeadSource": "source",
    "CreatedDate": "created_at",
}


def hubspot_signature_ok(
    *, secret: str, method: str, uris: list[str], body: bytes, timestamp: str | None, signature: str | None, now_ms: int
) -> bool:
    """HubSpot's v3 scheme: base64(HMAC-SHA256(secret, method + uri + body + timestamp)), at most 5 minutes old.

    `uris` are the URLs the request may have been sent to (behind a TLS-terminating proxy the app
    sees http:// where HubSpot signed https://).
    """
    if not secret or not signature or not timestamp or not timestamp.isdigit():
        return False
    if abs(now_ms - int(timestamp)) > HUBSPOT_MAX_AGE_MS:
        return False
    for uri in uris:
        message = method.encode() + unquote(uri).encode() + body + timestamp.encode()
        expected = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
        if hmac.compare_digest(expected, signature):
            return True
    return False


def _value(raw: Any) -> Any:
    """HubSpot sends a property as its value or as {"value": ...}."""
    return raw.get("value") if isinstance(raw, dict) else raw


def _enum_to_words(value: str) -> str:
    return value.replace("_", " ").title() if value.isupper() else value


def from_hubspot(payload: Any) -> dict:
    """A HubSpot workflow webhook (one enrolled contact) as an intake lead; unknown properties are kept."""
    if not isinstance(payload, dict):
        return payload
    properties = payload.get("properties", payload)
    lead: dict = {}
    for name, raw in properties.items() if isinstance(properties, dict) else []:
        value = _value(raw)
        if value in (None, ""):
            continue
        field = HUBSPOT_FIELDS.get(name, name)
        if field == "source" and isinstance(value, str):
            value = _enum_to_words(value)  # PAID_SEARCH → Paid Search
        if field == "demo_request" and isinstance(value, str):
            value = value.lower() == "true"
        lead.setdefault(field, value)
    record_id = payload.get("objectId") or payload.get("vid")
    if record_id is not None:
        lead["external_id"] = f"hubspot:{record_id}"
    return lead


def from_salesforce(payload: Any) -> dict:
    """A Salesforce Lead record as a Flow HTTP callout sends it; custom fields (…__c) are kept."""
    if not isinstance(payload, dict):
        return payload
    lead: dict = {}
    for name, value in payload.items():
        if name == "attributes" or value in (None, ""):
            continue
        if name == "Id":
            lead["external_id"] = f"salesforce:{value}"
            continue
        lead.setdefault(SALESFORCE_FIELDS.get(name, name), value)
    return lead
