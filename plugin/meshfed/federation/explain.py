"""`meshfed explain HOST --cluster NAME`: the path a request to HOST from a cluster takes, resource
by resource, each named as rendered (kind, namespace/name) with the document it comes from.

Steps are numbered; where the path forks (load-balanced meshes, several remote endpoints) each
branch is introduced by a `route i of n` line and continues the numbering. Lines starting with
`!` say where the path breaks.

Where one Envoy cluster chooses between the exporting meshes (a direct import, or the egress
gateway's one destination with failover), the choice is spelled out: the order in which the
meshes serve the calling cluster (its locality from how the other clusters list it), their
shares, and with `--down MESH` where the requests go while those meshes are down (`serving`).

Where the exporting namespace has boundary authorization on, its AuthorizationPolicy for the host
says whether the calling namespace is admitted, and why (`boundary.admission`).
"""
from __future__ import annotations

from typing import Any

from ..values.diagnostics import InputError, did_you_mean, error
from ..values.failover import DESTINATION_PREFIX
from ..values.model import Remote
from . import boundary
from .graph import EGRESS_IDS, INGRESS_IDS
from .repo import Cluster, Doc, Repo, ports_text
from .serving import ENVOY_MAX_EJECTION, Endpoint, Policy, percent, priorities, shares

NS_API = "networking.istio.io/v1"
V1_IMPORT_API = "networking.istio.io/v1alpha3"
MESH_SE_API = "networking.istio.io/v1beta1"
GATEWAY_API = "gateway.networking.k8s.io/v1beta1"


def _ref(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    kind = obj["kind"]
    if obj["apiVersion"].startswith("gateway.networking.k8s.io/"):
        kind = "Gateway (Gateway API)"
    ns = meta.get("namespace")
    return f"{kind} {ns}/{meta['name']}" if ns else f"{kind} {meta['name']}"


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in labels.items())


def _port_list(ports: list[dict[str, Any]]) -> str:
    return ", ".join(f"{p['number']}/{p['protocol']}" for p in ports)


def _outlier_text(od: dict[str, Any]) -> str:
    """Istio's outlierDetection in words."""
    if od.get("splitExternalLocalOriginErrors"):
        after = f"{od.get('consecutiveLocalOriginFailures', 0)} locally originated failures"
    else:
        counts = []
        if od.get("consecutiveGatewayErrors", 0) > 0:
            counts.append(f"{od['consecutiveGatewayErrors']} gateway errors")
        if od.get("consecutive5xxErrors", 5) > 0:
            counts.append(f"{od.get('consecutive5xxErrors', 5)} 5xx errors")
        after = " or ".join(counts) or "nothing (every count is 0)"
    cap = od.get("maxEjectionPercent") or ENVOY_MAX_EJECTION
    panic = od.get("minHealthPercent", 0)
    return (f"an endpoint is ejected after {after} in a row (checked every {od.get('interval', '10s')}, for "
            f"{od.get('baseEjectionTime', '30s')} and longer each time), at most {cap}% of the endpoints at once; "
            + ("no panic threshold: the last live exporter keeps the traffic" if not panic else
               f"panic below {panic}% live endpoints: then requests go to dead ones too"))


