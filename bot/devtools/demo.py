"""`leadbot demo`: the whole flow on this machine, with Slack simulated by a local stand-in.

It runs the real app (waitress HTTP server, SQLite store, Bolt handlers, outbox relay) and plays
the other side: a web form posting leads, and SDRs clicking in Slack with signed requests.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml

from bot.core.clock import ManualClock, SystemClock
from bot.core.config import Config, parse_config
from bot.core.settings import Settings
from bot.devtools.demo_crm import DemoCrm, start_demo_crm, wait_for_crm_writes
from bot.devtools.standin.requests import button_action, post, select_action, send_block_action, send_view_submission
from bot.devtools.standin.web_api import FakeSlack
from bot.runtime.app import build_leadbot
from bot.runtime.leadbot import Leadbot
from bot.runtime.server import ServerThread, make_http_server
from bot.sla.sweep import sweep
from bot.slack.plain_text import render_message
from store import leads as lead_store
from store.db import read_session

DEMO_CONFIG = """
timezone: America/New_York
channels: {escalations: C0ESCALATE, handoffs: C0HANDOFF}
team:
  - {slack_id: U0SDR1, name: Sam Rivera, role: sdr}
  - {slack_id: U0SDR2, name: Ana Silva, role: sdr}
  - {slack_id: U0AE1, name: Alex Kim, role: ae}
  - {slack_id: U0MGR1, name: Morgan Lee, role: manager}
sla: {first_touch: 15m, first_touch_hot: 5m, escalate_after: 2h, reassign_after: 24h, ae_response: 4h}
scoring:
  mql_threshold: 40
  icp: {industries: [Software, Fintech], company_size: {min: 50, max: 5000}, regions: [US, CA, GB],
        seniority: [vp, director, head, chief, cto, ceo]}
routing: {fallback: U0MGR1}
"""

SAMPLE_LEADS = [
    {
        "email": "jordan.blake@northwind.io",
        "first_name": "Jordan",
        "last_name": "Blake",
        "company": "Northwind",
        "title": "VP Engineering",
        "company_size": "201-500",
        "country": "US",
        "industry": "Software",
        "source": "Website",
        "demo_request": True,
        "pages_visited": ["/pricing", "/demo"],
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "brand-q4",
    },
    {
        "email": "priya@fabrikam.co.uk",
        "first_name": "Priya",
        "last_name": "Natarajan",
        "company": "Fabrikam",
        "title": "Head of Operations",
        "company_size": 120,
        "country": "GB",
        "industry": "Fintech",
        "source": "Webinar",
        "pages_visited": ["/blog/speed-to-lead"],
    },
    {
        "email": "lee.student@gmail.com",
        "first_name": "Lee",
        "last_name": "Park",
        "title": "Student",
        "country": "KR",
        "source": "Content download",
    },
]


def run_demo(out: Callable[[str], None] = print, crm: str | None = None) -> int:
    """The whole flow; with `crm` ("hubspot" / "salesforce"), also what that CRM holds after each step."""
    with tempfile.TemporaryDirectory(prefix="leadbot-demo-") as workdir:
        return _run(Path(workdir), out, crm)


@dataclass
class DemoSession:
    """The running app and the stand-in, and the other side's gestures: a form posting, people clicking."""

    out: Callable[[str], None]
    standin: FakeSlack
    settings: Settings
    config: Config
    clock: ManualClock
    leadbot: Leadbot
    base: str
    crm: DemoCrm | None = None

    @property
    def names(self) -> dict[str, str]:
        return {m.slack_id: m.name for m in self.config.team}

    def show(self, message: dict) -> None:
        self.out(_indent(render_message(message, self.names)))

    def show_crm(self) -> None:
        """What the CRM holds now, once Leadbot's writes have landed (nothing without a CRM)."""
        if self.crm is None:
            return
        wait_for_crm_writes(self.leadbot.engine, self.crm.system, self.leadbot.crm_relay.kick)
        self.out(f"   Meanwhile in {self.crm.label} (a stand-in on {self.crm.standin.url}):")
        for line in self.crm.snapshot():
            self.out(f"     {line}")

    def post_lead(self, lead: dict) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.settings.intake_token}"}
        status, body, _ = post(f"{self.base}/leads", json.dumps(lead), headers)
        return status, json.loads(body)

    def click(self, user_id: str, message: dict, action: dict, user_name: str) -> int:
        return send_block_action(
            url=self.base,
            signing_secret=self.settings.slack_signing_secret,
            user_id=user_id,
            action=action,
            message=message,
            response_url=self.standin.response_url(user_name),
            user_name=user_name,
        )

    def click_contacted(self, user_id: str, alert: dict, via: str, user_name: str) -> int:
        actions = next(b for b in alert["blocks"] if b["type"] == "actions")
        menu = actions["elements"][0]
        option = next(o for o in menu["options"] if json.loads(o["value"])["via"] == via)
        action = select_action(menu["action_id"], actions["block_id"], option, menu["placeholder"]["text"])
        return self.click(user_id, alert, action, user_name)

    def click_button(self, user_id: str, message: dict, action_id: str, user_name: str) -> int:
        block = next(b for b in message["blocks"] if b["type"] == "actions")
        button = next(e for e in block["elements"] if e["action_id"] == action_id)
        action = button_action(action_id, block["block_id"], button["value"], button["text"]["text"])
        return self.click(user_id, message, action, user_name)


