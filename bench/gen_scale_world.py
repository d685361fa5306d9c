#!/usr/bin/env python3
"""Writes the files of the scale world for N healthy domains d00001.scale.test ... into DIR.

  bench/gen_scale_world.py DIR N WEB_IP

DIR/ca.pem, DIR/leaf.key (one P-256 key shared by every leaf: key generation is the slow part
and sharing it changes nothing in a handshake), DIR/certs/mta-sts.<domain>.pem (a leaf per
policy host, signed by the CA: a wildcard cannot cover mta-sts.<domain> across domains),
DIR/zones/scale.test.zone (the _mta-sts and _smtp._tls TXT records, the MX and the policy
host's A record of each domain), the near-empty zones test. and absent.test. (any other name
under .test is NXDOMAIN), all for Knot DNS, and DIR/domains.txt (one domain a line). Needs only
python3-cryptography (Debian 12: 38.0). 10,000 domains take a few seconds.
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

STS_TXT = "v=STSv1; id=20240101T000000;"


def domain(i: int) -> str:
    return f"d{i:05d}.scale.test" if i < 100000 else f"d{i}.scale.test"


def zone_head(origin: str) -> str:
    """The apex of a zone the world's Knot DNS serves: SOA (negative answers cached 300 s) and
    NS; the name server's own address is the loopback it listens on."""
    return (
        f"$ORIGIN {origin}.\n$TTL 3600\n"
        f"@ SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n"
        f"@ NS ns.test.\n" + ("ns A 127.0.0.1\n" if origin == "test" else "")
    )


def main() -> None:
    out, n, web_ip = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(f"{out}/certs", exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Scale World Root CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    with open(f"{out}/ca.pem", "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    with open(f"{out}/leaf.key", "wb") as f:
        f.write(
            leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    ku = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    leaf_public = leaf_key.public_key()
    os.makedirs(f"{out}/zones", exist_ok=True)
    for origin in ("test", "absent.test"):
        with open(f"{out}/zones/{origin}.zone", "w") as z:
            z.write(zone_head(origin))
    with open(f"{out}/zones/scale.test.zone", "w") as dns, open(f"{out}/domains.txt", "w") as names:
        dns.write(zone_head("scale.test"))
        for i in range(1, n + 1):
            d = domain(i)
            host = f"mta-sts.{d}"
            cert = (
                x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
                .issuer_name(ca_name)
                .public_key(leaf_public)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=60))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(ku, critical=True)
                .add_extension(eku, critical=False)
                .add_extension(aki, critical=False)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
                .sign(ca_key, hashes.SHA256())
            )
            with open(f"{out}/certs/{host}.pem", "wb") as f:
                f.write(cert.public_bytes(serialization.Encoding.PEM))
            label = d[: -len(".scale.test")]  # relative to $ORIGIN scale.test.
            dns.write(
                f'_mta-sts.{label} TXT "{STS_TXT}"\n'
                f'_smtp._tls.{label} TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{d}"\n'
                f"{label} MX 10 mx1.{label}\n"
                f"mta-sts.{label} A {web_ip}\n"
            )
            names.write(d + "\n")
    # A handshake without SNI (openssl s_time has no -servername) gets the first domain's leaf.
    os.symlink(f"mta-sts.{domain(1)}.pem", f"{out}/certs/.pem")


if __name__ == "__main__":
    main()
