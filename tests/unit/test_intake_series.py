"""The intake record written by hand is fastavro's encoding, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.records import series as intake_series
from streams.serialisation import METERING_VALUE_SERIES, codec

moments = st.datetimes(datetime(1970, 1, 1), datetime(2099, 12, 31),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=1)),
                                                  timezone(timedelta(hours=2))]))
texts = st.text(max_size=40)


@settings(max_examples=300, deadline=None)
@given(message_id=texts, transaction_id=texts, sender=texts, received_at=moments,
       point=texts, start=moments, end=moments, resolution=st.sampled_from(["PT15M", "PT1H"]),
       unit=texts, values=st.lists(st.tuples(
           st.floats(allow_nan=False), st.sampled_from(sorted(intake_series.QUALITIES))),
           max_size=120))
def test_the_same_bytes_as_fastavro(message_id: str, transaction_id: str, sender: str,
                                    received_at: datetime, point: str, start: datetime,
                                    end: datetime, resolution: str, unit: str,
                                    values: list[tuple[float, str]]) -> None:
    quantities = [q for q, _ in values]
    qualities = [k for _, k in values]
    expected = codec(METERING_VALUE_SERIES).encode({
        "messageId": message_id, "transactionId": transaction_id, "sender": sender,
        "receivedAt": received_at, "meteringPointId": point, "start": start, "end": end,
        "resolution": resolution, "unit": unit, "quantities": quantities,
        "qualities": qualities})
    written = intake_series.encode(
        message_id=message_id, transaction_id=transaction_id, sender=sender,
        received_at=received_at, metering_point_id=point, start=start, end=end,
        resolution=resolution, unit=unit, quantities=quantities, qualities=qualities)
    assert written == expected



@given(message_id=texts, sender=texts, received_at=moments,
       series=st.lists(st.tuples(texts, texts, moments, moments), min_size=1, max_size=4))
def test_a_documents_series_written_with_shared_parts_are_fastavros_bytes(
        message_id: str, sender: str, received_at: datetime,
        series: list[tuple[str, str, datetime, datetime]]) -> None:
    """The parts a document's series share are written once; each record is still exactly
    what fastavro writes for it."""
    encoder = intake_series.DocumentEncoder(message_id, sender, received_at)
    for transaction_id, point, start, end in series:
        written = encoder.encode(
            transaction_id=transaction_id, metering_point_id=point, start=start, end=end,
            resolution="PT1H", unit="kWh", quantities=[0.5, 1.25], qualities=["measured"] * 2)
        assert written == codec(METERING_VALUE_SERIES).encode({
            "messageId": message_id, "transactionId": transaction_id, "sender": sender,
            "receivedAt": received_at, "meteringPointId": point, "start": start, "end": end,
            "resolution": "PT1H", "unit": "kWh", "quantities": [0.5, 1.25],
            "qualities": ["measured", "measured"]})
