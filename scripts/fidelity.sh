#!/usr/bin/env bash
# fidelity.sh: checks that fakecloud is faithful enough for a widely used
# third-party client. rclone, unchanged, reaches the real service host names
# through internal/mitm (an HTTPS intercepting proxy with a throw-away CA)
# and is answered by fakecloud on loopback. Per remote it refreshes a token
# through the real token host, makes a folder, uploads a small and a chunked
# file, lists with hashes, downloads, uploads through injected faults with
# rclone's own retries, deletes, and cross-checks fakecloud's own view
# (/_fakecloud/files). docs/fidelity.md lists the steps and the findings.
#
#   scripts/fidelity.sh                 # drive, dropbox, onedrive
#   REMOTES="drive" scripts/fidelity.sh
#   BIG_SIZE=33554432 DEBUG=1 KEEP=1 scripts/fidelity.sh
#   FAKECLOUD=/tmp/fakecloud scripts/fidelity.sh   # check a prebuilt fakecloud
#
# DEBUG=1 adds `-vv --dump headers` to every rclone call (logs under the
# work dir). KEEP=1 keeps the work dir. Exit status is non-zero on any FAIL.
#
# rclone before the fix for its issue 7405 (Debian 12 ships 1.60.1) sends its
# bearer token with OneDrive upload-session fragments; Graph documents that
# the pre-authenticated upload URL may answer that with 401, and fakecloud
# does. So the proxy strips Authorization under /_graph/upload/ (each strip
# is counted and printed), and a separate step checks with curl that the
# emulator itself still rejects it. ONEDRIVE_STRIP_UPLOAD_AUTH=0 turns the
# workaround off.
# Nothing leaves the machine: the proxy refuses every host but the clouds'
# and forwards only to the loopback fakecloud.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REMOTES=${REMOTES:-"drive dropbox onedrive"}
SMALL_SIZE=${SMALL_SIZE:-100000}
BIG_SIZE=${BIG_SIZE:-$((12 * 1024 * 1024 + 12345))}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/offsite-fidelity.XXXXXX")
PIDS=()
FAILS=0
STEP=0

cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	if [[ ${KEEP:-0} == 1 || $FAILS -gt 0 ]]; then
		echo "work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

die() { echo "fidelity: $*" >&2; FAILS=$((FAILS + 1)); exit 2; }

# ---- prerequisites ----
need=()
command -v rclone >/dev/null || need+=(rclone)
command -v jq >/dev/null || need+=(jq)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
	echo "installing ${need[*]} from the OS packages"
	SUDO=""; [[ $(id -u) == 0 ]] || SUDO=sudo
	$SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null || die "cannot install ${need[*]}"
fi
RCLONE_VERSION=$(rclone version | head -1)
echo "client: $RCLONE_VERSION"

# ---- build and start fakecloud and the proxy ----
(cd "$ROOT" && go build -o "$WORK/mitmproxy" ./internal/mitm/cmd/mitmproxy) || die "build of mitmproxy failed"
if [[ -n ${FAKECLOUD:-} ]]; then
	cp "$FAKECLOUD" "$WORK/fakecloud" || die "cannot copy $FAKECLOUD"
else
	(cd "$ROOT" && go build -o "$WORK/fakecloud" ./cmd/fakecloud) || die "build of fakecloud failed"
fi

# start NAME CMD...: runs CMD in the background with its output in
# $WORK/NAME.log and waits for its "listening on http://ADDR" banner, so the
# port is whatever the kernel handed out (no free-port race).
start() {
	local name=$1; shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	local i
	for i in $(seq 100); do
		ADDR=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$WORK/$name.log" | head -1)
		[[ -n $ADDR ]] && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/$name.log" >&2
	die "$name did not start"
}

