#!/bin/bash
# Debian 12: everything from Debian plus richcontainer in a virtualenv.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q python3 python3-venv python3-pip runc crun conmon fuse3 iproute2 nftables \
  debootstrap busybox-static lxcfs
python3 -m venv /opt/rc-venv
/opt/rc-venv/bin/pip install -q -e '/opt/richcontainer[test]'
ln -sf /opt/rc-venv/bin/richcontainer /usr/local/bin/richcontainer
ln -sf /opt/rc-venv/bin/python /usr/local/bin/rc-python
