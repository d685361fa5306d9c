#!/usr/bin/env python3
"""Writes the files of the scale world for N healthy domains d00001.scale.test ... into DIR.

  bench/gen_scale_world.py DIR N WEB_IP

DIR/ca.pem, DIR/leaf.key (one P-256 key shared by every leaf: key generation is the slow part
and sharing it changes nothing in a handshake), DIR/certs/mta-sts.<domain>.pem (a leaf per
policy host, signed by the CA: a wildcard cannot cover mta-sts.<domain> across domains),
DIR/dnsmasq-domains.conf (the _mta-sts and _smtp._tls TXT records, the MX and the policy
host's A record of each domain) and DIR/domains.txt (one domain a line). Needs only
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
    with open(f"{out}/dnsmasq-domains.conf", "w") as dns, open(f"{out}/domains.txt", "w") as names:
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
            dns.write(
                f'txt-record=_mta-sts.{d},"{STS_TXT}"\n'
                f'txt-record=_smtp._tls.{d},"v=TLSRPTv1; rua=mailto:tlsrpt@{d}"\n'
                f"mx-host={d},mx1.{d},10\n"
                f"host-record={host},{web_ip}\n"
            )
            names.write(d + "\n")
    # A handshake without SNI (openssl s_time has no -servername) gets the first domain's leaf.
    os.symlink(f"mta-sts.{domain(1)}.pem", f"{out}/certs/.pem")


if __name__ == "__main__":
    main()
