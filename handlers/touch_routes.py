"""The touch API: `POST /leads/<id>/touches` and `POST /touches` (by email or CRM id).

For sequencing tools, Zapier / n8n steps and scripts; the CRM webhooks map their events to the same rule.
Each route parses its body once into bot.lifecycle.logged_touches' types, calls the rule, and answers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from flask import Flask, jsonify, request
from pydantic import ValidationError

from bot.lifecycle.logged_touches import LeadRef, TouchIn, TouchRefused, TouchTaken, UnknownLead, log_logged_touch

if TYPE_CHECKING:
    from bot.runtime.leadbot import Leadbot


def register_touch_routes(web: Flask, leadbot: Leadbot, token_ok) -> None:
    def unauthorized():
        return jsonify(error="unauthorized", detail="send Authorization: Bearer <LEADBOT_INTAKE_TOKEN>"), 401

    @web.post("/leads/<int:lead_id>/touches")
    def post_lead_touch(lead_id: int):
        if not token_ok(request.headers.get("Authorization")):
            return unauthorized()
        return _take_touch(leadbot, request.get_data(cache=False), lead_id)

    @web.post("/touches")
    def post_touch():
        if not token_ok(request.headers.get("Authorization")):
            return unauthorized()
        return _take_touch(leadbot, request.get_data(cache=False), None)


def _take_touch(leadbot: Leadbot, raw: bytes, lead_id: int | None):
    try:
        data = json.loads(raw or b"")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        return jsonify(error="malformed_json", detail=f"the body is not valid JSON: {exc}"), 400
    if not isinstance(data, dict):
        return jsonify(error="invalid_touch", fields={"body": "send a JSON object"}), 422
    try:
        ref = LeadRef(lead_id=lead_id) if lead_id is not None else LeadRef.model_validate(data)
        touch = TouchIn.model_validate(data)
    except ValidationError as exc:
        return jsonify(error="invalid_touch", fields=_field_errors(exc)), 422
    try:
        taken = log_logged_touch(leadbot.engine, leadbot.config, leadbot.clock, ref, touch)
    except UnknownLead as exc:
        return jsonify(error="unknown_lead", detail=exc.user_message), 404
    except TouchRefused as exc:
        return jsonify(error="invalid_touch", fields={"at": exc.user_message}), 422
    return jsonify(_touch_json(taken)), 200 if taken.duplicate else 201


def _field_errors(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(p) for p in error["loc"]) or "body": error["msg"] for error in exc.errors()}


def _touch_json(taken: TouchTaken) -> dict:
    lead = taken.lead
    return {
        "lead_id": lead.id,
        "logged": taken.logged,  # first_touch, touch, activity (a colleague's, or a closed lead), replay
        "by_owner": taken.by_owner,
        "duplicate": taken.duplicate,
        "stage": lead.stage,
        "touch_count": lead.touch_count,
        "first_touch_at": lead.first_touch_at.isoformat() if lead.first_touch_at else None,
    }
