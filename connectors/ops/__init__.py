"""The monitor's edges: reading the broker, sending heartbeats, delivering alerts."""
