"""Slack messages and views as pure functions: data in, Block Kit out.

Lead fields are data, never markup: everything a lead sent us is escaped before it reaches
mrkdwn, and slack_sdk's block models check Slack's size limits when the blocks are built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.core.config import Config
from bot.core.durations import format_config_duration, format_duration
from bot.slack.ids import (
    DISQUALIFY_REASONS,
    REJECT_REASONS,
    ContactChoice,
    ContactMethod,
    EscalationAction,
    EscalationChoice,
    HandoffAction,
    LeadAction,
    LeadRef,
    Modal,
)
from store.models import Lead, Stage

MAX_MESSAGE_BLOCKS = 50
WORKING_STAGES = (Stage.NEW, Stage.ATTEMPTING_CONTACT, Stage.ENGAGED, Stage.MQL)
MAX_VIEW_BLOCKS = 100


@dataclass(frozen=True)
class SlackMessage:
    text: str
    blocks: list[dict]

    def as_payload(self) -> dict:
        return {"text": self.text, "blocks": self.blocks}


# A formatting mark where it could open a span: at the start or after anything but a letter or digit.
_FORMATTING_MARK = re.compile(r"(?<![0-9A-Za-z])([*_~`])")


def escape(value: object) -> str:
    """Lead data as text, never markup: `<!channel>` pings nobody, `<http://x|y>` links nowhere, `*x*` is not bold.

    Slack's three control characters become entities. Its formatting marks have no escape, so a zero-width
    space goes before one that could open a span (`*bold*` stays as typed; `first_last@x.com` is untouched).
    """
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING_MARK.sub("\u200b\\1", text)


# What clip() never cuts in half: an entity escape() made, or Slack markup (<@U1>, <!date^…|…>, <http://…|…>).
_UNCUTTABLE = re.compile(r"&(?:amp|lt|gt);|<[^<>\n]*>")


def clip(value: str, limit: int) -> str:
    """At most `limit` characters, ending in … when cut; a cut through an entity or a mention moves before it."""
    if len(value) <= limit:
        return value
    cut = limit - 1
    for token in _UNCUTTABLE.finditer(value, max(0, cut - 300), cut + 300):
        if token.start() < cut < token.end():
            cut = token.start()
            break
    return value[:cut] + "…"


def slack_date(moment: datetime, tz: ZoneInfo, fmt: str = "{date_short_pretty} at {time}") -> str:
    """A date each reader sees in their own time zone; the fallback is in the team's zone."""
    local = moment.astimezone(tz)
    fallback = local.strftime("%b %d at %H:%M %Z")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{escape(fallback)}>"


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, 3000))


def _field(label: str, value: object) -> MarkdownTextObject:
    # Clipped before it is escaped, so the cut lands in the text and never inside an entity.
    return MarkdownTextObject(text=clip(f"*{label}*\n{escape(clip(str(value), 300))}", 2000))


def _button(
    label: str, action_id: str, value: str, style: str | None = None, confirm: ConfirmObject | None = None
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=label), action_id=action_id, value=value, style=style, confirm=confirm
    )


def _decision_buttons(lead: Lead, block_id: str) -> ActionsBlock:
    """Accept / Reject for the AE, on the handoff message and on their App Home."""
    value = LeadRef(lead_id=lead.id, stage=lead.stage).model_dump_json()
    return ActionsBlock(
        block_id=block_id,
        elements=[
            _button("Accept", HandoffAction.ACCEPT.value, value, "primary"),
            _button("Reject", HandoffAction.REJECT.value, value, "danger"),
        ],
    )


def _finish(text: str, blocks: list, limit: int = MAX_MESSAGE_BLOCKS) -> SlackMessage:
    dicts = [block.to_dict() for block in blocks]  # to_dict() raises when a Slack limit is broken
    if len(dicts) > limit:
        raise ValueError(f"{len(dicts)} blocks is more than Slack's {limit}")
    return SlackMessage(text=clip(text, 3000), blocks=dicts)


def lead_title(lead: Lead) -> str:
    company = f" ({lead.company})" if lead.company else ""
    return f"{lead.display_name}{company}"


