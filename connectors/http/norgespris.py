"""Area prices in, and the Norgespris comparison out.

``POST /v1/prices`` (operator) puts area prices on the compacted prices topic; the API follows
it into a price book (by area, exact integers). The comparison asks the task that holds the
point for the days the caller may read (connectors/http/point_reads.py: the point's own
values, whatever else its partition holds), and computes with :mod:`domain.comparison` in
exact integers.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Protocol

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from connectors.compacted import CompactedView
from connectors.http.auth import Role, require
from connectors.http.deps import Authenticated
from connectors.http.json_body import StrictJsonRoute
from connectors.http.point_reads import PointReads, grid_of, periods_of
from connectors.http.price_book import PriceBook
from connectors.http.problems import Problem
from connectors.http.views import LazyViews
from domain.comparison import compare_exact, tariffs_for
from domain.prices import AreaPrice, parse_price
from domain.problem_codes import Code
from domain.read_access import Period
from domain.series import midnight
from schemas.answers import NorgesprisComparison, PricesAccepted, camel_case
from schemas.api import ContractModel
from schemas.settings import Settings
from streams.records import area_price
from streams.topics import TopicCatalogue

MAX_PRICES = 50_000
LATE_VALUES = timedelta(days=90)  # values and corrections for a period arrive after it


class PricesIn(ContractModel):
    prices: list[dict[str, Any]]


class HasKafka(Protocol):
    settings: Settings
    catalogue: TopicCatalogue

    views: LazyViews

    def ready_producer(self) -> AIOKafkaProducer: ...


async def publish_prices(producer: AIOKafkaProducer, catalogue: TopicCatalogue,
                         prices: list[AreaPrice], source: str) -> None:
    futures = [await producer.send(catalogue.prices, area_price.encode(p, source),
                                   key=p.key.encode(), partition=0) for p in prices]
    for future in futures:
        await future


def norgespris_routes(services: HasKafka, reads: PointReads | None = None) -> APIRouter:
    router = APIRouter(tags=["Norgespris"], route_class=StrictJsonRoute)
    book = PriceBook()
    point_reads = reads or PointReads(services)

    async def prices() -> CompactedView[AreaPrice]:
        """The area prices, started on first use (the app's LazyViews: stopped with it)."""
        return await services.views.get("prices", lambda: CompactedView(
            services.settings, services.catalogue.prices, area_price.decode,
            on_change=book.change, keep=False))

    @router.post("/v1/prices", status_code=202, response_model=PricesAccepted)
    async def post_prices(body: PricesIn, who: Authenticated) -> JSONResponse:
        """Area prices per interval (NOK/MWh, or EUR/MWh with an eurNok rate)."""
        require(who, Role.OPERATOR)
        if not 0 < len(body.prices) <= MAX_PRICES:
            raise Problem(400, "prices.count", "Too many or no prices",
                          f"send 1 to {MAX_PRICES} prices per request")
        parsed, problems = [], []
        for i, row in enumerate(body.prices):
            price, found = parse_price(row, f"/prices/{i}")
            problems += found
            if price is not None:
                parsed.append(price)
        if problems:
            raise Problem(400, "prices.invalid", "The prices are not valid",
                          f"{len(problems)} problem(s) found", problems[:200])
        producer = services.ready_producer()
        await publish_prices(producer, services.catalogue, parsed, f"api:{who.party}")
        view = await prices()
        for price in parsed:
            view.put(price.key, price)  # read your own write at once
        return JSONResponse({"accepted": len(parsed)}, status_code=202)

    @router.get("/v1/metering-points/{metering_point_id}/norgespris-comparison",
                response_model=NorgesprisComparison)
    async def comparison(
            who: Authenticated,
            metering_point_id: Annotated[str, Path(min_length=18, max_length=18)],
            from_: Annotated[date, Query(alias="from")],
            to: Annotated[date, Query()],
            vat_exempt: Annotated[bool, Query(alias="vatExempt")] = False) -> JSONResponse:
        """What the point's energy would have cost with and without Norgespris, per month.
        For the point's grid owner and its suppliers in the period."""
        require(who, Role.GRID_OWNER, Role.SUPPLIER, Role.OPERATOR)
        if to < from_ or (to - from_).days > 366 or from_.year < 2000 or to.year > 2100:
            raise Problem(400, Code.COMPARISON_PERIOD, "The period is not valid",
                          "from <= to, at most 366 days, between 2000 and 2100")
        # Only the caller's own periods: a supplier its supply days, never its predecessor's
        # or successor's (the lead-in of the month for the caps included).
        asked = Period(midnight(from_.replace(day=1)), midnight(to + timedelta(days=1)))
        reply = await point_reads.ask("comparison", who, metering_point_id, asked.start,
                                      asked.end)
        periods = periods_of(reply)
        if not any(p.end > midnight(from_) for p in periods):
            raise Problem(404, Code.METERING_POINT_UNKNOWN, "No such metering point",
                          "no metering point with that id that you may see")
        code = reply["consumptionCode"]
        if code not in ("35", "36"):
            raise Problem(422, "comparison.not_eligible", "Norgespris does not apply",
                          "only households (35) and holiday homes (36) can have Norgespris")
        area, resolution = reply["priceArea"], reply["resolution"]
        if area is None or resolution is None:
            raise Problem(422, Code.COMPARISON_UNAVAILABLE, "The comparison cannot be made",
                          "the metering point has no price area or resolution")
        await prices()
        readable = None if periods == (asked,) else periods
        years = {d.year for d in (from_, to)} | {from_.replace(day=1).year}
        try:
            grid = grid_of(reply["days"], from_, to, resolution, readable)
            result = compare_exact(grid, book.area(area), code, vat_exempt,
                                   {y: tariffs_for(y) for y in range(min(years),
                                                                     max(years) + 1)},
                                   from_, to, resolution=resolution, readable=readable)
        except (ValueError, ArithmeticError) as exc:
            raise Problem(422, Code.COMPARISON_UNAVAILABLE, "The comparison cannot be made",
                          str(exc)) from exc
        body = camel_case(asdict(result))
        body.update({"meteringPointId": metering_point_id, "priceArea": area,
                     "computedAt": datetime.now(UTC), "complete": result.complete,
                     "readablePeriods": [{"start": p.start, "end": p.end} for p in periods
                                         if p.end > midnight(from_)]})
        return JSONResponse(jsonable_encoder(body))

    return router
