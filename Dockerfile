# syntax=docker/dockerfile:1
# The meshfed image, for two uses:
#  * the Argo CD repo-server sidecar: the Deployment patch in kustomize/argocd/ runs
#    /var/run/argocd/argocd-cmp-server as uid 999, which reads the plugin.yaml baked in below and
#    runs `meshfed argocd ...` (no network, HOME need not be writable, temp dir on a volume);
#  * a kustomize container KRM function: the ENTRYPOINT reads a ResourceList on stdin
#    (kustomize runs `docker run --rm -i --network none --user nobody ... IMAGE`).

# ---- build: install meshfed and its dependencies into a self-contained virtualenv
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml README.md ./
COPY plugin/ plugin/
RUN python -m venv --without-pip /opt/meshfed \
    && pip --python /opt/meshfed/bin/python install --no-cache-dir . \
    && /opt/meshfed/bin/meshfed --help >/dev/null

# ---- final: the interpreter from the same base, the virtualenv, the plugin config; no pip use,
# no compilers, nothing written at run time (bytecode is compiled at install time)
FROM python:3.11-slim-bookworm
COPY --from=build /opt/meshfed /opt/meshfed
COPY plugin.yaml /home/argocd/cmp-server/config/plugin.yaml
ENV PATH=/opt/meshfed/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /workspace
USER 999:999
ENTRYPOINT ["meshfed", "krm"]
