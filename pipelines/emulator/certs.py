"""X.509 material for Atlas-managed certificates: subjects and the PEM that POST returns.

The fleet generator only records certificate metadata. A real certificate and private key are
made only when a client POSTs, because RSA key generation costs tens of milliseconds.
"""

import functools
import threading
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# X.509 limits a common name to 64 characters (RFC 5280 ub-common-name).
MAX_COMMON_NAME_LENGTH = 64


@functools.lru_cache(maxsize=65536)
def managed_subject(username: str) -> str:
    """Subject DN of a managed user's certificate, ``CN=<username>`` escaped per RFC 4514."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, username)]).rfc4514_string()


class CertificateAuthority:
    """A per-emulator signing CA, created on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: rsa.RSAPrivateKey | None = None
        self._name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Atlas Admin API emulator"),
                x509.NameAttribute(NameOID.COMMON_NAME, "Atlas emulator managed X.509 CA"),
            ]
        )

    def _signing_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._key is None:
                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._key

    def issue_pem(
        self, serial: int, username: str, not_before: datetime, not_after: datetime
    ) -> str:
        """Issue a client certificate and return it followed by its unencrypted PKCS#8 key."""
        ca_key = self._signing_key()
        user_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, username)])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._name)
            .public_key(user_key.public_key())
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
        key_pem = user_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return (certificate_pem + key_pem).decode("ascii")
