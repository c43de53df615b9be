"""A price area's spot price for one period (domain.prices.AreaPrice) as the Avro
``AreaPrice`` record of the prices topic, with where it came from."""

from __future__ import annotations

from domain.prices import AreaPrice
from streams.serialisation import AREA_PRICE, codec


def encode(price: AreaPrice, source: str) -> bytes:
    return codec(AREA_PRICE).encode({"area": price.area, "start": price.start,
                                     "resolution": price.resolution,
                                     "nokPerMwh": price.nok_per_mwh, "eurNok": price.eur_nok,
                                     "source": source})


def decode(raw: bytes | None) -> AreaPrice:
    r = codec(AREA_PRICE).decode(raw)
    return AreaPrice(r["area"], r["start"], r["resolution"], r["nokPerMwh"], r["eurNok"])
