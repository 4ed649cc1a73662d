#!/usr/bin/env bash
# System packages richcontainer and its tests use, from Debian's archive (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# A mirror connection that stalls must not hang the install: time out and retry instead.
apt_opts=(-o Acquire::http::Timeout=30 -o Acquire::Retries=5)
apt-get "${apt_opts[@]}" update -q
apt-get "${apt_opts[@]}" install -y -q --no-install-recommends \
  runc crun conmon tini debootstrap fuse3 libfuse3-3 nftables iproute2 iputils-ping procps \
  zstd xz-utils ca-certificates python3 python3-venv python3-pip util-linux \
  "$@"