class _Path:
    def __init__(self, repo: Repo, caller: str | None = None, down: list[str] | None = None):
        self.repo = repo
        self.lines: list[str] = []
        self.n = 0
        self.caller = caller  # the calling cluster's locality
        self.down = down or []
        self.origin: tuple[Cluster, str] | None = None  # the calling cluster and namespace

    def step(self, doc: Doc | None, obj: dict[str, Any], text: str, indent: str = "") -> None:
        self.n += 1
        self.lines.append(f"{indent}{self.n}. {_ref(obj)} ({doc.source}): {text}")

    def note(self, text: str, indent: str = "") -> None:
        self.lines.append(f"{indent}{text}")

    def broken(self, text: str, indent: str = "") -> None:
        self.lines.append(f"{indent}! {text}")

    def choice(self, doc: Doc, rule: dict[str, Any] | None, endpoints: list[Endpoint], port: int | None,
               indent: str) -> None:
        """One Envoy cluster choosing between meshes: the DestinationRule (when there is one), the
        order the meshes serve in, and where the requests go with the meshes `down` down."""
        policy = Policy(rule["spec"].get("trafficPolicy") if rule is not None else None, port)
        meshes = list(dict.fromkeys(e.mesh for e in endpoints))
        if rule is None and len(meshes) < 2 and not self.down:
            return  # nothing to choose between
        if rule is not None:
            if policy.outlier is not None:
                mode = "nearest" if policy.locality else "weighted"
                self.step(doc, rule, f"failover {mode}: {_outlier_text(policy.outlier)}", indent)
            else:
                self.step(doc, rule, "no outlier detection: nothing ejects a dead gateway", indent)
        prio = priorities(endpoints, policy, self.caller)
        if len(set(prio)) > 1:
            where = f"locality {self.caller}" if self.caller else "no locality"
            order = []
            for p in sorted(set(prio)):
                group = list(dict.fromkeys(e.mesh for e, q in zip(endpoints, prio) if q == p))
                order.append(", ".join(f"{m} ({self._locality(m)})" for m in group))
            self.note(f"order from {where}: " + "; then ".join(order), indent)
        served, _ = shares(endpoints, policy, self.caller, set())
        self.note("all up: " + self._served(served, meshes, 0.0), indent)
        if self.down:
            served, lost = shares(endpoints, policy, self.caller, set(self.down))
            self.note(f"with {', '.join(self.down)} down: " + self._served(served, meshes, lost)
                      + ("" if policy.outlier is not None or not lost else
                         " (no outlier detection: nothing moves the requests away from a dead gateway)"), indent)

    def _served(self, served: dict[str, float], meshes: list[str], lost: float) -> str:
        parts = [f"{m} {percent(served[m])}" for m in meshes if served.get(m, 0) > 0.05]
        if lost > 0.05:
            parts.append(f"{percent(lost)} of the requests fail")
        return ", ".join(parts) or "every request fails"

    def _locality(self, mesh: str) -> str:
        found = self.repo.locality(mesh)
        return found or "no locality"

    # ----------------------------------------------------------------------------------------

    def remote_side(self, host: str, mesh: str | None, indent: str) -> None:
        """The exporting cluster: its ingress gateway, then the exported ServiceEntry."""
        target = self.repo.cluster_of_mesh(mesh)
        if target is None:
            self.broken(f"mesh {mesh} is not a cluster of this repository: the path continues outside it", indent)
            return
        m = target.mesh_doc
        gw = next((o for i in INGRESS_IDS for o in (m.find("Gateway", i) if m is not None else [])), None)
        if gw is None:
            self.broken(f"{target.name} renders no ingress Gateway (its global.local.export is empty)", indent)
        else:
            _, _, obj = gw
            server = obj["spec"]["servers"][0]
            text = (f"ingress gateway of {target.name} (pods {_labels(obj['spec']['selector'])}), port "
                    f"{server['port']['number']} TLS {server['tls']['mode']}")
            if host in server["hosts"]:
                self.step(m, obj, f"{text} for {host}", indent)
            else:
                self.step(m, obj, text, indent)
                self.broken(f"{host} is not among its hosts ({', '.join(server['hosts'])}): "
                            f"{target.name} does not export it in global.local.export", indent)
        exporters = target.exporters(host)
        if not exporters:
            self.broken(f"no namespace of {target.name} exports {host}", indent)
        for xd, _ in exporters:
            for _, _, obj in xd.find("ServiceEntry", host, NS_API):
                spec = obj["spec"]
                self.step(xd, obj, f"the exported service: workloads {_labels(spec['workloadSelector']['labels'])}, "
                          f"ports {_port_list(spec['ports'])}", indent)
            self.authorization(xd, host, indent)

    def authorization(self, xd: Doc, host: str, indent: str) -> None:
        """The exporting namespace's AuthorizationPolicies bound to the host's workloads: whether
        the calling namespace is admitted, and why."""
        if self.origin is None:
            return
        text = boundary.admission(xd, host, *self.origin)
        if text is None:
            return
        selector = next((e.label_selector or {} for e in xd.values.exports if e.hostname == host), {})
        for _, _, obj in xd.find("AuthorizationPolicy"):
            if all(selector.get(k) == v for k, v in obj["spec"]["selector"]["matchLabels"].items()):
                self.step(xd, obj, text, indent)
        if text.startswith("denied"):
            self.broken(f"the request is denied here: {xd.source} does not list namespace {self.origin[1]} of "
                        f"{self.origin[0].name} among the importers of {host}", indent)

    def egress_side(self, c: Cluster, host: str, indent: str = "   ") -> None:
        """The calling cluster's egress gateway, its VirtualService, then one branch per route."""
        m = c.mesh_doc
        assert m is not None  # every caller checked that the cluster's mesh-tier document rendered
        gw = next((o for i in EGRESS_IDS for o in m.find("Gateway", i)), None)
        if gw is None:
            self.broken(f"the mesh tier of {c.label} renders no egress Gateway", indent)
            return
        _, _, obj = gw
        server = obj["spec"]["servers"][0]
        vs = m.find("VirtualService", host)
        sni_hosts = vs[0][2]["spec"]["tls"][0]["match"][0]["sniHosts"] if vs else []
        served = [h for h in sni_hosts if h in server["hosts"]]
        self.step(m, obj, f"egress gateway (pods {_labels(obj['spec']['selector'])}), port "
                  f"{server['port']['number']} TLS {server['tls']['mode']}"
                  + (f" for {', '.join(served)}" if served else ""), indent)
        if not vs:
            self.broken(f"no VirtualService routes {host}: no remote of {c.label} lists it in importedServices",
                        indent)
            return
        _, _, vobj = vs[0]
        route = vobj["spec"]["tls"][0]["route"]
        sni = ", ".join(vobj["spec"]["tls"][0]["match"][0]["sniHosts"])
        parts = ", ".join(f"weight {r['weight']} to {r['destination']['host']}:{r['destination']['port']['number']}"
                          for r in route)
        self.step(m, vobj, f"SNI {sni}: {parts}", indent)
        remotes = {r.mesh: r for r in m.values.remotes}
        if len(route) == 1 and route[0]["destination"]["host"].startswith(DESTINATION_PREFIX):
            self._egress_failover(m, host, route[0]["destination"]["host"], indent)
            return
        if self.down:
            lost = sum(r["weight"] for r in route
                       if r["destination"]["host"][len("ingress."):-len(".global")] in self.down)
            shares = {r["destination"]["host"][len("ingress."):-len(".global")]: float(r["weight"]) for r in route}
            for mesh in self.down:
                shares.pop(mesh, None)
            total = sum(r["weight"] for r in route) or 1
            self.note(f"with {', '.join(self.down)} down: "
                      + self._served({k: 100 * w / total for k, w in shares.items()}, list(shares), 100 * lost / total)
                      + ("" if not lost else " (a weighted route is chosen once per connection: nothing moves it)"),
                      indent)
        for i, dest in enumerate(route, 1):
            mesh = dest["destination"]["host"][len("ingress."):-len(".global")]
            self.note(f"route {i} of {len(route)}: weight {dest['weight']}, to mesh {mesh}"
                      f"{self._cluster_note(mesh)}", indent)
            sub = indent + "   "
            for _, _, se in m.find("ServiceEntry", mesh, MESH_SE_API):
                eps = ", ".join(ep["address"] for ep in se["spec"]["endpoints"]) or "no endpoints"
                port = se["spec"]["ports"][0]["number"]
                r = remotes.get(mesh)
                net = f" (network {r.network})" if r is not None else ""
                self.step(m, se, f"{se['spec']['hosts'][0]} at {eps}, port {port}{net}", sub)
            self.remote_side(host, mesh, sub)

    def _egress_failover(self, m: Doc, host: str, destination: str, indent: str) -> None:
        """The egress gateway's one destination for `host`: every exporter's gateway in one Envoy
        cluster, then one branch per exporting mesh."""
        owners = {a: r.mesh for r in m.values.remotes for a in r.addresses if r.mesh is not None}
        endpoints: list[Endpoint] = []
        for _, _, se in m.find("ServiceEntry", host, NS_API):
            if se["spec"]["hosts"] != [destination]:
                continue  # (with scope all, the namespace tier's ServiceEntry of the host itself)
            eps = se["spec"]["endpoints"]
            endpoints = [Endpoint(owners.get(ep["address"], "?"), ep.get("locality"), ep.get("weight")) for ep in eps]
            listed = ", ".join(f"{ep['address']} (mesh {e.mesh}{', weight ' + str(ep['weight']) if 'weight' in ep else ''})"
                               for ep, e in zip(eps, endpoints))
            self.step(m, se, f"{destination}: one destination over every exporter's gateway: {listed}", indent)
        rule = next((o for _, _, o in m.find("DestinationRule") if o["spec"].get("host") == destination), None)
        self.choice(m, rule, endpoints, None, indent)
        meshes = list(dict.fromkeys(e.mesh for e in endpoints))
        for i, mesh in enumerate(meshes, 1):
            self.note(f"route {i} of {len(meshes)}: to mesh {mesh}{self._cluster_note(mesh)}", indent)
            self.remote_side(host, mesh, indent + "   ")

    def _cluster_note(self, mesh: str | None) -> str:
        target = self.repo.cluster_of_mesh(mesh)
        return f" (cluster {target.name})" if target is not None else " (not in this repository)"

    # ----------------------------------------------------------------------------------------

    def from_namespace(self, c: Cluster, d: Doc, host: str) -> None:
        v = d.values
        entry = next(e for e in v.imports if e.hostname == host)
        ns = d.namespace or "(set by kustomize or Argo CD)"
        self.origin = (c, d.namespace) if d.namespace else None
        self.note(f"{host} from namespace {ns} of cluster {c.name} (mesh {c.mesh}, network {c.network}), "
                  f"ports {ports_text(v.ports_of(entry))}")
        m = c.mesh_doc
        if v.layout == "v1":
            self._v1(c, d, host, m)
        else:
            self._v2(c, d, host, m)

    def _v2(self, c: Cluster, d: Doc, host: str, m: Doc | None) -> None:
        for _, _, obj in d.find("ServiceEntry", host, NS_API):
            self.step(d, obj, f"{host} inside the mesh, resolution {obj['spec']['resolution']}, endpoints: the "
                      f"WorkloadEntries labelled {_labels(obj['spec']['workloadSelector']['labels'])}", "   ")
        entries = d.find("WorkloadEntry", prefix=f"{host}/")
        egress = m is not None and m.ok and m.values.egress.enabled
        if not entries:
            self.broken(f"no WorkloadEntry for {host}: no remote lists it in importedServices", "   ")
            if not egress:
                return

        def describe(obj: dict[str, Any]) -> str:
            spec = obj["spec"]
            mesh = obj["metadata"]["labels"].get("topology.istio.io/cluster")
            where = f", address {spec['address']}" if "address" in spec else ""
            return f"endpoint of mesh {mesh}, network {spec['network']}{where}"

        gateway_api = m is not None and m.ok and m.values.gateway_api

        def network_gateway(obj: dict[str, Any], indent: str) -> None:
            """M5: with Gateway API, the Gateway istiod takes as the network's gateway."""
            network = obj["spec"]["network"]
            for _, _, gw in m.find("Gateway", network, GATEWAY_API):
                addrs = ", ".join(a["value"] for a in gw["spec"]["addresses"])
                what = "the egress gateway's Service " if egress else ""
                self.step(m, gw, f"gateway of network {network}: {what}{addrs}, port "
                          f"{gw['spec']['listeners'][0]['port']}", indent)

        if egress:
            networks: list[str] = []
            for _, _, obj in entries:
                via = "" if gateway_api else ": istiod's meshNetworks sends this network through the egress gateway"
                self.step(d, obj, describe(obj) + via, "   ")
            for _, _, obj in entries:
                if gateway_api and obj["spec"]["network"] not in networks:
                    networks.append(obj["spec"]["network"])
                    network_gateway(obj, "   ")
            self.egress_side(c, host)
            return
        endpoints = [Endpoint(o["metadata"]["labels"].get("topology.istio.io/cluster", "?"), o["spec"].get("locality"),
                              o["spec"].get("weight")) for _, _, o in entries]
        self.choice(d, _import_rule(d, host), endpoints, _first_port(d, host), "   ")
        for i, (_, _, obj) in enumerate(entries, 1):
            mesh = obj["metadata"]["labels"].get("topology.istio.io/cluster")
            self.note(f"route {i} of {len(entries)}: endpoint to mesh {mesh}{self._cluster_note(mesh)}", "   ")
            self.step(d, obj, describe(obj), "      ")
            if gateway_api:
                network_gateway(obj, "      ")
            self.remote_side(host, mesh, "      ")

    def _v1(self, c: Cluster, d: Doc, host: str, m: Doc | None) -> None:
        found = d.find("ServiceEntry", host, V1_IMPORT_API)
        if not found:
            self.broken(f"no ServiceEntry imports {host}", "   ")
            return
        _, _, obj = found[0]
        endpoints = obj["spec"]["endpoints"]
        if d.values.egress.enabled:
            ep = endpoints[0]
            ports = ", ".join(str(p) for p in dict.fromkeys(ep["ports"].values()))
            self.step(d, obj, f"{host} inside the mesh, one endpoint: the egress gateway's Service "
                      f"{ep['address']}, port {ports}", "   ")
            if m is None or not m.ok:
                self.broken(f"cluster {c.name} has no mesh-tier document", "   ")
                return
            self.egress_side(c, host)
            return
        self.step(d, obj, f"{host} inside the mesh, resolution {obj['spec']['resolution']}, "
                  f"{len(endpoints)} endpoint(s)", "   ")
        self.choice(d, _import_rule(d, host), [Endpoint(ep.get("labels", {}).get("mesh", "?"), ep.get("locality"),
                                                        ep.get("weight")) for ep in endpoints],
                    _first_port(d, host), "   ")
        for i, ep in enumerate(endpoints, 1):
            mesh = ep.get("labels", {}).get("mesh")
            ports = ", ".join(str(p) for p in dict.fromkeys(ep["ports"].values()))
            self.note(f"route {i} of {len(endpoints)}: endpoint {ep['address']}, port {ports}, network "
                      f"{ep['network']}, to mesh {mesh}{self._cluster_note(mesh)}", "   ")
            self.remote_side(host, mesh, "      ")


