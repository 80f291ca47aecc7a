"""TOTP secrets at rest: sealed with `auth.secret_key` when one is configured.

Encrypt-then-MAC from the standard library: a keystream of HMAC-SHA256(enc_key, nonce ||
counter) XORed with the secret, and an HMAC-SHA256 tag over nonce || ciphertext (keys
derived from `auth.secret_key` for each purpose). Without a key the secret is stored as
it is (prefix `plain:`): still never logged nor sent after enrolment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


class SecretBoxError(Exception):
    """A stored secret cannot be opened (wrong key, or altered)."""


def _key(secret_key: str, purpose: bytes) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), purpose, hashlib.sha256).digest()


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (
        hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest()
        for i in range(-(-length // 32))
    )
    return b"".join(blocks)[:length]


def seal(plain: str, secret_key: str) -> str:
    if not secret_key:
        return "plain:" + plain
    data, nonce = plain.encode("utf-8"), secrets.token_bytes(16)
    stream = _stream(_key(secret_key, b"enc"), nonce, len(data))
    cipher = bytes(a ^ b for a, b in zip(data, stream, strict=True))
    tag = hmac.new(_key(secret_key, b"mac"), nonce + cipher, hashlib.sha256).digest()
    return "box1:" + base64.urlsafe_b64encode(nonce + tag + cipher).decode("ascii")


def open_box(sealed: str, secret_key: str) -> str:
    if sealed.startswith("plain:"):
        return sealed.removeprefix("plain:")
    if not sealed.startswith("box1:") or not secret_key:
        raise SecretBoxError("a sealed secret needs auth.secret_key")
    raw = base64.urlsafe_b64decode(sealed.removeprefix("box1:"))
    nonce, tag, cipher = raw[:16], raw[16:48], raw[48:]
    expected = hmac.new(_key(secret_key, b"mac"), nonce + cipher, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise SecretBoxError("the sealed secret does not match auth.secret_key")
    stream = _stream(_key(secret_key, b"enc"), nonce, len(cipher))
    return bytes(a ^ b for a, b in zip(cipher, stream, strict=True)).decode("utf-8")
