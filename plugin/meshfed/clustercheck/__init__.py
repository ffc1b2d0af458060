"""Offline admission check: would a cluster with these CRDs (and Istio's webhook) accept the objects?

Imported only when validation is asked for; the CEL engine it needs is the optional extra
`meshfed[validate]` and is loaded on the first call to `validate_objects`.
"""
from .problems import Layer, Problem
from .validate import BUNDLED_CRDS, validate_objects

__all__ = ["BUNDLED_CRDS", "Layer", "Problem", "validate_objects"]
