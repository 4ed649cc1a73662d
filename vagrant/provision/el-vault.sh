#!/bin/bash
# Point yum at the CentOS vault (mirrorlist.centos.org is gone since EOL), pinned to one release.
# Usage: el-vault.sh 6.10|7.9.2009
set -euo pipefail
release="$1"
major="${release%%.*}"
mkdir -p /etc/yum.repos.d/disabled
for f in /etc/yum.repos.d/*.repo; do
  [ -e "$f" ] && mv "$f" /etc/yum.repos.d/disabled/
done
{
  for repo in os updates extras; do
    cat <<REPO
[vault-$repo]
name=CentOS $release $repo (vault)
baseurl=http://vault.centos.org/$release/$repo/\$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-$major
enabled=1

REPO
  done
  cat <<REPO
[vault-sclo-rh]
name=CentOS $release SCLo rh (vault)
baseurl=http://vault.centos.org/$release/sclo/\$basearch/rh/
gpgcheck=0
enabled=1

[epel-archive]
name=EPEL $major (archive)
baseurl=https://archives.fedoraproject.org/pub/archive/epel/$major/\$basearch/
gpgcheck=0
enabled=1
REPO
} > /etc/yum.repos.d/vault.repo
yum clean all -q
yum makecache -q
