#!/bin/bash
# CentOS 7.9.2009: vault repos, Python 3.11 built against EPEL's openssl11, a static runc, richcontainer.
set -euo pipefail
bash /opt/richcontainer/vagrant/provision/el-vault.sh 7.9.2009
yum install -y -q gcc make zlib-devel bzip2-devel libffi-devel sqlite-devel xz-devel readline-devel \
  openssl11-devel curl tar fuse fuse3 busybox iproute
# EPEL ships OpenSSL 1.1 as "openssl11" in its own paths: give Python's configure a prefix-shaped view.
mkdir -p /opt/openssl11/lib
ln -sfn /usr/include/openssl11 /opt/openssl11/include
ln -sf /usr/lib64/openssl11/libssl.so /opt/openssl11/lib/libssl.so
ln -sf /usr/lib64/openssl11/libcrypto.so /opt/openssl11/lib/libcrypto.so
bash /opt/richcontainer/vagrant/provision/build-python.sh --openssl-prefix /opt/openssl11
RUNC=v1.1.15
curl -fsSL -o /usr/local/sbin/runc "https://github.com/opencontainers/runc/releases/download/$RUNC/runc.amd64"
chmod 755 /usr/local/sbin/runc
/opt/python3.11/bin/python3.11 -m pip install -q --upgrade pip
/opt/python3.11/bin/python3.11 -m pip install -q -e '/opt/richcontainer[test]'
ln -sf /opt/python3.11/bin/richcontainer /usr/local/bin/richcontainer
