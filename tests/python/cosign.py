#!/usr/bin/env python3
"""Independent peer implementation of cosign's key-based signing formats (test use only).

Written from scratch (stdlib + `cryptography` + PyNaCl) so the Rust test-suite can check
interoperability without a cosign binary. Formats implemented, and where each was checked:

* Encrypted private key -- cosign pkg/cosign/keys.go: PKCS#8 DER (x509.MarshalPKCS8PrivateKey)
  sealed by go-securesystemslib encrypted/encrypted.go (v0.11.0, pinned by cosign's go.mod),
  stored in PEM block "ENCRYPTED SIGSTORE PRIVATE KEY" (legacy "ENCRYPTED COSIGN PRIVATE KEY"
  is still accepted on load). The block body is Go json.Marshal of
      {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":B64},
       "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}
  ([]byte fields = standard padded base64). Salt 32 bytes, scrypt key 32 bytes, secretbox
  nonce 24 bytes, ciphertext = secretbox.Seal (16-byte Poly1305 tag || XSalsa20 data).
  encrypted.Encrypt uses the "Standard" strength N=2^16 (older keys carry N=2^15); Decrypt
  accepts exactly N in {2^15, 2^16, 2^17} with r=8, p=1 and rejects other KDF/cipher names.
* Public key -- sigstore pkg/cryptoutils/publickey.go: PEM "PUBLIC KEY", PKIX SubjectPublicKeyInfo.
* Payload -- sigstore pkg/signature/payload/payload.go: Go json.Marshal of SimpleContainerImage
  (struct order critical{identity{docker-reference}, image{docker-manifest-digest}, type},
  optional), type "cosign container image signature"; `optional` is a nil map -> null unless
  -a annotations are given (cmd/cosign/cli/options/annotations.go). docker-reference is
  go-containerregistry name.Repository.Name() (pkg/name/repository.go, registry.go).
* Signature -- ECDSA P-256, SHA-256 of the payload, ASN.1 DER, standard base64, annotation
  "dev.cosignproject.cosign/signature" (cosign pkg/oci/static/signature.go).
* .sig manifest -- tag "sha256-<hex>.sig" (pkg/oci/remote/remote.go normalize, options.go);
  layer media type "application/vnd.dev.cosign.simplesigning.v1+json" (pkg/types/media.go),
  manifest "application/vnd.oci.image.manifest.v1+json", config
  "application/vnd.oci.image.config.v1+json" (pkg/oci/empty/empty.go, static/options.go).
  The config blob is ggcr's empty image config after mutate.Append (ggcr pkg/v1/empty/image.go,
  pkg/v1/config.go, pkg/v1/mutate/image.go), e.g. for one layer:
      {"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":
       "0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:.."]},"config":{}}
  Appending adds a layer + diff_id + history entry; a new signature whose payload is already
  present with a signature that verifies under the same key is a duplicate and is not added
  (pkg/cosign/remote/remote.go DupeDetector).
  Scope: this is the legacy tag scheme (`cosign sign --new-bundle-format=false`; cosign v3
  defaults that flag to true, cmd/cosign/cli/options/sign.go) with no transparency log, i.e. no
  dev.sigstore.cosign/bundle annotation (as with --tlog-upload=false).
* Verification -- signature over the payload, then payload critical.image.docker-manifest-digest
  must equal the expected digest (pkg/cosign/verifiers.go SimpleClaimVerifier).
"""
import argparse, base64, hashlib, json, os, re, sys, tempfile, urllib.error, urllib.parse, urllib.request
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
import nacl.exceptions, nacl.secret

PEM_SIGSTORE, PEM_COSIGN = "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"
SCRYPT_ALLOWED = {(32768, 8, 1), (65536, 8, 1), (131072, 8, 1)}
SCRYPT_DEFAULT_N, SALT_LEN, NONCE_LEN, KEY_LEN = 65536, 32, 24, 32
SIG_TYPE = "cosign container image signature"
SIG_ANN = "dev.cosignproject.cosign/signature"
MT_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
KIND_SIGS = "dev.cosignproject.cosign/sigs"  # `cosign save` layout marker (pkg/oci/layout/index.go)
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, always emitted (struct, not omitted)
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

class CosignError(Exception):
    pass

