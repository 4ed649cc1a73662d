#!/bin/bash
# Build CPython 3.11 (and OpenSSL 1.1.1 when the distro's is too old) into /opt/python3.11.
# Usage: build-python.sh [--build-openssl | --openssl-prefix DIR]
#   EL6 needs --build-openssl (its OpenSSL 1.0.1 is too old for 3.11); EL7 passes EPEL's openssl11.
set -euo pipefail
PY=3.11.9
SSL=1.1.1w
prefix=/opt/python3.11
[ -x "$prefix/bin/python3.11" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
ssl_opt=()
if [ "${1:-}" = "--openssl-prefix" ]; then
  ssl_opt=(--with-openssl="$2" --with-openssl-rpath=auto)
elif [ "${1:-}" = "--build-openssl" ]; then
  curl -fsSLO "https://www.openssl.org/source/openssl-$SSL.tar.gz"
  tar xzf "openssl-$SSL.tar.gz"
  (cd "openssl-$SSL" && ./config --prefix=/opt/openssl11 --openssldir=/etc/pki/tls shared -Wl,-rpath,/opt/openssl11/lib \
     && make -j"$(nproc)" >/dev/null && make install_sw >/dev/null)
  ssl_opt=(--with-openssl=/opt/openssl11 --with-openssl-rpath=auto)
fi
curl -fsSLO "https://www.python.org/ftp/python/$PY/Python-$PY.tgz"
tar xzf "Python-$PY.tgz"
cd "Python-$PY"
./configure --prefix="$prefix" "${ssl_opt[@]}" >/dev/null
make -j"$(nproc)" >/dev/null
make altinstall >/dev/null
ln -sf "$prefix/bin/python3.11" /usr/local/bin/python3.11
