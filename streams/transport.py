"""Faust's aiokafka transport with a producer that never loses or duplicates on retry.

Faust only turns on ``acks=all`` and idempotence inside transactions; straum runs at-least-once
without transactions (see docs/ARCHITECTURE.md) and wants both always. Registered as the
``straum://`` broker scheme through the ``faust.transports`` entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka


class DurableProducer(faust_aiokafka.Producer):  # type: ignore[misc]
    """Faust producer with acks from all in-sync replicas and idempotent retries."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


class Transport(faust_aiokafka.Transport):  # type: ignore[misc]
    """aiokafka transport using :class:`DurableProducer`."""

    Producer = DurableProducer
