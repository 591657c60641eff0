"""Every documented operation, generated from the OpenAPI document, against the live server.

The bar: no server error (the documented router failures 502/504 aside) and every answer matches the
document (status code, content type, headers, body schema); invalid input is rejected, valid input accepted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import make_config
from tests.fuzz.conftest import MAX_EXAMPLES, SEEDED_TOKEN, FuzzTarget
from webapp import create_app
from webapp.openapi import build_spec

#: What schemathesis's positive-data check accepts by default.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
#: Operations with a documented 400 for a rule that relates values no single schema sees together.
CROSS_FIELD_RULES = {
    # start/end/period against each other and today: at most 366 days or 60 months, start not after end.
    "sale_summary",
    # a duration sent alone must suit the stored package type, a type sent alone the stored duration; the
    # duration must suit the type; duration_hours sent with duration_minutes must be its whole hours.
    "package_create",
    "package_update_put",
    "package_update_patch",
    # rx_bps/tx_bps need interface; from before to (which defaults to now); at most 400 days between them.
    "router_metrics",
    # CustomerBuyGoodsOnline needs a till number, sent now or stored before.
    "mpesa_settings_update_put",
    "mpesa_settings_update_patch",
    # exactly one of router_ids, group_id or tag, and every id one of the caller's routers.
    "bulk_command",
    # a WireGuard tunnel needs a RouterOS 7 target version.
    "onboarding_script",
    # the current password must be the right one.
    "password_change",
    # a staff member's router_ids must name the owner's routers.
    "team_member_create",
    "team_member_update",
}

# The document is built from an app that is never served (nor its database opened); the test below checks
# that the live server serves the very same document.
SPEC = build_spec(create_app(make_config(Path("unused.db"), SQLALCHEMY_DATABASE_URI="sqlite://")))
schema = schemathesis.openapi.from_dict(
    SPEC,
    config=schemathesis.Config.from_dict(
        {
            "request-timeout": 10,
            # Text may not contain NUL (PostgreSQL refuses it): a documented 400 for every operation
            # (webapp/input_guard.py), so generated strings leave it out.
            "generation": {"database": "none", "allow-x00": False, "codec": "utf-8"},
            # 502 and 504 are the documented answers for a router that is down or slow (every router here is
            # down), not server faults; any other 5xx still fails the run.
            "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "502", "504"]}},
            "operations": [
                {
                    # Rules between parameters that no JSON Schema of one parameter can state, documented as
                    # 400 in the operation's description: here (and only here) a schema-valid request may
                    # also answer 400.
                    "include-operation-id": operation_id,
                    "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
                }
                for operation_id in CROSS_FIELD_RULES
            ],
        }
    ),
)


@schema.auth(refresh_interval=None)
class SeededBearer:
    """Marks generated cases as authenticated; ``FuzzTarget.steer`` swaps in the real login's token.

    Schemathesis applies auth while it generates, partly at collection, before the server exists.
    """

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return SEEDED_TOKEN

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def test_live_server_serves_the_fuzzed_document(fuzz_target: FuzzTarget) -> None:
    served: dict[str, Any] = requests.get(f"{fuzz_target.url}/api/openapi.json", timeout=10).json()
    assert served == SPEC


@schema.parametrize()
# The suite's run is derandomised (the same cases every time, so CI is repeatable); `make fuzz` explores afresh.
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=os.environ.get("FUZZ_RANDOM") != "1")
def test_api_conforms_to_its_document(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    fuzz_target.steer(case)
    response = case.call_and_validate(base_url=fuzz_target.url)
    fuzz_target.record(case, response.status_code)


def test_fuzz_run_reached_its_case_count(fuzz_target: FuzzTarget) -> None:
    """``make fuzz`` promises at least FUZZ_MIN_CASES generated requests (runs after the operations above)."""
    minimum = int(os.environ.get("FUZZ_MIN_CASES", "0"))
    assert sum(fuzz_target.cases.values()) >= minimum
