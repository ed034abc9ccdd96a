"""Settings from the environment (and `.env`, read by python-dotenv in the CLI)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.slack.client import DEFAULT_SLACK_API_URL
from store.db import DEFAULT_DATABASE_URL

DEFAULT_HUBSPOT_API_URL = "https://api.hubapi.com"
DEFAULT_SALESFORCE_LOGIN_URL = "https://login.salesforce.com"


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    config_path: str = "leadbot.yml"
    intake_token: str | None = None
    port: int = 3000
    hubspot_client_secret: str | None = None
    # CRM write-back (the `crm:` section of the config says which CRM).
    hubspot_access_token: str | None = None
    hubspot_api_url: str = DEFAULT_HUBSPOT_API_URL
    salesforce_instance_url: str | None = None
    salesforce_access_token: str | None = None
    salesforce_client_id: str | None = None
    salesforce_username: str | None = None
    salesforce_private_key_file: str | None = None
    salesforce_login_url: str = DEFAULT_SALESFORCE_LOGIN_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        port = get("PORT") or "3000"
        if not port.isdigit():
            raise ValueError(f"PORT must be a number, got {port!r}")
        return cls(
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            config_path=get("LEADBOT_CONFIG") or "leadbot.yml",
            intake_token=get("LEADBOT_INTAKE_TOKEN"),
            port=int(port),
            hubspot_client_secret=get("HUBSPOT_CLIENT_SECRET"),
            hubspot_access_token=get("HUBSPOT_ACCESS_TOKEN"),
            hubspot_api_url=get("HUBSPOT_API_URL") or DEFAULT_HUBSPOT_API_URL,
            salesforce_instance_url=get("SALESFORCE_INSTANCE_URL"),
            salesforce_access_token=get("SALESFORCE_ACCESS_TOKEN"),
            salesforce_client_id=get("SALESFORCE_CLIENT_ID"),
            salesforce_username=get("SALESFORCE_USERNAME"),
            salesforce_private_key_file=get("SALESFORCE_PRIVATE_KEY_FILE"),
            salesforce_login_url=get("SALESFORCE_LOGIN_URL") or DEFAULT_SALESFORCE_LOGIN_URL,
        )

    def missing_for_serve(self) -> list[str]:
        needed = {"SLACK_BOT_TOKEN": self.slack_bot_token, "LEADBOT_INTAKE_TOKEN": self.intake_token}
        if not self.slack_app_token:
            needed["SLACK_SIGNING_SECRET"] = self.slack_signing_secret
        return [name for name, value in needed.items() if not value]
