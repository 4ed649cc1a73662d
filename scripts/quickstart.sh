#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build a base image from the Debian
# mirror, boot it with systemd as PID 1 (no --privileged), and show that it is running.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/install.sh"
rc=/usr/local/bin/richcontainer
$rc image bootstrap --include openssh-server,cron debian:bookworm
$rc rm -f demo >/dev/null 2>&1 || true
$rc run -d --name demo --init systemd -m 512m --cpus 1 debian:bookworm
echo "systemctl is-system-running: $($rc exec demo systemctl is-system-running --wait)"
$rc exec demo systemctl --no-pager --type=service --state=running list-units | head -20
$rc exec demo free -m
echo "demo is up: 'richcontainer exec -it demo bash' to enter, 'richcontainer rm -f demo' to remove"
