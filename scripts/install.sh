#!/bin/sh
# Install aibox from a registry or an OCI image layout that scripts/release published to.
#
#   sh install.sh (--registry oci://HOST/PATH | --layout DIR) [--version V] [--key FILE]
#                 [--bin-dir DIR]
#
#   --registry  where releases are (`<path>/aibox:<version>`); plain HTTP only for loopback
#   --layout    an OCI image layout directory holding `aibox:<version>` instead
#   --version   the version to install (default: the newest stable one)
#   --key       the release signing public key: the release must carry a valid cosign
#               signature by it, and aibox trusts the key from then on
#   --bin-dir   where the `aibox` link goes (default: $XDG_BIN_HOME or ~/.local/bin)
#
# Every blob fetched is checked against its sha256 digest (and, with --key, the release's
# signature) before anything runs. The verified binary then installs itself as generation of
# the `self` profile (`aibox self update --version =V`, which fetches and verifies it again
# under your trust policy) and links `<bin-dir>/aibox` to that profile, so `aibox self update`
# and `aibox self rollback` work from then on. Needs: tar, gzip, sha256sum (or shasum), curl
# (for --registry) and openssl (for --key).
set -eu

registry=""
layout=""
version=""
key=""
bin_dir=""
missing_ok=""
die() { echo "error: $*" >&2; exit 1; }
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --registry) registry=${2:-}; [ -n "$registry" ] || usage; shift 2 ;;
    --layout) layout=${2:-}; [ -n "$layout" ] || usage; shift 2 ;;
    --version) version=${2:-}; [ -n "$version" ] || usage; shift 2 ;;
    --key) key=${2:-}; [ -n "$key" ] || usage; shift 2 ;;
    --bin-dir) bin_dir=${2:-}; [ -n "$bin_dir" ] || usage; shift 2 ;;
    -h|--help) usage ;;
    *) echo "error: unknown argument \`$1\`" >&2; usage ;;
  esac
done
[ -n "$registry$layout" ] || die "give --registry oci://HOST/PATH or --layout DIR"
[ -z "$registry" ] || [ -z "$layout" ] || die "give one of --registry and --layout"
case "$version" in
  ''|[0-9]*.[0-9]*.[0-9]*) ;;
  *) die "\`--version $version\` is not a version (e.g. 0.3.1)" ;;
esac
[ -z "$key" ] || [ -r "$key" ] || die "cannot read the key \`$key\`"
[ -z "$key" ] || command -v openssl >/dev/null 2>&1 || die "--key needs openssl to check the signature"

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
else
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
fi

