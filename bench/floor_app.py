"""The floor: the least any lead intake must do on Leadbot's own stack, run as `python bench/floor_app.py`.

Flask under waitress with 8 threads; parse the JSON, validate the email with pydantic, one INSERT in one
committed transaction (through store.db.make_engine: the same SQLite pragmas, or the same PostgreSQL),
answer 201, and post one DM per lead to Slack (the fake one) from a background thread with slack_sdk.
No routing, scoring, timers, activity log or outbox: what Leadbot does beyond this is what it costs.
Environment: DATABASE_URL, SLACK_API_URL, SLACK_BOT_TOKEN, PORT.
"""

from __future__ import annotations

import os
import queue
import threading
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from pydantic import BaseModel, ConfigDict, EmailStr, ValidationError
from slack_sdk import WebClient
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, insert
from waitress import serve

from store.db import make_engine

metadata = MetaData()
floor_lead = Table(
    "floor_lead",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


class LeadIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    email: EmailStr


def create_app(engine, client: WebClient) -> Flask:
    app = Flask("floor")
    dms: queue.Queue = queue.Queue()

    def send_dms() -> None:
        while True:
            lead_id, email = dms.get()
            section = {"type": "section", "text": {"type": "mrkdwn", "text": f"Lead #{lead_id}"}}
            client.chat_postMessage(channel="D0FLOOR", text=f"New lead {email} (Lead #{lead_id})", blocks=[section])

    threading.Thread(target=send_dms, daemon=True).start()

    @app.post("/leads")
    def intake():
        try:
            lead = LeadIn.model_validate(request.get_json())
        except ValidationError as exc:
            return jsonify({"error": str(exc)}), 422
        with engine.begin() as connection:
            row = {"email": lead.email, "data": lead.model_dump(mode="json"), "created_at": datetime.now(UTC)}
            lead_id = connection.execute(insert(floor_lead).returning(floor_lead.c.id), row).scalar_one()
        dms.put((lead_id, lead.email))
        return jsonify({"id": lead_id}), 201

    @app.get("/healthz")
    def health():
        return jsonify({"status": "ok"})

    return app


def main() -> None:
    engine = make_engine(os.environ["DATABASE_URL"])
    metadata.drop_all(engine)
    metadata.create_all(engine)
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    serve(create_app(engine, client), host="127.0.0.1", port=int(os.environ["PORT"]), threads=8, _quiet=True)


if __name__ == "__main__":
    main()
