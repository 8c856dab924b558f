"""A real local identity provider for tests: discovery + JWKS over HTTP on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from wardgate.server import ThreadedServer


class LocalIdP:
    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, object]] = {}   # kid → (alg, private key)
        self.published: list[str] = []                   # kids in the JWKS
        self.down = False
        self.hits = {"discovery": 0, "jwks": 0, "other": 0}
        self.server = ThreadedServer(self._app)
        self.server.start()
        self.issuer = self.server.url
        self.add_key("RS256")

    def stop(self) -> None:
        self.server.stop()

    def add_key(self, alg: str = "RS256", publish: bool = True) -> str:
        kid = "k-" + uuid.uuid4().hex[:8]
        private = ec.generate_private_key(ec.SECP256R1()) if alg.startswith("ES") else \
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys[kid] = (alg, private)
        if publish:
            self.published.append(kid)
        return kid

    def jwks(self) -> dict:
        out = []
        for kid in self.published:
            alg, private = self.keys[kid]
            algo = ECAlgorithm if alg.startswith("ES") else RSAAlgorithm
            jwk = algo.to_jwk(private.public_key(), as_dict=True)
            out.append(jwk | {"kid": kid, "alg": alg, "use": "sig"})
        return {"keys": out}

    def token(self, kid: str | None = None, headers: dict | None = None, **claims) -> str:
        kid = kid or self.published[-1]
        alg, private = self.keys[kid]
        now = int(time.time())
        body = {"iss": self.issuer, "aud": "wardgate", "sub": "user-1", "iat": now, "exp": now + 300,
                "groups": ["ai-developers"], "email": "dev@example.com"} | claims
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, private, algorithm=alg, headers={"kid": kid} | (headers or {}))

    def public_pem(self, kid: str) -> bytes:
        return self.keys[kid][1].public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)

    async def _app(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if self.down:
            status, body = 503, {"error": "down"}
        elif path == "/.well-known/openid-configuration":
            self.hits["discovery"] += 1
            status, body = 200, {"issuer": self.issuer, "jwks_uri": self.issuer + "/jwks"}
        elif path == "/jwks":
            self.hits["jwks"] += 1
            status, body = 200, self.jwks()
        else:
            self.hits["other"] += 1
            status, body = 404, {}
        raw = orjson.dumps(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": raw})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, secret: bytes | None) -> str:
    """A hand-made token (for attacks PyJWT refuses to produce)."""
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    sig = b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()) if secret else ""
    return signing_input + "." + sig
