"""Failover for imported hosts (meshfed's extension of the values, `global.failover`): what one
imported host gets, and the DestinationRule traffic policy and endpoint weights that make Envoy
stop sending requests to an exporter whose gateway is gone.

The decisions (each checked against Istio's source; README, "Surviving a lost cluster"):
- `outlierDetection` is what lets Envoy eject a dead gateway, and what makes Istio assign
  locality priorities at all; `maxEjectionPercent` defaults to 100 here (Envoy's own default of
  10 ejects nothing in a pool of fewer than 10 endpoints), and `minHealthPercent` stays unset,
  which Istio turns into a panic threshold of 0: the last live exporter keeps the traffic.
- `nearest` says `localityLbSetting.enabled: true` (locality priorities, whatever the mesh
  config says); `weighted` says `enabled: false` (one priority, endpoint weights decide).
"""
from __future__ import annotations

from math import lcm

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NEAREST = "nearest"
WEIGHTED = "weighted"
MODE = NEAREST  # the default mode
# meshfed's defaults under the user's `outlierDetection`, merged key by key.
OUTLIER_DETECTION: dict[str, Any] = {
    "consecutiveGatewayErrors": 3,
    "interval": "5s",
    "baseEjectionTime": "30s",
    "maxEjectionPercent": 100,
}
# Istio's OutlierDetection fields in the order of its API (and of the output).
OUTLIER_FIELDS = ("splitExternalLocalOriginErrors", "consecutiveLocalOriginFailures", "consecutiveGatewayErrors",
                  "consecutive5xxErrors", "interval", "baseEjectionTime", "maxEjectionPercent", "minHealthPercent")
# The egress gateway's one destination for an imported host: `failover.<host>`.
DESTINATION_PREFIX = "failover."


class Failover:
    """The failover one imported host gets: its mode, the outlier detection (defaults merged in),
    and the weight of each exporting mesh given for it."""

    __slots__ = ("mode", "outlier", "weights")

    def __init__(self, mode: str, outlier: dict[str, Any], weights: dict[str, int]) -> None:
        self.mode = mode
        self.outlier = outlier
        self.weights = weights

    def traffic_policy(self) -> dict[str, Any]:
        """The DestinationRule fields failover sets (at the top level or for one port)."""
        return {"loadBalancer": {"localityLbSetting": {"enabled": self.mode == NEAREST}},
                "outlierDetection": dict(self.outlier)}

    def shares(self, meshes: list[str | None], even: list[int]) -> list[int]:
        """Each exporter's relative weight in `weighted` mode: the weight given for its mesh, else
        its equal share `even` (F1's split)."""
        return [self.weights.get(m or "", even[i]) for i, m in enumerate(meshes)]


class Settings:
    """`global.failover` as the schema check left it: the default for every host, and each
    host's own entry (the first one for a hostname; a second is an error of its own)."""

    __slots__ = ("enabled", "mode", "outlier", "hosts")

    def __init__(self, raw: dict[str, Any] | None) -> None:
        raw = raw or {}
        self.enabled = bool(raw.get("enabled", False))
        self.mode = raw.get("mode") or MODE
        self.outlier = raw.get("outlierDetection") or {}
        self.hosts: dict[str, dict[str, Any]] = {}
        for entry in raw.get("services") or ():
            if isinstance(entry, dict) and "hostname" in entry:
                self.hosts.setdefault(entry["hostname"], entry)

    def for_host(self, host: str) -> Failover | None:
        """The host's failover, or None when it is off for the host."""
        own = self.hosts.get(host, {})
        if not own.get("enabled", self.enabled):
            return None
        merged = {**OUTLIER_DETECTION, **self.outlier, **(own.get("outlierDetection") or {})}
        outlier = {k: merged[k] for k in OUTLIER_FIELDS if k in merged}
        return Failover(own.get("mode") or self.mode, outlier, dict(own.get("weights") or {}))


def destination(host: str) -> str:
    """The host of the egress gateway's one destination for `host`."""
    return DESTINATION_PREFIX + host


def address_weights(shares: list[int], counts: list[int]) -> list[int]:
    """The weight of each address of each exporter such that exporter i, with `counts[i]`
    addresses, gets `shares[i]` of the traffic: its share times lcm(counts) / counts[i]."""
    common = lcm(*[n for n in counts if n]) if any(counts) else 1
    return [s * common // n if n else 0 for s, n in zip(shares, counts)]
