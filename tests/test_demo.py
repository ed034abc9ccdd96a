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
    assert "The SLA sweep fires" in text and "Escalation: No activity for 2h 3m on Lee Park" in text
    assert "Escalation: No activity for 2h 3m on Jordan Blake" not in text  # called 3m 40s in: being worked
    assert "Now owned by @Ana Silva (reassigned from an escalation by Morgan Lee)" in text
    assert "A modal opens: Qualify as SQL, asking for Qualification notes, Need / pain" in text
    assert "@Alex Kim, please accept or reject this SQL from @Ana Silva" in text
    assert "Accepted by @Alex Kim: an opportunity was created" in text and "Opportunity #1 was created" in text


def test_the_demo_with_hubspot_prints_what_hubspot_holds_beside_the_slack_messages():
    lines: list[str] = []

    assert run_demo(out=lines.append, crm="hubspot") == 0

    text = "\n".join(lines)
    assert "HubSpot is SIMULATED too" in text and text.count("Meanwhile in HubSpot") == 4
    assert "jordan.blake@northwind.io  owner Sam Rivera  lead status NEW" in text  # after intake
    assert "jordan.blake@northwind.io  owner Sam Rivera  lead status ATTEMPTED_TO_CONTACT" in text  # the call
    assert "lee.student@gmail.com  owner Ana Silva" in text  # the manager's reassignment
    assert "call: First touch (call), logged in Slack" in text
    # A call logged in HubSpot reaches Leadbot by webhook and stops the Slack clock.
    assert "Ana Silva calls lead #2 and logs the call in HubSpot, not in Slack." in text
    assert "Contacted by @Ana Silva via Call, logged in HubSpot" in text and "call: Discovery call" in text
    assert "Fabrikam: new business  owner Alex Kim  pipeline default / appointmentscheduled" in text


def test_the_demo_with_salesforce_prints_the_leads_tasks_and_opportunity():
    lines: list[str] = []

    assert run_demo(out=lines.append, crm="salesforce") == 0

    text = "\n".join(lines)
    assert "Salesforce is SIMULATED too" in text and text.count("Meanwhile in Salesforce") == 4
    assert "jordan.blake@northwind.io  owner Sam Rivera  Status Working - Contacted" in text
    assert "Task (Call): First touch (call), logged in Slack" in text
    assert "Contacted by @Ana Silva via Call, logged in Salesforce" in text and "Task (Call): Discovery call" in text
    assert "Fabrikam: new business  owner Alex Kim  Qualification" in text and "Account Fabrikam" in text
    assert "Contact " in text and "priya@fabrikam.co.uk  (with the Opportunity's contact role)" in text
