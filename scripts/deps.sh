#!/usr/bin/env bash
# deps.sh - installs, on Debian 12, every package rdm-agent needs to build
# and test. Idempotent and non-interactive: installs only what is missing,
# runs `apt-get update` only when something is. Uses sudo when not root.
set -euo pipefail

PACKAGES=(
  gcc clang make cmake pkg-config git
  libsqlite3-dev sqlite3 libcurl4-openssl-dev libmbedtls-dev nettle-dev libcjson-dev libcsv-dev libpq-dev
  libcmocka-dev libgcrypt20-dev postgresql-15 libmicrohttpd-dev openssl chromium
  lintian rpm man-db adduser libclang-rt-14-dev python3 valgrind
  iptables faketime
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
