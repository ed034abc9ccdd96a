"""The HTTP endpoints: Slack's request URL, lead intake (JSON, HubSpot, Salesforce), touches, health and metrics.

Each parses its request once, calls a rule in `bot`, and answers with a status and a JSON body; the
app factory (bot.runtime.app) registers them on the Flask app.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from flask import Flask, jsonify, request
from slack_bolt.adapter.flask.handler import to_bolt_request, to_flask_response
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from bot.intake.accept import InvalidLead, parse_lead, shape_problems
from bot.intake.crm_webhooks import from_hubspot, from_salesforce
from bot.reports.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.reports.metrics import outbox_health
from handlers.auth import bearer_token_ok, hubspot_signed
from handlers.crm_events import register_crm_event_routes
from handlers.touch_routes import register_touch_routes

if TYPE_CHECKING:
    from bot.runtime.leadbot import Leadbot

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
DATABASE_RETRY_AFTER_S = 5


def register_routes(web: Flask, leadbot: Leadbot) -> None:
    if leadbot.settings.slack_signing_secret:
        _slack_route(web, leadbot, SignatureVerifier(leadbot.settings.slack_signing_secret))
    _intake_routes(web, leadbot)
    register_touch_routes(web, leadbot, lambda header: bearer_token_ok(header, leadbot.settings.intake_token))
    register_crm_event_routes(web, leadbot)
    _operator_routes(web, leadbot)
    _error_answers(web)


def _slack_route(web: Flask, leadbot: Leadbot, verifier: SignatureVerifier) -> None:
    @web.post("/slack/events")
    def slack_events():
        # Verified before Bolt parses the body: an unsigned body is never parsed at all (a body nested
        # 10,000 levels deep made Bolt's parser raise RecursionError, a 500, before its own check).
        signed = verifier.is_valid(
            request.get_data(as_text=True),
            request.headers.get("X-Slack-Request-Timestamp", "0"),
            request.headers.get("X-Slack-Signature", ""),
        )
        if not signed:
            return jsonify(error="invalid_request", detail="bad, missing or stale Slack signature"), 401
        try:
            bolt_request = to_bolt_request(request)
        # Bolt reads ids out of the body as it builds the request: a field of the wrong type (a `user` that is
        # `true`) raises TypeError or AttributeError there, which is a bad payload, not a server fault.
        except (ValueError, RecursionError, TypeError, AttributeError, KeyError):
            return jsonify(error="malformed_payload", detail="the body is not a Slack payload"), 400
        return to_flask_response(leadbot.bolt.dispatch(bolt_request))


def _lead_json(result) -> dict:
    lead = result.lead
    return {
        "id": lead.id,
        "created": result.created,
        "owner": lead.owner_id,
        "score": lead.score,
        "score_reasons": lead.score_reasons,
        "stage": lead.stage,
        "routing_reason": lead.routing_reason,
        "first_touch_due_at": lead.first_touch_due_at.isoformat() if lead.first_touch_due_at else None,
    }


def _take_lead(leadbot: Leadbot, raw: bytes, to_lead=lambda data: data):
    """Parse, map and accept one lead; the same answers for every intake route."""
    started, received = time.perf_counter(), leadbot.metrics.leads_received
    try:
        data = json.loads(raw or b"")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        received.labels(result="invalid").inc()
        return jsonify(error="malformed_json", detail=f"the body is not valid JSON: {exc}"), 400
    except RecursionError:
        received.labels(result="invalid").inc()
        return jsonify(error="malformed_json", detail="the body is nested too deeply to be a lead"), 400
    try:
        if problems := shape_problems(data):  # before a CRM mapping reads it
            raise InvalidLead(problems)
        lead_in = parse_lead(to_lead(data))
    except InvalidLead as exc:
        received.labels(result="invalid").inc()
        return jsonify(error="invalid_lead", fields=exc.fields), 422
    result = leadbot.intake.accept(lead_in)
    seconds = time.perf_counter() - started
    received.labels(result="created" if result.created else "duplicate").inc()
    leadbot.metrics.intake_seconds.observe(seconds)
    log.info(
        "lead received",
        extra={
            "lead_id": result.lead.id,
            "action": "lead_created" if result.created else "lead_resubmitted",
            "owner": result.lead.owner_id,
            "latency_ms": round(seconds * 1000, 1),
        },
    )
    return jsonify(_lead_json(result)), 201 if result.created else 200


def _intake_routes(web: Flask, leadbot: Leadbot) -> None:
    def unauthorized():
        leadbot.metrics.leads_received.labels(result="unauthorized").inc()
        return jsonify(error="unauthorized", detail="send Authorization: Bearer <LEADBOT_INTAKE_TOKEN>"), 401

    @web.post("/leads")
    def post_lead():
        if not bearer_token_ok(request.headers.get("Authorization"), leadbot.settings.intake_token):
            return unauthorized()
        return _take_lead(leadbot, request.get_data(cache=False))

    @web.post("/leads/salesforce")
    def post_salesforce_lead():
        if not bearer_token_ok(request.headers.get("Authorization"), leadbot.settings.intake_token):
            return unauthorized()
        return _take_lead(leadbot, request.get_data(cache=False), from_salesforce)

    @web.post("/leads/hubspot")
    def post_hubspot_lead():
        body = request.get_data(cache=False)
        if not hubspot_signed(leadbot, body):
            return jsonify(error="unauthorized", detail="bad, missing or stale X-HubSpot-Signature-v3"), 401
        return _take_lead(leadbot, body, from_hubspot)


def _operator_routes(web: Flask, leadbot: Leadbot) -> None:
    @web.get("/healthz")
    def healthz():
        try:
            outbox = outbox_health(leadbot.engine, leadbot.clock)
            crm = (
                outbox_health(leadbot.engine, leadbot.clock, leadbot.config.crm.system) if leadbot.config.crm else None
            )
        except Exception as exc:  # report, don't crash: this is what a load balancer polls
            log.warning("health check: database unreachable: %s", exc)
            return jsonify(status="unhealthy", database="unreachable"), 503
        return jsonify(status="ok", database="ok", outbox=outbox, **({"crm": crm} if crm else {}))

    @web.get("/metrics")
    def metrics():
        return leadbot.metrics.exposition(), 200, {"Content-Type": METRICS_CONTENT_TYPE}


def _error_answers(web: Flask) -> None:
    @web.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.name.lower().replace(" ", "_"), detail=exc.description), exc.code

    @web.errorhandler(DBAPIError)
    @web.errorhandler(PoolTimeout)
    def database_unavailable(exc: Exception):
        # The transaction rolled back, so nothing was half-written; a form or CRM retries on 503.
        log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        body = jsonify(
            error="database_unavailable",
            detail="Leadbot cannot reach its database right now; nothing was stored. Retry in a few seconds.",
        )
        return body, 503, {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
