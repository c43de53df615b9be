"""Stream processors (Faust agents): the imperative shell around the rules in ``domain``.

Importing this package registers every agent on :data:`streams.app.app`.
"""

from processors import contracts, forwarder, master_data, queue_writer

__all__ = ["contracts", "forwarder", "master_data", "queue_writer"]
