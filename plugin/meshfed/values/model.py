"""A typed view of validated values: what the checks and the row builders read.

Built from the schema-cleaned values, so every field present has the right type; a field that
was wrong is absent (None), and the checks that need it skip it.
"""
from __future__ import annotations

from functools import cached_property

from . import authorization, defaults
from .failover import Failover, Settings
from .merge import Path_

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Port:
    """One service port; `name` is None only for a local export port (its number is all that is read)."""

    __slots__ = ("number", "name", "protocol", "target_port")

    def __init__(self, number: int, name: str | None, protocol: str | None, target_port: int | None = None) -> None:
        self.number = number
        self.name = name
        self.protocol = protocol
        self.target_port = target_port

    def as_dict(self, with_target: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"number": self.number, "name": self.name, "protocol": self.protocol}
        if with_target and self.target_port is not None:
            out["targetPort"] = self.target_port
        return out


class Entry:
    """An `import`, `export` or `global.local.export` entry."""

    __slots__ = ("path", "hostname", "own_ports", "label_selector", "selector_given", "ports_given")

    def __init__(self, path: Path_, hostname: str, own_ports: tuple[Port, ...],
                 label_selector: dict[str, str] | None = None, selector_given: bool = False,
                 ports_given: bool = False) -> None:
        self.path = path
        self.hostname = hostname
        self.own_ports = own_ports
        self.label_selector = label_selector
        # The merged labelSelector had entries (maybe dropped for type errors): not "missing".
        self.selector_given = selector_given
        # Likewise the merged ports: a list whose items were all dropped for errors is not "none".
        self.ports_given = ports_given


class Remote:
    """One `global.remote` entry."""

    __slots__ = ("path", "index", "mesh", "network", "addresses", "port", "locality", "imported")

    def __init__(self, path: Path_, index: int, mesh: str | None, network: str | None, addresses: tuple[str, ...],
                 port: int | None, locality: str | None, imported: tuple[str, ...]) -> None:
        self.path = path
        self.index = index
        self.mesh = mesh
        self.network = network
        self.addresses = addresses
        self.port = port
        self.locality = locality
        self.imported = imported


class GatewaySettings:
    """The egress gateway's settings, at `path`."""

    __slots__ = ("enabled", "selector", "service_name", "service_namespace", "port", "path")

    def __init__(self, enabled: bool, selector: dict[str, str] | None, service_name: str | None,
                 service_namespace: str | None, port: int | None, path: Path_) -> None:
        self.enabled = enabled
        self.selector = selector
        self.service_name = service_name
        self.service_namespace = service_namespace
        self.port = port
        self.path = path


class Values:
    """Everything the rows read, with template-only defaults applied. (No __slots__: the cached
    property below needs the instance dict.)"""

    def __init__(self, *, layout: str, config_namespace: str | None, default_ports: tuple[Port, ...],
                 local_exports: tuple[Entry, ...], remotes: tuple[Remote, ...], imports: tuple[Entry, ...],
                 exports: tuple[Entry, ...], gateway_api: bool, router: bool,
                 ingress_selector: dict[str, str] | None, ingress_selector_path: Path_, ingress_port: int | None,
                 ingress_port_path: Path_, ingress_port_name: str | None, ingress_service_name: str | None,
                 egress: GatewaySettings, raw: dict[str, Any], ingress_selector_emptied: bool,
                 default_ports_given: bool, failover: Settings, authz: authorization.Settings) -> None:
        self.layout = layout
        self.config_namespace = config_namespace
        self.default_ports = default_ports
        self.local_exports = local_exports
        self.remotes = remotes
        self.imports = imports
        self.exports = exports
        self.gateway_api = gateway_api
        self.router = router
        self.ingress_selector = ingress_selector
        self.ingress_selector_path = ingress_selector_path
        self.ingress_port = ingress_port
        self.ingress_port_path = ingress_port_path
        self.ingress_port_name = ingress_port_name
        self.ingress_service_name = ingress_service_name
        self.egress = egress
        self.raw = raw
        # The merged ingress selector is an empty map (nulls removed every key); an entry dropped for
        # a type error does not count, so that no follow-up error is reported for it.
        self.ingress_selector_emptied = ingress_selector_emptied
        # The merged defaultServicePorts were a non-empty list (maybe every item dropped for errors).
        self.default_ports_given = default_ports_given
        # meshfed's extension `global.failover` (off unless enabled).
        self.failover = failover
        # meshfed's extension `global.authorization` (off unless enabled).
        self.authorization = authz

    def failover_for(self, host: str) -> Failover | None:
        """The failover an imported host gets, or None when it is off for it."""
        return self.failover.for_host(host)

    def ports_of(self, entry: Entry) -> tuple[Port, ...]:
        """An entry's own ports if non-empty, else `global.defaultServicePorts`."""
        return entry.own_ports or self.default_ports

    @cached_property
    def meshes_by_host(self) -> dict[str, list[Remote]]:
        """Each hostname any remote imports, with the remotes listing it in `global.remote` order
        (the contract's svcMeshes). Computed once: large federations list 100,000s of hosts."""
        out: dict[str, list[Remote]] = {}
        get = out.get
        for remote in self.remotes:
            if remote.mesh is None:
                continue
            for host in dict.fromkeys(remote.imported):
                listing = get(host)
                if listing is None:
                    out[host] = [remote]
                else:
                    listing.append(remote)
        return out

    def remote_port(self, remote: Remote) -> int | None:
        if remote.port is not None or self.layout == "v1":
            return remote.port
        return defaults.V2_REMOTE_PORT


