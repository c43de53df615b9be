"""A traffic generator against straum's HTTP API: ``straum simulate`` and ``straum run --demo``.

It plays the market: grid owners register metering points (BRS-NO-121) and send each morning's
metering values; suppliers start supply (BRS-NO-101), or move a person in (BRS-NO-103) with
the person's consent. Everything goes through the public HTTP API with development tokens
(``issue_dev_token``), so the simulator must run with the same ``STRAUM_DATA_DIR`` as the API
it talks to (the key that signs the tokens lives there).

The parts, one module each (every name is importable from ``connectors.simulator``):

- :func:`plan_population` (``population``, pure, seeded): who exists. The mix, per point:

  ============== ======= =================== ================================== =========
  category       share   consumption code    other                              PT15M
  ============== ======= =================== ================================== =========
  household      72 %    ``35``                                                 80 %
  holiday home   13 %    ``36``                                                 70 %
  business       11 %    ``19 22 26 30``     ``industryCode`` e.g. ``47.111``    85 %
  production      4 %    (none)              ``productionType`` solar 85 %,      75 %
                                             hydro 10 %, wind 5 %
  ============== ======= =================== ================================== =========

  The rest is ``PT1H``. Grid owners and suppliers are sized Zipf-like (a few big, many
  small; each gets at least one point when there are enough points); a grid owner operates in
  one area. **Grid areas are bidding-zone EIC codes** (``10YNO-1--------2`` is NO1 …
  ``10Y1001A1001A48H`` is NO5), used as both ``gridArea`` and ``priceArea`` for simplicity:
  real grid areas have their own Y-codes, which the simulator has no list of. The business
  consumption codes are sample values from NVE's range, not matched to the industry, and the
  industry codes are SN2025-style examples that the test fixture's code lists
  (``tests/fixtures/klass``) accept from 2026, not checked against SSB's own lists: from 2026
  straum refuses SN2007 codes, even for points valid from earlier. End users of households
  and holiday homes are persons with synthetic national ids (valid check digits, drawn from
  the seed; they travel in Kafka and the queues like any end user's, never in a log), the others
  organisation numbers (valid mod-11, synthetic).
- :func:`day_values` (``load_profile``, pure): one Norwegian day of values for a point,
  92/96/100 quarter-hours or 23/24/25 hours (DST days): a daily load shape (low at night,
  morning and evening peaks, more in winter), business hours for businesses, occupancy for
  holiday homes, a solar curve from the sun's elevation at 60° N for solar production.
  Quality ``measured``, with about one series in five having a short run of ``estimated``
  values (about 1.7 % of all values).
- :func:`register` and :func:`send_day` (``traffic``, over ``client``'s HTTP, with the
  documents of ``documents``): registration and start of supply for every
  point (a person moves in instead, BRS-NO-103, with its consent: the supplier asks through
  the Access API and the person accepts with its own token, as the hub requires), and a
  morning batch of values, with bounded concurrency, an optional rate limit, and
  retries of 429/5xx and connection errors with backoff. Every message id and transaction id is
  a UUIDv5 of the seed and what the document is, so running again with the same seed and day
  gives duplicates (the hub's de-duplication at work), not new traffic.
- :func:`follow` (``traffic``): the demo's endless trickle: corrections of the latest day for
  random points at a low rate (now and then an identical resend, which the hub drops), and
  the next morning batch when the Oslo date moves on; stops cleanly on SIGTERM/SIGINT.

**Third parties** are planned (GLNs and the points they would have access to) but the simulator
sends nothing for them: the API takes third-party access (BRS-NO-622,
``POST /v1/third-party-access`` and its approval), the simulator does not play it yet.

:func:`main` (``command``) is the command's body; its options are in straum/cli.py.
"""

from __future__ import annotations

from connectors.simulator.client import (
    JSON_HEADERS,
    JSONAPI_HEADERS,
    RETRY_STATUSES,
    Answer,
    ClientFactory,
    DevClients,
    Pacer,
    post_document,
    queue_depths,
)
from connectors.simulator.command import (
    main,
    wait_ready,
)
from connectors.simulator.documents import (
    authorization_request_document,
    move_in_document,
    registration_document,
    start_of_supply_document,
)
from connectors.simulator.load_profile import (
    HOUSEHOLD_SHAPE,
    LATITUDE,
    LONGITUDE_DEG,
    corrected_values,
    day_values,
    oslo_midnight,
    oslo_today,
    series_for,
)
from connectors.simulator.population import (
    BUSINESS_CONSUMPTION_CODES,
    CATEGORY_SHARES,
    COMPANY_WORDS,
    FIRST_NAMES,
    GLN_PREFIX,
    GRID_AREAS,
    GSRN_PREFIX,
    INDUSTRIES,
    INDUSTRY_BY_CODE,
    LAST_NAMES,
    NAMESPACE,
    PRODUCTION_TYPES,
    PT15M_SHARE,
    GridArea,
    Industry,
    MeteringPointPlan,
    Population,
    ThirdPartyPlan,
    plan_population,
    synthetic_national_id,
)
from connectors.simulator.traffic import (
    ALREADY_LIVES_THERE,
    RegisterResult,
    SendResult,
    _batches,
    follow,
    obtain_move_in_grant,
    register,
    send_day,
)

__all__ = [
    "ALREADY_LIVES_THERE",
    "BUSINESS_CONSUMPTION_CODES",
    "CATEGORY_SHARES",
    "COMPANY_WORDS",
    "FIRST_NAMES",
    "GLN_PREFIX",
    "GRID_AREAS",
    "GSRN_PREFIX",
    "HOUSEHOLD_SHAPE",
    "INDUSTRIES",
    "INDUSTRY_BY_CODE",
    "JSONAPI_HEADERS",
    "JSON_HEADERS",
    "LAST_NAMES",
    "LATITUDE",
    "LONGITUDE_DEG",
    "NAMESPACE",
    "PRODUCTION_TYPES",
    "PT15M_SHARE",
    "RETRY_STATUSES",
    "Answer",
    "ClientFactory",
    "DevClients",
    "GridArea",
    "Industry",
    "MeteringPointPlan",
    "Pacer",
    "Population",
    "RegisterResult",
    "SendResult",
    "ThirdPartyPlan",
    "_batches",
    "authorization_request_document",
    "corrected_values",
    "day_values",
    "follow",
    "main",
    "move_in_document",
    "obtain_move_in_grant",
    "oslo_midnight",
    "oslo_today",
    "plan_population",
    "post_document",
    "queue_depths",
    "register",
    "registration_document",
    "send_day",
    "series_for",
    "start_of_supply_document",
    "synthetic_national_id",
    "wait_ready",
]
