"""How listeners answer: privately to the person who clicked, and which refusal text fits which result."""

from __future__ import annotations

from slack_bolt import Ack, Respond

from bot.lifecycle.outcomes import Done, Invalid, NotAllowed, Outdated
from bot.slack import refusals
from bot.slack.modals import notice_modal
from handlers.payloads import BadPayload, LeadButtonClick, ModalSubmission


def ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def refusal_for(result, *, deciding: bool = False) -> str | None:
    """What to tell someone whose click changed nothing (None when it worked)."""
    if isinstance(result, NotAllowed):
        return refusals.only_the_ae(result.owner_id) if deciding else refusals.only_the_owner(result.owner_id)
    if isinstance(result, Outdated):
        return refusals.moved_on(result.detail)
    return None


def lead_click(body: dict, respond: Respond) -> LeadButtonClick | None:
    """The click on a lead's button, or None once an unreadable one has been answered."""
    try:
        return LeadButtonClick.parse(body)
    except BadPayload:
        ephemeral(respond, refusals.CONTROL_OUTDATED)
        return None


def modal_submission(ack: Ack, body: dict) -> ModalSubmission | None:
    """The submitted modal, or None once an unreadable one has been answered in the modal."""
    try:
        return ModalSubmission.parse(body)
    except BadPayload:
        ack(response_action="update", view=notice_modal(refusals.FORM_OUTDATED))
        return None


def answer_submission(ack: Ack, result, form: ModalSubmission, *, deciding: bool = False) -> None:
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
    ack(response_action="update", view=notice_modal(refusal_for(result, deciding=deciding)))


def answer_reasoned_submission(ack: Ack, body: dict, leadbot, rule, *, deciding: bool) -> None:
    """Disqualify and Reject: the modal's reason code and notes go to the rule, and its result is answered."""
    form = modal_submission(ack, body)
    if form is None:
        return
    result = rule(
        leadbot.engine,
        leadbot.config,
        leadbot.clock,
        lead_id=form.ref.lead_id,
        actor_id=form.user_id,
        reason=form.values.get("reason", ""),
        notes=form.values.get("notes", ""),
    )
    answer_submission(ack, result, form, deciding=deciding)
