"""A local stand-in for HubSpot's CRM v3 API: a real HTTP server on 127.0.0.1 that hubspot-api-client talks to.

Built from HubSpot's published OpenAPI specs (CRM objects, search, batch, owners, properties, associations
v4): the same paths, request and answer shapes, error bodies (`status`, `message`, `correlationId`,
`category`) and rate-limit answers (429 with `errorType: RATE_LIMIT`, a `policyName` and the
`X-HubSpot-RateLimit-*` headers). It refuses what HubSpot refuses: a missing or wrong token, a property
the object does not have, an option a property does not offer, an owner id that is not an owner, an
activity without `hs_timestamp` or a contact to belong to, a second contact with the same email (409).
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import unquote

from bot.devtools.standin.crm_server import CrmStandin
from bot.devtools.standin.hubspot_people import HubSpotPeople
from bot.devtools.standin.hubspot_schema import (
    ACTIVITIES,
    ASSOCIATION_LABELS,
    ASSOCIATION_TYPES,
    PIPELINES,
    PROPERTIES,
)

TEN_SECONDS = 10.0


class HubSpotError(Exception):
    def __init__(self, status: int, category: str, message: str, **extra):
        super().__init__(message)
        self.status, self.category, self.message, self.extra = status, category, message, extra


class FakeHubSpot(HubSpotPeople, CrmStandin):
    """Start with `start()`; point hubspot-api-client at `url` (HubSpot(access_token=..., host=url))."""

    name = "HubSpot"

    def __init__(self, access_token: str = "pat-standin", portal_id: str = "4410000", burst_limit: int = 190):
        super().__init__()
        self.access_token, self.portal_id, self.burst_limit = access_token, portal_id, burst_limit
        self.objects: dict[str, dict[str, dict]] = {name: {} for name in PROPERTIES}
        self.associations: list[tuple[str, str, str, str, int]] = []  # (from type, from id, to type, to id, type id)
        self.owners: list[dict] = []
        # Properties the portal's admin created for Leadbot (crm.stamp_fields).
        self.custom_properties = {"contacts": {"leadbot_lead_id", "leadbot_routing_reason", "leadbot_first_touch_due"}}
        self._ids = itertools.count(1001)
        self._window: list[float] = []  # when each request of the last ten seconds came
        self._contacts_by_email: dict[str, dict] = {}

    def add_owner(self, email: str, first_name: str = "", last_name: str = "") -> str:
        """An owner (a HubSpot user who can own records); returns its owner `id` (not its `userId`)."""
        with self._cond:
            owner_id = str(next(self._ids))
            self.owners.append(
                {
                    "id": owner_id,
                    "email": email,
                    "firstName": first_name,
                    "lastName": last_name,
                    "userId": int(owner_id) + 500000,
                    "createdAt": _now_iso(),
                    "updatedAt": _now_iso(),
                    "archived": False,
                    "teams": [],
                }
            )
            return owner_id

    def add_object(self, object_type: str, properties: dict) -> str:
        with self._cond:
            return self._create(object_type, properties, [])["id"]

    def records(self, object_type: str) -> list[dict]:
        with self._cond:
            return [dict(o) for o in self.objects[object_type].values()]

    def associated(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        with self._cond:
            return [
                t_id
                for f_t, f_id, t_t, t_id, _ in self.associations
                if (f_t, f_id, t_t) == (from_type, from_id, to_type)
            ]

    # -- one request ------------------------------------------------------------------------------------
    def respond(self, method: str, path: str, query: dict, headers: dict, body: Any) -> tuple[int, dict, Any]:
        try:
            status, answer = self._answer(method, path, query, headers, body)
        except HubSpotError as error:
            status = error.status
            answer = {
                "status": "error",
                "message": error.message,
                "correlationId": str(uuid.uuid4()),
                **({"category": error.category} if error.category else {}),
                **error.extra,
            }
        return status, self._limit_headers(), answer

    def _answer(self, method: str, path: str, query: dict, headers: dict, body: Any) -> tuple[int, dict]:
        if headers.get("authorization") != f"Bearer {self.access_token}":
            raise HubSpotError(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
                "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        self._count_against_limit()
        failure = self.take_failure(path)
        if failure is not None:
            status, extra = failure
            raise HubSpotError(status, extra.pop("category", "" if status >= 500 else "VALIDATION_ERROR"),
                               extra.pop("message", f"injected {status}"), **extra)  # fmt: skip
        return self._route(method, path.rstrip("/"), query, body)

    def _count_against_limit(self) -> None:
        now = time.monotonic()
        self._window = [t for t in self._window if now - t < TEN_SECONDS]
        if len(self._window) >= self.burst_limit:
            raise HubSpotError(
                429,
                "",
                "You have reached your ten_secondly_rolling limit.",
                errorType="RATE_LIMIT",
                policyName="TEN_SECONDLY_ROLLING",
                groupName=f"publicapi:private-app-api-calls:{self.portal_id}",
            )
        self._window.append(now)

    def _limit_headers(self) -> dict:
        return {
            "X-HubSpot-RateLimit-Max": str(self.burst_limit),
            "X-HubSpot-RateLimit-Remaining": str(max(self.burst_limit - len(self._window), 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(TEN_SECONDS * 1000)),
        }

    # -- routes -----------------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict, body: Any) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if parts[:3] == ["crm", "v3", "owners"] and method == "GET":
            return 200, self._owners_page(query)
        if parts[:3] == ["crm", "v3", "properties"] and len(parts) == 5 and method == "GET":
            return 200, self._property(parts[3], parts[4])
        if parts[:3] != ["crm", "v3", "objects"] or len(parts) < 4 or parts[3] not in PROPERTIES:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {'/'.join(parts[3:4])}")
        object_type, rest = parts[3], parts[4:]
        if rest == [] and method == "POST":
            return 201, self._public(self._create(object_type, *self._input(object_type, body, for_create=True)))
        if rest == ["search"] and method == "POST":
            return 200, self._search(object_type, body)
        if rest == ["batch", "update"] and method == "POST":
            return 200, self._batch_update(object_type, body)
        if rest == ["batch", "read"] and method == "POST":
            return self._batch_read(object_type, body)
        if rest == ["batch", "create"] and method == "POST":
            return 201, self._batch_create(object_type, body)
        if len(rest) == 1 and method == "GET":
            found = self._get(object_type, unquote(rest[0]), query)
            return 200, self._public(found) | self._associations_of(object_type, found["id"], query)
        if len(rest) == 1 and method == "PATCH":
            found = self._get(object_type, unquote(rest[0]), query)
            properties, _ = self._input(object_type, body, for_create=False)
            return 200, self._public(self._update(object_type, found, properties))
        raise HubSpotError(405, "", f"{method} is not supported on {path}")

    def _owners_page(self, query: dict) -> dict:
        email = (query.get("email") or [None])[0]
        found = [o for o in self.owners if email is None or o["email"].lower() == email.lower()]
        limit = int((query.get("limit") or ["100"])[0])
        return {"results": found[:limit]}

    def _property(self, object_type: str, name: str) -> dict:
        known = set(PROPERTIES.get(object_type, ())) | self.custom_properties.get(object_type, set())
        if name not in known:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to find property {name} on object {object_type}")
        options = PROPERTIES[object_type].get(name)
        return {"name": name, "label": name, "type": "enumeration" if options else "string",
                "options": [{"label": o, "value": o} for o in options or ()]}  # fmt: skip

    def _input(self, object_type: str, body: Any, *, for_create: bool) -> tuple[dict, list]:
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: properties is required")
        properties = {k: ("" if v is None else str(v)) for k, v in body["properties"].items()}
        problems = [
            _property_problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            for name in properties
            if name not in PROPERTIES[object_type] and name not in self.custom_properties.get(object_type, ())
        ]
        for name, value in properties.items():
            options = PROPERTIES[object_type].get(name)
            if options and value and value not in options:
                problems.append(
                    _property_problem(name, "INVALID_OPTION", f"{value} was not one of the allowed options")
                )
            if name == "hubspot_owner_id" and value and value not in {o["id"] for o in self.owners}:
                problems.append(_property_problem(name, "INVALID_OWNER_ID", f"{value} is not a valid owner id"))
        if object_type == "deals" and for_create:
            pipeline, stage = properties.get("pipeline"), properties.get("dealstage")
            if pipeline not in PIPELINES or stage not in PIPELINES[pipeline]:
                problems.append(
                    _property_problem("dealstage", "INVALID_OPTION", f"{stage} is not a stage of {pipeline}")
                )
        if problems:
            raise HubSpotError(400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}")
        associations = body.get("associations") or []
        if object_type in ACTIVITIES and for_create:
            if not properties.get("hs_timestamp"):
                raise HubSpotError(400, "VALIDATION_ERROR", "hs_timestamp is required for activities")
            if not associations:
                raise HubSpotError(400, "VALIDATION_ERROR", "An activity must be associated with at least one record")
        return properties, associations

    def _create(self, object_type: str, properties: dict, associations: list, source: str = "INTEGRATION") -> dict:
        if object_type == "contacts" and properties.get("email"):
            twin = self._find_by(object_type, "email", properties["email"])
            if twin is not None:
                raise HubSpotError(409, "CONFLICT", f"Contact already exists. Existing ID: {twin['id']}")
        links = [self._association(object_type, a) for a in associations]
        now = _now_iso()
        created = {"id": str(next(self._ids)), "properties": dict(properties), "createdAt": now, "updatedAt": now,
                   "archived": False}  # fmt: skip
        self.objects[object_type][created["id"]] = created
        if object_type == "contacts" and properties.get("email"):
            self._contacts_by_email[properties["email"].lower()] = created
        for to_type, to_id, type_id in links:
            self.associations.append((object_type, created["id"], to_type, to_id, type_id))
        if object_type in ACTIVITIES:
            self._event("object.creation", object_type, created["id"], source, changeFlag="CREATED")
        return created

    def _association(self, object_type: str, association: dict) -> tuple[str, str, int]:
        to_id = str((association.get("to") or {}).get("id", ""))
        types = association.get("types") or []
        for to_type in PROPERTIES:
            if to_id in self.objects[to_type]:
                allowed = ASSOCIATION_TYPES.get((object_type, to_type), set())
                for spec in types:
                    if (
                        spec.get("associationCategory") == "HUBSPOT_DEFINED"
                        and spec.get("associationTypeId") in allowed
                    ):
                        return to_type, to_id, spec["associationTypeId"]
                raise HubSpotError(400, "VALIDATION_ERROR", f"invalid association type from {object_type} to {to_type}")
        raise HubSpotError(400, "VALIDATION_ERROR", f"No object with id {to_id} to associate with")

    def _get(self, object_type: str, object_id: str, query: dict) -> dict:
        id_property = (query.get("idProperty") or [None])[0]
        found = (
            self._find_by(object_type, id_property, object_id)
            if id_property
            else self.objects[object_type].get(object_id)
        )
        if found is None:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        return found

    def _update(self, object_type: str, found: dict, properties: dict, source: str = "INTEGRATION") -> dict:
        owner_before = found["properties"].get("hubspot_owner_id")
        found["properties"].update(properties)
        owner = properties.get("hubspot_owner_id")
        if object_type == "contacts" and owner is not None and owner != owner_before:
            self._event("object.propertyChange", object_type, found["id"], source,
                        propertyName="hubspot_owner_id", propertyValue=owner)  # fmt: skip
        if object_type == "contacts" and properties.get("email"):
            self._contacts_by_email[properties["email"].lower()] = found
        found["updatedAt"] = _now_iso()
        return found

    def _batch_update(self, object_type: str, body: Any) -> dict:
        inputs = self._batch_inputs(body)
        checked = []
        for item in inputs:
            found = self._get(object_type, str(item.get("id")), {})
            checked.append((found, self._input(object_type, item, for_create=False)[0]))
        results = [self._public(self._update(object_type, found, properties)) for found, properties in checked]
        return {"status": "COMPLETE", "results": results, "startedAt": _now_iso(), "completedAt": _now_iso()}

    def _batch_inputs(self, body: Any) -> list:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not 1 <= len(inputs) <= 100:
            raise HubSpotError(400, "VALIDATION_ERROR", "inputs must hold 1 to 100 objects")
        return inputs

    def _batch_read(self, object_type: str, body: Any) -> tuple[int, dict]:
        """Found ones in `results`; the rest named in one OBJECT_NOT_FOUND error, with a 207 (multi-status)."""
        id_property = body.get("idProperty")
        results, missing = [], []
        for item in self._batch_inputs(body):
            value = str(item.get("id", ""))
            found = (
                self._find_by(object_type, id_property, value) if id_property else self.objects[object_type].get(value)
            )
            if found is None:
                missing.append(value)
            else:
                results.append(self._public(found))
        answer = {"status": "COMPLETE", "results": results, "startedAt": _now_iso(), "completedAt": _now_iso()}
        if not missing:
            return 200, answer
        error = {"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": missing},
                 "message": "Could not get some CONTACT objects, they may be deleted or not exist."}  # fmt: skip
        return 207, answer | {"numErrors": 1, "errors": [error]}

    def _batch_create(self, object_type: str, body: Any) -> dict:
        """All or none: every input is checked (a duplicate email is a 409) before any is created."""
        inputs = [self._input(object_type, item, for_create=True) for item in self._batch_inputs(body)]
        emails = [p.get("email", "").lower() for p, _ in inputs if p.get("email")]
        for email in emails:
            twin = self._find_by(object_type, "email", email) if object_type == "contacts" else None
            if twin is not None or emails.count(email) > 1:
                raise HubSpotError(
                    409, "CONFLICT", f"Contact already exists. Existing ID: {twin['id'] if twin else ''}"
                )
        results = [self._public(self._create(object_type, properties, links)) for properties, links in inputs]
        return {"status": "COMPLETE", "results": results, "startedAt": _now_iso(), "completedAt": _now_iso()}

    def _search(self, object_type: str, body: Any) -> dict:
        groups = (body or {}).get("filterGroups") or [{"filters": []}]
        matches = [
            o for o in self.objects[object_type].values() if any(self._matches(object_type, o, g) for g in groups)
        ]
        limit = int((body or {}).get("limit") or 10)
        return {"total": len(matches), "results": [self._public(o) for o in matches[:limit]]}

    def _matches(self, object_type: str, found: dict, group: dict) -> bool:
        for rule in group.get("filters") or []:
            name, operator, value = rule.get("propertyName"), rule.get("operator"), str(rule.get("value", ""))
            if operator != "EQ":
                raise HubSpotError(400, "VALIDATION_ERROR", f"the stand-in only supports EQ, not {operator}")
            if name.startswith("associations."):
                to_type = name.split(".", 1)[1] + "s"
                if value not in self.associated(object_type, found["id"], to_type):
                    return False
            elif (found["properties"].get(name) or "").lower() != value.lower():
                return False
        return True

    def _find_by(self, object_type: str, name: str, value: str) -> dict | None:
        if name == "email" and object_type == "contacts":  # looked up by email all the time: keep it cheap
            found = self._contacts_by_email.get(value.lower())
            if found is not None and (found["properties"].get("email") or "").lower() == value.lower():
                return found
        return self._scan_by(object_type, name, value)

    def _scan_by(self, object_type: str, name: str, value: str) -> dict | None:
        return next(
            (
                o
                for o in self.objects[object_type].values()
                if (o["properties"].get(name) or "").lower() == value.lower()
            ),
            None,
        )

    def _associations_of(self, object_type: str, object_id: str, query: dict) -> dict:
        """`?associations=contacts` on a read: the associated records, as HubSpot lists them."""
        wanted = [t for value in query.get("associations") or [] for t in value.split(",") if t]
        if not wanted:
            return {}
        found = {}
        for to_type in wanted:
            ids = [
                t_id
                for f_t, f_id, t_t, t_id, _ in self.associations
                if (f_t, f_id, t_t) == (object_type, object_id, to_type)
            ]
            label = ASSOCIATION_LABELS.get(object_type, f"{object_type}_to_{to_type}")
            if ids:
                found[to_type] = {"results": [{"id": i, "type": label} for i in ids]}
        return {"associations": found}

    def _public(self, found: dict) -> dict:
        return {k: found[k] for k in ("id", "properties", "createdAt", "updatedAt", "archived")}


def _property_problem(name: str, error: str, message: str) -> dict:
    return {"isValid": False, "message": message, "error": error, "name": name}


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
