"""Virtual key format: ``wg_live_`` / ``wg_test_`` + 32 base62 characters + 6-character checksum.

- 32 characters from a CSPRNG over 62 symbols: about 190 bits.
- The checksum is CRC32 of everything before it, in base62, zero-padded: a mistyped or
  truncated key is refused without a database look-up, and secret scanners can match keys
  precisely (see ``docs/keys.md`` for the gitleaks rule).
- Stored only as HMAC-SHA256 under a server-side pepper that is not in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

__all__ = ["new_key", "is_well_formed", "key_hash", "key_hint", "KEY_PATTERN", "PREFIX_FOR_ENV"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY = 32
_CHECK = 6
KEY_PATTERN = re.compile(r"\Awg_(live|test)_[0-9A-Za-z]{%d}\Z" % (_BODY + _CHECK))
PREFIX_FOR_ENV = {"prod": "wg_live_", "staging": "wg_test_", "dev": "wg_test_"}


def _b62(n: int, width: int) -> str:
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(_ALPHABET[r])
    return "".join(reversed(out)).rjust(width, "0")


def _checksum(text: str) -> str:
    return _b62(zlib.crc32(text.encode()), _CHECK)


def new_key(environment: str = "prod") -> str:
    prefix = PREFIX_FOR_ENV[environment]
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY))
    return prefix + body + _checksum(prefix + body)


def is_well_formed(key: str) -> bool:
    if len(key) != 8 + _BODY + _CHECK or not KEY_PATTERN.match(key):
        return False
    return hmac.compare_digest(_checksum(key[:-_CHECK]), key[-_CHECK:])


def key_hash(key: str, pepper: bytes) -> str:
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


def key_hint(key: str) -> str:
    return f"{key[:8]}…{key[-4:]}"
