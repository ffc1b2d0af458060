"""The entry points: the command line (typer and its fast path), the KRM function, the kustomize
exec plugin and the Argo CD plugin. Each translates its protocol into `meshfed.api.render`; none is
imported by the core or the tools."""
