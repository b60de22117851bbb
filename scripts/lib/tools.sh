# shellcheck shell=bash
# Builds of the pinned Go tools into the machine cache. Source after
# common.sh. Each function prints the binary's path on stdout and logs to
# stderr; a binary already in the cache is reused.

# Print the version that BINARY reports on its first line, or nothing.
binary_version() {
    "$1" "$2" 2>/dev/null | head -n1 || true
}

ensure_cue() {
    local target="$CACHE_BIN/cue-$CUE_VERSION"
    if [ -x "$target" ] && binary_version "$target" version | grep -qF "cue version $CUE_VERSION"; then
        say "cue $CUE_VERSION found in $CACHE_BIN"
        echo "$target"
        return 0
    fi

    go_env
    say "building cue $CUE_VERSION with $(go version | cut -d' ' -f3) (about a minute on 2 cores)"
    mkdir -p "$ARCHON_CACHE"
    local gobin
    gobin=$(mktemp -d "$ARCHON_CACHE/tmp-cue.XXXXXX")
    GOBIN="$gobin" go install "cuelang.org/go/cmd/cue@$CUE_VERSION" >&2 \
        || { rm -rf "$gobin"; fail "go install cuelang.org/go/cmd/cue@$CUE_VERSION failed; see the output above"; }
    mkdir -p "$CACHE_BIN"
    mv "$gobin/cue" "$target"
    rm -rf "$gobin"
    echo "$target"
}

# `go install` rejects buildkit's module because its go.mod has exclude
# directives, so the module source is downloaded and built in a copy.
ensure_buildkitd() {
    local target="$CACHE_BIN/buildkitd-$BUILDKIT_VERSION"
    if [ -x "$target" ] && binary_version "$target" --version | grep -qF " $BUILDKIT_VERSION"; then
        say "buildkitd $BUILDKIT_VERSION found in $CACHE_BIN"
        echo "$target"
        return 0
    fi

    go_env
    say "downloading github.com/moby/buildkit@$BUILDKIT_VERSION"
    local module_dir
    module_dir=$(go mod download -json "github.com/moby/buildkit@$BUILDKIT_VERSION" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$module_dir" ] || fail "go mod download github.com/moby/buildkit@$BUILDKIT_VERSION printed no module folder"

    say "building buildkitd $BUILDKIT_VERSION (about 4 minutes on 2 cores)"
    mkdir -p "$ARCHON_CACHE"
    local work
    work=$(mktemp -d "$ARCHON_CACHE/tmp-buildkit.XXXXXX")
    cp -r "$module_dir/." "$work/"
    chmod -R u+w "$work"
    (cd "$work" && GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath \
        -ldflags "-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION -X github.com/moby/buildkit/version.Package=github.com/moby/buildkit" \
        -o "$work/buildkitd" ./cmd/buildkitd) >&2 \
        || { rm -rf "$work"; fail "go build ./cmd/buildkitd failed in a copy of github.com/moby/buildkit@$BUILDKIT_VERSION; see the output above"; }
    mkdir -p "$CACHE_BIN"
    mv "$work/buildkitd" "$target"
    rm -rf "$work"
    echo "$target"
}