# Tokens live long so the main remotes never refresh during the run; the
# config's expiry says the same (the *-refresh remotes test refreshing).
start fakecloud "$WORK/fakecloud" --data "$WORK/data" --addr 127.0.0.1:0 --token-ttl 48h
FAKE="http://$ADDR"
STRIP=()
[[ ${ONEDRIVE_STRIP_UPLOAD_AUTH:-1} == 1 ]] && STRIP=(--strip-auth-under /_graph/upload/)
start mitmproxy "$WORK/mitmproxy" --ca-out "$WORK/ca.pem" --listen 127.0.0.1:0 --upstream "$FAKE" "${STRIP[@]}"
PROXY="http://$ADDR"
echo "fakecloud $FAKE, proxy $PROXY, work dir $WORK"

export RCLONE_CONFIG="$WORK/rclone.conf"
: >"$RCLONE_CONFIG"

# token PATH: an access token from a fakecloud token endpoint via a
# refresh-token grant, as rclone's config JSON.
token() {
	local access
	access=$(curl -fsS -d grant_type=refresh_token -d refresh_token=fidelity-refresh \
		-d client_id=fidelity "$FAKE$1" | jq -er .access_token) || return 1
	jq -cn --arg a "$access" '{access_token:$a, token_type:"Bearer", refresh_token:"fidelity-refresh", expiry:"2099-01-01T00:00:00Z"}'
}

# Everything rclone does goes through the proxy and trusts only its CA.
rc() {
	local extra=()
	[[ ${DEBUG:-0} == 1 ]] && extra=(-vv --dump headers)
	HTTPS_PROXY=$PROXY https_proxy=$PROXY HTTP_PROXY=$PROXY http_proxy=$PROXY NO_PROXY= no_proxy= \
		SSL_CERT_FILE="$WORK/ca.pem" SSL_CERT_DIR=/nonexistent \
		rclone --retries 1 --low-level-retries 1 --contimeout 10s --timeout 60s "${extra[@]}" "$@"
}

# step NAME CMD...: runs CMD, prints PASS/FAIL and keeps its output.
step() {
	local name=$1; shift
	STEP=$((STEP + 1))
	local log="$WORK/logs/$(printf %02d "$STEP")-${name//[^a-zA-Z0-9_.-]/_}.log"
	mkdir -p "$WORK/logs"
	if "$@" >"$log" 2>&1; then
		echo "PASS $name"
	else
		echo "FAIL $name (log: $log)"
		tail -n 15 "$log" | sed 's/^/    /'
		FAILS=$((FAILS + 1))
	fi
}

# ---- test files ----
mkdir -p "$WORK/local" "$WORK/back"
head -c "$SMALL_SIZE" /dev/urandom >"$WORK/local/small.bin"
head -c "$BIG_SIZE" /dev/urandom >"$WORK/local/big.bin"
head -c $((3 * 1024 * 1024 + 777)) /dev/urandom >"$WORK/local/mid.bin"

# ---- checks ----

# check_hashes REMOTE:DIR KIND: lsjson --hash lists both files with the
# local sizes and the local KIND hashes.
check_hashes() {
	local listing want got f size
	listing=$(rc lsjson --hash --hash-type "$2" "$1") || return 1
	echo "$listing"
	for f in small.bin big.bin; do
		want=$(rclone hashsum "$2" "$WORK/local/$f" | cut -d' ' -f1)
		got=$(jq -er --arg f "$f" --arg k "$2" '.[] | select(.Path == $f) | .Hashes[$k]' <<<"$listing") ||
			{ echo "$f: no $2 hash listed"; return 1; }
		size=$(jq -er --arg f "$f" '.[] | select(.Path == $f) | .Size' <<<"$listing")
		echo "$f: $2 local=$want remote=$got size local=$(stat -c %s "$WORK/local/$f") remote=$size"
		[[ -n $want && ${got,,} == "${want,,}" && $size == $(stat -c %s "$WORK/local/$f") ]] || return 1
	done
}

check_cat() {
	rc cat "$1/small.bin" | cmp - "$WORK/local/small.bin"
}

check_download() {
	rm -f "$WORK/back/big.bin"
	rc copyto "$1/big.bin" "$WORK/back/big.bin" && cmp "$WORK/back/big.bin" "$WORK/local/big.bin"
}

