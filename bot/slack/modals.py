"""The modals: Qualify, Disqualify, Reject, Accept, and the notice a submitted modal can turn into."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.core.config import Config
from bot.lifecycle.codes import DISQUALIFY_REASONS, REJECT_REASONS
from bot.slack.blocks import (
    clip,
    escape,
    lead_title,
    mrkdwn,
)
from bot.slack.ids import (
    LeadRef,
    Modal,
)
from store.models import Lead


def _text_input(
    block_id: str, label: str, *, optional: bool = False, multiline: bool = False, initial: str | None = None
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=clip(label, 2000)),
        optional=optional,
        element=PlainTextInputElement(action_id="value", multiline=multiline, initial_value=initial),
    )


def _reason_input(reasons: dict[str, str]) -> InputBlock:
    options = [Option(text=PlainTextObject(text=label), value=code) for code, label in reasons.items()]
    return InputBlock(
        block_id="reason",
        label=PlainTextObject(text="Reason"),
        element=StaticSelectElement(
            action_id="value", options=options, placeholder=PlainTextObject(text="Pick a reason")
        ),
    )


def _modal(callback: Modal, title: str, submit: str, lead: Lead, blocks: list) -> dict:
    intro = ContextBlock(elements=[mrkdwn(f"*{escape(lead_title(lead))}* · Lead #{lead.id}")])
    view = View(
        type="modal",
        callback_id=callback.value,
        title=PlainTextObject(text=title),
        submit=PlainTextObject(text=submit),
        close=PlainTextObject(text="Cancel"),
        private_metadata=LeadRef(lead_id=lead.id, stage=lead.stage).model_dump_json(),
        blocks=[intro, *blocks],
    )
    return view.to_dict()


def notice_modal(text: str) -> dict:
    """What a submitted modal turns into when the problem is not one of its fields: what happened, and Close."""
    view = View(
        type="modal",
        title=PlainTextObject(text="Leadbot"),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=mrkdwn(text))],
    )
    return view.to_dict()


def qualify_modal(lead: Lead, config: Config) -> dict:
    fields = [_text_input(f.id, f.label, optional=not f.required) for f in config.qualification.fields]
    return _modal(
        Modal.QUALIFY,
        "Qualify as SQL",
        "Hand to an AE",
        lead,
        [_text_input("notes", "Qualification notes", multiline=True), *fields],
    )


def disqualify_modal(lead: Lead) -> dict:
    return _modal(
        Modal.DISQUALIFY,
        "Disqualify lead",
        "Disqualify",
        lead,
        [_reason_input(DISQUALIFY_REASONS), _text_input("notes", "Notes", optional=True, multiline=True)],
    )


def reject_modal(lead: Lead) -> dict:
    return _modal(
        Modal.REJECT,
        "Reject SQL",
        "Send back",
        lead,
        [_reason_input(REJECT_REASONS), _text_input("notes", "Notes", optional=True, multiline=True)],
    )


def accept_modal(lead: Lead, config: Config, missing: list[str]) -> dict:
    fields = [_text_input(f.id, f.label) for f in config.opportunity.required_fields if f.id in missing]
    return _modal(Modal.ACCEPT, "Accept SQL", "Create opportunity", lead, fields)
