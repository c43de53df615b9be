"""straum: an event-driven message backend for an electricity datahub, on Apache Kafka."""

__version__ = "0.1.0"
