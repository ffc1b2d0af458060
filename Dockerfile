# syntax=docker/dockerfile:1
# The meshfed image, for two uses:
#  * the Argo CD repo-server sidecar: the Deployment patch in kustomize/argocd/ runs
#    /var/run/argocd/argocd-cmp-server as uid 999, which reads the plugin.yaml baked in below and
#    runs `meshfed argocd ...` (no network, HOME need not be writable, temp dir on a volume);
#  * a kustomize container KRM function: the ENTRYPOINT reads a ResourceList on stdin
#    (kustomize runs `docker run --rm -i --network none --user nobody ... IMAGE`).
# Reproducible: the base is pinned to one Python patch release (the one the tests and the benchmark
# run on) and every Python package comes from a hash-locked file (requirements/, `make lock`).

# ---- build: install meshfed and its dependencies into a self-contained virtualenv
FROM python:3.11.7-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# The runtime dependencies exactly as locked (pyyaml, jsonpatch, typer and what they need; not the
# validate extra, which only `--crds` uses): every file is checked against its hash, nothing else
# is resolved.
COPY requirements/image.txt requirements/build.txt requirements/
RUN python -m venv --without-pip /opt/meshfed \
    && pip --python /opt/meshfed/bin/python install --no-cache-dir --no-compile --require-hashes --no-deps \
       -r requirements/image.txt
# meshfed itself, without dependencies: a wheel built by the locked build backend (no unpinned
# download), then the bytecode of the whole virtualenv. unchecked-hash .pyc files do not depend on
# file times, so they stay valid when a build rewrites timestamps (SOURCE_DATE_EPOCH), and nothing
# is compiled at run time.
COPY pyproject.toml README.md ./
COPY plugin/ plugin/
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/build.txt \
    && pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
    && pip --python /opt/meshfed/bin/python install --no-cache-dir --no-compile --no-deps /tmp/wheels/meshfed-*.whl \
    && /opt/meshfed/bin/python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash /opt/meshfed/lib \
    && /opt/meshfed/bin/meshfed --help >/dev/null

# ---- final: the interpreter from the same base, the virtualenv, the plugin config; no pip use,
# no compilers, nothing written at run time (bytecode is compiled at build time)
FROM python:3.11.7-slim-bookworm
COPY --from=build /opt/meshfed /opt/meshfed
COPY plugin.yaml /home/argocd/cmp-server/config/plugin.yaml
ENV PATH=/opt/meshfed/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /workspace
USER 999:999
ENTRYPOINT ["meshfed", "krm"]
