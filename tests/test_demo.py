"""`leadbot demo` runs the real flow against the stand-in and says that Slack is simulated."""

from __future__ import annotations

from bot.devtools.demo import SAMPLE_LEADS, run_demo


def test_the_demo_posts_leads_shows_the_dms_and_the_contacted_click():
    lines: list[str] = []

    assert run_demo(out=lines.append) == 0

    text = "\n".join(lines)
    assert "Slack is SIMULATED" in text
    assert text.count("→ HTTP 201") == len(SAMPLE_LEADS)
    assert "New lead: Jordan Blake (Northwind)" in text
    assert "Only @Sam Rivera (the lead's owner) or a manager can log a touch" in text
    assert "Contacted by @Sam Rivera via Call" in text and "3m 40s after assignment, within the 5m SLA" in text
    assert "stage new → attempting_contact" in text
    assert "→ HTTP 200: no new lead" in text and "came in again via Website" in text
    assert "The SLA sweep fires" in text and "Escalation: No activity for 2h on Jordan Blake" in text
    assert "Now owned by @Ana Silva (reassigned from an escalation by Morgan Lee)" in text
    assert "A modal opens: Qualify as SQL, asking for Qualification notes, Need / pain" in text
    assert "@Alex Kim, please accept or reject this SQL from @Ana Silva" in text
    assert "Accepted by @Alex Kim: an opportunity was created" in text and "Opportunity #1 was created" in text
