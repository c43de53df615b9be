"""What must never reach a log line: national ids, e-mail addresses and phone numbers.

Log processors pass every string through :func:`mask_personal_data`; the data itself travels on
in Kafka and the queues, where it belongs.
"""

from __future__ import annotations

import re

from domain.identifiers import mask_national_ids

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d{7,15}(?!\d)")


def mask_personal_data(text: str) -> str:
    """``text`` with national ids, e-mail addresses and E.164 phone numbers replaced."""
    text = mask_national_ids(text)
    text = EMAIL.sub("<email>", text)
    return PHONE.sub("<phone>", text)
