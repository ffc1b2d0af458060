"""OpenShift Route checks that openshift-apiserver makes and the Route CRD does not encode.

On full OpenShift, Routes are validated by library-go's ValidateRoute rather than the CRD; the CRD
carries most of the same rules, and these are the ones it lacks (the host pattern admits upper case
and any label length up to 63 per label, the server insists on lowercase RFC 1123 labels).
"""
from __future__ import annotations

from typing import Any

from . import names
from .problems import FieldError, invalid

_ALLOW_NON_DNS = "route.openshift.io/allow-non-dns-compliant-host"


def validate_route(obj: dict[str, Any]) -> list[FieldError]:
    spec = obj.get("spec") or {}
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    errs: list[FieldError] = []
    host = spec.get("host") or ""
    if host:
        if names.dns1123_subdomain(host):
            errs.append(invalid("spec.host", host, "host must conform to DNS 952 subdomain conventions"))
        if annotations.get(_ALLOW_NON_DNS) != "true":
            errs += [invalid("spec.host", host, m) for label in host.split(".") for m in names.dns1123_label(label)]
    subdomain = spec.get("subdomain") or ""
    if len(subdomain) > 253:
        errs.append(invalid("spec.subdomain", subdomain, names.max_len_error(253)))
    for label in subdomain.split(".") if subdomain else ():
        if label_errs := names.dns1123_label(label):
            errs.append(invalid("spec.subdomain", label, ", ".join(label_errs)))
    return errs