case "$(uname -s)" in Linux) os=linux ;; Darwin) os=macos ;; *) die "no aibox release for $(uname -s)" ;; esac
case "$(uname -m)" in x86_64|amd64) arch=x86_64 ;; aarch64|arm64) arch=aarch64 ;; *) die "no aibox release for $(uname -m)" ;; esac
platform="$os-$arch"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# --- where blobs come from ------------------------------------------------------------------
accept="application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json"
if [ -n "$registry" ]; then
  command -v curl >/dev/null 2>&1 || die "--registry needs curl"
  rest=${registry#oci://}
  [ "$rest" != "$registry" ] || die "\`$registry\` is not an oci:// URL"
  host=${rest%%/*}
  base=${rest#"$host"}
  base=${base#/}
  repo=${base:+$base/}aibox
  case "$host" in
    localhost|localhost:*|127.*|\[::1\]|\[::1\]:*) scheme=http ;;
    *) scheme=https ;;
  esac
  token=""
  # GET a registry path into a file; on a Bearer challenge, fetch an anonymous token once.
  # A 404 returns 1 when `missing_ok` is set; every other failure ends the script.
  get() {
    auth=""
    [ -z "$token" ] || auth="Authorization: Bearer $token"
    code=$(curl -sS -L -o "$2" -D "$tmp/headers" -w '%{http_code}' \
      -H "Accept: $accept" ${auth:+-H "$auth"} "$scheme://$host/v2/$1") || die "cannot reach $host"
    if [ "$code" = 401 ] && [ -z "$token" ]; then
      challenge=$(tr -d '\r' < "$tmp/headers" | sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: Bearer //p')
      realm=$(echo "$challenge" | sed -n 's/.*realm="\([^"]*\)".*/\1/p')
      service=$(echo "$challenge" | sed -n 's/.*service="\([^"]*\)".*/\1/p')
      [ -n "$realm" ] || die "$host asks for credentials; this installer fetches public releases only"
      curl -sS -f -o "$tmp/token" -G "$realm" --data-urlencode "service=$service" \
        --data-urlencode "scope=repository:$repo:pull" || die "cannot get a token from $realm"
      token=$(tr -d '\n' < "$tmp/token" | sed -n 's/.*"\(access_\)\{0,1\}token" *: *"\([^"]*\)".*/\2/p')
      [ -n "$token" ] || die "no token in the answer of $realm"
      get "$1" "$2"
      return
    fi
    if [ "$code" = 404 ] && [ -n "$missing_ok" ]; then return 1; fi
    [ "$code" = 200 ] || die "GET $scheme://$host/v2/$1: HTTP $code"
  }
  tags() { get "$repo/tags/list" "$tmp/tags"; tr -d '\n ' < "$tmp/tags" | sed -n 's/.*"tags":\[\([^]]*\)\].*/\1/p' | tr ',' '\n' | tr -d '"'; }
  manifest_by_tag() { get "$repo/manifests/$1" "$2"; }
  blob() { get "$repo/blobs/$1" "$2"; check "$1" "$2"; }
  source_url="oci://$host${base:+/$base}"
else
  [ -f "$layout/index.json" ] || die "\`$layout\` is not an OCI image layout (no index.json)"
  layout=$(cd "$layout" && pwd)
  # One line per index.json entry: `<digest> <ref>`.
  refs() {
    tr -d '\n' < "$layout/index.json" | sed 's/{"mediaType"/\n&/g' |
      sed -n 's/.*"digest":"\(sha256:[0-9a-f]\{64\}\)".*"org\.opencontainers\.image\.ref\.name":"\([^"]*\)".*/\1 \2/p'
  }
  tags() { refs | sed -n 's/^[^ ]* aibox:\(.*\)$/\1/p'; }
  manifest_by_tag() {
    d=$(refs | sed -n "s/^\([^ ]*\) aibox:$1\$/\1/p" | head -n1)
    if [ -z "$d" ] && [ -n "$missing_ok" ]; then return 1; fi
    [ -n "$d" ] || die "\`$layout\` has no aibox:$1"
    blob "$d" "$2"
  }
  blob() {
    [ -f "$layout/blobs/sha256/${1#sha256:}" ] || die "\`$layout\` has no blob $1"
    cp "$layout/blobs/sha256/${1#sha256:}" "$2"
    check "$1" "$2"
  }
  source_url="oci-layout:$layout"
fi
check() {
  got="sha256:$(sha256 "$2")"
  [ "$got" = "$1" ] || die "blob $1 has digest $got: refusing it"
}
first_digest() { grep -o '"digest":"sha256:[0-9a-f]\{64\}"' | head -n1 | sed 's/"digest":"\(.*\)"/\1/'; }

# --- which release ----------------------------------------------------------------------------
if [ -z "$version" ]; then
  version=$(tags | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n1)
  [ -n "$version" ] || die "no aibox release at $source_url"
fi
echo "==> installing aibox $version ($platform) from $source_url" >&2
manifest_by_tag "$version" "$tmp/top"
top="sha256:$(sha256 "$tmp/top")"

if [ -n "$key" ]; then
  sig_tag="sha256-${top#sha256:}.sig"
  missing_ok=1
  manifest_by_tag "$sig_tag" "$tmp/sig" || die "aibox $version is not signed (no $sig_tag)"
  missing_ok=""
  ok=""
  tr -d '\n' < "$tmp/sig" | sed 's/{"mediaType"/\n&/g' | grep 'simplesigning' > "$tmp/sigs" || true
  while read -r line; do
    d=$(echo "$line" | first_digest)
    s=$(echo "$line" | sed -n 's/.*"dev\.cosignproject\.cosign\/signature":"\([^"]*\)".*/\1/p')
    [ -n "$d" ] && [ -n "$s" ] || continue
    blob "$d" "$tmp/payload"
    tr -d '\n ' < "$tmp/payload" | grep -q "\"docker-manifest-digest\":\"$top\"" || continue
    echo "$s" | openssl base64 -d -A > "$tmp/sig.der"
    if openssl dgst -sha256 -verify "$key" -signature "$tmp/sig.der" "$tmp/payload" >/dev/null 2>&1; then
      ok=1
      break
    fi
  done < "$tmp/sigs"
  [ -n "$ok" ] || die "aibox $version carries no valid signature by \`$key\`"
  echo "==> signature by $key verified" >&2
fi

# The platform's manifest: the top level itself, or the index entry whose config lists it.
chosen=""
if grep -q '"manifests"' "$tmp/top"; then
  for d in $(grep -o '"digest":"sha256:[0-9a-f]\{64\}"' "$tmp/top" | sed 's/"digest":"\(.*\)"/\1/'); do
    blob "$d" "$tmp/m"
    blob "$(sed 's/"layers".*//' "$tmp/m" | first_digest)" "$tmp/config"
    if tr -d '\n ' < "$tmp/config" | grep -q "\"platforms\":\[[^]]*\"$platform\""; then
      cp "$tmp/m" "$tmp/manifest"
      chosen=1
      break
    fi
  done
else
  cp "$tmp/top" "$tmp/manifest"
  blob "$(sed 's/"layers".*//' "$tmp/manifest" | first_digest)" "$tmp/config"
  tr -d '\n ' < "$tmp/config" | grep -Eq "\"platforms\":\[(\]|[^]]*\"$platform\")" && chosen=1
fi
[ -n "$chosen" ] || die "aibox $version has no release for $platform"
layer=$(sed 's/.*"layers"//' "$tmp/manifest" | first_digest)
blob "$layer" "$tmp/layer"
mkdir -p "$tmp/pack"
if sed 's/.*"layers"//' "$tmp/manifest" | grep -q 'tar+zstd'; then
  command -v zstd >/dev/null 2>&1 || die "this release is zstd-compressed: install zstd"
  zstd -dc "$tmp/layer" | tar -xf - -C "$tmp/pack"
else
  tar -xzf "$tmp/layer" -C "$tmp/pack"
fi
new="$tmp/pack/bin/aibox"
[ -x "$new" ] || die "the release has no bin/aibox"

# --- hand over to aibox -----------------------------------------------------------------------
[ -z "$bin_dir" ] || export AIBOX_BIN_DIR="$bin_dir"
export AIBOX_SELF_REGISTRY="$source_url"
if [ -n "$key" ]; then
  "$new" trust add "$key"
fi
"$new" self update --version "=$version"
"$new" --quiet config set update.registry "$source_url" >/dev/null
echo "==> aibox $version installed; \`aibox self update\` updates it, \`aibox self rollback\` goes back" >&2
