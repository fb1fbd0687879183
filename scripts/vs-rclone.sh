#!/usr/bin/env bash
# vs-rclone.sh: `offsite push` against `rclone copyto` on the same bytes, the
# same emulator and the same path: both reach the services' real host names
# through internal/mitm (HTTPS with a throw-away CA) and are answered by
# fakecloud on loopback, each with its default settings. Runs alternate
# (offsite, rclone, offsite, ...) so the machine's other load falls on both;
# the table gives each run's wall time and peak RSS, the medians, and
# offsite's time as a ratio of rclone's. docs/benchmarks.md keeps the figures.
#
#   scripts/vs-rclone.sh                      # drive dropbox onedrive, 512 MiB, 3 rounds
#   SIZE_MB=64 ROUNDS=1 REMOTES=drive scripts/vs-rclone.sh
#
# rclone is the pinned release that `make fidelity` builds into the cache
# folder (built here too when missing). Nothing leaves the machine.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REMOTES=${REMOTES:-"drive dropbox onedrive"}
SIZE_MB=${SIZE_MB:-512}
ROUNDS=${ROUNDS:-3}
RCLONE_PIN=v1.76.0
RCLONE_CACHE=${RCLONE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/offsite/rclone-$RCLONE_PIN}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/offsite-vs-rclone.XXXXXX")
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [[ ${KEEP:-0} == 1 ]]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
die() { echo "vs-rclone: $*" >&2; exit 2; }

for t in jq curl /usr/bin/time; do command -v "$t" >/dev/null || die "needs $t (apt-get install jq curl time)"; done