def _contacted_menu(lead: Lead) -> StaticSelectElement:
    """Contacted via… (the first touch), then Log another touch…; each option records the next touch."""
    number = lead.touch_count + 1
    options = [
        Option(
            text=PlainTextObject(text=method.label),
            value=ContactChoice(lead_id=lead.id, via=method, touch=number).model_dump_json(),
        )
        for method in ContactMethod
    ]
    return StaticSelectElement(
        action_id=LeadAction.CONTACTED.value,
        placeholder=PlainTextObject(text="Contacted via…" if number == 1 else "Log another touch…"),
        options=options,
    )


def first_touch_summary(lead: Lead, sla: timedelta) -> str:
    """'4m 12s after assignment, within the 15m SLA' (or how far over it)."""
    took = lead.first_touch_at - (lead.assigned_at or lead.created_at)
    verdict = (
        f"within the {format_config_duration(sla)} SLA"
        if took <= sla
        else f"{format_duration(took - sla)} over the {format_config_duration(sla)} SLA"
    )
    return f"{format_duration(took)} after assignment, {verdict}"


def lead_alert(lead: Lead, *, sla: timedelta, mql_threshold: int, tz: ZoneInfo, version: str = "0") -> SlackMessage:
    """The owner's DM for a lead. Rebuilt from the lead's current state every time it changes.

    `version` is new for every redraw: it goes into the block_id of the Contacted menu, because Slack keeps
    a static select's last choice on screen while the block_id stays the same.
    """
    hot = "🔥 " if lead.hot else ""
    blocks: list = [HeaderBlock(text=PlainTextObject(text=clip(f"{hot}New lead: {lead_title(lead)}", 150)))]

    who = f"*{escape(lead.display_name)}*"
    if lead.title:
        who += f", {escape(lead.title)}"
    if lead.company:
        who += f" at *{escape(lead.company)}*"
    contact = " · ".join(escape(v) for v in (lead.email, lead.phone) if v)
    blocks.append(SectionBlock(text=_mrkdwn(f"{who}\n{contact}")))

    facts = [
        ("Company", lead.company),
        ("Title", lead.title),
        ("Company size", lead.company_size),
        ("Country", lead.country),
        ("Industry", lead.industry),
        ("Source", lead.lead_source),
    ]
    fields = [_field(label, value) for label, value in facts if value]
    if fields:
        blocks.append(SectionBlock(fields=fields[:10]))

    reasons = "\n".join(f"• {r['points']:+d} {escape(r['detail'])}" for r in lead.score_reasons) or "• no rule applied"
    mql = " · MQL" if lead.score >= mql_threshold else ""
    blocks.append(SectionBlock(text=_mrkdwn(f"*Score {lead.score}*{mql} (MQL at {mql_threshold})\n{reasons}")))

    blocks.append(ContextBlock(elements=[_mrkdwn(f"*Why you:* {escape(lead.routing_reason or 'assigned')}")]))

    stage = Stage.LABELS.get(lead.stage, lead.stage)
    if lead.first_touch_at is None:
        due = slack_date(lead.first_touch_due_at, tz, "{time}") if lead.first_touch_due_at else "soon"
        blocks.append(
            SectionBlock(
                text=_mrkdwn(f"⏱ *First touch due by {due}* ({format_config_duration(sla)} SLA) · Stage: {stage}")
            )
        )
    else:
        via = ContactMethod(lead.first_touch_via).label if lead.first_touch_via else "unknown"
        when = slack_date(lead.first_touch_at, tz, "{time}")
        blocks.append(
            SectionBlock(
                text=_mrkdwn(
                    f"✅ *Contacted* by <@{lead.first_touch_by}> via {via} at {when}: "
                    f"{first_touch_summary(lead, sla)}\nStage: {stage}"
                )
            )
        )
        if lead.touch_count > 1 and lead.last_touch_at:
            last_via = ContactMethod(lead.last_touch_via).label if lead.last_touch_via else "unknown"
            last_when = slack_date(lead.last_touch_at, tz)
            blocks.append(
                ContextBlock(
                    elements=[
                        _mrkdwn(
                            f"Last touch: {last_via} by <@{lead.last_touch_by}>, {last_when}"
                            f" · {lead.touch_count} touches"
                        )
                    ]
                )
            )
    status = _outcome_line(lead)
    if status:
        blocks.append(SectionBlock(text=_mrkdwn(status)))
    controls = _lead_controls(lead, f"lead:{lead.id}:actions:{version}")
    if controls:
        blocks.append(controls)
    blocks.append(ContextBlock(elements=[_mrkdwn(f"Lead #{lead.id} · {escape(lead.email)}")]))

    if lead.first_touch_at is None:
        due_text = lead.first_touch_due_at.astimezone(tz).strftime("%H:%M %Z") if lead.first_touch_due_at else "soon"
        text = f"New lead for you: {escape(lead_title(lead))}, score {lead.score}. First touch due by {due_text}."
    else:
        text = f"{escape(lead_title(lead))}: contacted via {via}, {first_touch_summary(lead, sla)}."
    if status:
        text = f"{escape(lead_title(lead))}: {status}"
    return _finish(text, blocks)