# ---------------------------------------------------------------- encodings
def go_json(obj):
    """Bytes as Go's encoding/json.Marshal writes them (compact, UTF-8, HTML-safe escapes)."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(ch, esc)
    return s.encode()

def b64(data):
    return base64.b64encode(data).decode()

def unb64(text):
    return base64.b64decode(text, validate=True)

def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()

def pem_encode(label, der):
    body = b64(der)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)).encode()

def pem_decode(data):
    m = re.search(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", data, re.S)
    if not m:
        raise CosignError("invalid pem block")
    return m.group(1).decode(), base64.b64decode(b"".join(m.group(2).split()), validate=True)

# ---------------------------------------------------------------- key envelope
def scrypt_key(password, salt, n, r, p):
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 << 20, dklen=KEY_LEN)

def encrypt_envelope(plaintext, password, n=SCRYPT_DEFAULT_N):
    if (n, 8, 1) not in SCRYPT_ALLOWED:
        raise CosignError("unsupported scrypt N %d" % n)
    salt, nonce = os.urandom(SALT_LEN), os.urandom(NONCE_LEN)
    sealed = nacl.secret.SecretBox(scrypt_key(password, salt, n, 8, 1)).encrypt(plaintext, nonce).ciphertext
    return go_json({"kdf": {"name": "scrypt", "params": {"N": n, "r": 8, "p": 1}, "salt": b64(salt)},
                    "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)}, "ciphertext": b64(sealed)})

def decrypt_envelope(blob, password):
    env = json.loads(blob)
    kdf, cipher = env.get("kdf") or {}, env.get("cipher") or {}
    if kdf.get("name") != "scrypt":
        raise CosignError("encrypted: unknown kdf name %r" % kdf.get("name"))
    if cipher.get("name") != "nacl/secretbox":
        raise CosignError("encrypted: unknown cipher name %r" % cipher.get("name"))
    prm = kdf.get("params") or {}
    params = (prm.get("N"), prm.get("r"), prm.get("p"))
    if params not in SCRYPT_ALLOWED:
        raise CosignError("unsupported scrypt parameters")
    nonce = unb64(cipher.get("nonce") or "")
    if len(nonce) != NONCE_LEN:
        raise CosignError("encrypted: incorrect nonce size")
    key = scrypt_key(password, unb64(kdf.get("salt") or ""), *params)
    try:
        return nacl.secret.SecretBox(key).decrypt(unb64(env.get("ciphertext") or ""), nonce)
    except nacl.exceptions.CryptoError:
        raise CosignError("encrypted: decryption failed") from None

def password_from_env():
    return os.environ.get("COSIGN_PASSWORD", "").encode()

# ---------------------------------------------------------------- keys and signatures
def public_pem(pub):
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

def generate_key_pair(password, n=SCRYPT_DEFAULT_N):
    priv = ec.generate_private_key(ec.SECP256R1())
    der = priv.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem_encode(PEM_SIGSTORE, encrypt_envelope(der, password, n)), public_pem(priv.public_key())

def is_pkcs8(der):
    """PrivateKeyInfo: SEQUENCE { INTEGER 0, SEQUENCE AlgorithmIdentifier, ... } (not SEC1/PKCS#1)."""
    if len(der) < 8 or der[0] != 0x30:
        return False
    i = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    return der[i:i + 4] == b"\x02\x01\x00\x30"

def load_private_key(pem_bytes, password):
    label, body = pem_decode(pem_bytes)
    if label not in (PEM_SIGSTORE, PEM_COSIGN):
        raise CosignError("unsupported pem type: %s" % label)
    der = decrypt_envelope(body, password)
    if not is_pkcs8(der):
        raise CosignError("parsing private key: not PKCS#8")
    key = serialization.load_der_private_key(der, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CosignError("this peer only handles ECDSA P-256 keys")
    return key

def load_public_key(pem_bytes):
    label, der = pem_decode(pem_bytes)
    if label != "PUBLIC KEY":
        raise CosignError("unknown Public key PEM file type: %s" % label)
    key = serialization.load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CosignError("this peer only handles ECDSA public keys")
    return key

def sign(priv, payload):
    return b64(priv.sign(payload, ec.ECDSA(hashes.SHA256())))

def verify(pub, payload, b64sig):
    try:
        pub.verify(unb64(b64sig.strip()), payload, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False

# ---------------------------------------------------------------- simple-signing payload
def docker_reference(repo):
    """go-containerregistry name.Repository.Name() for a repository string."""
    parts = repo.split("/", 1)
    registry, path = "", repo
    if len(parts) == 2 and (parts[0] == "localhost" or any(c in parts[0] for c in ".:")):
        registry, path = parts
    if registry in ("", "docker.io"):
        registry = "index.docker.io"
    if registry == "index.docker.io" and "/" not in path:
        path = "library/" + path
    return registry + "/" + path

def make_payload(repo, digest, annotations=None):
    if not DIGEST_RE.match(digest):
        raise CosignError("invalid digest %r" % digest)
    return go_json({"critical": {"identity": {"docker-reference": docker_reference(repo)},
                                 "image": {"docker-manifest-digest": digest}, "type": SIG_TYPE},
                    "optional": dict(sorted(annotations.items())) if annotations else None})

def payload_matches(payload, digest):
    try:
        found = json.loads(payload)["critical"]["image"]["docker-manifest-digest"]
    except (ValueError, KeyError, TypeError):
        return False
    return found == digest

# ---------------------------------------------------------------- signature manifest
# Field order of the Go structs (ggcr pkg/v1/manifest.go, pkg/v1/config.go); "?" marks omitempty.
DESCRIPTOR = "mediaType size digest data? urls? annotations? platform? artifactType?"
MANIFEST = "schemaVersion mediaType? config layers annotations? subject? artifactType?"
CONFIG = "architecture author? container? created docker_version? history? os rootfs config os.version? variant? os.features?"
HISTORY = "author? created created_by? comment? empty_layer?"

def go_struct(obj, fields, defaults=None):
    """Re-order a parsed object as Go would marshal the struct (maps, i.e. annotations, sorted)."""
    out = {}
    for f in fields.split():
        k = f.rstrip("?")
        v = obj.get(k)
        v = (defaults or {}).get(k) if v is None else v
        if not (f.endswith("?") and not v):
            out[k] = dict(sorted(v.items())) if k == "annotations" else v
    return out

def go_manifest(m):
    desc = lambda d: go_struct(d, DESCRIPTOR, {"mediaType": "", "size": 0, "digest": ""})
    return go_struct(dict(m, config=desc(m["config"]), layers=[desc(d) for d in m.get("layers") or []] or None,
                          subject=m.get("subject") and desc(m["subject"])), MANIFEST)

def go_config(c):
    hist = [go_struct(h, HISTORY, {"created": ZERO_TIME}) for h in c.get("history") or []]
    rootfs = go_struct(c.get("rootfs") or {}, "type diff_ids", {"type": ""})
    return go_struct(dict(c, history=hist, rootfs=rootfs), CONFIG,
                     {"architecture": "", "created": ZERO_TIME, "os": "", "config": {}})

def empty_signatures():
    """cosign's empty.Signatures(): ggcr empty.Image switched to OCI manifest/config media types."""
    config = {"architecture": "", "created": ZERO_TIME, "os": "", "rootfs": {"type": "layers", "diff_ids": None}, "config": {}}
    return {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST, "config": {"mediaType": MT_OCI_CONFIG}, "layers": None}, config

def append_signature(manifest, config, payload, b64sig, pub):
    """ggcr mutate.Append of one signature layer, skipped when cosign's DupeDetector finds the payload
    already signed by `pub`. `config` is a parsed image config (or raw bytes for a non-image config).
    Returns (manifest_bytes, config_bytes, appended)."""
    layers, pdigest = list(manifest.get("layers") or []), sha256_digest(payload)
    dup = any(d.get("mediaType") == MT_SIMPLESIGNING and d.get("digest") == pdigest
              and verify(pub, payload, (d.get("annotations") or {}).get(SIG_ANN, "")) for d in layers)
    image_config = manifest["config"].get("mediaType") in (MT_OCI_CONFIG, MT_DOCKER_CONFIG)
    if not dup:
        layers.append({"mediaType": MT_SIMPLESIGNING, "size": len(payload), "digest": pdigest, "annotations": {SIG_ANN: b64sig}})
        if image_config:
            rootfs = dict(config.get("rootfs") or {})
            rootfs["diff_ids"] = list(rootfs.get("diff_ids") or []) + [pdigest]
            config = dict(config, rootfs=rootfs, history=list(config.get("history") or []) + [{"created": ZERO_TIME}])
    config_bytes = go_json(go_config(config)) if image_config else config
    cfg = dict(manifest["config"], size=len(config_bytes), digest=sha256_digest(config_bytes))
    return go_json(go_manifest(dict(manifest, config=cfg, layers=layers))), config_bytes, not dup

def verify_manifest(manifest_bytes, read_blob, pub, digest):
    """Count the layers whose signature verifies under `pub` and whose payload names `digest`."""
    layers = json.loads(manifest_bytes).get("layers") or []
    good = 0
    for d in layers:
        try:
            payload = read_blob(d["digest"])
        except (CosignError, OSError, urllib.error.URLError, KeyError):
            continue
        if sha256_digest(payload) != d.get("digest"):
            continue
        sig = (d.get("annotations") or {}).get(SIG_ANN, "")
        if sig and verify(pub, payload, sig) and payload_matches(payload, digest):
            good += 1
    return good, len(layers)

def sig_tag(digest):
    if not DIGEST_RE.match(digest):
        raise CosignError("invalid digest %r" % digest)
    return digest.replace(":", "-", 1) + ".sig"

# ---------------------------------------------------------------- OCI distribution client (anonymous, plain HTTP)
def http(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()

def registry_get_manifest(base, repo, ref):
    accept = ", ".join((MT_OCI_MANIFEST, MT_DOCKER_MANIFEST))
    status, _, body = http("GET", "%s/v2/%s/manifests/%s" % (base, repo, ref), headers={"Accept": accept})
    if status == 404:
        return None
    if status != 200:
        raise CosignError("GET manifest %s: HTTP %d" % (ref, status))
    return body

def registry_get_blob(base, repo, digest):
    status, _, body = http("GET", "%s/v2/%s/blobs/%s" % (base, repo, digest))
    if status != 200 or sha256_digest(body) != digest:
        raise CosignError("GET blob %s: HTTP %d or digest mismatch" % (digest, status))
    return body

def registry_put_blob(base, repo, data):
    digest = sha256_digest(data)
    if http("HEAD", "%s/v2/%s/blobs/%s" % (base, repo, digest))[0] == 200:
        return digest
    status, hdrs, _ = http("POST", "%s/v2/%s/blobs/uploads/" % (base, repo), data=b"")
    if status not in (201, 202) or not hdrs.get("Location"):
        raise CosignError("POST upload: HTTP %d" % status)
    loc = urllib.parse.urljoin(base + "/", hdrs["Location"])
    loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(digest)
    status, _, _ = http("PUT", loc, data=data, headers={"Content-Type": "application/octet-stream"})
    if status not in (201, 204):
        raise CosignError("PUT blob %s: HTTP %d" % (digest, status))
    return digest

def sign_registry(priv, base, repo, digest, annotations=None):
    base = base.rstrip("/")
    host = urllib.parse.urlsplit(base).netloc
    payload = make_payload(host + "/" + repo, digest, annotations)
    tag = sig_tag(digest)
    existing = registry_get_manifest(base, repo, tag)
    if existing is None:
        manifest, config = empty_signatures()
    else:
        manifest = json.loads(existing)
        config = registry_get_blob(base, repo, manifest["config"]["digest"])
        if manifest["config"].get("mediaType") in (MT_OCI_CONFIG, MT_DOCKER_CONFIG):
            config = json.loads(config)
    mbytes, cbytes, _ = append_signature(manifest, config, payload, sign(priv, payload), priv.public_key())
    registry_put_blob(base, repo, payload)
    registry_put_blob(base, repo, cbytes)
    mt = json.loads(mbytes).get("mediaType", MT_OCI_MANIFEST)
    status, _, body = http("PUT", "%s/v2/%s/manifests/%s" % (base, repo, tag), data=mbytes, headers={"Content-Type": mt})
    if status not in (200, 201):
        raise CosignError("PUT manifest: HTTP %d %s" % (status, body[:200]))
    return {"manifest_digest": sha256_digest(mbytes), "layers": len(json.loads(mbytes)["layers"])}

def verify_registry(pub, base, repo, digest):
    base = base.rstrip("/")
    mbytes = registry_get_manifest(base, repo, sig_tag(digest))
    if mbytes is None:
        return 0, 0
    return verify_manifest(mbytes, lambda d: registry_get_blob(base, repo, d), pub, digest)

def verify_layout(pub, layout, name, digest):
    def read_blob(d):
        if not DIGEST_RE.match(d):
            raise CosignError("bad digest %r" % d)
        with open(os.path.join(layout, "blobs", "sha256", d[7:]), "rb") as f:
            return f.read()
    with open(os.path.join(layout, "index.json"), "rb") as f:
        entries = json.load(f).get("manifests") or []
    want = "%s:%s" % (name, sig_tag(digest))
    hits = [e for e in entries if (e.get("annotations") or {}).get(REF_NAME) == want]
    hits = hits or [e for e in entries if (e.get("annotations") or {}).get("kind") == KIND_SIGS]
    if not hits:
        return 0, 0
    mbytes = read_blob(hits[0]["digest"])
    if sha256_digest(mbytes) != hits[0]["digest"]:
        raise CosignError("signature manifest digest mismatch")
    return verify_manifest(mbytes, read_blob, pub, digest)

# ---------------------------------------------------------------- self test (offline)
# Go-produced fixtures from cosign pkg/cosign/keys_test.go (password "hello"): a PKCS#8 EC key
# (N=2^15) that must load, and a SEC1 EC key (N=2^16) that decrypts but must be refused.
FIXTURE_SIGSTORE = b"""-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6OCwicCI6MX0sInNhbHQiOiI3T3VGd2VsbWZZNXVId2NoaURSc210anNwZ2ZlZjFG
Mk5lOGFDTjVLYVpZPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94Iiwibm9uY2UiOiJQNHk4OGhCb3ZTa09MbXN0bFVBaGJwdDJ0K2xTNUxQSCJ9LCJj
aXBoZXJ0ZXh0IjoiMnB1QzdyZldJOWh3bnJlQ2s4aUZDRlVwQlRrSzRJNlIvbFBFcnBDekpXUGpJWXl4eGVIL1A2VW52cFJHdVhla1NNb3JMdGhLamdoQ1JlNy82NDVH
QWtoVm1LRC92eEF0S2EvbE1abENSQ3FlekJGUFd1dzNpeFRtZ2xhb2J1ZFVSbUVsbmNGOGlZbzBTMVl6Y1ZOMVFwY2J2c0dNcUlYRzVlbmdteGp5dCtBcXlyZTF0Q0Y0
V01tU1BlaEljNlBqd2h1Q2xHaVpJUWRvTGc9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
"""
FIXTURE_COSIGN_SEC1 = b"""-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6OCwicCI6MX0sInNhbHQiOiJHK3F5WTYrNzhNS0JzMXNGTGs1ajYwcS9kS3Z1czBW
VkhlSHZybC9POTF3PSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94Iiwibm9uY2UiOiJRc2JGdG13WDRDK2ttV3ZCcVRaMEFGOUFYdk1jRmg1SCJ9LCJj
aXBoZXJ0ZXh0IjoiREM5T28zeldiYVQzSXYwdFVnWEdycjUxYW1samwwNlQ5MTNPVkxPbWpuMWhnK2o2WXRUbWg3SGhZSlY1N2J5eGE0Q281bE9YYmRqbTJ3aklubEd1
Um5aZCt5OExnekpSNzFSeEhKVzgrWmRlcFJmYWJMTjdHbDgrSFZEcERVQ3NxQnRhVngyblpGbFEwWUl1anZwbFphblNGaUVvdERLVGkxZ3VhUXIwUHNzYU01NXZxbTRY
WS9rPSJ9
-----END ENCRYPTED COSIGN PRIVATE KEY-----
"""

def selftest():
    def expect_error(fn, what):
        try:
            fn()
        except CosignError:
            return
        raise AssertionError(what + " unexpectedly succeeded")
    d = "sha256:" + "ab" * 32
    expected = ('{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/team/app"},"image":'
                '{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' % d)
    assert make_payload("127.0.0.1:5000/team/app", d) == expected.encode()
    assert docker_reference("alpine") == "index.docker.io/library/alpine"
    assert docker_reference("docker.io/foo/bar") == "index.docker.io/foo/bar"
    assert docker_reference("localhost/x") == "localhost/x"
    assert b'"optional":{"a":"1","b":"\\u003c"}' in make_payload("r.io/x", d, {"b": "<", "a": "1"})
    # key pair round trip, envelope shape, wrong password, tamper cases
    priv_pem, pub_pem = generate_key_pair(b"s3cret")
    label, body = pem_decode(priv_pem)
    env = json.loads(body)
    assert label == PEM_SIGSTORE and list(env) == ["kdf", "cipher", "ciphertext"]
    assert env["kdf"]["params"] == {"N": 65536, "r": 8, "p": 1} and list(env["kdf"]["params"]) == ["N", "r", "p"]
    assert len(unb64(env["kdf"]["salt"])) == 32 and len(unb64(env["cipher"]["nonce"])) == 24
    assert pub_pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    priv, pub = load_private_key(priv_pem, b"s3cret"), load_public_key(pub_pem)
    assert public_pem(priv.public_key()) == pub_pem
    expect_error(lambda: load_private_key(priv_pem, b"wrong"), "wrong password")
    legacy = load_private_key(generate_key_pair(b"", n=32768)[0], b"")
    payload = make_payload("127.0.0.1:5000/team/app", d)
    sig = sign(priv, payload)
    assert verify(pub, payload, sig) and payload_matches(payload, d)
    assert not payload_matches(payload, "sha256:" + "cd" * 32)
    assert not verify(pub, payload.replace(b"ab", b"ac", 1), sig), "tampered payload verified"
    raw = bytearray(unb64(sig)); raw[-1] ^= 1
    assert not verify(pub, payload, b64(bytes(raw))), "tampered signature verified"
    assert not verify(legacy.public_key(), payload, sig), "wrong key verified"
    assert not verify(pub, payload, "not base64!"), "garbage signature verified"
    # bad envelopes are rejected, as go-securesystemslib does
    for k, v in (("params", {"N": 1024, "r": 8, "p": 1}), ("name", "pbkdf2")):
        bad = json.loads(body); bad["kdf"][k] = v
        expect_error(lambda: load_private_key(pem_encode(PEM_SIGSTORE, go_json(bad)), b"s3cret"), "bad kdf " + k)
    expect_error(lambda: load_private_key(pub_pem, b""), "loading a public key as private")
    # Go-produced keys from cosign's own tests
    assert isinstance(load_private_key(FIXTURE_SIGSTORE, b"hello"), ec.EllipticCurvePrivateKey)
    assert not is_pkcs8(decrypt_envelope(pem_decode(FIXTURE_COSIGN_SEC1)[1], b"hello"))
    expect_error(lambda: load_private_key(FIXTURE_COSIGN_SEC1, b"hello"), "SEC1 key load")
    # .sig manifest: append, duplicate detection, config blob shape, layout verification
    manifest, config = empty_signatures()
    m1, c1, added = append_signature(manifest, config, payload, sig, pub)
    assert added and c1 == ('{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":'
                            '"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["%s"]},'
                            '"config":{}}' % sha256_digest(payload)).encode()
    assert m1.startswith(b'{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","size":%d,"digest":"%s"}'
                         % (MT_OCI_MANIFEST.encode(), MT_OCI_CONFIG.encode(), len(c1), sha256_digest(c1).encode()))
    m_dup, _, added = append_signature(json.loads(m1), json.loads(c1), payload, sign(priv, payload), pub)
    assert not added and m_dup == m1, "duplicate signature appended"
    m2, c2, added = append_signature(json.loads(m1), json.loads(c1), payload, sign(legacy, payload), legacy.public_key())
    assert added and len(json.loads(m2)["layers"]) == 2 and c2.count(b'{"created"') == 2
    other = make_payload("127.0.0.1:5000/team/app", "sha256:" + "cd" * 32)  # valid signature, wrong image
    m3, c3, _ = append_signature(json.loads(m2), json.loads(c2), other, sign(priv, other), pub)
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "blobs", "sha256"))
        for blob in (payload, other, c3, m3):
            with open(os.path.join(tmp, "blobs", "sha256", sha256_digest(blob)[7:]), "wb") as f:
                f.write(blob)
        idx = {"schemaVersion": 2, "manifests": [{"mediaType": MT_OCI_MANIFEST, "size": len(m3), "digest": sha256_digest(m3),
                                                  "annotations": {REF_NAME: "app:" + sig_tag(d)}}]}
        with open(os.path.join(tmp, "index.json"), "wb") as f:
            f.write(go_json(idx))
        assert verify_layout(pub, tmp, "app", d) == (1, 3)
        assert verify_layout(legacy.public_key(), tmp, "app", d) == (1, 3)
        assert verify_layout(ec.generate_private_key(ec.SECP256R1()).public_key(), tmp, "app", d) == (0, 3)
        assert verify_layout(pub, tmp, "other", d) == (0, 0)
        with open(os.path.join(tmp, "blobs", "sha256", sha256_digest(payload)[7:]), "wb") as f:
            f.write(payload.replace(b"app", b"apq"))  # blob no longer matches its descriptor digest
        assert verify_layout(pub, tmp, "app", d) == (0, 3)
    print("selftest: ok")

# ---------------------------------------------------------------- CLI
def read(path):
    with open(path, "rb") as f:
        return f.read()

def main(argv=None):
    ap = argparse.ArgumentParser(description="independent cosign key-based peer (tests only)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    spec = {"generate-key-pair": [], "public-key": ["key"], "sign-blob": ["key", "payload"],
            "verify-blob": ["key", "payload", "signature"], "payload": ["repo", "digest"],
            "sign-registry": ["key", "registry", "repo", "digest"], "verify-registry": ["key", "registry", "repo", "digest"],
            "verify-layout": ["key", "layout", "name", "digest"], "selftest": []}
    for cmd, opts in spec.items():
        p = sub.add_parser(cmd)
        for o in opts:
            p.add_argument("--" + o, required=True)
        if cmd in ("payload", "sign-registry"):
            p.add_argument("-a", "--annotations", action="append", default=[], help="key=value put in `optional`")
    gen = sub.choices["generate-key-pair"]
    gen.add_argument("--output-key-prefix", default="cosign")
    gen.add_argument("--scrypt-n", type=int, default=SCRYPT_DEFAULT_N, choices=sorted(n for n, _, _ in SCRYPT_ALLOWED))
    args = ap.parse_args(argv)
    out = sys.stdout.buffer
    ann = dict(a.split("=", 1) for a in getattr(args, "annotations", []) or []) or None
    try:
        if args.cmd == "selftest":
            selftest()
        elif args.cmd == "generate-key-pair":
            priv_pem, pub_pem = generate_key_pair(password_from_env(), args.scrypt_n)
            fd = os.open(args.output_key_prefix + ".key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(priv_pem)
            with open(args.output_key_prefix + ".pub", "wb") as f:
                f.write(pub_pem)
        elif args.cmd == "public-key":
            out.write(public_pem(load_private_key(read(args.key), password_from_env()).public_key()))
        elif args.cmd == "sign-blob":
            out.write((sign(load_private_key(read(args.key), password_from_env()), read(args.payload)) + "\n").encode())
        elif args.cmd == "verify-blob":
            sig = read(args.signature).decode() if os.path.isfile(args.signature) else args.signature
            ok = verify(load_public_key(read(args.key)), read(args.payload), sig)
            print("Verified OK" if ok else "error: invalid signature", file=sys.stderr)
            return 0 if ok else 1
        elif args.cmd == "payload":
            out.write(make_payload(args.repo, args.digest, ann))
        elif args.cmd == "sign-registry":
            priv = load_private_key(read(args.key), password_from_env())
            print(json.dumps(sign_registry(priv, args.registry, args.repo, args.digest, ann)))
        else:
            pub = load_public_key(read(args.key))
            if args.cmd == "verify-registry":
                good, n = verify_registry(pub, args.registry, args.repo, args.digest)
            else:
                good, n = verify_layout(pub, args.layout, args.name, args.digest)
            print(json.dumps({"verified": good, "layers": n}))
            return 0 if good else 1
    except (CosignError, OSError, ValueError, urllib.error.URLError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
