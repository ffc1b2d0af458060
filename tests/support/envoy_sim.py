"""A simulation of where Istio's proxies send a request to an imported host, over the objects
meshfed renders for the calling cluster (mesh tier and namespace tier), written for the tests
from Istio's and Envoy's documented rules, apart from meshfed's own code:

1. the sidecar in the caller's namespace resolves the host: the ServiceEntry visible to the
   namespace, its endpoints (inline, or the WorkloadEntries its selector picks), an endpoint
   without an address (or of a network with a Gateway API network gateway) replaced by that
   network's gateway addresses (the weight split among them), an endpoint at the egress gateway's
   Service handed to the egress gateway;
2. the egress gateway matches the SNI with its Gateway's PASSTHROUGH server and a
   VirtualService bound to it, and picks one of the route's destinations per connection, by
   weight; each destination is its own Envoy cluster (a ServiceEntry visible in the gateway's
   namespace);
3. in each Envoy cluster: the DestinationRule that applies (the proxy's namespace first, then
   the service's namespace, then the root namespace, each only when exported to the proxy's
   namespace; two for one host in a namespace: only the first one's trafficPolicy counts), its
   port-level settings replacing the top level for the port; locality priorities only with
   outlierDetection and locality load balancing not disabled; hosts of a down mesh failing every
   request, ejected one at a time while they get traffic, only while (ejected + 1) / hosts stays
   within maxEjectionPercent (10 when unset); per-priority health from host counts times the
   overprovisioning factor 1.4, spilling to the next priority; panic (all hosts used, dead ones
   too) below the panic threshold (Istio: minHealthPercent, 0 by default, whenever
   outlierDetection is set; Envoy's 50 otherwise); host weights inside a priority.

`lost(...)` is the share of requests (0 to 1) that reach a down mesh once ejection has
settled; `served` the share each mesh gets.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

ROOT_NAMESPACE = "istio-system"
NETWORKING = "networking.istio.io"
EGRESS = "<egress gateway>"


@dataclass
class Host:
    """One Envoy host: where it leads (a mesh's gateway, or the egress gateway), its locality,
    its weight."""

    target: str
    locality: str
    weight: Fraction


@dataclass
class Outcome:
    served: dict[str, Fraction] = field(default_factory=dict)
    lost: Fraction = Fraction(0)

    def add(self, other: "Outcome", share: Fraction) -> None:
        for k, v in other.served.items():
            self.served[k] = self.served.get(k, Fraction(0)) + v * share
        self.lost += other.lost * share


def _group(obj: dict[str, Any]) -> str:
    return obj["apiVersion"].split("/")[0]


def _visible(obj: dict[str, Any], namespace: str | None) -> bool:
    """exportTo: absent or `*` is every namespace, `.` its own."""
    own = obj["metadata"].get("namespace")
    export = obj["spec"].get("exportTo")
    if export is None or "*" in export:
        return True
    return ("." in export and own == namespace) or namespace in export


class Cluster:
    """The rendered objects of one calling cluster."""

    def __init__(self, objects: list[dict[str, Any]], locality: str | None, owners: dict[str, str],
                 mesh_networks_to_egress: bool = False) -> None:
        self.objects = objects
        self.locality = locality or ""
        self.owners = owners  # a remote gateway address -> its mesh
        # istiod's meshNetworks sends every remote network of the sidecars through the egress
        # gateway (what layout v2's egress without Gateway API needs, as meshfed's warning says);
        # the egress gateway itself reaches the remote gateways' addresses
        self.mesh_networks_to_egress = mesh_networks_to_egress

    def of(self, kind: str, group: str = NETWORKING) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind and _group(o) == group]

    # -- which objects apply --------------------------------------------------------------

    def service_entry(self, host: str, namespace: str | None) -> dict[str, Any] | None:
        found = [o for o in self.of("ServiceEntry")
                 if host in o["spec"]["hosts"] and (o["metadata"].get("namespace") == namespace
                                                    or _visible(o, namespace))]
        local = [o for o in found if o["metadata"].get("namespace") == namespace]
        return (local or found or [None])[0]

    def destination_rule(self, host: str, proxy_ns: str | None, service_ns: str | None) -> dict[str, Any] | None:
        """Istio's lookup: the proxy's namespace, then the service's, then the root namespace,
        each rule only where it is exported to the proxy's namespace; several rules for a host
        in one namespace merge only subsets: the first one's trafficPolicy wins."""
        rules = [o for o in self.of("DestinationRule") if o["spec"]["host"] == host]
        for ns in (proxy_ns, service_ns, ROOT_NAMESPACE):
            found = [r for r in rules if r["metadata"].get("namespace") == ns and _visible(r, proxy_ns)]
            if found:
                return found[0]
        return None

    # -- the endpoints of one Envoy cluster ---------------------------------------------------

    def _network_gateways(self, network: str) -> list[tuple[str, int]] | None:
        for gw in self.of("Gateway", "gateway.networking.k8s.io"):
            if gw["metadata"].get("labels", {}).get("topology.istio.io/network") == network:
                port = gw["spec"]["listeners"][0]["port"]
                return [(a["value"], port) for a in gw["spec"]["addresses"]]
        return None

    def _target(self, address: str) -> str:
        if address.endswith(".svc.cluster.local"):
            return EGRESS
        return self.owners.get(address, f"<unknown {address}>")

    def hosts(self, entry: dict[str, Any], namespace: str | None, sidecar: bool = False) -> list[Host]:
        spec = entry["spec"]
        if "endpoints" in spec:
            endpoints = spec["endpoints"]
        else:
            selector = spec["workloadSelector"]["labels"]
            endpoints = [dict(w["spec"]) for w in self.of("WorkloadEntry")
                         if w["metadata"].get("namespace") == namespace
                         and all(w["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())]
        out = []
        for ep in endpoints:
            weight = Fraction(ep.get("weight", 1))
            locality = ep.get("locality", "")
            gateways = self._network_gateways(ep["network"]) if "network" in ep else None
            if "address" not in ep or gateways is not None:
                if not gateways:
                    continue  # an endpoint of a network without a gateway: Istio drops it
                out += [Host(self._target(a), locality, weight / len(gateways)) for a, _ in gateways]
            elif "network" in ep and sidecar and self.mesh_networks_to_egress:
                out.append(Host(EGRESS, locality, weight))
            else:
                out.append(Host(self._target(ep["address"]), locality, weight))
        return out

    # -- the proxies ------------------------------------------------------------------------

    def sidecar(self, namespace: str | None, host: str, port: int, down: set[str]) -> Outcome:
        entry = self.service_entry(host, namespace)
        if entry is None:
            return Outcome(lost=Fraction(1))
        rule = self.destination_rule(host, namespace, entry["metadata"].get("namespace"))
        policy = _policy(rule, port)
        sni = (policy.get("tls") or {}).get("sni") or f"outbound_.{port}_._.{host}"
        outcome = Outcome()
        for target, share in choose(self.hosts(entry, namespace, True), policy, self.locality, down).items():
            if target == EGRESS:
                outcome.add(self.egress(sni, down), share)
            elif target is None or target in down or target.startswith("<"):
                outcome.lost += share
            else:
                outcome.served[target] = outcome.served.get(target, Fraction(0)) + share
        return outcome

    def egress(self, sni: str, down: set[str]) -> Outcome:
        gateways = [g for g in self.of("Gateway") if g["spec"]["servers"][0]["tls"]["mode"] == "PASSTHROUGH"]
        if not gateways:
            return Outcome(lost=Fraction(1))
        gw = gateways[0]
        if not any(_sni_match(h, sni) for h in gw["spec"]["servers"][0]["hosts"]):
            return Outcome(lost=Fraction(1))
        proxy_ns = gw["metadata"].get("namespace")
        routes = None
        for vs in self.of("VirtualService"):
            if gw["metadata"]["name"] in vs["spec"].get("gateways", []):
                for tls in vs["spec"]["tls"]:
                    if any(_sni_match(h, sni) for m in tls["match"] for h in m["sniHosts"]):
                        routes = tls["route"]
        if routes is None:
            return Outcome(lost=Fraction(1))
        total = sum(Fraction(r.get("weight", 100)) for r in routes)
        outcome = Outcome()
        for r in routes:  # picked once per connection, by weight, never retried elsewhere
            share = Fraction(r.get("weight", 100)) / total
            dest, dport = r["destination"]["host"], r["destination"]["port"]["number"]
            entry = self.service_entry(dest, proxy_ns)
            if entry is None:
                outcome.lost += share
                continue
            rule = self.destination_rule(dest, proxy_ns, entry["metadata"].get("namespace"))
            hosts = self.hosts(entry, proxy_ns)
            inner = Outcome()
            for target, part in choose(hosts, _policy(rule, dport), self.locality, down).items():
                if target is None or target in down or target == EGRESS or target.startswith("<"):
                    inner.lost += part  # a loop back into the egress gateway never leaves it
                else:
                    inner.served[target] = inner.served.get(target, Fraction(0)) + part
            outcome.add(inner, share)
        return outcome


def _sni_match(pattern: str, name: str) -> bool:
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return pattern == name


def _policy(rule: dict[str, Any] | None, port: int) -> dict[str, Any]:
    policy = (rule or {}).get("spec", {}).get("trafficPolicy") or {}
    for item in policy.get("portLevelSettings") or []:
        if item["port"]["number"] == port:
            return item  # port-level settings do not inherit the top level's
    return policy


def _lb_priority(caller: str, locality: str) -> int:
    a = (caller.split("/") + ["", "", ""])[:3]
    b = (locality.split("/") + ["", "", ""])[:3]
    if a[0] != b[0]:
        return 3
    if a[1] != b[1]:
        return 2
    return 1 if a[2] != b[2] else 0


def choose(hosts: list[Host], policy: dict[str, Any], caller: str, down: set[str]) -> dict[str | None, Fraction]:
    """Envoy's split of the requests over the hosts' targets once ejection has settled; a share
    under the key None fails for want of a host."""
    if not hosts:
        return {None: Fraction(1)}
    od = policy.get("outlierDetection")
    locality_lb = (policy.get("loadBalancer") or {}).get("localityLbSetting", {}).get("enabled", True)
    if od is not None and locality_lb:
        raw = [_lb_priority(caller, h.locality) for h in hosts]
        rank = {p: i for i, p in enumerate(sorted(set(raw)))}
        prio = [rank[p] for p in raw]
    else:
        prio = [0] * len(hosts)
    if od is None:
        ejects, cap, panic = False, 10, 50
    else:
        if od.get("splitExternalLocalOriginErrors"):
            ejects = od.get("consecutiveLocalOriginFailures", 0) > 0
        else:
            ejects = od.get("consecutive5xxErrors", 5) > 0 or od.get("consecutiveGatewayErrors", 0) > 0
        cap, panic = od.get("maxEjectionPercent") or 10, od.get("minHealthPercent", 0)
    ejected = [False] * len(hosts)
    while True:
        split = _split(hosts, prio, ejected, panic)
        # A dead host that gets requests fails them in a row and is ejected, if the cap allows.
        candidates = [i for i, share in split.items()
                      if share and hosts[i].target in down and not ejected[i]]
        if not ejects or not candidates:
            break
        count = sum(ejected)
        if 100 * (count + 1) > cap * len(hosts):
            break
        ejected[candidates[0]] = True
    out: dict[str | None, Fraction] = {}
    for i, share in split.items():
        key = hosts[i].target if i is not None else None
        out[key] = out.get(key, Fraction(0)) + share
    return out


def _split(hosts: list[Host], prio: list[int], ejected: list[bool], panic: int) -> dict[Any, Fraction]:
    """Priority load from health (host counts x 1.4, capped at 100, normalised when the levels'
    sum is below 100), then weights inside each level; a level in panic uses all its hosts."""
    levels = sorted(set(prio))
    health = []
    for p in levels:
        members = [i for i in range(len(hosts)) if prio[i] == p]
        healthy = sum(1 for i in members if not ejected[i])
        health.append(min(Fraction(100), Fraction(140 * healthy, len(members))))
    total = sum(health)
    out: dict[Any, Fraction] = {}
    if total == 0:
        # no healthy host anywhere: panic spreads over every host (Envoy's panic mode) unless the
        # threshold is 0, when the request fails
        if panic == 0:
            return {None: Fraction(1)}
        weight = sum(h.weight for h in hosts)
        return {i: h.weight / weight for i, h in enumerate(hosts)}
    remaining = Fraction(100)
    for p, h in zip(levels, health):
        load = h * 100 / total if total < 100 else min(remaining, h)
        remaining -= load
        if not load:
            continue
        members = [i for i in range(len(hosts)) if prio[i] == p]
        live = [i for i in members if not ejected[i]]
        use = members if 100 * len(live) < panic * len(members) else live
        weight = sum(hosts[i].weight for i in use)
        for i in use:
            out[i] = out.get(i, Fraction(0)) + load / 100 * hosts[i].weight / weight
    return out
