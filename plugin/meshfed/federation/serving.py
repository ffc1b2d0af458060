"""Which exporters serve an imported host, and in what order: Envoy's choice inside one cluster
(one Istio DestinationRule host) as the rendered objects set it up, for `meshfed explain` and
`meshfed graph`.

What it follows (README, "Surviving a lost cluster", says where each is in Istio's source):
- locality priorities only with outlier detection and `localityLbSetting` not disabled
  (Istio's LbPriority: region, zone, sub-zone matched against the caller's locality, then
  compacted to 0..n);
- an endpoint of a mesh that is down is ejected only while ejected / endpoints stays within
  `maxEjectionPercent` (Envoy's default 10 when Istio does not set it); the rest of its share is
  lost;
- each priority takes min(100, 1.4 x its share of live endpoints) percent of the traffic, the
  rest spills to the next, normalised when the sum stays below 100; a priority whose live share
  is below the panic threshold (`minHealthPercent`; Envoy's 50 without outlier detection)
  spreads over all its endpoints, dead ones included;
- inside a priority, traffic follows the endpoint weights.
"""
from __future__ import annotations

from typing import Any

from ..values.failover import NEAREST, Failover
from ..values.model import Remote
from ..output.rows import weights

OVERPROVISIONING = 1.4
ENVOY_MAX_EJECTION = 10
ENVOY_PANIC = 50


class Endpoint:
    """One endpoint of the host's Envoy cluster: the mesh behind it, its locality, its weight."""

    __slots__ = ("mesh", "locality", "weight")

    def __init__(self, mesh: str, locality: str | None, weight: int | None) -> None:
        self.mesh = mesh
        self.locality = locality
        self.weight = weight or 1


class Policy:
    """What a DestinationRule's traffic policy (for the port) says about the choice."""

    __slots__ = ("outlier", "locality")

    def __init__(self, traffic_policy: dict[str, Any] | None, port: int | None = None) -> None:
        tp = traffic_policy or {}
        for item in tp.get("portLevelSettings") or ():
            if port is not None and item.get("port", {}).get("number") == port:
                tp = item  # port-level settings replace the top level's, they do not inherit them
                break
        self.outlier: dict[str, Any] | None = tp.get("outlierDetection")
        setting = (tp.get("loadBalancer") or {}).get("localityLbSetting") or {}
        self.locality = setting.get("enabled", True)

    @property
    def ejects(self) -> bool:
        """Whether a refused connection can eject an endpoint at all."""
        od = self.outlier
        if od is None:
            return False
        if od.get("splitExternalLocalOriginErrors"):
            return od.get("consecutiveLocalOriginFailures", 0) > 0
        return od.get("consecutive5xxErrors", 5) > 0 or od.get("consecutiveGatewayErrors", 0) > 0


def _parts(locality: str | None) -> list[str]:
    """Region, zone and sub-zone of `region/zone/sub-zone` (missing parts empty)."""
    return ((locality or "").split("/") + ["", "", ""])[:3]


def _priority(caller: str | None, endpoint: str | None) -> int:
    """0 when region, zone and sub-zone match the caller's, 1 when only the sub-zone differs, 2
    when the zone does, 3 when the region does."""
    c, e = _parts(caller), _parts(endpoint)
    for level in range(3):
        if c[level] != e[level]:
            return 3 - level
    return 0


def priorities(endpoints: list[Endpoint], policy: Policy, caller: str | None) -> list[int]:
    """Each endpoint's priority (0 first), compacted."""
    if policy.outlier is None or not policy.locality:
        return [0] * len(endpoints)
    raw = [_priority(caller, e.locality) for e in endpoints]
    order = {p: i for i, p in enumerate(sorted(set(raw)))}
    return [order[p] for p in raw]


def shares(endpoints: list[Endpoint], policy: Policy, caller: str | None,
           down: set[str]) -> tuple[dict[str, float], float]:
    """The percentage of requests each mesh serves, and the percentage lost (sent to an endpoint
    of a mesh that is down), once every ejection Envoy will make has been made."""
    if not endpoints:
        return {}, 100.0
    dead = [e.mesh in down for e in endpoints]
    ejected = [False] * len(endpoints)
    if policy.ejects:
        cap = (policy.outlier or {}).get("maxEjectionPercent") or ENVOY_MAX_EJECTION
        count = 0
        for i, is_dead in enumerate(dead):
            if is_dead and 100 * (count + 1) <= cap * len(endpoints):
                ejected[i] = True
                count += 1
    panic = (policy.outlier or {}).get("minHealthPercent", 0) if policy.outlier is not None else ENVOY_PANIC
    prio = priorities(endpoints, policy, caller)
    levels = sorted(set(prio))
    health = []
    for p in levels:
        members = [i for i in range(len(endpoints)) if prio[i] == p]
        live_count = sum(1 for i in members if not ejected[i])
        health.append(min(100.0, OVERPROVISIONING * 100 * live_count / len(members)))
    total = sum(health)
    loads = []
    remaining = 100.0
    for h in health:
        load = h * 100 / total if 0 < total < 100 else min(remaining, h)
        remaining -= load
        loads.append(load)
    served: dict[str, float] = {}
    lost = 0.0 if total > 0 else 100.0
    for p, load in zip(levels, loads):
        members = [i for i in range(len(endpoints)) if prio[i] == p]
        live = [i for i in members if not ejected[i]]
        use = members if 100 * len(live) < panic * len(members) or not live else live
        weight = sum(endpoints[i].weight for i in use)
        for i in use:
            part = load * endpoints[i].weight / weight
            if dead[i]:
                lost += part
            else:
                served[endpoints[i].mesh] = served.get(endpoints[i].mesh, 0.0) + part
    return served, lost


def percent(value: float) -> str:
    """A share as people read it: whole percents, one decimal below 10 when not whole."""
    rounded = round(value, 1)
    return f"{rounded:g}%" if rounded < 10 else f"{round(value):d}%"


def roles(f: Failover | None, remotes: list[Remote], caller: str | None) -> list[str]:
    """How each exporting remote serves a caller, for the graph's edges: `preferred` or
    `failover` (mode nearest: the first locality priority, or a later one), `weight N` (mode
    weighted, or no failover through the egress gateway's weighted split)."""
    if f is not None and f.mode == NEAREST:
        endpoints = [Endpoint(r.mesh or "", r.locality, None) for r in remotes]
        prio = priorities(endpoints, Policy(f.traffic_policy()), caller)
        return ["preferred" if p == 0 else "failover" for p in prio]
    even = weights(len(remotes))
    shares_ = f.shares([r.mesh for r in remotes], even) if f is not None else even
    total = sum(shares_) or 1
    return [f"weight {round(100 * s / total)}" for s in shares_]
