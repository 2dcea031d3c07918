#!/bin/sh
# Build the release binary into the pack directory `pack/`.
set -eu
cd "$(dirname "$0")"
cargo build --release --quiet
mkdir -p pack/bin
cp "${CARGO_TARGET_DIR:-target}/release/aibox-plugin-hello-rs" pack/bin/aibox-plugin-hello-rs
