"""The AE's buttons on the handoff message (Accept, Reject) and their modals."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.lifecycle.handoff import NeedsFields, accept_sql, lead_for_decision, missing_opportunity_fields, reject_sql
from bot.lifecycle.outcomes import Done, Invalid, NotAllowed, Outdated
from bot.runtime.leadbot import Leadbot
from bot.slack.ids import HandoffAction, Modal
from bot.slack.modals import accept_modal, reject_modal
from handlers.answers import (
    answer_reasoned_submission,
    answer_submission,
    ephemeral,
    lead_click,
    modal_submission,
    refusal_for,
)
from handlers.errors import answers_modal_refusals, answers_refusals


@answers_refusals
def on_accept(ack: Ack, body: dict, respond: Respond, leadbot: Leadbot, client: WebClient) -> None:
    ack()
    click = lead_click(body, respond)
    if click is None:
        return
    result = accept_sql(
        leadbot.engine, leadbot.config, leadbot.clock, lead_id=click.ref.lead_id, actor_id=click.user_id
    )
    if isinstance(result, NeedsFields):
        missing = missing_opportunity_fields(result.lead, leadbot.config)
        client.views_open(trigger_id=click.trigger_id, view=accept_modal(result.lead, leadbot.config, missing))
    elif not isinstance(result, Done):
        ephemeral(respond, refusal_for(result, deciding=True))


@answers_refusals
def on_reject(ack: Ack, body: dict, respond: Respond, leadbot: Leadbot, client: WebClient) -> None:
    ack()
    click = lead_click(body, respond)
    if click is None:
        return
    lead = lead_for_decision(leadbot.engine, leadbot.config, lead_id=click.ref.lead_id, actor_id=click.user_id)
    if isinstance(lead, NotAllowed | Outdated):
        ephemeral(respond, refusal_for(lead, deciding=True))
        return
    client.views_open(trigger_id=click.trigger_id, view=reject_modal(lead))


@answers_modal_refusals
def on_reject_submitted(ack: Ack, body: dict, leadbot: Leadbot) -> None:
    answer_reasoned_submission(ack, body, leadbot, reject_sql, deciding=True)


@answers_modal_refusals
def on_accept_submitted(ack: Ack, body: dict, leadbot: Leadbot) -> None:
    form = modal_submission(ack, body)
    if form is None:
        return
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
    answer_submission(ack, result, form, deciding=True)


def register(app: App) -> None:
    app.action(HandoffAction.ACCEPT.value)(on_accept)
    app.action(HandoffAction.REJECT.value)(on_reject)
    app.view(Modal.REJECT.value)(on_reject_submitted)
    app.view(Modal.ACCEPT.value)(on_accept_submitted)
