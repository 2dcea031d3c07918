#!/usr/bin/env python3
"""A test Sigstore, written independently of aibox (test use only): a Fulcio-like CA, a
Certificate Transparency log and a Rekor-like transparency log, each a local key, and the
bundles they make together. Stdlib + `cryptography`.

Formats, and where each comes from:

* Trusted root -- sigstore/protobuf-specs `TrustedRoot` JSON (trusted_root.proto):
  `tlogs` and `ctlogs` entries hold `publicKey.rawBytes` (DER SubjectPublicKeyInfo, base64),
  `keyDetails`, `validFor.start`, and `logId.keyId` = base64 SHA-256 of that DER;
  `certificateAuthorities[].certChain.certificates[].rawBytes`, the chain from the intermediate
  to the root.
* Certificate -- Fulcio's: empty subject, a critical SAN with the identity (a URI), EKU
  codeSigning, the OIDC issuer in OID 1.3.6.1.4.1.57264.1.1 (raw UTF-8) and .1.8 (DER
  UTF8String), and an embedded SCT list (OID 1.3.6.1.4.1.11129.2.4.2, RFC 6962 §3.3) added as
  the last extension after the SCT was signed over the precertificate TBS, i.e. the same TBS
  without that extension (RFC 6962 §3.2): digitally-signed struct of version 0, signature type
  0, timestamp (ms), entry type 1 (precert), SHA-256 of the issuer's SubjectPublicKeyInfo, the
  24-bit-length TBS, empty extensions.
* Rekor entry -- `hashedrekord` v0.0.1 (blob signatures) and `dsse` v0.0.1 (attestations), as
  canonical JSON (sorted keys, no spaces). The Signed Entry Timestamp signs the canonical JSON
  of {body (base64), integratedTime, logID (hex), logIndex}. The inclusion proof is RFC 6962
  (leaf = SHA-256(0x00 || body), node = SHA-256(0x01 || l || r)); the checkpoint is a signed
  note "<origin>\\n<size>\\n<base64 root>\\n\\n— <origin> <base64(4-byte key hint || sig)>\\n",
  the key hint being the first 4 bytes of the log id.
* Bundles -- cosign's legacy `--bundle` file ({base64Signature, cert: base64 of the PEM,
  rekorBundle: {SignedEntryTimestamp, Payload: {body, integratedTime, logIndex, logID}}}), and
  the Sigstore bundle v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`: a
  `verificationMaterial` with `certificate.rawBytes` and one `tlogEntries` item, and a
  `messageSignature` or a `dsseEnvelope` whose payload is an in-toto statement v1).

Usage:
  sigstore_peer.py init DIR                  CA, CT log, Rekor keys, DIR/trusted_root.json and
                                             DIR/trust_config.json (sigstore-python's form)
  sigstore_peer.py sign DIR ARTIFACT OUT --identity URI --issuer URL
       [--format legacy|v0.3|dsse|pair] [--tamper set|proof|body|artifact]
       [--foreign-ca] [--expired]
  `pair` writes OUT.sig (base64) and OUT.pem (the certificate), with no log entry.
"""
import argparse, base64, datetime, hashlib, json, os, struct, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
ORIGIN = "rekor.test - 4242"
# The fixed signing time: the log's integrated time, inside the certificate's 10 minutes.
NOW = datetime.datetime(2026, 1, 15, 12, 0, 0, tzinfo=datetime.timezone.utc)


def b64(b):
    return base64.b64encode(b).decode()


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def spki(key):
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(key, data):
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def save_key(path, key):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def ca_cert(name, key, issuer_name, issuer_key, path_len, start, end, code_signing):
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.test"),
                                  x509.NameAttribute(NameOID.COMMON_NAME, name)]))
         .issuer_name(issuer_name)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
         .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                        critical=True))
    if code_signing:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                        critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def make_ca(d, prefix):
    start, end = NOW - datetime.timedelta(days=365), NOW + datetime.timedelta(days=3650)
    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.test"),
                           x509.NameAttribute(NameOID.COMMON_NAME, prefix + "root")])
    root = ca_cert(prefix + "root", root_key, root_name, root_key, 1, start, end, False)
    inter = ca_cert(prefix + "intermediate", inter_key, root.subject, root_key, 0, start, end, True)
    save_key(os.path.join(d, prefix + "ca.key"), inter_key)
    for name, c in (("root.der", root), ("intermediate.der", inter)):
        with open(os.path.join(d, prefix + name), "wb") as f:
            f.write(c.public_bytes(serialization.Encoding.DER))
    return root, inter


