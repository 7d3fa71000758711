# Shared by the bench-* scripts: the release build of baton and baton-daemon (scripts/build-release),
# unless $BATON_BIN is set (then baton-daemon must be beside it).
baton_release_binary() {
  if [[ -n "${BATON_BIN:-}" ]]; then
    echo "$BATON_BIN"
    return
  fi
  local top
  top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  echo "bench: building release binaries (scripts/build-release) ..." >&2
  "$top/scripts/build-release" "$top/.build-release/bin" >/dev/null || return 1
  echo "$top/.build-release/bin/baton"
}
