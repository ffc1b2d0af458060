#!/usr/bin/env bash
# Make sure Graphviz's `dot` is on PATH: `meshfed graph -o svg` runs it, and the suite tests that
# path for real instead of skipping it. Where dot is missing, Debian's `graphviz` is installed
# with apt-get, as root or through sudo without a password (CI's machine runs as root). Anywhere
# else this stops `make test` at once with what to install, rather than failing one test later.
set -euo pipefail
command -v dot >/dev/null && exit 0

fail() {
  echo "make: Graphviz's dot is missing and $1: install Graphviz (Debian/Ubuntu: apt-get install graphviz;" \
       "macOS: brew install graphviz), then run make again" >&2
  exit 1
}

command -v apt-get >/dev/null || fail "this machine has no apt-get"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  fail "installing it needs root (or sudo without a password)"
fi
echo "make: installing Debian's graphviz (dot is not on PATH)" >&2
# Another job on the machine may hold dpkg's lock: wait for it rather than fail.
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
"${apt[@]}" update >/dev/null
"${apt[@]}" install -y --no-install-recommends graphviz >/dev/null
command -v dot >/dev/null || fail "apt-get installed graphviz without it"