def _outcome_line(lead: Lead) -> str | None:
    """Where the lead stands after qualification, in one line (None while it is being worked)."""
    outcome = lead.outcome or {}
    notes = f": {escape(outcome['notes'])}" if outcome.get("notes") else ""
    if lead.is_erased:
        return "🗑️ *Erased* at the person's request: their details are gone; the lead is closed."
    if lead.stage == Stage.SQL:
        return f"📨 *SQL* handed to <@{lead.ae_id}>, waiting for them to accept or reject."
    if lead.stage == Stage.ACCEPTED:
        return f"🎉 *Accepted* by <@{outcome.get('by', lead.ae_id)}>: an opportunity was created."
    if lead.stage == Stage.DISQUALIFIED:
        return f"🚫 *Disqualified* by <@{outcome.get('by')}> ({escape(outcome.get('label', ''))}){notes}"
    if outcome.get("rejected"):
        return f"↩️ *Sent back* by <@{outcome.get('by')}> ({escape(outcome.get('label', ''))}){notes}"
    return None


def _lead_controls(lead: Lead, block_id: str) -> ActionsBlock | None:
    """Only the actions that make sense from the lead's stage (none once it is handed off or closed)."""
    if not lead.is_open or lead.stage not in WORKING_STAGES:
        return None
    value = LeadRef(lead_id=lead.id, stage=lead.stage).model_dump_json()
    elements: list = [_contacted_menu(lead)]
    if lead.stage == Stage.ATTEMPTING_CONTACT:
        elements.append(_button("Engaged", LeadAction.ENGAGED.value, value))
    if lead.stage in (Stage.ATTEMPTING_CONTACT, Stage.ENGAGED, Stage.MQL):
        elements.append(_button("Qualify as SQL", LeadAction.QUALIFY.value, value, "primary"))
    elements.append(_button("Disqualify", LeadAction.DISQUALIFY.value, value))
    return ActionsBlock(block_id=block_id, elements=elements)


def alert_for(lead: Lead, config: Config, version: str = "0") -> SlackMessage:
    """The owner's alert as the config says: the lead's SLA, the MQL threshold, the team's zone."""
    return lead_alert(
        lead,
        sla=config.sla.first_touch_for(lead.hot),
        mql_threshold=config.scoring.mql_threshold,
        tz=config.tz,
        version=version,
    )


def resubmission_notice(lead: Lead, source: str | None) -> SlackMessage:
    """Told in the alert's thread when the same person comes in again while the lead is open (or in a DM of its
    own when there is no alert to reply to: a lead imported without alerts), so it names the lead."""
    via = f" via {escape(source)}" if source else ""
    text = f"{escape(lead.display_name)} came in again{via}. Logged as a new touch on this lead (Lead #{lead.id})."
    return _finish(text, [SectionBlock(text=_mrkdwn(f"🔁 {text}"))])


def _note(text: str, emoji: str) -> SlackMessage:
    return _finish(text, [SectionBlock(text=_mrkdwn(f"{emoji} {text}"))])


def first_touch_reminder(lead: Lead, now: datetime) -> SlackMessage:
    left = format_duration(lead.first_touch_due_at - now) if lead.first_touch_due_at else "soon"
    return _note(f"First touch on {escape(lead_title(lead))} is due in {left}.", "⏰")


def first_touch_breached(lead: Lead, sla: timedelta) -> SlackMessage:
    return _note(
        f"First touch on {escape(lead_title(lead))} is overdue: the {format_config_duration(sla)} SLA has passed. "
        "Reach out now; managers hear about leads left untouched.",
        "⚠️",
    )


