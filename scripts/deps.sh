#!/bin/sh
# Installs the Debian packages faultguard needs to build and test; does
# nothing when they are all present. The operations tests use promtool
# (prometheus), rsyslogd (rsyslog), systemd-analyze (systemd), man (man-db)
# and logrotate; make deb and its test use dpkg-buildpackage (dpkg-dev),
# debhelper, dh-python and lintian; the disk tests a FUSE file system of
# their own (libfuse3-dev); the backtraces libdw (libdw-dev), and the
# backtrace benchmark compares with gdb.
set -eu

PKGS="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libjson-c-dev libssl-dev libfuse3-dev libdw-dev pkg-config jq \
python3 python3-numpy python3-pytest libclang-rt-14-dev valgrind \
prometheus rsyslog systemd man-db logrotate gdb \
dpkg-dev debhelper dh-python lintian"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing; install them as root (apt-get install$missing)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
