"""What the Salesforce stand-in knows of a fresh org: the objects Leadbot touches, their fields and picklists.

From the Salesforce Object Reference. A field is (type, required on create, picklist values or None);
`reference:X` points at an X's Id. Only fields a client may write are listed, plus the read-only ones a
query may select (marked `readonly`).
"""

from __future__ import annotations

from typing import NamedTuple


class FieldSpec(NamedTuple):
    type: str
    required: bool = False
    picklist: tuple[str, ...] | None = None


S, REQ = FieldSpec("string"), FieldSpec("string", required=True)
READONLY = FieldSpec("readonly")
OWNER = FieldSpec("reference:User")

LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
OPPORTUNITY_STAGES = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
)  # fmt: skip

TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")

FIELDS: dict[str, dict[str, FieldSpec]] = {
    "Lead": {
        "FirstName": S, "LastName": REQ, "Company": REQ, "Email": S, "Title": S, "Phone": S, "Country": S,
        "State": S, "LeadSource": S, "Description": S, "OwnerId": OWNER,
        "Status": FieldSpec("string", picklist=LEAD_STATUSES),
        "IsConverted": READONLY, "CreatedDate": READONLY,
    },
    "Contact": {
        "FirstName": S, "LastName": REQ, "Email": S, "Title": S, "Phone": S, "MailingCountry": S,
        "Description": S, "OwnerId": OWNER, "AccountId": FieldSpec("reference:Account"), "CreatedDate": READONLY,
    },
    "Account": {"Name": REQ, "Website": S, "OwnerId": OWNER, "CreatedDate": READONLY},
    "Opportunity": {
        "Name": REQ, "CloseDate": FieldSpec("date", required=True), "Amount": FieldSpec("double"),
        "StageName": FieldSpec("string", required=True, picklist=OPPORTUNITY_STAGES),
        "AccountId": FieldSpec("reference:Account"), "OwnerId": OWNER, "Description": S, "LeadSource": S,
        "CreatedDate": READONLY,
    },
    "OpportunityContactRole": {
        "OpportunityId": FieldSpec("reference:Opportunity", required=True),
        "ContactId": FieldSpec("reference:Contact", required=True),
        "Role": FieldSpec("string", picklist=("Decision Maker", "Evaluator", "Influencer", "Business User",
                                              "Economic Buyer", "Technical Buyer", "Other")),
        "IsPrimary": FieldSpec("boolean"), "CreatedDate": READONLY,
    },
    "Task": {
        "WhoId": FieldSpec("reference:Lead|Contact"), "WhatId": FieldSpec("reference:Opportunity|Account"),
        "Subject": S, "Description": S, "ActivityDate": FieldSpec("date"), "OwnerId": OWNER,
        "Status": FieldSpec("string", required=True, picklist=TASK_STATUSES),
        "Priority": FieldSpec("string", required=True, picklist=("High", "Normal", "Low")),
        "TaskSubtype": FieldSpec("string", picklist=("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")),
        "CreatedDate": READONLY,
    },
    "User": {"Email": READONLY, "Username": READONLY, "Name": READONLY, "IsActive": READONLY},
}  # fmt: skip

# The three-character key prefix of each object's ids.
ID_PREFIXES = {
    "Lead": "00Q",
    "Contact": "003",
    "Account": "001",
    "Opportunity": "006",
    "OpportunityContactRole": "00K",
    "Task": "00T",
    "User": "005",
}
