"""The Slack Web API client: one place that knows where Slack is and how to retry it."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


def make_web_client(token: str | None, base_url: str = DEFAULT_SLACK_API_URL, timeout: int = 10) -> WebClient:
    """A WebClient that retries 429s (honouring Retry-After) and 5xx answers.

    Not connection errors: a post whose answer was lost may have reached Slack, and slack-sdk would post it
    again at once. The outbox relay retries those itself, after looking in Slack for the first one.
    """
    if not base_url.endswith("/"):
        base_url += "/"
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        # Each handler gets its own back-off: slack-sdk's default is one object shared by every client in the
        # process, so changing it for one client (a test, a tool) would change it for all.
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2, interval_calculator=BackoffRetryIntervalCalculator()),
            ServerErrorRetryHandler(max_retry_count=2, interval_calculator=BackoffRetryIntervalCalculator()),
        ],
    )
