#!/usr/bin/env bash
# Builds release archives into $DIST (default dist/): one per target, with the
# offsite binary, README.md, LICENSE and config.example.yaml, plus SHA256SUMS
# (check with `sha256sum -c SHA256SUMS`). cgo is off, so every target builds
# from any machine.
#
#   scripts/dist.sh                       # all release targets
#   TARGETS="linux/amd64" scripts/dist.sh # just one
#
# The archives are reproducible-ish: -trimpath, no build ID, the version from
# `git describe`, the date from the commit (not now), and archive entries with
# that date, sorted, owned by root.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST=${DIST:-dist}
TARGETS=${TARGETS:-"windows/amd64 windows/arm64 linux/amd64 linux/arm64 darwin/arm64 darwin/amd64"}

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo none)}
EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
DATE=${DATE:-$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)}
BI=github.com/offsite-backup/offsite/internal/buildinfo
LDFLAGS="-s -w -buildid= -X $BI.version=$VERSION -X $BI.commit=$COMMIT -X $BI.date=$DATE"

mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

archives=()
for target in $TARGETS; do
  os=${target%/*} arch=${target#*/}
  name="offsite_${VERSION}_${os}_${arch}"
  dir="$work/$name"
  mkdir -p "$dir"
  exe=offsite
  [ "$os" = windows ] && exe=offsite.exe
  echo "dist: building $name" >&2
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath -buildvcs=false \
    -ldflags "$LDFLAGS" -o "$dir/$exe" ./cmd/offsite
  cp README.md LICENSE config.example.yaml "$dir/"
  find "$dir" -exec touch -h -d "@$EPOCH" {} +
  if [ "$os" = windows ]; then
    command -v zip >/dev/null || { echo "dist: zip is needed for the Windows archives (apt-get install zip)" >&2; exit 1; }
    out="$name.zip"
    rm -f "$DIST/$out"
    (cd "$work" && find "$name" -print | LC_ALL=C sort | zip -X -q "$DIST/$out" -@)
  else
    out="$name.tar.gz"
    tar -C "$work" --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner \
      -cf - "$name" | gzip -n -9 >"$DIST/$out"
  fi
  archives+=("$out")
done

(cd "$DIST" && sha256sum "${archives[@]}" >SHA256SUMS)
echo "dist: wrote ${archives[*]} and SHA256SUMS in $DIST ($VERSION, $COMMIT, $DATE)" >&2