def escalation(
    lead: Lead,
    idle: str | None = None,
    *,
    owner: str | None = None,
    resolved: str | None = None,
    stays_with_fallback: bool = False,
) -> SlackMessage:
    """Posted in the escalations channel; managers reassign the lead or take it from here."""
    quiet = f"No activity for {idle}" if idle else "No activity"
    text = f"{quiet} on {escape(lead_title(lead))}, owned by <@{owner or lead.owner_id}>."
    if stays_with_fallback:
        text += " It is with the fallback owner and will not be moved again by itself: take it or reassign it."
    blocks: list = [
        SectionBlock(text=_mrkdwn(f"🚨 *Escalation:* {text}")),
        ContextBlock(
            elements=[
                _mrkdwn(
                    f"Lead #{lead.id} · score {lead.score} · {escape(lead.lead_source)} · "
                    f"{Stage.LABELS.get(lead.stage, lead.stage)}"
                )
            ]
        ),
    ]
    if resolved:
        blocks.append(SectionBlock(text=_mrkdwn(f"✅ {resolved}")))
    else:
        value = EscalationChoice(lead_id=lead.id, period=lead.idle_period).model_dump_json()
        blocks.append(
            ActionsBlock(
                block_id=f"escalation:{lead.id}",
                elements=[
                    _button(
                        "Reassign now",
                        EscalationAction.REASSIGN_NOW.value,
                        value,
                        "danger",
                        # It acts at once and tells three people: one more click to be sure.
                        ConfirmObject(
                            title="Reassign this lead?",
                            text=f"It goes to the next available SDR now, and <@{owner or lead.owner_id}> is told.",
                            confirm="Reassign",
                            deny="Cancel",
                            style="danger",
                        ),
                    ),
                    _button("Take it", EscalationAction.TAKE_IT.value, value, "primary"),
                ],
            )
        )
    return _finish(f"Escalation: {text}", blocks)


def reassigned_away(lead: Lead, old_owner: str, new_owner: str, why: str) -> SlackMessage:
    return _note(f"{escape(lead_title(lead))} was reassigned from you to <@{new_owner}> ({escape(why)}).", "🔁")


def reassignment_notice(lead: Lead, old_owner: str | None, new_owner: str, why: str) -> SlackMessage:
    before = f"<@{old_owner}>" if old_owner else "nobody"
    return _note(
        f"Lead #{lead.id} {escape(lead_title(lead))} reassigned from {before} to <@{new_owner}> ({escape(why)}).", "🔁"
    )


def ae_reminder(lead: Lead) -> SlackMessage:
    return _note(f"The SQL {escape(lead_title(lead))} is waiting for you to accept or reject it.", "⏰")


def ae_escalation(lead: Lead, sla: timedelta) -> SlackMessage:
    return _note(
        f"<@{lead.ae_id}> has not accepted or rejected the SQL {escape(lead_title(lead))} within "
        f"{format_config_duration(sla)} (lead #{lead.id}).",
        "🚨",
    )


def handoff(lead: Lead, config: Config, ae_reason: str | None = None) -> SlackMessage:
    """The SQL in the handoffs channel: summary, notes and fields, the AE mentioned, Accept / Reject."""
    title = lead_title(lead)
    blocks: list = [HeaderBlock(text=PlainTextObject(text=clip(f"🤝 SQL: {title}", 150)))]
    if lead.stage == Stage.SQL:
        ask = f"<@{lead.ae_id}>, please accept or reject this SQL from <@{lead.owner_id}>."
    else:
        ask = f"SQL from <@{lead.owner_id}> for <@{lead.ae_id}>."
    blocks.append(SectionBlock(text=_mrkdwn(ask)))
    facts = [
        ("Company", lead.company),
        ("Title", lead.title),
        ("Company size", lead.company_size),
        ("Country", lead.country),
        ("Source", lead.lead_source),
        ("Score", lead.score),
    ]
    blocks.append(SectionBlock(fields=[_field(label, value) for label, value in facts if value not in (None, "")]))
    qualification = lead.qualification or {}
    blocks.append(SectionBlock(text=_mrkdwn(f"*Qualification notes*\n{escape(qualification.get('notes', ''))}")))
    labels = {f.id: f.label for f in config.qualification.fields + config.opportunity.required_fields}
    given = [(labels.get(key, key), value) for key, value in qualification.get("fields", {}).items() if value]
    if given:
        blocks.append(SectionBlock(fields=[_field(label, value) for label, value in given[:10]]))
    if ae_reason:
        blocks.append(ContextBlock(elements=[_mrkdwn(f"Routed to <@{lead.ae_id}>: {escape(ae_reason)}")]))
    status = _outcome_line(lead) if lead.stage != Stage.SQL else None
    if lead.stage == Stage.SQL:
        blocks.append(_decision_buttons(lead, f"handoff:{lead.id}"))
    elif status:
        blocks.append(SectionBlock(text=_mrkdwn(status)))
    blocks.append(ContextBlock(elements=[_mrkdwn(f"Lead #{lead.id} · {escape(lead.email)}")]))
    text = f"SQL for <@{lead.ae_id}>: {escape(title)}" + (f". {status}" if status else ", waiting to be accepted.")
    return _finish(text, blocks)


