"""Signing in to Salesforce through simple-salesforce: a ready access token, or the JWT bearer flow of an
External Client App (which simple-salesforce renews by itself when Salesforce answers INVALID_SESSION_ID).

simple-salesforce builds every URL as `https://<host>/...` and the token URL as
`https://<domain>.salesforce.com/...`. The session below sends those to the URLs the settings give, so
`SALESFORCE_INSTANCE_URL` / `SALESFORCE_LOGIN_URL` may name a local stand-in on http://, the way
SLACK_API_URL and HUBSPOT_API_URL do. With real Salesforce URLs nothing is rewritten.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from urllib3.util.retry import Retry

from bot.core.settings import Settings

TIMEOUT_S = 10
SALESFORCE_HOSTS = ".salesforce.com"


class RoutedSession(requests.Session):
    """A requests session that sends `https://<host>` URLs to the configured base URLs, with a timeout."""

    def __init__(self, routes: dict[str, str]):
        super().__init__()
        self.routes = routes
        # A refused connection is safe to retry at once (nothing was sent); anything after sending is the relay's.
        adapter = HTTPAdapter(max_retries=Retry(total=2, connect=2, read=0, status=0, other=0, backoff_factor=0.2))
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, *args, **kwargs):
        for prefix, target in self.routes.items():
            if url.startswith(prefix + "/"):
                url = target + url[len(prefix) :]
                break
        kwargs.setdefault("timeout", TIMEOUT_S)
        return super().request(method, url, *args, **kwargs)


def login_domain(login_url: str) -> str:
    """simple-salesforce's `domain`: "login", "test" or a My Domain's "acme.my" (from https://acme.my.salesforce.com)."""
    host = urlsplit(login_url).hostname or ""
    if urlsplit(login_url).scheme == "https" and host.endswith(SALESFORCE_HOSTS):
        return host.removesuffix(SALESFORCE_HOSTS)
    return "login"  # a stand-in: the session sends login.salesforce.com to it


def routes_for(instance_url: str, login_url: str) -> dict[str, str]:
    routes = {}
    for url in (instance_url, login_url):
        parts = urlsplit(url)
        if parts.scheme == "http":
            routes[f"https://{parts.netloc}"] = f"http://{parts.netloc}"
    if login_domain(login_url) == "login" and not (urlsplit(login_url).hostname or "").endswith(SALESFORCE_HOSTS):
        routes["https://login.salesforce.com"] = login_url.rstrip("/")
    return routes


def sign_in_problem(settings: Settings) -> str | None:
    """What the environment lacks to sign in to Salesforce, if anything."""
    if not settings.salesforce_instance_url:
        return "crm.system is salesforce, but SALESFORCE_INSTANCE_URL is not set"
    if settings.salesforce_access_token or all(_jwt_settings(settings)):
        return None
    return (
        "crm.system is salesforce: set SALESFORCE_ACCESS_TOKEN, or SALESFORCE_CLIENT_ID, SALESFORCE_USERNAME "
        "and SALESFORCE_PRIVATE_KEY_FILE for the JWT bearer flow"
    )


def _jwt_settings(settings: Settings) -> tuple:
    return settings.salesforce_client_id, settings.salesforce_username, settings.salesforce_private_key_file


def sign_in(settings: Settings, api_version: str) -> Salesforce:
    """A client signed in the way the environment says: the JWT flow when its three settings are there."""
    session = RoutedSession(routes_for(settings.salesforce_instance_url, settings.salesforce_login_url))
    if all(_jwt_settings(settings)):
        return Salesforce(
            username=settings.salesforce_username,
            consumer_key=settings.salesforce_client_id,
            privatekey_file=settings.salesforce_private_key_file,
            domain=login_domain(settings.salesforce_login_url),
            session=session,
            version=api_version,
        )
    return Salesforce(
        session_id=settings.salesforce_access_token,
        instance_url=settings.salesforce_instance_url,
        session=session,
        version=api_version,
    )
