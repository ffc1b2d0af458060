"""Syntax of the names and values Kubernetes and Istio accept, shared by validation and naming."""
from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Collection

# Matched with fullmatch: `$` would also accept a trailing newline.
DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
LABEL_VALUE = re.compile(r"(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
LABEL_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
HOSTNAME = re.compile(r"(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")


def is_dns_label(s: str) -> bool:
    return DNS_LABEL.fullmatch(s) is not None


def is_dns_subdomain(s: str) -> bool:
    """DNS-1123 subdomain: what Kubernetes accepts as an object name."""
    return len(s) <= 253 and DNS_SUBDOMAIN.fullmatch(s) is not None


def all_dns_subdomains(names: Collection[str]) -> bool:
    """`is_dns_subdomain` of every name, without a Python call per name (F2 checks every object's)."""
    return max(map(len, names), default=0) <= 253 and all(map(DNS_SUBDOMAIN.fullmatch, names))


def is_label_value(s: str) -> bool:
    return len(s) <= 63 and LABEL_VALUE.fullmatch(s) is not None


def is_label_key(s: str) -> bool:
    prefix, _, name = s.rpartition("/")
    if "/" in s and not is_dns_subdomain(prefix):
        return False
    return len(name) <= 63 and LABEL_NAME.fullmatch(name) is not None


def is_hostname(s: str) -> bool:
    """A lowercase DNS name with at least one dot, as the charts' hostnames must be."""
    return len(s) <= 253 and HOSTNAME.fullmatch(s) is not None


def is_ip(s: str) -> bool:
    """An IPv4 or IPv6 address (what `ipaddress.ip_address` takes). IPv4 is told here: `ipaddress`
    takes a millisecond to import, more than a whole small rendering spends on addresses."""
    if ":" not in s:  # four decimal octets, without leading zeros
        octets = s.split(".")
        return len(octets) == 4 and all(
            o.isdigit() and o.isascii() and len(o) <= 3 and (o == "0" or o[0] != "0") and int(o) <= 255
            for o in octets)
    import ipaddress
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


def is_dns_name(s: str) -> bool:
    """A lowercase RFC 1123 host name that is not all-numeric (so not a mangled IP)."""
    return is_dns_subdomain(s) and not s.replace(".", "").isdigit()


def is_address(s: str) -> bool:
    return is_ip(s) or is_dns_name(s)


_DURATION_UNITS = {"h": 3_600_000.0, "m": 60_000.0, "s": 1000.0, "ms": 1.0}


def duration_ms(s: str) -> float | None:
    """A duration as Istio's CRDs read it (Go's syntax, units h, m, s, ms: `5s`, `1m30s`), in
    milliseconds; None when it is not one. Parsed by hand: no pattern compiled at import."""
    total, i, n = 0.0, 0, len(s)
    if not s:
        return None
    while i < n:
        start = i
        while i < n and (s[i].isdigit() or s[i] == "."):
            i += 1
        number = s[start:i]
        unit_start = i
        while i < n and s[i].isalpha():
            i += 1
        unit = s[unit_start:i]
        if not number.strip(".") or number.count(".") > 1 or unit not in _DURATION_UNITS:
            return None
        total += float(number) * _DURATION_UNITS[unit]
    return total


def is_duration(s: str) -> bool:
    """A duration of at least 1ms (what Istio's DestinationRule accepts for intervals)."""
    ms = duration_ms(s)
    return ms is not None and ms >= 1


_TRUST_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")


def is_trust_domain(s: str) -> bool:
    """A SPIFFE trust domain as Istio accepts meshConfig.trustDomain (no `/`, no `*`)."""
    return 0 < len(s) <= 255 and _TRUST_DOMAIN_CHARS.issuperset(s)


CHECKS = {
    "dns-label": (is_dns_label, "must be a DNS label (lowercase letters, digits and '-', at most 63 characters)"),
    "label-value": (is_label_value, "must be a valid label value (at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)"),
    "label-key": (is_label_key, "must be a valid label key ([prefix/]name, name at most 63 characters)"),
    "meshfed-hostname": (is_hostname, "must be a lowercase DNS name with at least one dot"),
    "address": (is_address, "must be an IPv4 or IPv6 literal or a lowercase DNS name"),
    "dns-subdomain": (is_dns_subdomain, "must be a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)"),
    "trust-domain": (is_trust_domain, "must be a trust domain (lowercase letters, digits, '.', '-' and '_', at most 255 characters)"),
    "duration": (is_duration, "must be a duration of at least 1ms, such as 5s, 1m30s or 500ms"),
}
