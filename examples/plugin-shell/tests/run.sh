#!/bin/sh
# The plugin's own test: `sh tests/run.sh`.
set -eu
cd "$(dirname "$0")/.."
out=$(AIBOX_WORKSPACE=/ws bin/aibox-plugin-greet team)
[ "$out" = "hello team from greet in /ws" ] || { echo "unexpected: $out" >&2; exit 1; }
echo "ok"