def log_entry(key, start):
    raw = spki(key)
    return {"baseUrl": "https://log.test", "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64(raw), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                          "validFor": {"start": start}},
            "logId": {"keyId": b64(hashlib.sha256(raw).digest())}}


def init(d):
    os.makedirs(d, exist_ok=True)
    root, inter = make_ca(d, "")
    make_ca(d, "foreign-")
    ct, rekor = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    save_key(os.path.join(d, "ct.key"), ct)
    save_key(os.path.join(d, "rekor.key"), rekor)
    start = (NOW - datetime.timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    trusted = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [log_entry(rekor, start)],
        "certificateAuthorities": [{
            "subject": {"organization": "sigstore.test", "commonName": "root"},
            "uri": "https://fulcio.test",
            "certChain": {"certificates": [
                {"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))} for c in (inter, root)]},
            "validFor": {"start": start}}],
        "ctlogs": [log_entry(ct, start)],
        "timestampAuthorities": [],
    }
    with open(os.path.join(d, "trusted_root.json"), "w") as f:
        json.dump(trusted, f, indent=2)
    # The same root as a client trust configuration (sigstore-python's `--trust-config`,
    # protobuf-specs ClientTrustConfig with a v0.1 SigningConfig naming the test services).
    config = {"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
              "trustedRoot": trusted,
              "signingConfig": {"caUrl": "https://fulcio.test", "oidcUrl": "https://oauth2.test",
                                "tlogUrls": ["https://log.test"], "tsaUrls": []}}
    with open(os.path.join(d, "trust_config.json"), "w") as f:
        json.dump(config, f, indent=2)


def leaf_cert(d, identity, issuer, prefix, expired):
    inter_key = load_key(os.path.join(d, prefix + "ca.key"))
    with open(os.path.join(d, prefix + "intermediate.der"), "rb") as f:
        inter = x509.load_der_x509_certificate(f.read())
    ct = load_key(os.path.join(d, "ct.key"))
    key = ec.generate_private_key(ec.SECP256R1())
    # Fulcio certificates live ten minutes; an "expired" one ended before the log's time.
    start = NOW - datetime.timedelta(minutes=30 if expired else 5)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([]))
         .issuer_name(inter.subject)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(start + datetime.timedelta(minutes=10))
         .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                        critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()),
                        critical=False)
         .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]),
                        critical=True)
         .add_extension(x509.UnrecognizedExtension(ISSUER_V1, issuer.encode()), critical=False)
         .add_extension(x509.UnrecognizedExtension(ISSUER_V2, der(0x0C, issuer.encode())),
                        critical=False))
    precert = b.sign(inter_key, hashes.SHA256())
    tbs = precert.tbs_certificate_bytes
    issuer_key_hash = hashlib.sha256(inter.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
    ts = int(start.timestamp() * 1000)
    signed = (bytes([0, 0]) + struct.pack(">Q", ts) + struct.pack(">H", 1) + issuer_key_hash
              + struct.pack(">I", len(tbs))[1:] + tbs + struct.pack(">H", 0))
    sig = sign(ct, signed)
    sct = (bytes([0]) + hashlib.sha256(spki(ct)).digest() + struct.pack(">Q", ts)
           + struct.pack(">H", 0) + bytes([4, 3]) + struct.pack(">H", len(sig)) + sig)
    sct_list = struct.pack(">H", len(sct) + 2) + struct.pack(">H", len(sct)) + sct
    cert = b.add_extension(x509.UnrecognizedExtension(SCT_OID, der(0x04, sct_list)),
                           critical=False).sign(inter_key, hashes.SHA256())
    assert cert.tbs_certificate_bytes != tbs
    return key, cert


def tree_root(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + tree_root(leaves[:k]) + tree_root(leaves[k:])).digest()


def tree_proof(leaves, i):
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if i < k:
        return tree_proof(leaves[:k], i) + [tree_root(leaves[k:])]
    return tree_proof(leaves[k:], i - k) + [tree_root(leaves[:k])]


def log(d, body, tamper):
    rekor = load_key(os.path.join(d, "rekor.key"))
    log_id = hashlib.sha256(spki(rekor)).digest()
    t, index = int(NOW.timestamp()), 5
    set_sig = sign(rekor, canon({"body": b64(body), "integratedTime": t,
                                 "logID": log_id.hex(), "logIndex": index}))
    if tamper == "set":
        set_sig = sign(rekor, canon({"body": b64(body), "integratedTime": t + 1,
                                     "logID": log_id.hex(), "logIndex": index}))
    leaves = [hashlib.sha256(b"\x00" + (body if i == index else b"other %d" % i)).digest()
              for i in range(7)]
    root = tree_root(leaves)
    proof = tree_proof(leaves, index)
    if tamper == "proof":
        proof[0] = hashlib.sha256(b"not a node").digest()
    note = "%s\n%d\n%s\n" % (ORIGIN, len(leaves), b64(root))
    checkpoint = note + "\n\u2014 %s %s\n" % (ORIGIN, b64(log_id[:4] + sign(rekor, note.encode())))
    return {"logIndex": index, "logID": log_id, "integratedTime": t, "body": body, "set": set_sig,
            "proof": {"logIndex": str(index), "rootHash": b64(root), "treeSize": str(len(leaves)),
                      "hashes": [b64(h) for h in proof], "checkpoint": {"envelope": checkpoint}}}


def pem_of(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def v03(cert, content, entry, kind):
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))},
            "tlogEntries": [{
                "logIndex": str(entry["logIndex"]),
                "logId": {"keyId": b64(entry["logID"])},
                "kindVersion": {"kind": kind, "version": "0.0.1"},
                "integratedTime": str(entry["integratedTime"]),
                "inclusionPromise": {"signedEntryTimestamp": b64(entry["set"])},
                "inclusionProof": entry["proof"],
                "canonicalizedBody": b64(entry["body"]),
            }],
        },
        **content,
    }


