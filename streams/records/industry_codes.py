"""SSB's næringskode lists (domain.industry_codes.CodeLists) as the Avro
``IndustryCodeLists`` record of the reference-data topic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.industry_codes import CodeLists, IndustryCode
from streams.serialisation import INDUSTRY_CODE_LISTS, codec


def encode(lists: CodeLists, source: str, imported_at: datetime) -> bytes:
    codes = [item for table in (lists.sn2007, lists.sn2025) for items in table.values()
             for item in items]
    return codec(INDUSTRY_CODE_LISTS).encode({
        "source": source, "importedAt": imported_at,
        "codes": [{"code": c.code, "name": c.name, "version": c.version,
                   "validFrom": c.valid_from, "validTo": c.valid_to} for c in codes],
        "correspondence": [{"sn2007": k, "sn2025": list(v)}
                           for k, v in lists.correspondence.items()]})


def decode(raw: bytes | None) -> CodeLists:
    r: dict[str, Any] = codec(INDUSTRY_CODE_LISTS).decode(raw)
    codes = [IndustryCode(c["code"], c["name"], c["version"], c["validFrom"], c["validTo"])
             for c in r["codes"]]
    return CodeLists.build([c for c in codes if c.version == "SN2007"],
                           [c for c in codes if c.version == "SN2025"],
                           {c["sn2007"]: c["sn2025"] for c in r["correspondence"]})
