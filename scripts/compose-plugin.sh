#!/usr/bin/env bash
# Builds the Docker Compose v2 binary from the Go module proxy (no Docker engine needed: it is
# only used for `docker compose config`, which validates compose/docker-compose.yml) and caches
# it in ${XDG_CACHE_HOME:-~/.cache}/ovr-alpr/docker-compose. Prints one line for `eval`:
#   OVR_ALPR_COMPOSE_BIN=/path/to/docker-compose
# With --plugin it is also linked as the docker CLI plugin (~/.docker/cli-plugins/docker-compose),
# so `docker compose …` works with a docker client that lacks the plugin.
# Needs Go >= 1.24. A cold build takes several minutes (about 9 on 2 cores); cached afterwards.
set -euo pipefail

VERSION=${COMPOSE_VERSION:-v2.40.3}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ovr-alpr
BIN=$CACHE/docker-compose
STAMP=$CACHE/docker-compose.version
PLUGIN=0
[ "${1:-}" = "--plugin" ] && PLUGIN=1

log() { printf 'compose-plugin: %s\n' "$*" >&2; }

if [ ! -x "$BIN" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$VERSION" ]; then
  command -v go >/dev/null 2>&1 || { log "go is not installed (needed to build docker compose $VERSION)"; exit 1; }
  log "building github.com/docker/compose/v2/cmd@$VERSION (several minutes the first time)"
  mkdir -p "$CACHE"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # compose's go.mod has exclude directives, which `go install pkg@version` refuses; a throwaway
  # module that requires it (with the same excludes) builds it instead.
  cat >"$work/go.mod" <<GOMOD
module ovr-alpr/compose-plugin

go 1.24

exclude (
	github.com/davecgh/go-spew v1.1.2-0.20180830191138-d8f796af33cc
	github.com/pmezard/go-difflib v1.0.1-0.20181226105442-5d4384ee4fb2
)
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/docker/compose/v2/cmd"\n' >"$work/tools.go"
  (
    cd "$work"
    GOFLAGS=-mod=mod go get "github.com/docker/compose/v2@$VERSION" >&2
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$VERSION" \
      -o "$BIN.tmp" github.com/docker/compose/v2/cmd >&2
  )
  mv "$BIN.tmp" "$BIN"
  echo "$VERSION" >"$STAMP"
fi

"$BIN" version >&2
if [ "$PLUGIN" = 1 ]; then
  mkdir -p "$HOME/.docker/cli-plugins"
  ln -sf "$BIN" "$HOME/.docker/cli-plugins/docker-compose"
  log "linked as $HOME/.docker/cli-plugins/docker-compose"
fi
echo "OVR_ALPR_COMPOSE_BIN=$BIN"
