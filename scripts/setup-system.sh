#!/usr/bin/env bash
# Install the Debian packages the demo and the tests use. Idempotent; needs root.
# Without root it says what it could not do and carries on (the caller decides).
set -euo pipefail

PACKAGES=(
  iproute2 nftables iptables iputils-ping iputils-tracepath traceroute mtr-tiny
  fping scamper openssh-server openssh-client util-linux procps python3-venv
  chromium shellcheck git make
  # promtool (rules tests) and node_exporter (textfile test, started by the test on 127.0.0.1)
  prometheus prometheus-node-exporter
  # the capture tests compare with tcpdump; FRR (zebra, bgpd) runs the lab's BGP routers
  tcpdump frr
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: not root, cannot install: ${missing[*]}" >&2
  echo "setup-system: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
echo "setup-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
