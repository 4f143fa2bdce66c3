#!/bin/sh
# deps.sh — make sure the Debian packages a make target needs are installed.
# Usage: scripts/deps.sh PACKAGE...
# As root on Debian/Ubuntu it installs what is missing (saying what); elsewhere it names what is
# missing and fails, so a build never dies later on an obscure missing header. A package counts
# as present when an installed one provides it (e.g. npm inside NodeSource's nodejs).
set -u
missing=""
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps: not a Debian system; make sure these (or your system's equivalents) are installed: $*" >&2
  exit 0
fi
# What installed packages provide besides themselves (NodeSource's nodejs provides npm, and
# conflicts with Debian's npm package): one name a line.
provided=$(dpkg-query -W -f='${Status}|${Provides}\n' 2>/dev/null | grep '^install ok installed|' |
  cut -d'|' -f2 | tr ',' '\n' | sed -e 's/([^)]*)//g' -e 's/[[:space:]]//g' | grep -v '^$')
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" &&
     ! printf '%s\n' "$provided" | grep -qx -- "$p"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ -n "${HY3D_OFFLINE:-}" ]; then   # make test OFFLINE=1 (luarocks test): fetch nothing
  echo "deps: offline, not installing:$missing (the specs that need them report pending)" >&2
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing Debian packages:$missing" >&2
  echo "deps: install them with: sudo apt-get install$missing" >&2
  exit 1
fi
echo "deps: installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || { echo "deps: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
  echo "deps: apt-get install$missing failed" >&2; exit 1; }
echo "deps: installed:$missing"