def handoff_accepted_reply(lead: Lead, actor_id: str, opportunity_id: int | None) -> SlackMessage:
    return _note(
        f"<@{lead.owner_id}>: <@{actor_id}> accepted {escape(lead_title(lead))}. "
        f"Opportunity #{opportunity_id} was created.",
        "🎉",
    )


def handoff_rejected_reply(lead: Lead, actor_id: str) -> SlackMessage:
    outcome = lead.outcome or {}
    notes = f": {escape(outcome['notes'])}" if outcome.get("notes") else ""
    return _note(
        f"<@{lead.owner_id}>: <@{actor_id}> sent {escape(lead_title(lead))} back "
        f"({escape(outcome.get('label', ''))}){notes}. It is yours again, as Engaged.",
        "↩️",
    )


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
    intro = ContextBlock(elements=[_mrkdwn(f"*{escape(lead_title(lead))}* · Lead #{lead.id}")])
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
        blocks=[SectionBlock(text=_mrkdwn(text))],
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


def claim_offer(lead: Lead, claimed_by: str | None = None) -> SlackMessage:
    """In the unclaimed channel: a lead nobody could take; the first eligible rep to click Claim gets it."""
    facts = " · ".join(escape(v) for v in (lead.title, lead.company_size, lead.country, lead.lead_source) if v)
    blocks: list = [
        SectionBlock(text=_mrkdwn(f"🙋 *Unclaimed lead:* {escape(lead_title(lead))} · score {lead.score}\n{facts}")),
        ContextBlock(elements=[_mrkdwn(f"Lead #{lead.id} · held by <@{lead.owner_id}> until claimed")]),
    ]
    if claimed_by:
        blocks[1] = SectionBlock(text=_mrkdwn(f"✅ Claimed by <@{claimed_by}>"))
    else:
        value = LeadRef(lead_id=lead.id, stage=lead.stage).model_dump_json()
        blocks.append(
            ActionsBlock(
                block_id=f"claim:{lead.id}",
                elements=[_button("Claim", LeadAction.CLAIM.value, value, "primary")],
            )
        )
    state = f"claimed by <@{claimed_by}>" if claimed_by else "first to claim gets it"
    return _finish(f"Unclaimed lead: {escape(lead_title(lead))} ({state})", blocks)


def claimed_away(lead: Lead, claimer: str) -> SlackMessage:
    return _note(f"<@{claimer}> claimed {escape(lead_title(lead))} from the unclaimed channel; it is theirs now.", "🙋")


def undeliverable_notice(lead_id: int | None, target: str | None, error: str, text: str) -> SlackMessage:
    """For the managers' channel when Slack refuses a message for good (deactivated user, missing channel)."""
    who = f"<@{target}>" if target and target[:1] in ("U", "W") else (f"<#{target}>" if target else "its thread")
    about = f" about lead #{lead_id}" if lead_id else ""
    # `text` was built by Leadbot (lead data in it is escaped); its mentions and links are flattened so the
    # quote pings nobody twice, and it is clipped so the notice stays a notice.
    quoted = _SLACK_REFERENCE.sub(lambda m: m.group(3) or ("@" if m.group(1) != "#" else "#") + m.group(2), text)
    return _note(f"Leadbot could not deliver a message{about} to {who} ({escape(error)}):\n>{clip(quoted, 500)}", "📭")


# <@U1>, <#C1|name>, <!here>, <https://x|label>: Slack's references, kept as their visible text.
_SLACK_REFERENCE = re.compile(r"<([@#!]?)([^>|]*)(?:\|([^>]*))?>")


