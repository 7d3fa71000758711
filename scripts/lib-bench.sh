# Shared by the bench-* scripts: a release build of baton (unless $BATON_BIN is set).
baton_release_binary() {
  if [[ -n "${BATON_BIN:-}" ]]; then
    echo "$BATON_BIN"
    return
  fi
  local top
  top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  echo "bench: building release (static Swift stdlib) ..." >&2
  (cd "$top" && swift build -c release --static-swift-stdlib --product baton --scratch-path .build-release >&2)
  echo "$top/.build-release/release/baton"
}
