#!/bin/bash
# CentOS 6.10: vault repos, a toolchain from SCL, Python 3.11 built from source, richcontainer's
# compat package (stdlib only). runc cannot run on 2.6.32: the legacy backend is used instead.
set -euo pipefail
bash /opt/richcontainer/vagrant/provision/el-vault.sh 6.10
yum install -y -q devtoolset-8-gcc devtoolset-8-make zlib-devel bzip2-devel libffi-devel sqlite-devel \
  xz-devel readline-devel perl curl tar busybox util-linux-ng
# shellcheck disable=SC1091
source /opt/rh/devtoolset-8/enable
bash /opt/richcontainer/vagrant/provision/build-python.sh --build-openssl
/opt/python3.11/bin/python3.11 -m pip install -q --upgrade pip
# pydantic-core has no wheels for glibc 2.12: install the code without dependencies plus pytest;
# only the standalone compat package (probe, planner, legacy backend) is exercised on this box.
/opt/python3.11/bin/python3.11 -m pip install -q --no-deps -e /opt/richcontainer
/opt/python3.11/bin/python3.11 -m pip install -q pytest
ln -sf /opt/richcontainer/compat/legacy/rclegacy.py /usr/local/bin/rclegacy
