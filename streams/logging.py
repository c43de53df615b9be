"""structlog configured once: JSON lines on stderr, with personal ids masked.

Every process calls :func:`configure_logging` at start. Standard-library loggers (aiokafka,
uvicorn) are routed through the same processors so that their lines are JSON too and
are masked as well: a fødselsnummer must never reach a log line, whoever writes it.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import structlog

from domain.privacy import mask_personal_data


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 11:
        return mask_personal_data(str(value))
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v) for v in value]
    return value


def mask_personal_ids(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """structlog processor: national ids, e-mails and phone numbers out of every value,
    including nested ones and rendered exceptions."""
    for key, value in event_dict.items():
        event_dict[key] = _masked(value)
    return event_dict


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
    structlog.processors.format_exc_info,
]


#: The client libraries whose lines are capped by :class:`RepeatLimit`.
CLIENT_LOGGERS = ("aiokafka", "kafka")


class RepeatLimit(logging.Filter):
    """Lets one line of each kind from the Kafka client through per ``window_s``, and says on
    the next one how many like it were held back.

    While a broker is down aiokafka logs every reconnect attempt of every client: during one
    60 s outage an API process wrote about 130,000 such lines, which buried the lines that
    said what straum did about it. A kind is the logger, level and message template, so a
    different error still shows at once."""

    def __init__(self, window_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self.clock = clock
        self._shown: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(CLIENT_LOGGERS):
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        shown_at, held = self._shown.get(kind, (float("-inf"), 0))
        if now - shown_at < self.window_s:
            self._shown[kind] = (shown_at, held + 1)
            return False
        if held:
            record.msg = f"{record.msg} ({held} more like it in the last {now - shown_at:.0f} s)"
        self._shown[kind] = (now, 0)
        return True


def configure_logging(process: str, level: str = "INFO") -> None:
    """Route structlog and stdlib logging to JSON on stderr, tagged with the process name."""
    renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            # a line below the level is dropped before any work on it: the intake's debug
            # line per document cost as much as a written one (timestamp, context, record)
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.processors.dict_tracebacks,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.processors.dict_tracebacks],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            mask_personal_ids,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RepeatLimit())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in CLIENT_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    structlog.contextvars.bind_contextvars(process=process)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A named structlog logger (configure first)."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
