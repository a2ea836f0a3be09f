#!/bin/sh
# Installs what reflex needs on Debian 12.
#   scripts/deps.sh          what building and running needs
#   scripts/deps.sh --test   that, plus the real peers the tests talk to
#                            (Prometheus Alertmanager, Node.js for the Zabbix
#                            media type, ...)
# Uses sudo when not root. Skips apt entirely when everything is there.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS="build-essential autoconf automake libtool pkg-config curl
      libyaml-dev libjson-c-dev libcurl4-gnutls-dev libmicrohttpd-dev
      libsqlite3-dev libpcre2-dev libcunit1-dev libsnmp-dev libetpan-dev libgnutls28-dev libpq-dev"
TEST_PKGS="sqlite3 jq tzdata openssl bsdutils clang prometheus-alertmanager nodejs
           snmp dovecot-imapd dovecot-pop3d postgresql python3 python3-aiosmtpd nagios4-core"
[ "${1:-}" = "--test" ] && PKGS="$PKGS $TEST_PKGS"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