def sign_cmd(a):
    with open(a.artifact, "rb") as f:
        artifact = f.read()
    key, cert = leaf_cert(a.dir, a.identity, a.issuer, "foreign-" if a.foreign_ca else "", a.expired)
    signed_over = artifact + b"tampered" if a.tamper == "artifact" else artifact
    digest = hashlib.sha256(signed_over).digest()
    if a.format == "dsse":
        statement = {"_type": "https://in-toto.io/Statement/v1",
                     "subject": [{"name": os.path.basename(a.artifact),
                                  "digest": {"sha256": digest.hex()}}],
                     "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}}
        payload = canon(statement)
        ptype = "application/vnd.in-toto+json"
        pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype.encode(), len(payload), payload)
        sig = sign(key, pae)
        body = canon({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(canon(
                {"payload": b64(payload), "payloadType": ptype,
                 "signatures": [{"sig": b64(sig)}]})).hexdigest()},
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [{"signature": b64(sig), "verifier": b64(pem_of(cert))}]}})
        entry = log(a.dir, body, a.tamper)
        out = v03(cert, {"dsseEnvelope": {"payload": b64(payload), "payloadType": ptype,
                                          "signatures": [{"sig": b64(sig)}]}}, entry, "dsse")
        data = json.dumps(out).encode()
    else:
        sig = sign(key, signed_over)
        body_digest = hashlib.sha256(b"another artifact").hexdigest() if a.tamper == "body" \
            else digest.hex()
        body = canon({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": body_digest}},
            "signature": {"content": b64(sig), "publicKey": {"content": b64(pem_of(cert))}}}})
        if a.format == "pair":
            with open(a.out + ".sig", "w") as f:
                f.write(b64(sig))
            with open(a.out + ".pem", "wb") as f:
                f.write(pem_of(cert))
            return
        entry = log(a.dir, body, a.tamper)
        if a.format == "legacy":
            out = {"base64Signature": b64(sig), "cert": b64(pem_of(cert)), "rekorBundle": {
                "SignedEntryTimestamp": b64(entry["set"]),
                "Payload": {"body": b64(body), "integratedTime": entry["integratedTime"],
                            "logIndex": entry["logIndex"], "logID": entry["logID"].hex()}}}
        else:
            out = v03(cert, {"messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": b64(digest)},
                "signature": b64(sig)}}, entry, "hashedrekord")
        data = json.dumps(out).encode()
    with open(a.out, "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init")
    i.add_argument("dir")
    s = sub.add_parser("sign")
    s.add_argument("dir")
    s.add_argument("artifact")
    s.add_argument("out")
    s.add_argument("--identity", required=True)
    s.add_argument("--issuer", required=True)
    s.add_argument("--format", default="legacy", choices=["legacy", "v0.3", "dsse", "pair"])
    s.add_argument("--tamper", choices=["set", "proof", "body", "artifact"])
    s.add_argument("--foreign-ca", action="store_true")
    s.add_argument("--expired", action="store_true")
    a = ap.parse_args()
    if a.cmd == "init":
        init(a.dir)
    else:
        sign_cmd(a)


if __name__ == "__main__":
    main()