def _import_rule(d: Doc, host: str) -> dict[str, Any] | None:
    """The DestinationRule a namespace tier emits for an imported host (F11, failover)."""
    return next((o for _, _, o in d.find("DestinationRule") if o["spec"].get("host") == host), None)


def _first_port(d: Doc, host: str) -> int | None:
    entry = next((e for e in d.values.imports if e.hostname == host), None)
    ports = d.values.ports_of(entry) if entry is not None else ()
    return ports[0].number if ports else None


def explain_repo(repo: Repo, host: str, cluster: str, down: list[str] | None = None) -> str:
    errors = repo.load_errors()
    if errors:
        raise InputError(errors)
    c = repo.find_cluster(cluster)
    down = list(dict.fromkeys(down or []))
    known = ({r.mesh for d in repo.docs if d.ok for r in d.values.remotes if r.mesh is not None}
             | {x.mesh for x in repo.clusters})
    unknown = [m for m in down if m not in known]
    if unknown:
        raise InputError([error(f"--down {m}: no such mesh (the meshes are {', '.join(sorted(known))})")
                          for m in unknown])
    caller = repo.locality(c.mesh)
    importers = [d for d in c.ns_docs if d.ok and any(e.hostname == host for e in d.values.imports)]
    blocks = []
    for d in importers:
        p = _Path(repo, caller, down)
        p.from_namespace(c, d, host)
        blocks.append("\n".join(p.lines))
    m = c.mesh_doc
    if not importers and m is not None and m.ok and host in m.values.meshes_by_host:
        p = _Path(repo, caller, down)
        if m.values.egress.enabled:
            p.note(f"{host} from cluster {c.name} (mesh {c.mesh}, network {c.network}): no namespace imports it, "
                   "so no client reaches it; the egress gateway routes it")
            p.egress_side(c, host)
        else:
            p.note(f"{host} from cluster {c.name} (mesh {c.mesh}, network {c.network}): no namespace imports it, "
                   "so nothing routes it; global.remote lists it for these meshes")
            remotes: list[Remote] = m.values.meshes_by_host[host]
            for i, r in enumerate(remotes, 1):
                p.note(f"route {i} of {len(remotes)}: mesh {r.mesh}{p._cluster_note(r.mesh)}", "   ")
                p.remote_side(host, r.mesh, "      ")
        blocks.append("\n".join(p.lines))
    if not blocks:
        exporters = [x.name for x in repo.clusters if x.exporters(host)]
        hosts = {e.hostname for x in repo.clusters for d in x.docs if d.ok
                 for e in (*d.values.imports, *d.values.exports)}
        hint = (f"; it is exported by {', '.join(exporters)}" if exporters
                else f"; no cluster exports it{did_you_mean(host, hosts)}")
        raise InputError([error(f"cluster {c.name} does not import {host}: no namespace document imports it and "
                                f"no remote lists it in importedServices{hint}")])
    return "\n\n".join(blocks) + "\n"
