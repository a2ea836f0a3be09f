#!/bin/sh
# Installs what building and testing reflex needs on Debian 12.
# Usage: scripts/deps.sh            (uses sudo when not root)
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS="build-essential autoconf automake libtool pkg-config curl
      libyaml-dev libjson-c-dev libcurl4-gnutls-dev libmicrohttpd-dev
      libsqlite3-dev libpcre2-dev libcunit1-dev sqlite3 jq"
# Skip apt when everything is already there (fast re-runs, offline rebuilds).
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