def _ports(items: Any) -> tuple[Port, ...]:
    out = []
    for p in items or ():
        if isinstance(p, dict) and "number" in p:  # a local export's port may carry only its number
            out.append(Port(p["number"], p.get("name"), p.get("protocol"), p.get("targetPort")))
    return tuple(out)


def _entries(items: Any, path: Path_, merged: Any) -> tuple[Entry, ...]:
    out = []
    given = lookup(merged, path)  # the merged list, looked up once for all its entries
    for i, item in enumerate(items or ()):
        if isinstance(item, dict) and "hostname" in item:
            selector = lookup(given, (i, "labelSelector"))
            ports = lookup(given, (i, "ports"))
            out.append(Entry((*path, i), item["hostname"], _ports(item.get("ports")),
                             item.get("labelSelector"), isinstance(selector, dict) and bool(selector),
                             isinstance(ports, list) and bool(ports)))
    return tuple(out)


def _remotes(items: Any) -> tuple[Remote, ...]:
    out = []
    for i, r in enumerate(items or ()):
        if not isinstance(r, dict):
            continue
        out.append(Remote(
            ("global", "remote", i), i, r.get("mesh"), r.get("network"),
            tuple(a for a in r.get("addresses") or () if a is not None),
            r.get("port"), r.get("locality"),
            tuple(h for h in r.get("importedServices") or () if h is not None),
        ))
    return tuple(out)


def build(values: dict[str, Any], layout: str, merged: dict[str, Any] | None = None) -> Values:
    """The typed view of schema-cleaned `values`; `merged` are the same values before cleaning."""
    merged = merged if merged is not None else values
    g = values.get("global") or {}
    if layout == "v2":
        gws = g.get("gateways") or {}
        ingress = gws.get("ingress") or {}
        egress = gws.get("egress") or {}
        egress_path: Path_ = ("global", "gateways", "egress")
        ingress_selector = ingress.get("selector")
        ingress_selector_path: Path_ = ("global", "gateways", "ingress", "selector")
        ingress_port = ingress.get("port")
        ingress_port_path: Path_ = ("global", "gateways", "ingress", "port")
        egress_selector = egress.get("selector", defaults.V2_EGRESS_SELECTOR)
        gateway_api = bool(g.get("enableGatewayAPI", False))
        router = bool(g.get("enableOpenshiftRouter", False))
        port_name, service_name = ingress.get("portName"), ingress.get("serviceName")
    else:
        egress = g.get("egressGateway") or {}
        egress_path = ("global", "egressGateway")
        ingress_selector = g.get("gatewaySelector", defaults.V1_INGRESS_SELECTOR)
        ingress_selector_path = ("global", "gatewaySelector")
        ingress_port = g.get("port", defaults.V1_INGRESS_PORT)
        ingress_port_path = ("global", "port")
        egress_selector = egress.get("selector")
        gateway_api = False
        router = bool(g.get("useOpenshiftRouter", False))
        port_name, service_name = "tls-passthrough", "federation-ingress-gateway"
    service = egress.get("service") or {}
    return Values(
        layout=layout,
        config_namespace=g.get("configNamespace"),
        default_ports=_ports(g.get("defaultServicePorts")),
        local_exports=_entries((g.get("local") or {}).get("export"), ("global", "local", "export"), merged),
        remotes=_remotes(g.get("remote")),
        imports=_entries(values.get("import"), ("import",), merged),
        exports=_entries(values.get("export"), ("export",), merged),
        gateway_api=gateway_api,
        router=router,
        ingress_selector=ingress_selector,
        ingress_selector_path=ingress_selector_path,
        ingress_port=ingress_port,
        ingress_port_path=ingress_port_path,
        ingress_port_name=port_name,
        ingress_service_name=service_name,
        egress=GatewaySettings(bool(egress.get("enabled", False)), egress_selector,
                               service.get("name"), service.get("namespace"), egress.get("port"),
                               egress_path),
        raw=values,
        ingress_selector_emptied=lookup(merged, ingress_selector_path) == {},
        default_ports_given=bool(lookup(merged, ("global", "defaultServicePorts"))),
        failover=Settings(g.get("failover")),
        authz=authorization.Settings(g.get("authorization")),
    )


def lookup(values: Any, path: Path_) -> Any:
    """The value at `path`, or None when it is not there."""
    for key in path:
        if isinstance(values, dict):
            values = values.get(key)
        elif isinstance(values, list) and isinstance(key, int) and key < len(values):
            values = values[key]
        else:
            return None
    return values
