"""Qualification and handoff: the lead DM's buttons, the AE's Accept / Reject, and their modals."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.lifecycle.handoff import (
    WORKING,
    Done,
    Invalid,
    NeedsFields,
    Outdated,
    accept_sql,
    disqualify,
    lead_for_decision,
    lead_for_sdr_modal,
    mark_engaged,
    missing_opportunity_fields,
    qualify_as_sql,
    reject_sql,
)
from bot.lifecycle.touches import NotAllowed
from bot.routing.claims import AlreadyClaimed, CannotClaim, claim_lead
from bot.slack.ids import HandoffAction, LeadAction, Modal
from bot.slack.modals import accept_modal, disqualify_modal, notice_modal, qualify_modal, reject_modal
from handlers.actions import OUTDATED, ephemeral
from handlers.errors import answers_modal_refusals, answers_refusals
from handlers.payloads import BadPayload, LeadButtonClick, ModalSubmission
from store.models import Stage


def _refusal(result, *, deciding: bool = False) -> str | None:
    """What to tell someone whose click changed nothing (None when it worked)."""
    if isinstance(result, NotAllowed):
        if deciding:
            return f"Only <@{result.owner_id}> (the assigned AE) or a manager can accept or reject this SQL."
        return f"Only <@{result.owner_id}> (the lead's owner) or a manager can do this."
    if isinstance(result, Outdated):
        return f"Nothing was changed: {result.detail}."
    return None


def _click(body: dict, respond: Respond) -> LeadButtonClick | None:
    try:
        return LeadButtonClick.parse(body)
    except BadPayload:
        ephemeral(respond, OUTDATED)
        return None


# -- SDR buttons on the DM ------------------------------------------------------------------------------
@answers_refusals
def on_engaged(ack: Ack, body: dict, respond: Respond, context: BoltContext) -> None:
    ack()
    click = _click(body, respond)
    if click is None:
        return
    leadbot = context["leadbot"]
    result = mark_engaged(
        leadbot.engine, leadbot.config, leadbot.clock, lead_id=click.ref.lead_id, actor_id=click.user_id
    )
    if not isinstance(result, Done):
        ephemeral(respond, _refusal(result))


def _open_sdr_modal(body, respond, context, client: WebClient, stages, build) -> None:
    click = _click(body, respond)
    if click is None:
        return
    leadbot = context["leadbot"]
    lead = lead_for_sdr_modal(
        leadbot.engine, leadbot.config, lead_id=click.ref.lead_id, actor_id=click.user_id, stages=stages
    )
    if isinstance(lead, NotAllowed | Outdated):
        ephemeral(respond, _refusal(lead))
        return
    client.views_open(trigger_id=click.trigger_id, view=build(lead, leadbot.config))


@answers_refusals
def on_qualify(ack: Ack, body: dict, respond: Respond, context: BoltContext, client: WebClient) -> None:
    ack()  # the trigger_id lives 3 seconds: open the modal right after the check
    _open_sdr_modal(body, respond, context, client, (Stage.ATTEMPTING_CONTACT, Stage.ENGAGED, Stage.MQL), qualify_modal)


@answers_refusals
def on_disqualify(ack: Ack, body: dict, respond: Respond, context: BoltContext, client: WebClient) -> None:
    ack()
    _open_sdr_modal(body, respond, context, client, WORKING, lambda lead, _config: disqualify_modal(lead))


# -- AE buttons on the handoff message --------------------------------------------------------------------
@answers_refusals
def on_accept(ack: Ack, body: dict, respond: Respond, context: BoltContext, client: WebClient) -> None:
    ack()
    click = _click(body, respond)
    if click is None:
        return
    leadbot = context["leadbot"]
    result = accept_sql(
        leadbot.engine, leadbot.config, leadbot.clock, lead_id=click.ref.lead_id, actor_id=click.user_id
    )
    if isinstance(result, NeedsFields):
        missing = missing_opportunity_fields(result.lead, leadbot.config)
        client.views_open(trigger_id=click.trigger_id, view=accept_modal(result.lead, leadbot.config, missing))
    elif not isinstance(result, Done):
        ephemeral(respond, _refusal(result, deciding=True))


@answers_refusals
def on_reject(ack: Ack, body: dict, respond: Respond, context: BoltContext, client: WebClient) -> None:
    ack()
    click = _click(body, respond)
    if click is None:
        return
    leadbot = context["leadbot"]
    lead = lead_for_decision(leadbot.engine, leadbot.config, lead_id=click.ref.lead_id, actor_id=click.user_id)
    if isinstance(lead, NotAllowed | Outdated):
        ephemeral(respond, _refusal(lead, deciding=True))
        return
    client.views_open(trigger_id=click.trigger_id, view=reject_modal(lead))


# -- modal submissions ---------------------------------------------------------------------------------
FORM_OUTDATED = "This form is out of date or unreadable, so nothing was changed. Close it and use the latest message."


def _answer(ack: Ack, result, context: BoltContext, form: ModalSubmission, *, deciding: bool = False) -> None:
    """Close the modal on success; show a field's problem on that field; otherwise say what happened instead."""
    if isinstance(result, Done):
        ack()
        return
    if isinstance(result, Invalid):
        # Slack shows an error only on an input block of the submitted view; any other key breaks the answer.
        on_fields = {block: text for block, text in result.errors.items() if block in form.inputs}
        if on_fields:
            ack(response_action="errors", errors=on_fields)
        else:
            ack(response_action="update", view=notice_modal(" ".join(result.errors.values())))
        return
    ack(response_action="update", view=notice_modal(_refusal(result, deciding=deciding)))