RCLONE="$RCLONE_CACHE/rclone"
# (Read whole: `| head -1` under pipefail could kill it with SIGPIPE.)
version=$("$RCLONE" version 2>/dev/null || true)
if [[ ! ${version%%$'\n'*} =~ ^rclone\ ${RCLONE_PIN//./\\.}(-DEV)?$ ]]; then
	echo "building rclone $RCLONE_PIN into $RCLONE_CACHE (once)"
	mkdir -p "$RCLONE_CACHE"
	(cd "$WORK" && GOBIN="$RCLONE_CACHE" GOFLAGS=-mod=mod go install "github.com/rclone/rclone@$RCLONE_PIN") >"$WORK/rclone-build.log" 2>&1 ||
		{ tail -5 "$WORK/rclone-build.log"; die "cannot build rclone $RCLONE_PIN"; }
fi

(cd "$ROOT" && go build -o "$WORK/offsite" ./cmd/offsite && go build -o "$WORK/fakecloud" ./cmd/fakecloud &&
	go build -o "$WORK/mitmproxy" ./internal/mitm/cmd/mitmproxy) || die "build failed"

# start NAME CMD...: background CMD, wait for its "listening on" banner.
start() {
	local name=$1 i; shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 100); do
		ADDR=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$WORK/$name.log" | head -1)
		[[ -n $ADDR ]] && return 0
		sleep 0.1
	done
	cat "$WORK/$name.log" >&2
	die "$name did not start"
}

start fakecloud "$WORK/fakecloud" --data "$WORK/data" --addr 127.0.0.1:0 --token-ttl 48h
FAKE="http://$ADDR"
CA="$WORK/ca.pem"
start mitmproxy "$WORK/mitmproxy" --ca-out "$CA" --listen 127.0.0.1:0 --upstream "$FAKE"
PROXY="http://$ADDR"
export HTTPS_PROXY=$PROXY https_proxy=$PROXY NO_PROXY= no_proxy= SSL_CERT_FILE=$CA SSL_CERT_DIR=/nonexistent

token() {
	curl -fsS -d grant_type=refresh_token -d refresh_token=bench-refresh -d client_id=bench "$FAKE$1" |
		jq -ec '{access_token, token_type:"Bearer", refresh_token:"bench-refresh", expiry:"2099-01-01T00:00:00Z"}'
}

STATE="$WORK/state"
mkdir -p "$STATE" "$WORK/src"
export RCLONE_CONFIG="$WORK/rclone.conf"
: >"$RCLONE_CONFIG"
cat >"$WORK/offsite.yaml" <<EOF
state_dir: $STATE
watches:
  - name: bench
    path: $WORK/src
    destinations: [${REMOTES// /, }]
destinations:
EOF
for r in $REMOTES; do
	case $r in
	drive) type=gdrive; tokpath=/token; rtype=drive ;;
	dropbox) type=dropbox; tokpath=/oauth2/token; rtype=dropbox ;;
	onedrive) type=onedrive; tokpath=/common/oauth2/v2.0/token; rtype=onedrive ;;
	*) die "unknown remote $r" ;;
	esac
	tok=$(token $tokpath) || die "no $r token from fakecloud"
	(umask 077 && echo "$tok" >"$STATE/$r-token.json")
	printf '  - name: %s\n    type: %s\n    folder: offsite-bench\n    client_id: bench\n    client_secret: bench\n' "$r" "$type" >>"$WORK/offsite.yaml"
	extra=""
	if [[ $r == onedrive ]]; then
		drive=$(curl -fsS --cacert "$CA" -H "Authorization: Bearer $(jq -r .access_token <<<"$tok")" https://graph.microsoft.com/v1.0/me/drive)
		extra="drive_id = $(jq -r .id <<<"$drive")"$'\n'"drive_type = $(jq -r .driveType <<<"$drive")"
	fi
	printf '[%s]\ntype = %s\nclient_id = bench\nclient_secret = bench\ntoken = %s\n%s\n\n' "$r" "$rtype" "$tok" "$extra" >>"$RCLONE_CONFIG"
done
chmod 600 "$WORK/offsite.yaml"

FILE="$WORK/backup.bin"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$FILE"

# timed LOG CMD...: wall seconds, peak RSS (KiB) and CPU seconds (user +
# system) of CMD: "secs kib cpu".
timed() {
	local log=$1; shift
	/usr/bin/time -f '%e %M %U %S' -o "$log.time" "$@" >"$log" 2>&1 || { cat "$log" >&2; die "failed: $*"; }
	awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}' "$log.time"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "offsite $(cd "$ROOT" && git describe --always --dirty) vs rclone $RCLONE_PIN; $SIZE_MB MiB; $ROUNDS rounds; $(nproc) CPUs; $(date -u +%F)"
printf '%-9s %-7s %8s %9s %7s\n' remote tool wall_s rss_MiB cpu_s
RESULTS=()
for r in $REMOTES; do
	ot=() rt=() om=() rm=() oc=() rcpu=()
	for i in $(seq "$ROUNDS"); do
		# A fresh name each round: neither tool may skip an upload it finds done.
		read -r s k c < <(timed "$WORK/offsite-$r-$i.log" "$WORK/offsite" -c "$WORK/offsite.yaml" push "$FILE" --to "$r" --as "o$i.bin")
		ot+=("$s") om+=($((k / 1024))) oc+=("$c")
		printf '%-9s %-7s %8s %9s %7s\n' "$r" offsite "$s" $((k / 1024)) "$c"
		read -r s k c < <(timed "$WORK/rclone-$r-$i.log" "$RCLONE" copyto "$FILE" "$r:offsite-bench/r$i.bin")
		rt+=("$s") rm+=($((k / 1024))) rcpu+=("$c")
		printf '%-9s %-7s %8s %9s %7s\n' "$r" rclone "$s" $((k / 1024)) "$c"
		# Both copies go once timed (not to a trash): the emulator keeps one
		# file at a time, so no run writes into memory that a pile of earlier
		# copies left scarce (fresh page cache costs the emulator's kernel
		# about a second of CPU per 512 MiB on a small VM, taken from both
		# tools' cores alike, more or less from run to run).
		for n in "o$i.bin" "r$i.bin"; do
			"$RCLONE" deletefile --drive-use-trash=false "$r:offsite-bench/$n" >>"$WORK/delete.log" 2>&1 || die "cannot delete $r:$n (see $WORK/delete.log)"
		done
	done
	o=$(median "${ot[@]}") rc=$(median "${rt[@]}")
	# Each round's ratio (offsite's run over the rclone run right after it):
	# the spread says how much the machine's other load moved the figures.
	span=$(for j in "${!ot[@]}"; do awk -v a="${ot[j]}" -v b="${rt[j]}" 'BEGIN{printf "%.2f\n", a/b}'; done | sort -g | sed -n '1p;$p' | paste -sd' ')
	RESULTS+=("$(printf '| %s | %s | %s | %s | **%.2f** (%s–%s) | %s | %s | %s | %s |' "$r" "$SIZE_MB MiB" "$o" "$rc" "$(awk -v a="$o" -v b="$rc" 'BEGIN{print a/b}')" ${span% *} ${span#* } \
		"$(median "${om[@]}")" "$(median "${rm[@]}")" "$(median "${oc[@]}")" "$(median "${rcpu[@]}")")")
done
echo
echo "| service | size | offsite push s (median) | rclone copyto s (median) | ratio (goal ≤ 0.9; rounds' range) | offsite peak RSS MiB | rclone peak RSS MiB | offsite CPU s | rclone CPU s |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
