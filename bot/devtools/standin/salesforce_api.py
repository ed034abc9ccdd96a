"""A local stand-in for the Salesforce REST API: a real HTTP server on 127.0.0.1 that simple-salesforce talks to.

Built from the REST API Developer Guide and the Object Reference: the OAuth 2.0 JWT bearer token endpoint
(the assertion's RS256 signature, issuer, subject, audience and expiry checked), `sobjects` create / read /
update / describe, `query` (the SOQL slice in soql.py), `composite/graph` (all or none), `composite/sobjects`
(sObject Collections: many creates or updates in one call, each on its own) and `limits`.
Errors come as Salesforce sends them, a list of `{"message", "errorCode", "fields"}`: INVALID_SESSION_ID
(401) for an unknown or expired token, REQUEST_LIMIT_EXCEEDED (403) past the daily allocation, INVALID_FIELD,
REQUIRED_FIELD_MISSING, INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, INVALID_CROSS_REFERENCE_KEY (400).
Every answer carries `Sforce-Limit-Info`. An active lead assignment rule reassigns a Lead written without
`Sforce-Auto-Assign: FALSE`, as a real org's does.
"""

from __future__ import annotations

import copy
import itertools
import re
import secrets
import time
from typing import Any

import jwt

from bot.devtools.standin import soql
from bot.devtools.standin.crm_server import CrmStandin
from bot.devtools.standin.salesforce_people import SalesforcePeople
from bot.devtools.standin.salesforce_schema import FIELDS, ID_PREFIXES

API_VERSIONS = ("58.0", "59.0", "60.0", "61.0", "62.0", "63.0", "64.0", "65.0")
AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
ORG_ID = "00D5g000004SFAKE"
INTEGRATION_USER_ID = "0055g00000LEADBOTAA"  # the user Leadbot's token acts as


class SalesforceError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []

    def body(self) -> list[dict]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


