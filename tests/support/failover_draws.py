"""Hypothesis draws the Federation property tests share: a service's own failover and its
exports' weights."""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def service_failover(draw: st.DrawFn, service: dict[str, Any], choices: list[dict[str, Any] | None]) -> None:
    """Give `service` one of `choices` as its `failover` (None: none) and some of its exports a
    `weight`."""
    own = draw(st.sampled_from(choices))
    if own is not None:
        service["failover"] = own
    for side in service["exports"]:
        if draw(st.booleans()):
            side["weight"] = draw(st.integers(1, 100))
