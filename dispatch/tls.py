"""A local certificate authority and a server certificate for a LAN (`dispatch tls init`).

Phones give a page geolocation, a service worker and a wake lock only over https. On a
LAN without a public name, the server gets a certificate from an authority of our own,
which each phone is told to trust once. The authority is name-constrained to the host
name and addresses it was made for: were its key to leak, it could not vouch for any
other site on the phones that trust it.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

AUTHORITY_DAYS = 10 * 365
SERVER_DAYS = 397  # phones refuse server certificates that last longer than about a year
LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"(?=.{{1,253}}$){LABEL}(\.{LABEL})*")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TlsError(ValueError):
    """A bad host name or address, or files that would be overwritten; says which."""


@dataclass(frozen=True)
class TlsFiles:
    """What `init` wrote: the authority for the phones, the pair for the server."""

    authority_pem: Path  # install on phones (iOS: AirDrop / mail it; Android: Settings)
    authority_der: Path  # the same authority as .crt, which some Android versions want
    authority_key: Path  # keep offline: only needed to make a new server certificate
    server_cert: Path  # server.tls_cert (the server's certificate, then the authority)
    server_key: Path  # server.tls_key
    server_spki_sha256: str  # base64 SHA-256 of the server's public key (pinning, tests)


def parse_host(name: str) -> str:
    host = name.strip().lower().rstrip(".")
    if not HOST_NAME.fullmatch(host) or host.replace(".", "").isdigit():
        raise TlsError(
            f"--host {name!r} is not a host name (e.g. dispatch.lan); use --ip for addresses"
        )
    return host


def parse_ip(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise TlsError(f"--ip {text!r} is not an IP address (e.g. 192.168.1.20)") from None


def spki_sha256(cert_pem: bytes) -> str:
    """Base64 SHA-256 of a certificate's SubjectPublicKeyInfo (the first in a PEM chain)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dispatch"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _network(ip: IPAddress) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(f"{ip}/{ip.max_prefixlen}")


def _constraints(host: str, ips: list[IPAddress]) -> x509.NameConstraints:
    """The authority vouches for this host (and names under it) and these addresses only."""
    permitted: list[x509.GeneralName] = [x509.DNSName(host)]
    permitted += [x509.IPAddress(_network(ip)) for ip in ips]
    excluded: list[x509.GeneralName] = []
    have = {ip.version for ip in ips}
    if 4 not in have:
        excluded.append(x509.IPAddress(ipaddress.ip_network("0.0.0.0/0")))
    if 6 not in have:
        excluded.append(x509.IPAddress(ipaddress.ip_network("::/0")))
    return x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=excluded or None)


def make_authority(
    host: str, ips: list[IPAddress], now: datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"dispatch local authority for {host}")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=AUTHORITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(_constraints(host, ips), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_server_certificate(
    authority_key: ec.EllipticCurvePrivateKey,
    authority: x509.Certificate,
    host: str,
    ips: list[IPAddress],
    now: datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(host)]
    names += [x509.IPAddress(ip) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(authority.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key.public_key()),
            critical=False,
        )
        .sign(authority_key, hashes.SHA256())
    )
    return key, cert


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    """Write a new file; a key is readable by its owner only from the moment it exists."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    fd = os.open(path, flags, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def init(
    out: Path, host_name: str, ip_texts: list[str], *, now: datetime | None = None
) -> TlsFiles:
    """Make the authority and the server's certificate in `out`; never overwrite a file."""
    host = parse_host(host_name)
    ips = list(dict.fromkeys(parse_ip(t) for t in ip_texts))
    now = now or datetime.now(UTC)
    files = TlsFiles(
        authority_pem=out / "dispatch-ca.pem",
        authority_der=out / "dispatch-ca.crt",
        authority_key=out / "dispatch-ca.key",
        server_cert=out / "server.pem",
        server_key=out / "server.key",
        server_spki_sha256="",
    )
    paths = [files.authority_pem, files.authority_der, files.authority_key]
    paths += [files.server_cert, files.server_key]
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise TlsError(
            f"{', '.join(existing)} already exist: move them away or choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    ca_key, ca = make_authority(host, ips, now)
    key, cert = make_server_certificate(ca_key, ca, host, ips, now)
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    _write(files.authority_key, _key_pem(ca_key), secret=True)
    _write(files.server_key, _key_pem(key), secret=True)
    _write(files.authority_pem, ca_pem)
    _write(files.authority_der, ca.public_bytes(serialization.Encoding.DER))
    _write(files.server_cert, cert_pem + ca_pem)
    return TlsFiles(
        authority_pem=files.authority_pem,
        authority_der=files.authority_der,
        authority_key=files.authority_key,
        server_cert=files.server_cert,
        server_key=files.server_key,
        server_spki_sha256=spki_sha256(cert_pem),
    )


def instructions(files: TlsFiles, host: str, ips: list[str], port: int) -> str:
    """What to do next: the config keys, and how each kind of phone trusts the authority."""
    where = host if not ips else f"{host} (or {', '.join(ips)})"
    rows = [
        (files.authority_pem, "the authority: install it on every phone (below)"),
        (files.authority_der, "the same authority, as some Android versions want it"),
        (files.authority_key, f"the authority's key: keep it offline (it vouches for {host} only)"),
        (files.server_cert, "the server's certificate (server.tls_cert)"),
        (files.server_key, "the server's key (server.tls_key; readable by you only)"),
    ]
    width = max(len(str(path)) for path, _ in rows)
    listing = "\n".join(f"  {str(path).ljust(width)}  {what}" for path, what in rows)
    return f"""\
Wrote a local certificate authority and a server certificate for {where}:
{listing}

Serve https: in config.toml [server] set
  host = "0.0.0.0"
  tls_cert = "{files.server_cert.resolve()}"
  tls_key = "{files.server_key.resolve()}"
or DISPATCH_SERVER_TLS_CERT and DISPATCH_SERVER_TLS_KEY, then `dispatch serve`.
Phones must resolve {host} to this machine (the LAN's DNS or router), and open
  https://{host}:{port}/officer   https://{host}:{port}/crew   https://{host}:{port}/console

Trust the authority on each phone (once):
  iOS / iPadOS: send {files.authority_pem.name} to the phone (AirDrop, mail, or a download
    in Safari) and allow the profile; Settings > General > VPN & Device Management >
    the "dispatch local authority" profile > Install. Then Settings > General > About >
    Certificate Trust Settings > turn on full trust for it.
  Android: copy {files.authority_der.name} to the phone; Settings > Security & privacy >
    More security settings > Encryption & credentials > Install a certificate >
    CA certificate > Install anyway > choose the file (the menu names vary by maker;
    search Settings for "CA certificate"). Chrome trusts it from then on.
  Check: the page opens with a padlock and no warning.

Server key fingerprint (SHA-256 of its public key, base64): {files.server_spki_sha256}
"""