def _submission(ack: Ack, body: dict) -> ModalSubmission | None:
    try:
        return ModalSubmission.parse(body)
    except BadPayload:
        ack(response_action="update", view=notice_modal(FORM_OUTDATED))
        return None


@answers_modal_refusals
def on_qualify_submitted(ack: Ack, body: dict, context: BoltContext) -> None:
    form = _submission(ack, body)
    if form is None:
        return
    leadbot = context["leadbot"]
    fields = {f.id: form.values.get(f.id, "") for f in leadbot.config.qualification.fields}
    result = qualify_as_sql(
        leadbot.engine,
        leadbot.config,
        leadbot.clock,
        lead_id=form.ref.lead_id,
        actor_id=form.user_id,
        notes=form.values.get("notes", ""),
        fields=fields,
    )
    _answer(ack, result, context, form)


def _reason_submitted(ack: Ack, body: dict, context: BoltContext, rule, deciding: bool) -> None:
    """Disqualify and Reject: a reason code and notes, then the rule decides."""
    form = _submission(ack, body)
    if form is None:
        return
    leadbot = context["leadbot"]
    result = rule(
        leadbot.engine,
        leadbot.config,
        leadbot.clock,
        lead_id=form.ref.lead_id,
        actor_id=form.user_id,
        reason=form.values.get("reason", ""),
        notes=form.values.get("notes", ""),
    )
    _answer(ack, result, context, form, deciding=deciding)


@answers_modal_refusals
def on_disqualify_submitted(ack: Ack, body: dict, context: BoltContext) -> None:
    _reason_submitted(ack, body, context, disqualify, deciding=False)


@answers_modal_refusals
def on_reject_submitted(ack: Ack, body: dict, context: BoltContext) -> None:
    _reason_submitted(ack, body, context, reject_sql, deciding=True)


@answers_modal_refusals
def on_accept_submitted(ack: Ack, body: dict, context: BoltContext) -> None:
    form = _submission(ack, body)
    if form is None:
        return
    leadbot = context["leadbot"]
    result = accept_sql(
        leadbot.engine,
        leadbot.config,
        leadbot.clock,
        lead_id=form.ref.lead_id,
        actor_id=form.user_id,
        extra={k: v for k, v in form.values.items() if k in form.inputs},
    )
    if isinstance(result, NeedsFields):  # nothing typed at all
        result = Invalid(
            {f: "Required for the opportunity." for f in missing_opportunity_fields(result.lead, leadbot.config)}
        )
    _answer(ack, result, context, form, deciding=True)


@answers_refusals
def on_claim(ack: Ack, body: dict, respond: Respond, context: BoltContext) -> None:
    ack()
    click = _click(body, respond)
    if click is None:
        return
    leadbot = context["leadbot"]
    result = claim_lead(
        leadbot.engine, leadbot.config, leadbot.clock, lead_id=click.ref.lead_id, actor_id=click.user_id
    )
    if isinstance(result, AlreadyClaimed):
        ephemeral(respond, f"Already claimed: <@{result.owner_id}> was first. Nothing was changed.")
    elif isinstance(result, CannotClaim):
        ephemeral(respond, f"You can't claim this lead: {result.why}.")


def register(app: App) -> None:
    app.action(LeadAction.ENGAGED.value)(on_engaged)
    app.action(LeadAction.QUALIFY.value)(on_qualify)
    app.action(LeadAction.DISQUALIFY.value)(on_disqualify)
    app.action(LeadAction.CLAIM.value)(on_claim)
    app.action(HandoffAction.ACCEPT.value)(on_accept)
    app.action(HandoffAction.REJECT.value)(on_reject)
    app.view(Modal.QUALIFY.value)(on_qualify_submitted)
    app.view(Modal.DISQUALIFY.value)(on_disqualify_submitted)
    app.view(Modal.REJECT.value)(on_reject_submitted)
    app.view(Modal.ACCEPT.value)(on_accept_submitted)