def _run(workdir: Path, out: Callable[[str], None], crm_system: str | None) -> int:
    standin = FakeSlack(bot_token="xoxb-demo-" + secrets.token_hex(8)).start()
    data = yaml.safe_load(DEMO_CONFIG)
    crm = None
    if crm_system:
        for member in data["team"]:
            member["email"] = f"{member['name'].split()[0].lower()}@demo.test"
        crm = start_demo_crm(crm_system, workdir, {m["email"]: m["name"] for m in data["team"]})
        data["crm"] = {"system": crm_system, "hubspot": {"portal_id": "4410000"}}
    settings = Settings(
        slack_bot_token=standin.bot_token,
        slack_signing_secret=secrets.token_hex(16),
        slack_api_url=standin.base_url,
        database_url=f"sqlite:///{workdir / 'demo.db'}",
        intake_token=secrets.token_urlsafe(24),
        **(crm.settings if crm else {}),
    )
    config = parse_config(data, "demo config")
    # The demo's own clock, so that it can let a few minutes pass before the SDR calls.
    clock = ManualClock(SystemClock().now())
    leadbot = build_leadbot(settings, config, clock=clock, relay_poll_every=0.2)
    leadbot.start()
    server = ServerThread(make_http_server(leadbot.web, host="127.0.0.1", port=0, threads=8)).start()
    demo = DemoSession(out, standin, settings, config, clock, leadbot, server.url, crm)
    if crm:
        crm.subscribe(server.url, settings.hubspot_client_secret, settings.intake_token, clock.now)
    try:
        out(
            "Leadbot demo. Slack is SIMULATED: a local stand-in for Slack's Web API answers on "
            f"{standin.url}; nothing leaves this machine."
        )
        if crm:
            out(f"{crm.label} is SIMULATED too: a local stand-in for its API answers on {crm.standin.url}.")
        out(f"The real Leadbot server runs on {demo.base} with a fresh SQLite database in {workdir}.\n")
        alerts = _leads_come_in(demo)
        demo.show_crm()
        first = min(alerts)
        _a_refusal_then_the_first_touch(demo, first, *alerts[first])
        demo.show_crm()
        if crm:
            _a_call_logged_in_the_crm(demo, 2, *alerts[2])
        _the_same_person_again(demo, alerts[first][1])
        _two_hours_later(demo, untouched=max(alerts), worked=first)
        demo.show_crm()
        _qualify_and_accept(demo, *alerts[2])
        demo.show_crm()
        out("\nDone. Run `leadbot serve` with SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET set to do this for real.")
        return 0
    finally:
        server.stop()
        leadbot.stop()
        standin.stop()
        if crm:
            crm.standin.stop()
        leadbot.engine.dispose()


