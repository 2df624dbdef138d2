#!/usr/bin/env bash
# `make demo`: build the collection, install it from its tarball, build the default lab of
# network namespaces, run the main job against it and tear the lab down (also on failure).
# Without root there are no namespaces: run the loopback part only and say so.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.venv/bin"
work="$root/.build/demo"
reports="${REPORTS:-$root/reports}"
rm -rf "$work/collections" && mkdir -p "$work/dist" "$work/collections" "$reports"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Building and installing the collection from its tarball"
"$bin/ansible-galaxy" collection build --force --output-path "$work/dist" "$root" >/dev/null
tarball=$(find "$work/dist" -name "netdevops-icmp-*.tar.gz" -newer "$root/galaxy.yml" -printf "%T@ %p\n" | sort -rn | head -n1 | cut -d" " -f2-)
"$bin/ansible-galaxy" collection install --force -p "$work/collections" "$tarball" >/dev/null
echo "installed $(basename "$tarball") into $work/collections"
export ANSIBLE_COLLECTIONS_PATH="$work/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
export ANSIBLE_FORKS="${ANSIBLE_FORKS:-10}"  # the default lab's nine nodes at once (Ansible's default is 5)
playbook=("$bin/ansible-playbook" -e "demo_reports_dir=$reports")

if [ "$(id -u)" -ne 0 ]; then
  step "Not root: no network namespaces, no firewall changes. Running the loopback demo only."
  echo "Run 'sudo make demo' for the lab, the firewall policy and the drills."
  read -r gid_low gid_high < /proc/sys/net/ipv4/ping_group_range
  if [ "$(id -g)" -lt "$gid_low" ] || [ "$(id -g)" -gt "$gid_high" ]; then
    echo "Your group (gid $(id -g)) may not open unprivileged ICMP sockets: net.ipv4.ping_group_range is" \
      "'$gid_low $gid_high'. Allow it with: sudo sysctl -w net.ipv4.ping_group_range='0 2147483647'"
  fi
  ANSIBLE_HOST_PATTERN_MISMATCH=ignore "${playbook[@]}" -i localhost, -c local -e "ansible_python_interpreter=$bin/python" \
    netdevops.icmp.demo -e demo_mode=loopback
  echo "reports: $reports"
  exit 0
fi

inventory="$work/inventory.yml"
list_reports() {
  step "Reports (JSON, JUnit XML, Prometheus textfile, HTML) in $reports"
  find "$reports" -maxdepth 1 -type f \( -name '*.json' -o -name '*.xml' -o -name '*.prom' -o -name '*.html' \) \
    -printf '  %f\n' | sort
}
finish() {
  status=$?
  step "Tearing the lab down"
  "${playbook[@]}" netdevops.icmp.lab_down -e "icmp_lab_state_dir=$work/lab" >/dev/null \
    && echo "lab removed; namespaces of the demo lab left: $(ip netns list | grep -c '^nilab-default-' || true)"
  rm -rf /run/netdevops_icmp_demo  # the policy snapshots of the demo nodes (playbooks/demo.yml)
  list_reports
  [ "$status" -eq 0 ] || step "The demo FAILED (exit $status): see the first 'fatal' above"
  exit "$status"
}
trap finish EXIT

step "Building the default lab (a LAN h1, x1, r1; r1-h2 at MTU 1400; an ECMP diamond and iBGP r1-r3 behind r1)"
"${playbook[@]}" netdevops.icmp.lab_up -e "icmp_lab_inventory_path=$inventory" -e "icmp_lab_state_dir=$work/lab"

step "Running the demo against the lab: nodes, policy, validation, drift, measurements, drills"
"${playbook[@]}" -i "$inventory" netdevops.icmp.demo "$@"
