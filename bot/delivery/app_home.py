"""Publishing a person's App Home so that a render made earlier never overwrites one made later."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from store import home as home_store
from store.db import read_session, write_session

PUBLISH_TRIES = 3


def publish_without_going_back(
    engine: Engine,
    clock: Clock,
    client: WebClient,
    user_id: str,
    render: Callable[[], dict],
    seen_hash: str | None = None,
) -> SlackResponse | None:
    """Render the view now and publish it with the hash of the view it replaces.

    The hash is the one the person has open (from app_home_opened), else the one Slack gave Leadbot's last
    publish; Slack refuses with hash_conflict if another publish came in between, and then this renders
    again, from newer data, over that one. If no newer publish of Leadbot's is on record (an answer was
    lost, or the view changed some other way), the fresh render is the newest there is and goes out
    without a hash. None when others kept publishing meanwhile (theirs are newer).
    """
    with read_session(engine) as session:
        known = seen_hash or home_store.published_hash(session, user_id)
    for _ in range(PUBLISH_TRIES):
        view = render()
        try:
            response = client.views_publish(user_id=user_id, view=view, **({"hash": known} if known else {}))
        except SlackApiError as exc:
            if exc.response.get("error") != "hash_conflict":
                raise
            with read_session(engine) as session:
                latest = home_store.published_hash(session, user_id)
            known = latest if latest != known else None
            continue
        with write_session(engine) as session:
            home_store.remember_published(session, user_id, response["view"]["hash"], clock.now())
        return response
    return None