def _leads_come_in(demo: DemoSession) -> dict[int, tuple[str, dict]]:
    """Each sample lead posted as a form would; lead id → (owner, the owner's DM)."""
    alerts = {}
    for lead in SAMPLE_LEADS:
        demo.out(f"── A form posts a lead: POST {demo.base}/leads  ({lead['email']})")
        status, answer = demo.post_lead(lead)
        owner = demo.names[answer["owner"]]
        demo.out(
            f"   → HTTP {status}: lead #{answer['id']}, owner {owner}, score {answer['score']}, "
            f"first touch due {answer['first_touch_due_at']}"
        )
        channel = demo.standin.dm_channel(answer["owner"])
        alert = demo.standin.wait_for(lambda a=answer, ch=channel: _alert_for(demo.standin, ch, a["id"]))
        demo.out(f"   {owner} gets this DM in Slack:")
        demo.show(alert)
        alerts[answer["id"]] = (answer["owner"], alert)
    return alerts


def _a_refusal_then_the_first_touch(demo: DemoSession, lead_id: int, owner: str, alert: dict) -> None:
    names = demo.names
    other = next(m.slack_id for m in demo.config.team if m.role == "sdr" and m.slack_id != owner)
    demo.out(f"\n── {names[other]} tries to log a call on {names[owner]}'s lead (a signed block_actions request)")
    demo.click_contacted(other, alert, "call", "rep-2")
    reply = demo.standin.wait_for(lambda: demo.standin.responses and demo.standin.responses[-1])
    demo.out(f"   → {names[other]} sees, only to them: {render_message({'text': reply['text']}, names)}")

    demo.clock.advance(timedelta(minutes=3, seconds=40))
    demo.out(
        f"\n── 3m 40s later, {names[owner]} picks 'Contacted via… Call' on the DM (a signed block_actions request)"
    )
    status = demo.click_contacted(owner, alert, "call", "rep-1")
    demo.out(f"   → HTTP {status} within Slack's 3 seconds; the DM is then updated in place:")
    # (With a CRM the DM may also be redrawn for its "Open in" link: wait for the touch itself.)
    demo.show(demo.standin.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]) and alert))
    with read_session(demo.leadbot.engine) as session:
        stored = lead_store.get_lead(session, lead_id)
        log = lead_store.activities(session, lead_id)
    demo.out(
        f"   What changed: stage new → {stored.stage}, first touch by {names[stored.first_touch_by]} via "
        f"{stored.first_touch_via} at {stored.first_touch_at:%H:%M:%S} UTC. Activity log for lead #{stored.id}:"
    )
    for entry in log:
        demo.out(f"     {entry.at:%H:%M:%S}  {entry.actor:<8} {entry.kind}")


def _a_call_logged_in_the_crm(demo: DemoSession, lead_id: int, owner: str, alert: dict) -> None:
    crm, name = demo.crm, demo.names[owner]
    demo.clock.advance(timedelta(minutes=2))
    with read_session(demo.leadbot.engine) as session:
        record_id = lead_store.get_lead(session, lead_id).crm_record_id
    demo.out(f"\n── {name} calls lead #{lead_id} and logs the call in {crm.label}, not in Slack.")
    crm.log_call_as_user(record_id, name)
    demo.out(
        f"   {crm.label} tells Leadbot (POST {demo.base}/crm/{crm.system}/events), which stops the Slack clock."
        " The DM, updated in place:"
    )
    demo.show(demo.standin.wait_for(lambda: f"logged in {crm.label}" in json.dumps(alert["blocks"]) and alert))


def _the_same_person_again(demo: DemoSession, alert: dict) -> None:
    demo.out(f"\n── The same person fills in the form again: POST {demo.base}/leads")
    status, answer = demo.post_lead(SAMPLE_LEADS[0])
    demo.out(f"   → HTTP {status}: no new lead; {answer['id']} gets the touch, and its owner hears of it:")
    notice = demo.standin.wait_for(lambda: [m for m in demo.standin.messages_in(alert["channel"]) if m["thread_ts"]])
    demo.show(notice[-1])