class FakeSalesforce(SalesforcePeople, CrmStandin):
    """Point simple-salesforce at `url` (instance and login URL); `public_key_pem` checks JWT assertions."""

    name = "Salesforce"

    def __init__(self, client_id: str = "3MVG9standin", username: str = "leadbot@acme.test",
                 public_key_pem: bytes | None = None, daily_limit: int = 100_000):  # fmt: skip
        super().__init__()
        self.client_id, self.username, self.public_key_pem = client_id, username, public_key_pem
        self.daily_limit, self.api_calls = daily_limit, 0
        self.objects: dict[str, dict[str, dict]] = {name: {} for name in FIELDS}
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        # Fields the org's admin created for Leadbot (crm.stamp_fields).
        self.custom_fields = {"Lead": {"Leadbot_Lead_Id__c", "Leadbot_Routing_Reason__c", "Leadbot_First_Touch_Due__c"}}
        # The owner (a user or queue id) the org's active lead assignment rule gives, if it has one.
        self.assignment_rule_owner: str | None = None
        self._ids = itertools.count(1)

    # -- what a test sets up ----------------------------------------------------------------------------
    def issue_token(self) -> str:
        """A session id, as an admin gets one by hand (SALESFORCE_ACCESS_TOKEN)."""
        with self._cond:
            self.tokens_issued += 1
            token = f"{ORG_ID}!AQ{secrets.token_urlsafe(24)}"
            self.tokens.add(token)
            return token

    def expire_sessions(self) -> None:
        """Every session id ends, as after the org's session timeout."""
        with self._cond:
            self.tokens.clear()

    def add_user(self, email: str, name: str = "", active: bool = True) -> str:
        with self._cond:
            user_id = self._new_id("User")
            username = email if email.endswith(".test") else f"{email}.acme"
            self.objects["User"][user_id] = {"Id": user_id, "Email": email, "Username": username,
                                             "Name": name or email, "IsActive": active}  # fmt: skip
            return user_id

    def add_record(self, sobject: str, fields: dict) -> str:
        with self._cond:
            return self._create(sobject, fields, {})

    def delete_record(self, sobject: str, record_id: str) -> None:
        """Someone deleted it in Salesforce."""
        with self._cond:
            del self.objects[sobject][record_id]

    # -- what happened ----------------------------------------------------------------------------------
    def records(self, sobject: str) -> list[dict]:
        with self._cond:
            return [dict(r) for r in self.objects[sobject].values()]

    # -- one request ------------------------------------------------------------------------------------
    def respond(self, method: str, path: str, query: dict, headers: dict, body: Any) -> tuple[int, dict, Any]:
        if path.rstrip("/") == "/services/oauth2/token" and method == "POST":
            return self._token(body)
        try:
            self._authorize(headers)
            failure = self.take_failure(path)
            if failure is not None:
                status, fields = failure
                code = fields.pop("errorCode", "SERVER_UNAVAILABLE" if status >= 500 else "INVALID_INPUT")
                raise SalesforceError(status, code, fields.pop("message", f"injected {status}"))
            self._count_call()
            status, answer = self._route(method, path, query, headers, body)
        except SalesforceError as error:
            status, answer = error.status, error.body()
        return status, {"Sforce-Limit-Info": f"api-usage={self.api_calls}/{self.daily_limit}"}, answer

    def _token(self, form: Any) -> tuple[int, dict, Any]:
        def refuse(error: str, description: str):
            return 400, {}, {"error": error, "error_description": description}

        if not isinstance(form, dict) or form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return refuse("unsupported_grant_type", "grant type not supported")
        if self.public_key_pem is None:
            return refuse("invalid_client_id", "client identifier invalid")
        try:
            # Salesforce takes `exp` as a string of seconds too (simple-salesforce sends one): checked below.
            claims = jwt.decode(
                form.get("assertion", ""),
                self.public_key_pem,
                algorithms=["RS256"],
                audience=list(AUDIENCES),
                options={"require": ["exp", "iss", "sub", "aud"], "verify_exp": False},
            )
        except jwt.InvalidTokenError:
            return refuse("invalid_grant", "invalid assertion")
        if not str(claims["exp"]).isdigit() or int(claims["exp"]) < time.time():
            return refuse("invalid_grant", "expired authorization code")
        if claims["iss"] != self.client_id:
            return refuse("invalid_client_id", "client identifier invalid")
        if claims["sub"] != self.username:
            return refuse("invalid_grant", "user hasn't approved this consumer")
        with self._cond:
            self.tokens_issued += 1
            token = f"{ORG_ID}!AQ{secrets.token_urlsafe(24)}"
            self.tokens.add(token)
        return (
            200,
            {},
            {
                "access_token": token,
                "scope": "api",
                "instance_url": self.url,
                "id": f"https://login.salesforce.com/id/{ORG_ID}/005000000000001AAA",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
            },
        )

    def _authorize(self, headers: dict) -> None:
        token = (headers.get("authorization") or "").removeprefix("Bearer ").strip()
        if token not in self.tokens:
            raise SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def _count_call(self) -> None:
        if self.api_calls >= self.daily_limit:
            raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.api_calls += 1

    # -- routes -----------------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict, headers: dict, body: Any) -> tuple[int, Any]:
        found = re.fullmatch(r"/services/data/v(\d+\.\d)/(.*?)/?", path)
        if found is None or found[1] not in API_VERSIONS:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        version, parts = found[1], found[2].split("/")
        if parts == ["query"] and method == "GET":
            return 200, self._query((query.get("q") or [""])[0], version)
        if parts == ["limits"] and method == "GET":
            return 200, {"DailyApiRequests": {"Max": self.daily_limit, "Remaining": self.daily_limit - self.api_calls}}
        if parts == ["composite", "graph"] and method == "POST":
            return 200, self._graph(body, version, headers)
        if parts == ["composite", "sobjects"] and method == "PATCH":
            return 200, self._update_collection(body, headers)
        if parts == ["composite", "sobjects"] and method == "POST":
            return 200, self._create_collection(body, headers)
        if parts[0] == "sobjects" and len(parts) >= 2:
            return self._sobject(method, parts[1:], version, headers, body)
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")

    def _sobject(self, method: str, parts: list[str], version: str, headers: dict, body: Any) -> tuple[int, Any]:
        sobject = parts[0]
        if sobject not in FIELDS:
            raise SalesforceError(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{sobject}'")
        if parts[1:] == [] and method == "POST":
            record_id = self._create(sobject, self._fields(body), headers)
            return 201, {"id": record_id, "success": True, "errors": []}
        if parts[1:] == ["describe"] and method == "GET":
            names = [*FIELDS[sobject], "Id", *sorted(self.custom_fields.get(sobject, ()))]
            return 200, {"name": sobject, "fields": [{"name": n} for n in names]}
        if len(parts) == 2 and method in ("GET", "PATCH"):
            record = self.objects[sobject].get(parts[1])
            if record is None:
                raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
            if method == "GET":
                return 200, self._public(sobject, record, version)
            self._update(sobject, record, self._fields(body), headers)
            return 204, None
        raise SalesforceError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed")

    # -- writes -----------------------------------------------------------------------------------------
    def _fields(self, body: Any) -> dict:
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        return body

    def _check(self, sobject: str, fields: dict, creating: bool) -> None:
        known = FIELDS[sobject]
        for name, value in fields.items():
            spec = known.get(name)
            if spec is None and name not in self.custom_fields.get(sobject, ()):
                raise SalesforceError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")
            if spec is None:
                continue
            if spec.type == "readonly":
                raise SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                                      f"Unable to create/update fields: {name}. Please check the security settings "
                                      "of this field and verify that it is read/write for your profile or "
                                      "permission set.", [name])  # fmt: skip
            if spec.picklist and value is not None and value not in spec.picklist:
                raise SalesforceError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                      f"{name}: bad value for restricted picklist field: {value}", [name])  # fmt: skip
            if spec.type == "date" and value is not None and not re.fullmatch(r"\d{4}-\d\d-\d\d", str(value)):
                message = f"Cannot deserialize instance of date from VALUE_STRING value {value}"
                raise SalesforceError(400, "JSON_PARSER_ERROR", message)
            if spec.type.startswith("reference:") and value:
                self._check_reference(name, str(value), spec.type.removeprefix("reference:").split("|"))
        missing = [
            n for n, s in known.items() if s.required and (creating or n in fields) and fields.get(n) in (None, "")
        ]
        if missing:
            raise SalesforceError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                                  missing)  # fmt: skip

    def _check_reference(self, name: str, value: str, targets: list[str]) -> None:
        if not re.fullmatch(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?", value):
            raise SalesforceError(400, "MALFORMED_ID", f"{name}: id value of incorrect type: {value}", [name])
        if not any(value in self.objects[t] for t in targets):
            raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", f"{name}: invalid cross reference id", [name])

    def _create(self, sobject: str, fields: dict, headers: dict, by: str = INTEGRATION_USER_ID) -> str:
        self._check(sobject, fields, creating=True)
        record_id = self._new_id(sobject)
        record = {"Id": record_id, **fields}
        self._stamp(record, by, creating=True)
        if sobject == "Lead":
            record.setdefault("Status", "Open - Not Contacted")
            record["IsConverted"] = False
            self._assignment_rule(record, headers)
        if sobject == "Task" and record.get("WhoId") and not record["WhoId"].startswith(("00Q", "003")):
            raise SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION", "Name ID: id value of incorrect type", ["WhoId"])
        self.objects[sobject][record_id] = record
        self._flow_fires(sobject, record, None, creating=True)
        return record_id

    def _update(self, sobject: str, record: dict, fields: dict, headers: dict, by: str = INTEGRATION_USER_ID) -> None:
        self._check(sobject, fields, creating=False)
        owner_before = record.get("OwnerId")
        record.update(fields)
        if sobject == "Lead":
            self._assignment_rule(record, headers)
        self._stamp(record, by, creating=False)
        self._flow_fires(sobject, record, owner_before, creating=False)

    def _assignment_rule(self, record: dict, headers: dict) -> None:
        """Without `Sforce-Auto-Assign: FALSE`, the active assignment rule decides the owner (the default is TRUE)."""
        if self.assignment_rule_owner and (headers.get("sforce-auto-assign") or "TRUE").upper() != "FALSE":
            record["OwnerId"] = self.assignment_rule_owner

    def _new_id(self, sobject: str) -> str:
        return f"{ID_PREFIXES[sobject]}5g{next(self._ids):010d}AAA"

    # -- reads ------------------------------------------------------------------------------------------
    def _public(self, sobject: str, record: dict, version: str, fields: tuple[str, ...] | None = None) -> dict:
        url = f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"
        chosen = fields or tuple(record)
        return {"attributes": {"type": sobject, "url": url}, **{f: record.get(f) for f in chosen}}

    def _query(self, text: str, version: str) -> dict:
        try:
            query = soql.parse(text)
        except soql.SoqlError as error:
            raise SalesforceError(400, "MALFORMED_QUERY", str(error)) from None
        if query.object not in FIELDS:
            raise SalesforceError(400, "INVALID_TYPE", f"sObject type '{query.object}' is not supported.")
        allowed = {"Id", *FIELDS[query.object], *self.custom_fields.get(query.object, ())}
        for name in {*query.fields, *(c.field for c in query.where)} - allowed:
            raise SalesforceError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{query.object}'.")
        found = [r for r in self.objects[query.object].values() if query.matches(r)]
        if query.order_by:
            found.sort(key=lambda r: str(r.get(query.order_by) or ""), reverse=query.descending)
        found = found[: query.limit] if query.limit is not None else found
        records = [self._public(query.object, r, version, query.fields) for r in found]
        return {"totalSize": len(records), "done": True, "records": records}

    # -- sObject Collections: up to 200 updates in one call ---------------------------------------------
    def _update_collection(self, body: Any, headers: dict) -> list[dict]:
        answers = []
        for item in self._collection(body):
            fields = {k: v for k, v in item.items() if k not in ("attributes", "id")}
            sobject, record_id = (item.get("attributes") or {}).get("type"), item.get("id")
            try:
                record = self.objects.get(sobject, {}).get(record_id)
                if record is None:
                    raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
                self._update(sobject, record, fields, headers)
                answers.append({"id": record_id, "success": True, "errors": []})
            except SalesforceError as error:
                failure = {"statusCode": error.code, "message": error.message, "fields": error.fields}
                answers.append({"success": False, "errors": [failure]})
        return answers

    def _create_collection(self, body: Any, headers: dict) -> list[dict]:
        answers = []
        for item in self._collection(body):
            fields = {k: v for k, v in item.items() if k != "attributes"}
            sobject = (item.get("attributes") or {}).get("type")
            try:
                if sobject not in FIELDS:
                    raise SalesforceError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
                answers.append({"id": self._create(sobject, fields, headers), "success": True, "errors": []})
            except SalesforceError as error:
                failure = {"statusCode": error.code, "message": error.message, "fields": error.fields}
                answers.append({"success": False, "errors": [failure]})
        return answers

    def _collection(self, body: Any) -> list[dict]:
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not 1 <= len(records) <= 200:
            raise SalesforceError(400, "EXCEEDED_MAX_SIZE_REQUEST", "records must hold 1 to 200 records")
        if body.get("allOrNone"):
            raise SalesforceError(400, "INVALID_INPUT", "the stand-in takes allOrNone: false only")
        return records

    # -- composite graph (all or none) ------------------------------------------------------------------
    def _graph(self, body: Any, version: str, headers: dict) -> dict:
        graphs = body.get("graphs") if isinstance(body, dict) else None
        if not isinstance(graphs, list) or not graphs:
            raise SalesforceError(400, "JSON_PARSER_ERROR", "graphs is required")
        answers = []
        for graph in graphs:
            requests = graph.get("compositeRequest") or []
            if not 1 <= len(requests) <= 500:
                raise SalesforceError(400, "INVALID_INPUT", "A graph holds 1 to 500 nodes")
            answers.append(self._one_graph(graph.get("graphId"), requests, version, headers))
        return {"graphs": answers}

    def _one_graph(self, graph_id: str, requests: list[dict], version: str, headers: dict) -> dict:
        before = copy.deepcopy(self.objects)
        references: dict[str, str] = {}
        answers, failed = [], None
        for node in requests:
            reference = node.get("referenceId")
            try:
                resolved = _resolve(node.get("body"), references)
                parts = re.fullmatch(rf"/services/data/v{re.escape(version)}/sobjects/(.+)", node.get("url", ""))
                if parts is None:
                    raise SalesforceError(400, "INVALID_INPUT", f"unsupported url in a graph: {node.get('url')}")
                status, answer = self._sobject(node.get("method", "GET"), parts[1].split("/"), version, headers,
                                               resolved)  # fmt: skip
                if isinstance(answer, dict) and "id" in answer:
                    references[reference] = answer["id"]
                answers.append({"body": answer, "httpHeaders": {}, "httpStatusCode": status, "referenceId": reference})
            except SalesforceError as error:
                failed = error
                answers.append({"body": error.body(), "httpHeaders": {}, "httpStatusCode": error.status,
                                "referenceId": reference})  # fmt: skip
                break
        if failed is not None:
            self.objects = before  # all or none
            halted = [{"errorCode": "PROCESSING_HALTED",
                       "message": "The transaction was rolled back since another operation in the same transaction "
                                  "failed."}]  # fmt: skip
            answers = [a if a["httpStatusCode"] >= 400 else {**a, "body": halted, "httpStatusCode": 400}
                       for a in answers]  # fmt: skip
        return {"graphId": graph_id, "graphResponse": {"compositeResponse": answers}, "isSuccessful": failed is None}


def _resolve(value: Any, references: dict[str, str]) -> Any:
    """`@{account.id}` in a node's body → the id the node `account` created."""
    if isinstance(value, dict):
        return {k: _resolve(v, references) for k, v in value.items()}
    if isinstance(value, str):
        found = re.fullmatch(r"@\{(\w+)\.id\}", value)
        if found:
            if found[1] not in references:
                raise SalesforceError(400, "INVALID_REFERENCE", f"No value for {found[1]}.id")
            return references[found[1]]
    return value