# check_store SERVICE DIR present|absent: fakecloud's own listing agrees.
check_store() {
	local files f want
	files=$(curl -fsS "$FAKE/_fakecloud/files?service=$1") || return 1
	echo "$files"
	for f in small.bin big.bin; do
		want=$(sha256sum "$WORK/local/$f" | cut -d' ' -f1)
		n=$(jq --arg p "$2/$f" --arg s "$want" --argjson z "$(stat -c %s "$WORK/local/$f")" \
			'[.[] | select((.path | ltrimstr("/")) == $p and .size == $z and .sha256 == $s)] | length' <<<"$files")
		echo "$2/$f: $n matching entries"
		if [[ $3 == present ]]; then [[ $n == 1 ]] || return 1; else [[ $n == 0 ]] || return 1; fi
	done
	# Nothing else under the folder: no stray partial or duplicate files.
	if [[ $3 == present ]]; then
		n=$(jq --arg d "$2/" '[.[] | select(.path | ltrimstr("/") | startswith($d))] | length' <<<"$files")
		echo "entries under $2/: $n"
		[[ $n == 2 ]] || return 1
	fi
}

check_gone() {
	local left
	left=$(rc lsf "$1") || return 1
	echo "lsf after delete: '$left'"
	[[ -z $left ]]
}

# check_upload_url_auth TOKEN: the emulator's upload URL answers a fragment
# that carries a bearer token with 401 and takes the same fragment without.
check_upload_url_auth() {
	local url code
	url=$(curl -fsS -X POST -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d '{}' \
		"$FAKE/v1.0/me/drive/root:/fidelity-auth-probe.bin:/createUploadSession" | jq -er .uploadUrl) || return 1
	code=$(curl -sS -o /dev/stderr -w '%{http_code}' -X PUT -H "Authorization: Bearer $1" \
		-H 'Content-Range: bytes 0-4/5' --data-binary hello "$url")
	echo "fragment with Authorization: $code"
	[[ $code == 401 ]] || return 1
	code=$(curl -sS -o /dev/stderr -w '%{http_code}' -X PUT -H 'Content-Range: bytes 0-4/5' --data-binary hello "$url")
	echo "same fragment without Authorization: $code"
	[[ $code == 200 || $code == 201 ]] || return 1
	curl -fsS -X DELETE -H "Authorization: Bearer $1" "$FAKE/v1.0/me/drive/root:/fidelity-auth-probe.bin:"
}

# check_faults REMOTE:DIR SERVICE DIR FAULT_JSON... -- FLAGS...: with the
# faults armed, rclone's own retries still upload mid.bin; the faults really
# fired (at least 64 KiB more upload bytes arrived than the file has: each
# fault below wastes 100 KB or more); exactly one copy with the right content
# is stored; it reads back intact.
check_faults() {
	local r=$1 service=$2 dir=$3 f faults=() before after size st n
	shift 3
	while [[ $1 != -- ]]; do faults+=("$1"); shift; done
	shift
	size=$(stat -c %s "$WORK/local/mid.bin")
	curl -fsS -X DELETE "$FAKE/_fakecloud/faults" || return 1
	for f in "${faults[@]}"; do
		echo "fault: $f"
		curl -fsS -X POST -d "$f" "$FAKE/_fakecloud/faults" || return 1
	done
	before=$(curl -fsS "$FAKE/_fakecloud/stats" | jq --arg s "$service" '.[$s].upload_bytes // 0')
	rc --low-level-retries 10 copyto "$@" "$WORK/local/mid.bin" "$r/mid.bin"
	st=$?
	after=$(curl -fsS "$FAKE/_fakecloud/stats" | jq --arg s "$service" '.[$s].upload_bytes // 0')
	curl -fsS -X DELETE "$FAKE/_fakecloud/faults"
	echo "copyto exit $st; $((after - before)) upload bytes received for a $size-byte file"
	((st == 0)) || return 1
	# Removed whatever the checks say, so a failure here does not cascade
	# into the later listing steps.
	trap 'rc deletefile "$r/mid.bin" >/dev/null 2>&1; trap - RETURN' RETURN
	((after - before >= size + 65536)) || { echo "the faults never fired"; return 1; }
	n=$(curl -fsS "$FAKE/_fakecloud/files?service=$service" | jq --arg p "$dir/mid.bin" \
		--arg s "$(sha256sum "$WORK/local/mid.bin" | cut -d' ' -f1)" \
		'[.[] | select((.path | ltrimstr("/")) == $p and .sha256 == $s)] | length')
	echo "stored copies of $dir/mid.bin with the right content: $n"
	[[ $n == 1 ]] || return 1
	rc cat "$r/mid.bin" | cmp - "$WORK/local/mid.bin"
}

