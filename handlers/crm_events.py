"""The CRM's own events: `POST /crm/hubspot/events` (HubSpot webhooks, v3-signed) and `POST /crm/salesforce/events`
(a record-triggered Flow's HTTP callout, with the intake token). Touches made there and owner changes.

Each route checks who sent it, parses the body once (bot.crm.inbound), hands the events to the rule
(bot.lifecycle.crm_events) and answers what became of each.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from flask import Flask, jsonify, request

from bot.crm.inbound import InvalidCrmEvent, hubspot_events, salesforce_events
from bot.crm.records import CrmBusy, CrmError
from bot.lifecycle.crm_events import take_crm_events
from handlers.auth import bearer_token_ok, hubspot_signed

if TYPE_CHECKING:
    from bot.runtime.leadbot import Leadbot

CRM_RETRY_AFTER_S = 30


def register_crm_event_routes(web: Flask, leadbot: Leadbot) -> None:
    @web.post("/crm/hubspot/events")
    def hubspot_crm_events():
        body = request.get_data(cache=False)
        if not hubspot_signed(leadbot, body):
            return jsonify(error="unauthorized", detail="bad, missing or stale X-HubSpot-Signature-v3"), 401
        return _take_events(leadbot, "hubspot", body, hubspot_events)

    @web.post("/crm/salesforce/events")
    def salesforce_crm_events():
        if not bearer_token_ok(request.headers.get("Authorization"), leadbot.settings.intake_token):
            return jsonify(error="unauthorized", detail="send Authorization: Bearer <LEADBOT_INTAKE_TOKEN>"), 401
        return _take_events(leadbot, "salesforce", request.get_data(cache=False), salesforce_events)


def _take_events(leadbot: Leadbot, system: str, raw: bytes, parse):
    crm = leadbot.config.crm
    if crm is None or crm.system != system:
        configured = f"crm.system is {crm.system}" if crm else "leadbot.yml has no crm: section"
        return jsonify(error="crm_not_configured", detail=f"{configured}: events from {system} are not taken"), 409
    try:
        events = parse(json.loads(raw or b""))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        return jsonify(error="malformed_json", detail=f"the body is not valid JSON: {exc}"), 400
    except InvalidCrmEvent as exc:
        return jsonify(error="invalid_event", fields=exc.fields), 422
    try:
        taken = take_crm_events(leadbot.engine, leadbot.config, leadbot.clock, leadbot.crm, system, events)
    except CrmError as exc:  # the CRM could not be read back: its webhook retries, and nothing is taken twice
        wait = int(exc.wait) + 1 if isinstance(exc, CrmBusy) else CRM_RETRY_AFTER_S
        body = jsonify(error="crm_unavailable", detail=f"could not read {system} back: {exc}")
        return body, 503, {"Retry-After": str(wait)}
    return jsonify(taken.as_json()), 200
