"""The SDR's buttons on a lead's DM (Engaged, Qualify as SQL, Disqualify) and their modals."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.lifecycle.outcomes import Done, NotAllowed, Outdated
from bot.lifecycle.qualification import disqualify, lead_for_sdr_modal, mark_engaged, qualify_as_sql
from bot.lifecycle.stages import Move
from bot.runtime.leadbot import Leadbot
from bot.slack.ids import LeadAction, Modal
from bot.slack.modals import disqualify_modal, qualify_modal
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
def on_engaged(ack: Ack, body: dict, respond: Respond, leadbot: Leadbot) -> None:
    ack()
    click = lead_click(body, respond)
    if click is None:
        return
    result = mark_engaged(
        leadbot.engine, leadbot.config, leadbot.clock, lead_id=click.ref.lead_id, actor_id=click.user_id
    )
    if not isinstance(result, Done):
        ephemeral(respond, refusal_for(result))


def _open_sdr_modal(body: dict, respond: Respond, leadbot: Leadbot, client: WebClient, move: Move, build) -> None:
    click = lead_click(body, respond)
    if click is None:
        return
    lead = lead_for_sdr_modal(
        leadbot.engine, leadbot.config, lead_id=click.ref.lead_id, actor_id=click.user_id, move=move
    )
    if isinstance(lead, NotAllowed | Outdated):
        ephemeral(respond, refusal_for(lead))
        return
    client.views_open(trigger_id=click.trigger_id, view=build(lead, leadbot.config))


@answers_refusals
def on_qualify(ack: Ack, body: dict, respond: Respond, leadbot: Leadbot, client: WebClient) -> None:
    ack()  # the trigger_id lives 3 seconds: open the modal right after the check
    _open_sdr_modal(body, respond, leadbot, client, Move.QUALIFY, qualify_modal)


@answers_refusals
def on_disqualify(ack: Ack, body: dict, respond: Respond, leadbot: Leadbot, client: WebClient) -> None:
    ack()
    _open_sdr_modal(body, respond, leadbot, client, Move.DISQUALIFY, lambda lead, _config: disqualify_modal(lead))


@answers_modal_refusals
def on_qualify_submitted(ack: Ack, body: dict, leadbot: Leadbot) -> None:
    form = modal_submission(ack, body)
    if form is None:
        return
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
    answer_submission(ack, result, form)


@answers_modal_refusals
def on_disqualify_submitted(ack: Ack, body: dict, leadbot: Leadbot) -> None:
    answer_reasoned_submission(ack, body, leadbot, disqualify, deciding=False)


def register(app: App) -> None:
    app.action(LeadAction.ENGAGED.value)(on_engaged)
    app.action(LeadAction.QUALIFY.value)(on_qualify)
    app.action(LeadAction.DISQUALIFY.value)(on_disqualify)
    app.view(Modal.QUALIFY.value)(on_qualify_submitted)
    app.view(Modal.DISQUALIFY.value)(on_disqualify_submitted)