# run_remote NAME SERVICE HASH CHUNK_FLAGS...
run_remote() {
	local name=$1 service=$2 hash=$3; shift 3
	local dir="fidelity-$name-$$"
	local r="$name:$dir"
	echo "== $name ($service, hash $hash, chunk flags: $*)"
	step "$name mkdir" rc mkdir "$r"
	step "$name copyto small" rc copyto "$@" "$WORK/local/small.bin" "$r/small.bin"
	step "$name copyto big (chunked)" rc copyto "$@" "$WORK/local/big.bin" "$r/big.bin"
	step "${HASH_REMOTE:-$name} lsjson --hash $hash" check_hashes "${HASH_REMOTE:-$name}:$dir" "$hash"
	step "$name cat small" check_cat "$r"
	step "$name copyto back big" check_download "$r"
	step "$name fakecloud files agree" check_store "$service" "$dir" present
	if [[ -n ${FAULTS:-} ]]; then
		local faults=()
		mapfile -t faults <<<"$FAULTS"
		step "$name chunked upload through injected faults" check_faults "$r" "$service" "$dir" "${faults[@]}" -- "$@"
	fi
	step "$name deletefile small" rc deletefile "$r/small.bin"
	step "$name deletefile big${BIG_DELETE_FLAGS:+ $BIG_DELETE_FLAGS}" rc deletefile ${BIG_DELETE_FLAGS:-} "$r/big.bin"
	step "$name lsf shows them gone" check_gone "$r"
	step "$name fakecloud files gone" check_store "$service" "$dir" absent
	step "$name rmdir" rc rmdir "$r"
}

# remote NAME TYPE TOKEN_JSON [KEY=VALUE...]: appends a remote to the config.
remote() {
	local name=$1 type=$2 tok=$3 kv; shift 3
	{
		printf '[%s]\ntype = %s\nclient_id = fidelity\nclient_secret = fidelity\ntoken = %s\n' "$name" "$type" "$tok"
		for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
		echo
	} >>"$RCLONE_CONFIG"
}

# check_refresh NAME: a remote whose saved access token is unknown and long
# expired lists its root, so rclone refreshed through the service's real
# token host (via the proxy) and got a token the API accepts.
check_refresh() {
	rc lsf --max-depth 1 "$1:" || return 1
	grep -A4 "^\[$1\]" "$RCLONE_CONFIG" | grep -q '"access_token":"fake-' || { echo "no refreshed token saved"; return 1; }
}

STALE='{"access_token":"stale","token_type":"Bearer","refresh_token":"fidelity-refresh","expiry":"2001-01-01T00:00:00Z"}'