def _two_hours_later(demo: DemoSession, untouched: int, worked: int) -> None:
    demo.clock.advance(timedelta(hours=2))
    result = sweep(demo.leadbot.engine, demo.config, demo.clock.now())
    demo.out(
        f"\n── Two hours pass (the demo's clock jumps). The SLA sweep fires {result.fired} timers: "
        + ", ".join(f"{n} {what}" for what, n in sorted(result.outcomes.items()))
    )
    demo.out(
        f"   Lead #{worked} is being worked (a call logged), so nobody is bothered about it: a worked lead is "
        "escalated only after 2 working days of silence (sla.stages)."
    )
    escalated = untouched
    demo.out(f"   Lead #{escalated} was never touched. Managers see this in the escalations channel:")
    # That lead's escalation: the relay keeps each lead's messages in order, not the leads' order.
    channel = demo.config.channels.escalations
    escalation = demo.standin.wait_for(
        lambda: next(
            (
                m
                for m in demo.standin.messages_in(channel)
                if "Escalation" in m["text"] and f"Lead #{escalated} " in json.dumps(m["blocks"])
            ),
            None,
        )
    )
    demo.show(escalation)
    manager = demo.config.members_with_role("manager")[0].slack_id
    demo.out(f"\n── {demo.names[manager]} clicks Reassign now (a signed block_actions request)")
    demo.click_button(manager, escalation, "escalation.reassign_now", "manager")
    demo.show(demo.standin.wait_for(lambda: escalation["edits"] > 0 and escalation))


QUALIFICATION = {
    "notes": "Ops team loses inbound leads over weekends; wants SLAs in Slack.",
    "need": "Leads go cold",
    "budget": "20-40k",
    "timeline": "This quarter",
    "decision_maker": "Priya (Head of Ops)",
}


def _qualify_and_accept(demo: DemoSession, owner: str, alert: dict) -> None:
    standin, names, handoffs = demo.standin, demo.names, demo.config.channels.handoffs
    ae = demo.config.members_with_role("ae")[0].slack_id
    demo.out(f"\n── {names[owner]} emails Priya, then picks Qualify as SQL on the DM")
    demo.click_contacted(owner, alert, "email", "rep-2")
    standin.wait_for(lambda: "lead.qualify" in json.dumps(alert["blocks"]))
    demo.click_button(owner, alert, "lead.qualify", "rep-2")
    view = standin.wait_for(lambda: standin.opened_views and standin.opened_views[-1])["view"]
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    demo.out(f"   A modal opens: {view['title']['text']}, asking for " + ", ".join(labels))
    status, _ = send_view_submission(
        url=demo.base,
        signing_secret=demo.settings.slack_signing_secret,
        user_id=owner,
        view=view,
        values=QUALIFICATION,
        user_name="rep-2",
    )
    demo.out(f"   → submitted (a signed view_submission), HTTP {status}. The handoffs channel shows:")
    handoff = standin.wait_for(lambda: next((m for m in standin.messages_in(handoffs)), None))
    demo.show(handoff)
    demo.out(f"\n── {names[ae]} clicks Accept")
    demo.click_button(ae, handoff, "handoff.accept", "ae")
    standin.wait_for(lambda: handoff["edits"] > 0)
    reply = standin.wait_for(lambda: [m for m in standin.messages_in(handoffs) if m["thread_ts"]])
    demo.show(handoff)
    demo.out("   and in its thread:")
    demo.show(reply[-1])


def _alert_for(standin: FakeSlack, channel: str, lead_id: int) -> dict | None:
    return next((m for m in standin.messages_in(channel) if f"Lead #{lead_id} " in json.dumps(m["blocks"])), None)


def _indent(text: str) -> str:
    return "\n".join("     " + line for line in text.splitlines())
