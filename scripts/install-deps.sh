#!/usr/bin/env bash
# System packages richcontainer and its tests use, from Debian's archive (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# A mirror connection that stalls (seen here: `apt-get update` waiting 13 minutes on one
# InRelease) must not hang the install: each attempt has a deadline, and a failed one is retried.
apt_retry() {
  local limit=$1 attempt
  shift
  for attempt in 1 2 3; do
    [ "$attempt" = 1 ] || dpkg --configure -a || true  # an install cut off mid-way
    if timeout --kill-after=10 "$limit" apt-get -o Acquire::http::Timeout=30 -o Acquire::Retries=3 "$@"; then
      return 0
    fi
    echo "install-deps: apt-get $1 failed or stalled (attempt $attempt of 3)" >&2
  done
  return 1
}

apt_retry 300 update -q
apt_retry 1200 install -y -q --no-install-recommends \
  runc crun conmon tini debootstrap fuse3 libfuse3-3 nftables iproute2 iputils-ping procps \
  zstd xz-utils ca-certificates python3 python3-venv python3-pip util-linux \
  "$@"