for r in $REMOTES; do
	case $r in
	drive)
		tok=$(token /token) || die "no token from fakecloud's Drive token endpoint"
		remote drive drive "$tok" scope=drive
		remote drive-refresh drive "$STALE" scope=drive
		step "drive token refresh via oauth2.googleapis.com" check_refresh drive-refresh
		# The small file goes to the trash (rclone's default), the big one is
		# deleted for good: both must vanish from listings.
		FAULTS='{"service":"drive","path":"upload_id=","status":503,"skip":2,"times":1}
{"service":"drive","path":"upload_id=","reset_after_bytes":100000,"skip":5,"times":1}' \
			BIG_DELETE_FLAGS=--drive-use-trash=false run_remote drive drive md5 --drive-chunk-size 256k --drive-upload-cutoff 256k
		;;
	dropbox)
		tok=$(token /oauth2/token) || die "no token from fakecloud's Dropbox token endpoint"
		remote dropbox dropbox "$tok"
		remote dropbox-refresh dropbox "$STALE"
		step "dropbox token refresh via api.dropboxapi.com" check_refresh dropbox-refresh
		FAULTS='{"service":"dropbox","path":"upload_session/append","status":429,"retry_after":"1s","skip":0,"times":1}
{"service":"dropbox","path":"upload_session/append","reset_after_bytes":300000,"skip":1,"times":1}' \
			run_remote dropbox dropbox dropbox --dropbox-chunk-size 1M --dropbox-batch-mode off
		;;
	onedrive)
		code=$(curl -s -o /dev/null -w '%{http_code}' "$FAKE/v1.0/me/drive")
		if [[ $code == 404 || $code == 000 ]]; then
			echo "SKIP onedrive: fakecloud does not serve /v1.0/ yet (GET /v1.0/me/drive = $code)"
			continue
		fi
		tok=$(token /common/oauth2/v2.0/token) || die "no token from fakecloud's Microsoft token endpoint"
		# drive_id and drive_type come from the emulator, through the proxy
		# like every other request, as rclone's own config wizard gets them.
		drive=$(curl -fsS --cacert "$WORK/ca.pem" --proxy "$PROXY" \
			-H "Authorization: Bearer $(jq -r .access_token <<<"$tok")" https://graph.microsoft.com/v1.0/me/drive) ||
			{ echo "FAIL onedrive GET /v1.0/me/drive"; FAILS=$((FAILS + 1)); continue; }
		id=$(jq -r .id <<<"$drive")
		type=$(jq -r .driveType <<<"$drive")
		remote onedrive onedrive "$tok" "drive_id=$id" "drive_type=$type"
		remote onedrive-refresh onedrive "$STALE" "drive_id=$id" "drive_type=$type"
		hash_remote=""
		if [[ $type == personal ]] && ! rclone help flags 2>/dev/null | grep -q -- --onedrive-hash-type; then
			# An rclone without --onedrive-hash-type (1.60's manual: "OneDrive
			# personal supports SHA1") reads SHA-1 on personal drives, which
			# OneDrive no longer returns, nor does the emulator. The same drive
			# typed "business" makes it read quickXorHash, so the emulator's
			# values are still checked against rclone's own QuickXor.
			echo "NOTE onedrive: $RCLONE_VERSION wants SHA-1 on personal drives; hashes are listed through a business-typed alias"
			remote onedrive-qx onedrive "$tok" "drive_id=$id" drive_type=business
			hash_remote=onedrive-qx
		fi
		step "onedrive token refresh via login.microsoftonline.com" check_refresh onedrive-refresh
		step "onedrive uploadUrl rejects Authorization like Graph" check_upload_url_auth "$(jq -r .access_token <<<"$tok")"
		FAULTS='{"service":"onedrive","path":"/_graph/upload/","status":503,"skip":2,"times":1}
{"service":"onedrive","path":"/_graph/upload/","reset_after_bytes":100000,"skip":5,"times":1}' \
			HASH_REMOTE=$hash_remote run_remote onedrive onedrive quickxor --onedrive-chunk-size 320k
		n=$(grep -c 'stripped Authorization' "$WORK/mitmproxy.log")
		echo "NOTE onedrive: the proxy stripped Authorization from $n upload-URL requests (rclone issue 7405 workaround)"
		;;
	*) die "unknown remote $r (want drive, dropbox or onedrive)" ;;
	esac
done

echo "stats: $(curl -fsS "$FAKE/_fakecloud/stats")"
if ((FAILS)); then
	echo "fidelity: $FAILS step(s) FAILED ($RCLONE_VERSION)"
	exit 1
fi
echo "fidelity: all steps passed ($RCLONE_VERSION)"
