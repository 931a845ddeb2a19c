#!/bin/bash
# make deb: builds the Debian packages (faultguard, libfaultguard0,
# libfaultguard-dev, python3-faultguard) with dpkg-buildpackage from a copy
# of the source tree in $BUILD/deb/src (so `debian/rules clean` never
# touches the tree's own build/), then checks them with lintian: an error
# fails the build; the warnings left are listed, each justified, in
# debian/README.source. The packages end up in $BUILD/deb/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
VERSION=$(dpkg-parsechangelog -S Version)
out=$BUILD/deb
src=$out/src/faultguard-$VERSION

for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" >/dev/null || {
		echo "deb: $tool is missing (Debian packages dpkg-dev, debhelper, lintian: scripts/deps.sh installs them)" >&2
		exit 1
	}
done
rm -rf "$out"
mkdir -p "$src"
# The tree as git sees it (tracked and new files, not the ignored ones), or
# all of it but the build directories outside a git checkout.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude='./build*' --exclude=./.git -cf - . | tar -xf - -C "$src"
fi
echo "  DEB      $out (dpkg-buildpackage; the log is $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed; see $out/build.log" >&2
	exit 1
fi
echo "  LINTIAN  $out/faultguard_${VERSION}_*.changes"
# --fail-on error: warnings are reported (and justified in debian/README.source), errors fail.
if ! lintian --fail-on error --info "$out"/src/faultguard_"${VERSION}"_*.changes >"$out/lintian.log" 2>&1; then
	cat "$out/lintian.log" >&2
	echo "deb: lintian found errors" >&2
	exit 1
fi
sed 's/^/  lintian: /' "$out/lintian.log"
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/
ls "$out"/*.deb
