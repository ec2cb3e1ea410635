"""A self-signed certificate for loopback TLS servers in tests and benchmarks (the Slack
emulator's ``tls=True``): trusted only by whoever is handed its file."""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import shutil
import tempfile
import threading

_CERTIFICATE: tuple[str, str] | None = None
_CERTIFICATE_LOCK = threading.Lock()


def certificate() -> tuple[str, str]:
    """(certificate, key) PEM files of a self-signed certificate for ``127.0.0.1`` and
    ``localhost``, made once per process in a temp dir removed at exit."""
    global _CERTIFICATE
    with _CERTIFICATE_LOCK:
        if _CERTIFICATE is None:
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.x509.oid import NameOID

            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slack-emulator")])
            now = datetime.datetime.now(datetime.UTC)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(
                    x509.SubjectAlternativeName(
                        [
                            x509.DNSName("localhost"),
                            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        ]
                    ),
                    critical=False,
                )
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256())
            )
            folder = tempfile.mkdtemp(prefix="slack-emulator-tls-")
            atexit.register(shutil.rmtree, folder, True)
            cert_path, key_path = f"{folder}/cert.pem", f"{folder}/key.pem"
            with open(cert_path, "wb") as out:
                out.write(cert.public_bytes(serialization.Encoding.PEM))
            with open(key_path, "wb") as out:
                out.write(
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
            _CERTIFICATE = (cert_path, key_path)
        return _CERTIFICATE
