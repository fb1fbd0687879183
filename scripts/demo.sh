#!/usr/bin/env bash
# `make demo`: offsite's main job on an embedded default. A temp folder plays
# the point-of-sale program's backup folder, another plays the USB disk. A
# program writes a backup slowly (with a lock file beside it, as Office does),
# offsite notices it once complete, uploads it, and `offsite status` shows it.
set -euo pipefail
bin=${BIN:-bin}
dir=$(mktemp -d "${TMPDIR:-/tmp}/offsite-demo.XXXXXX")
mkdir -p "$dir/backups" "$dir/usb"
cat > "$dir/offsite.yaml" <<YAML
state_dir: $dir/state
watches:
  - name: pos
    path: $dir/backups
    settle: 1s
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: $dir/usb
YAML
echo "== config: $dir/offsite.yaml"
"$bin/offsite" run -c "$dir/offsite.yaml" 2>"$dir/offsite.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 1

echo "== the shop program writes a backup in three parts, with a lock file beside it"
touch "$dir/backups/~\$ledger.xlsx"
for part in 1 2 3; do
  head -c 200000 /dev/urandom >> "$dir/backups/day-end 2026-11-23.bak"
  sleep 0.4
done
rm "$dir/backups/~\$ledger.xlsx"

for _ in $(seq 1 60); do
  [ -f "$dir/usb/pos/day-end 2026-11-23.bak" ] && break
  sleep 0.25
done
kill -TERM $pid; wait $pid || true
trap - EXIT

echo "== offsite status"
"$bin/offsite" status -c "$dir/offsite.yaml"
echo
echo "== the destination (the 'USB disk'):"
find "$dir/usb" -type f -printf '%p  %s bytes\n'
if cmp -s "$dir/backups/day-end 2026-11-23.bak" "$dir/usb/pos/day-end 2026-11-23.bak"; then
  echo "== the copy is byte-for-byte identical to the backup. Log: $dir/offsite.log"
else
  echo "== the copy did not arrive; see $dir/offsite.log" >&2
  exit 1
fi
