# shellkit: helpers for POSIX shell scripts. Source it: . "$SHELLKIT"
sk_log() { printf '%s\n' "$*" >&2; }
sk_die() { printf 'error: %s\n' "$*" >&2; exit 1; }
sk_require() {
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || sk_die "\`$cmd\` is required but not on PATH"
  done
}
