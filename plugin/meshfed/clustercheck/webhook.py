"""The Istio validating webhook's rules that the CRDs do not encode (istio/istio pkg/config/validation).

One function per kind takes (name, namespace, spec) and returns `(field, message)` pairs: the field is
where the problem sits (the webhook itself reports none), the message is the webhook's own text.
Warnings are not reported: they do not reject. HTTP-route details (headers, regexes, CORS, retries,
fault injection), durations' millisecond precision and EnvoyFilter `patch.value` are not ported.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from ..values.formats import is_ip
from .gofmt import quote

Issue = tuple[str, str]
Spec = dict[str, Any]

# --- Istio's name syntax (pkg/config/labels, pkg/config/validation/agent) -------------------------

_LABEL = "[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"
_LABEL_RE = re.compile(_LABEL)
_WILDCARD_LABEL_RE = re.compile(r"(\*|(\*|\*-)?" + _LABEL + ")")
_QNAME = "(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_TAG_KEY_RE = re.compile(f"({_LABEL}(?:\\.{_LABEL})*/)?({_QNAME})")
_TAG_VALUE_RE = re.compile(f"({_QNAME})?")
_ALL_NUMERIC = re.compile(r"[+-]?[0-9]+")


def is_label(value: str) -> bool:
    """labels.IsDNS1123Label (Istio's: upper case allowed)."""
    return len(value) <= 63 and bool(_LABEL_RE.fullmatch(value))


def _is_wildcard_label(value: str) -> bool:
    return len(value) <= 63 and bool(_WILDCARD_LABEL_RE.fullmatch(value))


def _preconditions(name: str) -> str | None:
    if len(name) > 255:
        return f"domain name {quote(name)} too long (max 255)"
    return "empty domain name not allowed" if not name else None


def _dns1123_labels(domain: str) -> str | None:
    parts = domain.split(".")
    if _ALL_NUMERIC.fullmatch(parts[-1]):
        return f"domain name {quote(domain)} invalid (top level domain {quote(parts[-1])} cannot be all-numeric)"
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "":
            return None
        if not is_label(label):
            return f"domain name {quote(domain)} invalid (label {quote(label)} invalid)"
    return None


def validate_fqdn(fqdn: str) -> str | None:
    return _preconditions(fqdn) or _dns1123_labels(fqdn)


def validate_wildcard_domain(domain: str) -> str | None:
    """A FQDN whose first label may be `*`, `*x` or `*-x`."""
    if err := _preconditions(domain):
        return err
    first, _, rest = domain.partition(".")
    if not _is_wildcard_label(first):
        return f"domain name {quote(domain)} invalid (label {quote(first)} invalid)"
    return _dns1123_labels(rest) if "." in domain else None


def _validate_gateway_bound_domain(sni: bool, domain: str) -> str | None:
    """ValidateWildcardDomainForVirtualServiceBoundToGateway: also allows `outbound_.<port>_._.<host>`."""
    if err := _preconditions(domain):
        return err
    first = domain.partition(".")[0]
    if sni and first == "outbound_":
        return None if re.search("outbound_.([0-8].*).*", domain) else \
            f"domain name {quote(domain)} invalid (label {quote(first)} invalid)"
    return validate_wildcard_domain(domain)


def _partial_wildcard(host: str) -> str | None:
    if "*" in host and len(host) != 1 and not host.startswith("*."):
        return f"partial wildcard {quote(host)} not allowed"
    return None


def _validate_ip(text: str) -> str | None:
    return None if is_ip(text) else f"{text} is not a valid IP"


def _validate_ip_subnet(text: str) -> str | None:
    if text.count("/") == 1:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            return f"{text} is not a valid CIDR block"
        return None
    return _validate_ip(text)


def validate_port(port: Any) -> str | None:
    return None if isinstance(port, int) and 1 <= port <= 65535 else f"port number {port} must be in the range 1..65535"


def _validate_unix_address(address: str) -> str | None:
    if not address:
        return "unix address must not be empty"
    if address.startswith("@"):
        return None
    return None if address.startswith("/") and not address.endswith("/") else \
        f"{address} is not an absolute path to a file"


def _validate_labels(labels: dict[str, Any] | None) -> list[str]:
    """labels.Instance.Validate."""
    errs = []
    for key, value in (labels or {}).items():
        match = _TAG_KEY_RE.fullmatch(key)
        if match is None:
            errs.append(f"invalid tag key: {quote(key)}")
        elif match.group(1) and len(match.group(1)) - 1 > 253:
            errs.append(f"invalid tag key: {quote(key)} (DNS prefix is too long)")
        elif len(match.group(2)) > 63:
            errs.append(f"invalid tag key: {quote(key)} (name is too long)")
        if not _TAG_VALUE_RE.fullmatch(str(value)):
            errs.append(f"invalid tag value: {quote(str(value))}")
    return errs


def _validate_port_name(name: str) -> str | None:
    return None if is_label(name) else f"invalid port name: {name}"


# --- protocols (pkg/config/protocol) --------------------------------------------------------------

_PROTOCOLS = {"tcp", "udp", "grpc", "grpc-web", "http", "http_proxy", "http2", "https", "tls", "mongo",
              "redis", "mysql"}


def _protocol(name: str) -> str:
    """Normalised protocol, "" when Istio does not know it."""
    return name.lower() if name.lower() in _PROTOCOLS else ""


def _is_http(protocol: str) -> bool:
    return protocol in ("http", "http2", "http_proxy", "grpc", "grpc-web")


def _is_tls(protocol: str) -> bool:
    return protocol in ("https", "tls")


def _validate_protocol(name: str) -> str | None:
    return f"unsupported protocol: {name}" if name and not _protocol(name) else None


def _proto_text(port: dict[str, Any]) -> str:
    """A Port message as Go's `%v` prints it (prototext, default fields omitted)."""
    fields = [("number", port.get("number")), ("protocol", port.get("protocol")), ("name", port.get("name")),
              ("target_port", port.get("targetPort"))]
    return " ".join(f"{k}:{quote(v) if isinstance(v, str) else v}" for k, v in fields if v)


# --- shared pieces --------------------------------------------------------------------------------

def _istio_metadata(kind: str, name: str, namespace: str, annotations: dict[str, Any]) -> list[Issue]:
    """Checks the webhook runs before any kind-specific rule; a failure stops validation."""
    if "istio.io/dry-run" in annotations and kind != "AuthorizationPolicy":
        return [("metadata.annotations", f"{namespace}/{name} has unsupported annotation istio.io/dry-run, "
                                         "please remove the annotation")]
    if "internal.istio.io/webhook-always-reject" in annotations:
        return [("metadata.annotations", '"internal.istio.io/webhook-always-reject" annotation found, rejecting')]
    return []


def validate_export_to(namespace: str, export_to: list[str] | None, service_entry: bool,
                       dr_with_selector: bool = False) -> list[Issue]:
    """exportTo entries: `.`, `*`, `~` (ServiceEntry only) or namespace labels, without duplicates."""
    entries = export_to or []
    errs: list[str] = []
    seen: list[str] = []
    for entry in entries:
        key = namespace if entry == "." else entry
        if key in seen:
            errs.append(f"duplicate entries in exportTo: . and current namespace {namespace}" if key != entry
                        else f"duplicate entries in exportTo for entry {entry}")
        elif service_entry and entry == "~":
            seen.append(key)
        elif err := _visibility_error(key):
            errs.append(err)
        else:
            seen.append(key)
    if dr_with_selector and seen:
        if namespace not in seen:
            errs.append("destination rule with workload selector cannot have exportTo beyond current namespace")
        elif len(seen) > 1:
            errs.append("destination rule with workload selector cannot have multiple entries in exportTo")
    if "*" in seen and len(entries) > 1:
        errs.append("cannot have both public (*) and non-public exportTo values for a resource")
    if "~" in seen and len(entries) > 1:
        errs.append("cannot export service entry to no one (~) and someone")
    return [("spec.exportTo", e) for e in errs]


def _visibility_error(value: str) -> str | None:
    if value == "~":
        return "exportTo ~ (none) is not allowed for Istio configuration objects"
    if value in (".", "*") or is_label(value):
        return None
    return "only .,*, or a valid DNS 1123 label is allowed as exportTo entry"


def _selector_labels(labels: dict[str, Any] | None, field: str) -> list[Issue]:
    """Workload selector labels: no empty keys, no `*` in keys or values."""
    errs = []
    for key, value in (labels or {}).items():
        pair = quote(f"{key}={value}")
        if key == "":
            errs.append((field, f"empty key is not supported in selector: {pair}"))
        if "*" in key or "*" in str(value):
            errs.append((field, f"wildcard is not supported in selector: {pair}"))
    return errs


# --- Gateway --------------------------------------------------------------------------------------

def validate_gateway(name: str, namespace: str, spec: Spec) -> list[Issue]:
    errs: list[Issue] = []
    if not is_label(name):
        errs.append(("metadata.name", f"invalid gateway name: {quote(name)}"))
    servers = spec.get("servers") or []
    if not servers:
        errs.append(("spec.servers", "gateway must have at least one server"))
    for i, server in enumerate(servers):
        errs += _server(server, f"spec.servers[{i}]")
    port_names: set[str] = set()
    for i, server in enumerate(servers):
        port = server.get("port")
        if port is not None:
            port_name = port.get("name", "")
            if port_name in port_names:
                errs.append((f"spec.servers[{i}].port.name",
                             f"port names in servers must be unique: duplicate name {port_name}"))
            port_names.add(port_name)
    return errs


def _server(server: Spec, path: str) -> list[Issue]:
    errs: list[Issue] = []
    hosts = server.get("hosts") or []
    if not hosts:
        errs.append((f"{path}.hosts", "server config must contain at least one host"))
    for i, host in enumerate(hosts):
        errs += [(f"{path}.hosts[{i}]", e) for e in _gateway_host(host)]
    port, bind, tls = server.get("port"), server.get("bind") or "", server.get("tls")
    port_errs = _server_port(port, bind)
    errs += [(f"{path}.port", e) for e in port_errs]
    errs += [(f"{path}.bind", e) for e in _server_bind(port, bind)]
    errs += [(f"{path}.tls", e) for e in _server_tls(tls)]
    if not port_errs and port is not None:
        protocol = _protocol(port.get("protocol", ""))
        if _is_tls(protocol) and tls is None:
            errs.append((f"{path}.tls", "server must have TLS settings for HTTPS/TLS protocols"))
        elif not _is_tls(protocol) and tls is not None:
            if not _is_http(protocol):
                errs.append((f"{path}.tls", "server cannot have TLS settings for non HTTPS/TLS ports"))
            elif tls.get("mode", "PASSTHROUGH") not in ("PASSTHROUGH", "AUTO_PASSTHROUGH") or any(
                    tls.get(k) for k in ("caCertificates", "privateKey", "serverCertificate")):
                errs.append((f"{path}.tls", "server cannot have TLS settings for plain text HTTP ports"))
    return errs


def _gateway_host(host: str) -> list[str]:
    """ValidateNamespaceSlashWildcardHostname for gateways: `[ns/]dnsName`."""
    namespace, slash, dns_name = host.partition("/")
    if not slash:
        return _gateway_host_part(host)
    errs = []
    if not namespace or not dns_name:
        errs.append("config namespace and dnsName in host entry cannot be empty")
    if namespace not in ("*", ".") and not is_label(namespace):
        errs.append(f"invalid namespace value {quote(namespace)} in gateway")
    return errs + _gateway_host_part(dns_name)


def _gateway_host_part(host: str) -> list[str]:
    errs = []
    if host != "*" and "." not in host:
        errs.append("short names (non FQDN) are not allowed")
    if (err := validate_wildcard_domain(host)) and not is_ip(host):
        errs.append(err)
    if err := _partial_wildcard(host):
        errs.append(err)
    return errs


def _server_port(port: Spec | None, bind: str) -> list[str]:
    if port is None:
        return ["port is required"]
    errs = []
    if not _protocol(port.get("protocol", "")):
        errs.append(f"invalid protocol {quote(port.get('protocol', ''))}, supported protocols are HTTP, HTTP2, "
                    "GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP")
    number = port.get("number", 0)
    if (number > 0 or not bind.startswith("unix://")) and (err := validate_port(number)):
        errs.append(err)
    if port.get("targetPort", 0) > 0:
        errs.append("targetPort has no impact on Gateways")
    if not port.get("name"):
        errs.append(f"port name must be set: {_proto_text(port)}")
    return errs


def _server_bind(port: Spec | None, bind: str) -> list[str]:
    if bind.startswith("unix://"):
        errs = [e for e in [_validate_unix_address(bind.removeprefix("unix://"))] if e]
        if port is not None and port.get("number", 0) != 0:
            errs.append(f"port number must be 0 for unix domain socket: {_proto_text(port)}")
        return errs
    return [e for e in [_validate_ip(bind)] if e] if bind else []


def _server_tls(tls: Spec | None) -> list[str]:
    """validateTLSOptions for server TLS; an unset mode is PASSTHROUGH (enum zero)."""
    if tls is None:
        return []
    mode = tls.get("mode", "PASSTHROUGH")
    certs, creds = tls.get("tlsCertificates") or [], tls.get("credentialNames") or []
    if mode == "ISTIO_MUTUAL":
        fields = (("serverCertificate", "server certificate"), ("privateKey", "private key"),
                  ("caCertificates", "CA bundle"), ("tlsCertificates", "tlsCertificates"),
                  ("credentialName", "credentialName"), ("credentialNames", "credentialNames"))
        return [f"ISTIO_MUTUAL TLS cannot have associated {what}" for key, what in fields if tls.get(key)]
    errs = []
    sources = sum([bool(tls.get("serverCertificate") and tls.get("privateKey")), bool(tls.get("credentialName")),
                   bool(creds), bool(certs)])
    if sources > 1:
        errs.append("only one of credential_name, credential_names, server_certificate/private_key, "
                    "tls_certificates should be specified")
    terminating = mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL")
    if terminating and (tls.get("credentialName") or creds):
        return errs
    if terminating:
        prefix = "SIMPLE TLS" if mode == "SIMPLE" else "MUTUAL TLS"
        if mode != "SIMPLE" and not tls.get("caCertificates"):
            errs.append(f"{prefix} requires a client CA bundle")
        for cert in certs or [tls]:
            if not cert.get("serverCertificate"):
                errs.append(f"{prefix} requires a server certificate")
            if not cert.get("privateKey"):
                errs.append(f"{prefix} requires a private key")
    if tls.get("caCrl"):
        if tls.get("credentialName"):
            errs.append("CRL is not supported with credentialName. CRL has to be specified in the credential")
        if mode == "SIMPLE":
            errs.append("CRL is not supported with SIMPLE TLS")
    return errs


# --- VirtualService -------------------------------------------------------------------------------

def validate_virtual_service(name: str, namespace: str, spec: Spec) -> list[Issue]:
    errs: list[Issue] = []
    hosts, gateways = spec.get("hosts") or [], spec.get("gateways") or []
    http, tls, tcp = spec.get("http") or [], spec.get("tls") or [], spec.get("tcp") or []
    if not hosts:
        for present, what in ((gateways, "gateways"), (tls, "tls route"), (tcp, "tcp route")):
            if present:
                errs.append((f"spec.{what.split()[0]}", f"delegate virtual service must have no {what} specified"))
    to_gateway = bool(gateways) and "mesh" not in gateways
    errs += [("spec.gateways", e) for e in _gateway_names(gateways)]
    if not to_gateway:
        for i, route in enumerate(http):
            for match in route.get("match") or []:
                for key in list(match.get("headers") or {}) + list(match.get("withoutHeaders") or {}):
                    if key.startswith("@request.auth.claims"):
                        errs.append((f"spec.http[{i}].match", f"JWT claim based routing (key: {key}) is only "
                                     f"supported for gateway, found no gateways: [{' '.join(gateways)}]"))
    sni_routing = any((m or {}).get("sniHosts") for route in tls for m in route.get("match") or [])
    all_valid = True
    for i, host in enumerate(hosts):
        err = _validate_gateway_bound_domain(sni_routing, host) if to_gateway else validate_wildcard_domain(host)
        if err and not is_ip(host):
            errs.append((f"spec.hosts[{i}]", err))
            all_valid = False
        elif not err and not to_gateway and host == "*":
            errs.append((f"spec.hosts[{i}]",
                         "wildcard host * is not allowed for virtual services bound to the mesh gateway"))
            all_valid = False
    if all_valid:
        for i, first in enumerate(hosts):
            for second in hosts[i + 1:]:
                if _host_matches(first, second):
                    errs.append(("spec.hosts", f"duplicate hosts in virtual service: {first} & {second}"))
    if not http and not tcp and not tls:
        errs.append(("spec", "http, tcp or tls must be provided in virtual service"))
    for i, route in enumerate(http):
        errs += [(f"spec.http[{i}]", e) for e in _http_route(route, delegate=not hosts)]
    for i, route in enumerate(tls):
        errs += [(f"spec.tls[{i}]", e) for e in _tls_route(route, hosts, gateways)]
    for i, route in enumerate(tcp):
        errs += [(f"spec.tcp[{i}]", e) for e in _tcp_route(route)]
    return errs + validate_export_to(namespace, spec.get("exportTo"), service_entry=False)


def _host_matches(first: str, second: str) -> bool:
    """host.Name.Matches: either name covers the other."""
    if first.startswith("*") and second.startswith("*"):
        short, long_ = sorted((first, second), key=len)
        return long_[1:].endswith(short[1:])
    if first.startswith("*"):
        return second.endswith(first[1:])
    if second.startswith("*"):
        return first.endswith(second[1:])
    return first == second


def host_subset_of(host: str, other: str) -> bool:
    """host.Name.SubsetOf: `host` is covered by `other`; a wildcard is never covered by a plain name."""
    if host.startswith("*"):
        return other.startswith("*") and len(host) >= len(other) and host[1:].endswith(other[1:])
    return host.endswith(other[1:]) if other.startswith("*") else host == other


def _gateway_names(names: list[str]) -> list[str]:
    """validateGatewayNames; like Istio it stops at the first bare (namespace-less) name."""
    errs: list[str] = []
    for gateway in names:
        namespace, slash, gw_name = gateway.partition("/")
        if not slash:
            return errs + [e for e in [validate_fqdn(gateway)] if e]
        if not namespace or not gw_name:
            errs.append("config namespace and gateway name cannot be empty")
        if not is_label(namespace):
            errs.append(f"invalid value for namespace: {quote(namespace)}")
        if not is_label(gw_name):
            errs.append(f"invalid value for gateway name: {quote(gw_name)}")
    return errs


def _http_route(route: Spec, delegate: bool) -> list[str]:
    """validateHTTPRoute: conflicts, match ports/gateways, mirrors, redirect and destinations."""
    errs = []
    if not delegate and route.get("delegate") is not None:
        if route.get("redirect") is not None:
            errs.append(f"root HTTP route {route.get('name', '')} must not specify redirect")
        if route.get("route"):
            errs.append(f"root HTTP route {route.get('name', '')} must not specify route")
    else:
        if delegate and route.get("delegate") is not None:
            errs.append("delegate HTTP route cannot contain delegate")
        errs += _http_conflicts(route)
    for match in route.get("match") or []:
        if match.get("port") and (err := validate_port(match["port"])):
            errs.append(err)
        errs += _validate_labels(match.get("sourceLabels"))
        errs += _gateway_names(match.get("gateways") or [])
        if match.get("sourceNamespace") and not is_label(match["sourceNamespace"]):
            errs.append(f"sourceNamespace match {match['sourceNamespace']} is invalid")
    errs += _destination(route.get("mirror"))
    for mirror in route.get("mirrors") or []:
        errs += ["destination is required for mirrors"] if mirror.get("destination") is None \
            else _destination(mirror["destination"])
    errs += [e for e in [_redirect(route.get("redirect"))] if e]
    return errs + _route_destinations(route.get("route") or [])


def _redirect(redirect: Spec | None) -> str | None:
    """validateHTTPRedirect: the first problem only, as Istio returns it."""
    if redirect is None:
        return None
    if not any(redirect.get(k) for k in ("uri", "authority", "port", "derivePort", "scheme")):
        return "redirect must specify URI, authority, scheme, or port"
    code = redirect.get("redirectCode", 0)
    if code and not 300 <= code <= 399:
        return f"{code} is not a valid redirect code, must be 3xx"
    if redirect.get("scheme", "") not in ("", "http", "https"):
        return 'invalid redirect scheme, must be "http" or "https"'
    return validate_port(redirect["port"]) if redirect.get("port", 0) > 0 else None


def _http_conflicts(route: Spec) -> list[str]:
    has = {k: route.get(k) is not None for k in ("redirect", "directResponse", "fault", "rewrite", "mirror")}
    routes = route.get("route") or []
    errs = []
    if has["redirect"]:
        errs += ["HTTP route cannot contain both route and redirect"] if routes else []
        errs += ["HTTP route cannot contain both fault and redirect"] if has["fault"] else []
        errs += ["HTTP route rule cannot contain both rewrite and redirect"] if has["rewrite"] else []
        errs += ["HTTP route rule cannot contain both direct_response and redirect"] if has["directResponse"] else []
    elif has["directResponse"]:
        errs += ["HTTP route cannot contain both route and direct_response"] if routes else []
        errs += ["HTTP route cannot contain both fault and direct_response"] if has["fault"] else []
        errs += ["HTTP route rule cannot contain both rewrite and direct_response"] if has["rewrite"] else []
    elif not routes:
        errs.append("HTTP route, redirect or direct_response is required")
    if has["mirror"] and route.get("mirrors"):
        errs.append("HTTP route cannot contain both mirror and mirrors")
    return errs


def _tls_route(route: Spec, hosts: list[str], gateways: list[str]) -> list[str]:
    errs = []
    matches = route.get("match") or []
    if not matches:
        errs.append("TLS route must have at least one match condition")
    for match in matches:
        sni_hosts = match.get("sniHosts") or []
        if not sni_hosts:
            errs.append("TLS match must have at least one SNI host")
        for sni in sni_hosts:
            errs += _sni_host(sni, hosts, gateways)
        errs += _l4_match(match)
    if not route.get("route"):
        errs.append("TLS route is required")
    return errs + _route_destinations(route.get("route") or [])


def _sni_host(sni: str, hosts: list[str], gateways: list[str]) -> list[str]:
    """validateSniHost: a valid domain covered by one of the VirtualService hosts (an IP only warns)."""
    bound_to_gateway = "mesh" not in gateways  # isGateway() is also true without gateways
    err = _validate_gateway_bound_domain(True, sni) if bound_to_gateway else validate_wildcard_domain(sni)
    if err:
        return [] if is_ip(sni) else [err]
    if any(host_subset_of(sni, host) for host in hosts):
        return []
    return [f"SNI host {quote(sni)} is not a compatible subset of any of the virtual service hosts: "
            f"[{', '.join(hosts)}]"]


def _tcp_route(route: Spec) -> list[str]:
    errs = []
    for match in route.get("match") or []:
        errs += _l4_match(match)
    if not route.get("route"):
        errs.append("TCP route is required")
    return errs + _route_destinations(route.get("route") or [])


def _l4_match(match: Spec) -> list[str]:
    """The match fields TLS and TCP routes share: subnets, port, source labels, gateways."""
    errs = [e for e in (_validate_ip_subnet(s) for s in match.get("destinationSubnets") or []) if e]
    if match.get("port") and (err := validate_port(match["port"])):
        errs.append(err)
    errs += _validate_labels(match.get("sourceLabels"))
    return errs + _gateway_names(match.get("gateways") or [])


def _route_destinations(routes: list[Spec]) -> list[str]:
    """Weights are relative: none negative, and not all zero when there are several destinations."""
    errs, total = [], 0
    for route in routes:
        if route.get("destination") is None:
            errs.append("destination is required")
        errs += _destination(route.get("destination"))
        weight = route.get("weight", 0)
        if weight < 0:
            errs.append(f"weight {weight} < 0")
        total += weight
    if len(routes) > 1 and total == 0:
        errs.append("total destination weight = 0")
    return errs


def _destination(destination: Spec | None) -> list[str]:
    if destination is None:
        return []
    host = destination.get("host", "")
    errs = [f"invalid destination host {host}"] if host == "*" else [e for e in [validate_wildcard_domain(host)] if e]
    if destination.get("subset"):
        errs += [e for e in [_subset_name(destination["subset"])] if e]
    port = destination.get("port")
    if port is not None and (err := validate_port(port.get("number", 0))):
        errs.append(err)
    return errs


def _subset_name(name: str) -> str | None:
    if not name:
        return "subset name cannot be empty"
    return None if is_label(name) else f"subset name is invalid: {name}"


# --- ServiceEntry ---------------------------------------------------------------------------------

def validate_service_entry(name: str, namespace: str, spec: Spec) -> list[Issue]:
    selector = spec.get("workloadSelector")
    selector_errs = _selector_labels((selector or {}).get("labels"), "spec.workloadSelector.labels")
    if selector_errs:
        return selector_errs  # Istio returns these alone
    errs: list[Issue] = []
    hosts, endpoints = spec.get("hosts") or [], spec.get("endpoints")
    resolution = spec.get("resolution", "NONE")
    if selector is not None and endpoints is not None:
        errs.append(("spec", "only one of WorkloadSelector or Endpoints is allowed in Service Entry"))
    if not hosts:
        errs.append(("spec.hosts", "service entry must have at least one host"))
    for i, host in enumerate(hosts):
        if host == "*":
            errs.append((f"spec.hosts[{i}]", "invalid host *"))
        elif err := validate_wildcard_domain(host):
            errs.append((f"spec.hosts[{i}]", err))
    addresses = spec.get("addresses") or []
    for i, address in enumerate(addresses):
        if err := _validate_ip_subnet(address):
            errs.append((f"spec.addresses[{i}]", err))
    if any("/" in a for a in addresses) and resolution not in ("NONE", "STATIC"):
        errs.append(("spec.addresses", "CIDR addresses are allowed only for NONE/STATIC resolution types"))
    ports = spec.get("ports") or []
    port_names: list[str] = []
    port_numbers: set[int] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        port_name, number = port.get("name", ""), port.get("number", 0)
        if port_name in port_names:
            errs.append((path, f"service entry port name {quote(port_name)} already defined"))
        if number in port_numbers:
            errs.append((path, f"service entry port {number} already defined"))
        port_names.append(port_name)
        port_numbers.add(number)
        if port.get("targetPort") and (err := validate_port(port["targetPort"])):
            errs.append((path, err))
        checks = (_validate_port_name(port_name), _validate_protocol(port.get("protocol", "")), validate_port(number))
        errs += [(path, err) for err in checks if err]
    endpoints = endpoints or []
    if resolution == "NONE" and endpoints:
        errs.append(("spec.endpoints", "no endpoints should be provided for resolution type none"))
    elif resolution == "STATIC":
        for i, endpoint in enumerate(endpoints):
            errs += [(f"spec.endpoints[{i}]", e) for e in _workload_entry(endpoint, port_names, allow_fqdn=False)]
    elif resolution in ("DNS", "DNS_ROUND_ROBIN"):
        errs += _dns_service_entry(resolution, hosts, endpoints, port_names)
    protocols = [_protocol(p.get("protocol", "")) for p in ports]
    if resolution != "NONE" and len(hosts) > 1 and any(not _is_http(p) and not _is_tls(p) for p in protocols):
        errs.append(("spec.ports", "multiple hosts provided with non-HTTP, non-TLS ports"))
    return errs + validate_export_to(namespace, spec.get("exportTo"), service_entry=True)


def _dns_service_entry(resolution: str, hosts: list[str], endpoints: list[Spec], port_names: list[str]) -> list[Issue]:
    errs: list[Issue] = []
    if not endpoints:
        for i, host in enumerate(hosts):
            if err := validate_fqdn(host):
                errs.append((f"spec.hosts[{i}]", f"hosts must be FQDN or contain only prefix wildcards if no endpoints "
                                                 f"are provided for resolution mode {resolution}, {err}"))
    if resolution == "DNS_ROUND_ROBIN" and len(endpoints) > 1:
        errs.append(("spec.endpoints", f"there must only be 0 or 1 endpoint for resolution mode {resolution}"))
    for i, endpoint in enumerate(endpoints):
        path = f"spec.endpoints[{i}]"
        address = endpoint.get("address", "")
        if not is_ip(address) and validate_fqdn(address):
            errs.append((path, f"endpoint address {quote(address)} is not a valid FQDN or an IP address"))
        errs += [(path, e) for e in _validate_labels(endpoint.get("labels"))]
        errs += [(path, e) for e in _endpoint_ports(endpoint.get("ports") or {}, port_names)]
    return errs


def _endpoint_ports(ports: dict[str, Any], service_ports: list[str] | None) -> list[str]:
    errs = []
    for port_name, number in ports.items():
        if service_ports is not None and port_name not in service_ports:
            errs.append(f"endpoint port {number} is not defined by the service entry")
        errs += [e for e in (_validate_port_name(port_name), validate_port(number)) if e]
    return errs


def _workload_entry(entry: Spec, service_ports: list[str] | None, allow_fqdn: bool) -> list[str]:
    """validateWorkloadEntry, shared by WorkloadEntry and STATIC ServiceEntry endpoints."""
    address = entry.get("address", "")
    if not address and not entry.get("network"):
        return ["address is required"]
    errs = []
    unix = address.startswith("unix://")
    if unix:
        errs += [e for e in [_validate_unix_address(address.removeprefix("unix://"))] if e]
        if entry.get("ports"):
            errs.append(f"unix endpoint {address} must not include ports")
    elif address and not is_ip(address):
        if not allow_fqdn:
            errs.append(f"endpoint address {quote(address)} is not a valid IP address")
        elif validate_fqdn(address):
            errs.append(f"endpoint address {quote(address)} is not a valid FQDN or an IP address")
    errs += _endpoint_ports(entry.get("ports") or {}, service_ports)
    errs += _validate_labels(entry.get("labels"))
    if unix and service_ports is not None and len(set(service_ports)) != 1:
        errs.append("exactly 1 service port required for unix endpoints")
    return errs


# --- DestinationRule ------------------------------------------------------------------------------

def validate_destination_rule(name: str, namespace: str, spec: Spec) -> list[Issue]:
    errs: list[Issue] = []
    if err := validate_wildcard_domain(spec.get("host", "")):
        errs.append(("spec.host", err))
    errs += [("spec.trafficPolicy", e) for e in _traffic_policy(spec.get("trafficPolicy"))]
    seen: set[str] = set()
    for i, subset in enumerate(spec.get("subsets") or []):
        path = f"spec.subsets[{i}]"
        subset_name = subset.get("name", "")
        if subset_name in seen:
            errs.append((path, f"duplicate subset names: {subset_name}"))
        seen.add(subset_name)
        subset_errs = [e for e in [_subset_name(subset_name)] if e] + _validate_labels(subset.get("labels"))
        errs += [(path, e) for e in subset_errs + _traffic_policy(subset.get("trafficPolicy"))]
    selector = spec.get("workloadSelector")
    errs += validate_export_to(namespace, spec.get("exportTo"), service_entry=False,
                               dr_with_selector=selector is not None)
    return errs + _selector_labels((selector or {}).get("matchLabels"), "spec.workloadSelector.matchLabels")


def _traffic_policy(policy: Spec | None) -> list[str]:
    if policy is None:
        return []
    parts = ("outlierDetection", "connectionPool", "loadBalancer", "tls", "tunnel", "proxyProtocol")
    if all(policy.get(k) is None for k in parts) and not policy.get("portLevelSettings"):
        return ["traffic policy must have at least one field"]
    if policy.get("tunnel") is not None and policy.get("proxyProtocol") is not None:
        return ["tunnel and proxyProtocol must not be set together"]
    errs = _outlier(policy.get("outlierDetection")) + _connection_pool(policy.get("connectionPool"))
    errs += _client_tls(policy.get("tls"))
    for port_policy in policy.get("portLevelSettings") or []:
        if port_policy.get("port") is None:
            errs.append("portTrafficPolicy must have valid port")
        if all(port_policy.get(k) is None for k in ("outlierDetection", "connectionPool", "loadBalancer", "tls")):
            errs.append("port traffic policy must have at least one field")
        else:
            errs += _outlier(port_policy.get("outlierDetection")) + _connection_pool(port_policy.get("connectionPool"))
            errs += _client_tls(port_policy.get("tls"))
    tunnel = policy.get("tunnel")
    if tunnel is not None:
        if tunnel.get("protocol", "") not in ("", "CONNECT", "POST"):
            errs.append('tunnel protocol must be "CONNECT" or "POST"')
        target = tunnel.get("targetHost", "")
        fqdn_err, ip_err = validate_fqdn(target), _validate_ip(target)
        if fqdn_err and ip_err:
            errs.append(f"tunnel target host must be valid FQDN or IP address: {fqdn_err}; {ip_err}")
        if err := validate_port(tunnel.get("targetPort", 0)):
            errs.append(f"tunnel target port is invalid: {err}")
    return errs


def _outlier(outlier: Spec | None) -> list[str]:
    if outlier is None:
        return []
    errs = []
    local = outlier.get("consecutiveLocalOriginFailures")
    if not outlier.get("splitExternalLocalOriginErrors") and isinstance(local, int) and local > 0:
        errs.append("outlier detection consecutive local origin failures is specified, but split external local "
                    "origin errors is set to false")
    for key in ("maxEjectionPercent", "minHealthPercent"):
        value = outlier.get(key, 0)
        if value < 0 or value > 100:
            errs.append(f"percentage {value} is not in range 0..100")
    return errs


def _connection_pool(pool: Spec | None) -> list[str]:
    if pool is None:
        return []
    if pool.get("http") is None and pool.get("tcp") is None:
        return ["connection pool must have at least one field"]
    checks = (("http", "http1MaxPendingRequests", "http1 max pending requests must be non-negative"),
              ("http", "http2MaxRequests", "http2 max requests must be non-negative"),
              ("http", "maxRequestsPerConnection", "max requests per connection must be non-negative"),
              ("http", "maxRetries", "max retries must be non-negative"),
              ("http", "maxConcurrentStreams", "max concurrent streams must be non-negative"),
              ("tcp", "maxConnections", "max connections must be non-negative"))
    errs = [msg for section, key, msg in checks if (pool.get(section) or {}).get(key, 0) < 0]
    http = pool.get("http") or {}
    if http.get("h2UpgradePolicy") == "UPGRADE" and http.get("useClientProtocol"):
        errs.append("use client protocol must not be true when H2UpgradePolicy is UPGRADE")
    return errs


def _client_tls(tls: Spec | None) -> list[str]:
    """agent.ValidateTLS for a DestinationRule's client TLS settings."""
    if tls is None:
        return []
    errs = []
    mode = tls.get("mode", "DISABLE")
    if tls.get("insecureSkipVerify"):
        if mode == "SIMPLE" and (tls.get("caCertificates") or tls.get("credentialName")
                                 or tls.get("subjectAltNames") is not None):
            errs.append("cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify "
                        "is set true")
        if mode == "MUTUAL" and (tls.get("caCertificates") or tls.get("subjectAltNames") is not None):
            errs.append("cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true")
    if mode in ("SIMPLE", "MUTUAL") and tls.get("credentialName"):
        if any(tls.get(k) for k in ("clientCertificate", "caCertificates", "privateKey", "caCrl")):
            errs.append("cannot specify client certificates or CA certificate or CA CRL If credentialName is set")
        return errs
    if mode == "MUTUAL":
        if not tls.get("clientCertificate"):
            errs.append("client certificate required for mutual tls")
        if not tls.get("privateKey"):
            errs.append("private key required for mutual tls")
    return errs


# --- WorkloadEntry and EnvoyFilter ----------------------------------------------------------------

def validate_workload_entry(name: str, namespace: str, spec: Spec) -> list[Issue]:
    return [("spec", e) for e in _workload_entry(spec, None, allow_fqdn=True)]


def validate_envoy_filter(name: str, namespace: str, spec: Spec) -> list[Issue]:
    """The structural part of ValidateEnvoyFilter; `patch.value` needs Envoy's descriptors and is skipped."""
    selector_errs = _selector_labels((spec.get("workloadSelector") or {}).get("labels"),
                                    "spec.workloadSelector.labels")
    if selector_errs:
        return selector_errs
    errs: list[Issue] = []
    for i, patch_spec in enumerate(spec.get("configPatches") or []):
        path = f"spec.configPatches[{i}]"
        match = patch_spec.get("match") or {}
        if match.get("context") == "WAYPOINT":
            continue  # waypoint patches are not validated by the webhook
        if error := _config_patch(patch_spec, match):
            errs.append((path, f"Envoy filter: {error}"))
    return errs


_LISTENER_CLASS = ("LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER")
_ROUTE_CLASS = ("ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE")


def _config_patch(patch_spec: Spec, match: Spec) -> str | None:
    """The first problem of one config patch (Istio stops at it), without the "Envoy filter: " prefix."""
    apply_to = patch_spec.get("applyTo", "INVALID")
    patch = patch_spec.get("patch")
    if apply_to == "INVALID":
        return "missing applyTo"
    if patch is None:
        return "missing patch"
    operation = patch.get("operation", "INVALID")
    if operation == "INVALID":
        return "missing patch operation"
    if operation != "REMOVE" and patch.get("value") is None:
        return "missing patch value for non-remove operation"
    proxy_version = (match.get("proxy") or {}).get("proxyVersion")
    if proxy_version:
        try:
            re.compile(proxy_version)
        except re.error as exc:
            return f"invalid regex for proxy version, [{exc}]"
    object_type = next((k for k in ("listener", "routeConfiguration", "cluster") if match.get(k) is not None), None)
    if object_type is None:
        return None
    if apply_to in _LISTENER_CLASS:
        if object_type != "listener":
            return "applyTo for listener class objects cannot have non listener match"
        return _listener_match(apply_to, match["listener"])
    if apply_to in _ROUTE_CLASS and object_type != "routeConfiguration":
        return "applyTo for http route class objects cannot have non route configuration match"
    if apply_to == "CLUSTER" and object_type != "cluster":
        return "applyTo for cluster class objects cannot have non cluster match"
    return None


def _listener_match(apply_to: str, listener: Spec) -> str | None:
    network_filter = (listener.get("filterChain") or {}).get("filter")
    if network_filter is None:
        return None
    if not network_filter.get("name"):
        return "filter match has no name to match on"
    sub_filter = network_filter.get("subFilter")
    if sub_filter is None:
        return None
    if apply_to != "HTTP_FILTER":
        return "subfilter match can be used with applyTo HTTP_FILTER only"
    if network_filter["name"] not in ("envoy.filters.network.http_connection_manager", "envoy.http_connection_manager"):
        return "subfilter match requires filter match with envoy.filters.network.http_connection_manager"
    return None if sub_filter.get("name") else "subfilter match has no name to match on"


# --- AuthorizationPolicy --------------------------------------------------------------------------

_SOURCE_FIELDS = ("principals", "requestPrincipals", "namespaces", "ipBlocks", "remoteIpBlocks", "notPrincipals",
                  "notRequestPrincipals", "notNamespaces", "notIpBlocks", "notRemoteIpBlocks", "serviceAccounts",
                  "notServiceAccounts", "trustDomains", "notTrustDomains")
_OPERATION_FIELDS = ("ports", "methods", "paths", "hosts", "notPorts", "notMethods", "notPaths", "notHosts")


def validate_authorization_policy(name: str, namespace: str, spec: Spec) -> list[Issue]:
    """ValidateAuthorizationPolicy, the rules a generated policy can break: the selector, the
    action's needs (DENY and CUSTOM need rules, only CUSTOM a provider), non-empty `from`,
    `source`, `to` and `operation`, no empty value, serviceAccounts apart from principals and
    namespaces, `when` keys with values."""
    issues = _selector_labels((spec.get("selector") or {}).get("matchLabels"), "spec.selector.matchLabels")
    action, rules = spec.get("action", "ALLOW"), spec.get("rules")
    if action in ("DENY", "CUSTOM") and rules is None:
        issues.append(("spec.rules", f"{action} action without `rules` is meaningless as it will never be triggered, "
                                     "add an empty rule `{}` if you want it be triggered for every request"))
    if action == "CUSTOM" and rules is not None and not (spec.get("provider") or {}).get("name"):
        issues.append(("spec.provider.name", "`provider.name` must not be empty"))
    if spec.get("provider") is not None and action != "CUSTOM":
        issues.append(("spec.provider", f"`provider` must not be with non CUSTOM action, found {action}"))
    for i, rule in enumerate(rules or ()):
        at = f"spec.rules[{i}]"
        for key, entry, fields in (("from", "source", _SOURCE_FIELDS), ("to", "operation", _OPERATION_FIELDS)):
            if key in rule and not rule[key]:
                issues.append((f"{at}.{key}", f"`{key}` must not be empty, found at rule {i}"))
            for j, item in enumerate(rule.get(key) or ()):
                body = (item or {}).get(entry)
                if body is None:
                    issues.append((f"{at}.{key}[{j}]", f"`{key}.{entry}` must not be nil, found at rule {i}"))
                    continue
                if not any(body.get(f) for f in fields):
                    issues.append((f"{at}.{key}[{j}].{entry}", f"`{key}.{entry}` must not be empty, found at rule {i}"))
                for f in fields:
                    if "" in (body.get(f) or ()):
                        issues.append((f"{at}.{key}[{j}].{entry}.{f}",
                                       f"empty value not allowed, found in {f[0].upper()}{f[1:]}"))
                if key == "from" and any(body.get(f) for f in ("serviceAccounts", "notServiceAccounts")) and any(
                        body.get(f) for f in ("principals", "notPrincipals", "namespaces", "notNamespaces")):
                    issues.append((f"{at}.from[{j}].source", "cannot set serviceAccounts with namespaces or "
                                                             f"principals, found at rule {i}"))
        for k, condition in enumerate(rule.get("when") or ()):
            if not condition.get("key"):
                issues.append((f"{at}.when[{k}].key", "`key` must not be empty"))
            elif not condition.get("values") and not condition.get("notValues"):
                issues.append((f"{at}.when[{k}]", "at least one of `values` or `notValues` must be set for key "
                                                  f"{condition['key']}"))
    return [(field, f"invalid policy {name}.{namespace}: {message}") for field, message in issues]


VALIDATORS: dict[str, Callable[[str, str, Spec], list[Issue]]] = {
    "AuthorizationPolicy": validate_authorization_policy,
    "Gateway": validate_gateway,
    "VirtualService": validate_virtual_service,
    "ServiceEntry": validate_service_entry,
    "DestinationRule": validate_destination_rule,
    "WorkloadEntry": validate_workload_entry,
    "EnvoyFilter": validate_envoy_filter,
}


def validate(obj: dict[str, Any]) -> list[Issue]:
    """Everything the webhook would reject about an Istio object of a known kind."""
    validator = VALIDATORS.get(obj.get("kind", ""))
    if validator is None:
        return []
    meta = obj.get("metadata") or {}
    name, namespace = meta.get("name", ""), meta.get("namespace") or "default"
    issues = _istio_metadata(obj["kind"], name, namespace, meta.get("annotations") or {})
    return issues or validator(name, namespace, obj.get("spec") or {})
