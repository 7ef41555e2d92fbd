"""Structured logging on top of :mod:`logging`: a message plus key=value fields.

Runtime code logs through :class:`KVLogger`, which carries bound fields (``controller=``,
``key=``) and passes them to the standard library in ``record.kv``. Two formatters render them:
:class:`KeyValueFormatter` (``ts level logger msg k=v ...``, for people) and
:class:`JsonFormatter` (one JSON object per line, for log pipelines). :func:`configure` installs one
on the root logger; libraries never call it, the operator entry point does.
"""

from __future__ import annotations

import json
import logging
from typing import Any

_RESERVED = {"exc_info", "stack_info", "stacklevel", "extra"}


class KVLogger:
    """A logger with bound key=value fields.

    Parameters:
        logger: the standard logger to write to.
        fields: fields added to every record.
    """

    def __init__(self, logger: logging.Logger, **fields: Any) -> None:
        self.logger = logger
        self.fields = fields

    def bind(self, **fields: Any) -> KVLogger:
        """A logger with ``fields`` added to the bound ones."""
        return KVLogger(self.logger, **self.fields, **fields)

    def debug(self, msg: str, **fields: Any) -> None:
        self._log(logging.DEBUG, msg, fields)

    def info(self, msg: str, **fields: Any) -> None:
        self._log(logging.INFO, msg, fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self._log(logging.WARNING, msg, fields)

    def error(self, msg: str, *, exc_info: BaseException | bool | None = None, **fields: Any) -> None:
        self._log(logging.ERROR, msg, fields, exc_info)

    def _log(self, level: int, msg: str, fields: dict[str, Any], exc_info: Any = None) -> None:
        if self.logger.isEnabledFor(level):
            kv = {**self.fields, **{k: v for k, v in fields.items() if k not in _RESERVED}}
            self.logger.log(level, msg, exc_info=exc_info, extra={"kv": kv}, stacklevel=3)


def get_logger(name: str, **fields: Any) -> KVLogger:
    """A :class:`KVLogger` for the standard logger ``name``."""
    return KVLogger(logging.getLogger(name), **fields)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    kv = getattr(record, "kv", None)
    return kv if isinstance(kv, dict) else {}


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c in text for c in ' ="\n')) else text


class KeyValueFormatter(logging.Formatter):
    """``2026-01-01T00:00:00 INFO raykube.controller Reconcile done controller=raycluster key=ns/rc``."""

    def format(self, record: logging.LogRecord) -> str:
        head = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        pairs = " ".join(f"{k}={_text(v)}" for k, v in _fields(record).items())
        line = f"{head} {pairs}" if pairs else head
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``ts``, ``level``, ``logger``, ``msg``, the fields, ``error``."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def configure(level: str = "INFO", *, json_output: bool = False) -> None:
    """Send all records to stderr with one of the two formatters (call once, from the entry point)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_output else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per HTTP request drowns everything else; the client logs throttling and errors itself.
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
