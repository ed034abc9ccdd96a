"""How Leadbot logs: one line per event (JSON when asked), with personal data masked.

`LEADBOT_LOG_FORMAT=json` writes one JSON object per line with the event's fields (lead_id, action,
latency_ms, ...) for a log pipeline; the default is a line of text for a terminal. Either way emails
and phone numbers in messages and fields are masked (`s***@acme.com`, `***-**67`), because logs are
kept longer and shared wider than the database.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# A phone number as people write one: a leading + or a separator between digit groups, seven digits or more.
# ISO dates are not phone numbers; plain digit runs (ids, Slack timestamps) are left alone.
_PHONE = re.compile(r"(?<![\w.+-])(?!\d{4}-\d{2}-\d{2})(?:\+\(?\d[\d ()-]*\d|\(?\d[\d()-]*[ ()-][\d ()-]*\d)(?![\w.])")
# What every LogRecord has; anything else on a record came from `extra=` and is an event field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def mask_personal_data(text: str) -> str:
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(
        lambda m: "***" + m.group(0)[-2:] if sum(c.isdigit() for c in m.group(0)) >= 7 else m.group(0), text
    )


def _fields(record: logging.LogRecord) -> dict:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


class MaskPersonalData(logging.Filter):
    """Masks the message and every string field of each record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_personal_data(record.getMessage())
        record.args = None
        for key, value in _fields(record).items():
            if isinstance(value, str):
                setattr(record, key, mask_personal_data(value))
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **{key: value for key, value in _fields(record).items()},
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextWithFields(logging.Formatter):
    """The terminal form: the usual line, then the event's fields as key=value."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        return f"{text} {fields}" if fields else text


def configure_logging(log_format: str = "text", level: int = logging.INFO, force: bool = False) -> None:
    """Log to stderr in `log_format`, personal data masked; like logging.basicConfig, a no-op when the root
    logger already has handlers (an embedding program's, or pytest's) unless `force`."""
    root = logging.getLogger()
    if root.handlers and not force:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if log_format == "json" else TextWithFields())
    handler.addFilter(MaskPersonalData())
    root.handlers[:] = [handler]
    root.setLevel(level)