LEADBOT_HELP = (
    "*Leadbot* sends you a DM the moment a lead is yours. Pick *Contacted via…* on it when you reach out.\n"
    "• `/leadbot help`: this message\n"
    "• `/leadbot away [until]`: no new leads for you (until 2h, 3d or a date such as 2026-12-01)\n"
    "• `/leadbot back`: new leads again (managers: `/leadbot away @rep`, `/leadbot back @rep`)\n"
    "• `/leadstats`: speed-to-lead for the last 7 days"
)


def availability_confirmation(change, actor_id: str, tz: ZoneInfo) -> str:
    who = "You are" if change.target == actor_id else f"<@{change.target}> is"
    if not change.away:
        return f"{who} back: new leads are routed again."
    until = f" until {slack_date(change.until, tz)}" if change.until else " until `/leadbot back`"
    return f"{who} away{until}: no new leads are routed meanwhile."


def unknown_option(text: str) -> str:
    return f"Unknown option `{escape(clip(text, 40))}`.\n{LEADBOT_HELP}"


def _timing(lead: Lead, now: datetime) -> str:
    if lead.first_touch_at is None and lead.first_touch_due_at:
        left = lead.first_touch_due_at - now
        if left.total_seconds() >= 0:
            return f"first touch due in {format_duration(left)}"
        return f"⚠️ first touch overdue by {format_duration(left)}"
    return Stage.LABELS.get(lead.stage, lead.stage)


def _home(title: str, blocks: list) -> dict:
    header = HeaderBlock(text=PlainTextObject(text=clip(title, 150)))
    return {"type": "home", "blocks": [b.to_dict() for b in [header, *blocks][:MAX_VIEW_BLOCKS]]}


def home_view(name: str, leads: list[Lead], tz: ZoneInfo, now: datetime) -> dict:
    """An SDR's App Home: their open leads, soonest due first, with the same actions as the DM."""
    blocks: list = []
    if not leads:
        blocks.append(SectionBlock(text=_mrkdwn("No open leads. New ones arrive here and in your DMs.")))
    for lead in leads[: (MAX_VIEW_BLOCKS - 1) // 2]:
        blocks.append(
            SectionBlock(
                text=_mrkdwn(
                    f"*{escape(lead_title(lead))}* · score {lead.score} · {_timing(lead, now)}\n"
                    f"Lead #{lead.id} · {escape(lead.email)}"
                )
            )
        )
        # A new block_id every render (see lead_alert), so a menu never shows a choice made on an older one.
        controls = _lead_controls(lead, f"home:{lead.id}:actions:{now.timestamp():.3f}")
        if controls:
            blocks.append(controls)
    return _home(f"Open leads for {name}", blocks)


def ae_home_view(name: str, sqls: list[Lead], config: Config) -> dict:
    """An AE's App Home: the SQLs waiting for them to accept or reject."""
    blocks: list = []
    if not sqls:
        blocks.append(SectionBlock(text=_mrkdwn("No SQLs are waiting for you.")))
    for lead in sqls[: (MAX_VIEW_BLOCKS - 1) // 2]:
        notes = clip((lead.qualification or {}).get("notes", ""), 300)
        blocks.append(
            SectionBlock(
                text=_mrkdwn(
                    f"*{escape(lead_title(lead))}* from <@{lead.owner_id}> · score {lead.score}\n{escape(notes)}"
                )
            )
        )
        blocks.append(_decision_buttons(lead, f"home:{lead.id}:handoff"))
    return _home(f"SQLs waiting for {name}", blocks)


def manager_home_view(
    name: str, today_text: str, escalated: list[Lead], away: dict, tz: ZoneInfo, names: dict[str, str]
) -> dict:
    """A manager's App Home: the team today, escalations still waiting, and who is away."""
    blocks: list = [SectionBlock(text=_mrkdwn(today_text))]
    if escalated:
        listed = "\n".join(f"• #{lead.id} {escape(lead_title(lead))} (<@{lead.owner_id}>)" for lead in escalated[:20])
        blocks.append(SectionBlock(text=_mrkdwn(f"*Escalations waiting*\n{listed}")))
    else:
        blocks.append(SectionBlock(text=_mrkdwn("*Escalations waiting*: none.")))
    if away:
        people = "\n".join(
            f"• {escape(names.get(rep, rep))}" + (f" until {slack_date(until, tz)}" if until else "")
            for rep, until in away.items()
        )
        blocks.append(SectionBlock(text=_mrkdwn(f"*Away*\n{people}")))
    return _home(f"Team today, for {name}", blocks)
