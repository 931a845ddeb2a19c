#!/bin/bash
# make demo: one crash rescued end to end.
#
# As root: starts faultguardd on a temporary socket and state directory,
# runs examples/demo (the original faultguard example in C: it keeps two
# values in its dictionary and segfaults at i == 7), waits for the rescue
# command to run, shows what the collector recorded, and stops it.
# As anyone else: says so and runs the same example in standalone mode.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
say() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
	say "not root: faultguardd needs root for BPF, so this demo runs the standalone mode"
	echo "(run 'sudo make demo' for the system-wide collector)"
	"$BUILD/examples/demo" --guard || true
	exit 0
fi

tmp=$(mktemp -d /tmp/faultguard-demo.XXXXXX)
chmod 755 "$tmp"
sock=$tmp/faultguard.sock
state=$tmp/state
collector_pid=
cleanup() {
	if [ -n "$collector_pid" ] && kill -0 "$collector_pid" 2>/dev/null; then
		kill -TERM "$collector_pid"
		wait "$collector_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

say "starting faultguardd (socket $sock)"
"$BUILD/faultguardd" --socket "$sock" --state-dir "$state" &
collector_pid=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	kill -0 "$collector_pid" 2>/dev/null || { echo "faultguardd failed to start"; exit 1; }
	sleep 0.05
done
[ -S "$sock" ] || { echo "faultguardd did not become ready"; exit 1; }

say "running the app; it will segfault at i == 7"
status=0
# The app's output goes to ours; bash's own "Segmentation fault" notice does not.
{ FAULTGUARD_SOCKET=$sock "$BUILD/examples/demo" 2>&3 3>&-; } 3>&2 2>/dev/null || status=$?
echo "(the app died with status $status: 128 + SIGSEGV)"

say "waiting for the rescue command"
for _ in $(seq 100); do
	grep -q '"event":"rescue"' "$state/audit.jsonl" 2>/dev/null && break
	sleep 0.05
done
id=$("$BUILD/faultguardctl" list --state-dir "$state" --json | jq -r '.[-1].id')
say "what the rescue command printed (from the audit record)"
"$BUILD/faultguardctl" show --state-dir "$state" --json "$id" |
	jq -r '.[] | select(.event == "rescue") | .output'

say "faultguardctl list"
"$BUILD/faultguardctl" list --state-dir "$state"

say "faultguardctl show: where it crashed (the backtrace), then the snapshot and rescue"
"$BUILD/faultguardctl" show --state-dir "$state" "$id" | sed -n '/^crash at/,/^snapshot at/p' |
	grep -Ev '^snapshot at|^  (seq|prev) '

say "faultguardctl dump of the snapshot"
snap=$("$BUILD/faultguardctl" show --state-dir "$state" --json "$id" |
	jq -r '.[] | select(.event == "snapshot") | .path')
"$BUILD/faultguardctl" dump "$snap"

say "stopping faultguardd"
