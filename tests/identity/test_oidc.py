"""OIDC verification against a real local IdP: the happy path, rotation, outages, attacks."""

from __future__ import annotations

import time

import pytest

from tests.identity.idp import LocalIdP, forge
from wardgate.identity.oidc import OidcVerifier, TokenRejected, looks_like_jwt, unverified_issuer
from wardgate.settings import OidcIssuer


@pytest.fixture
def idp():
    server = LocalIdP()
    yield server
    server.stop()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def make(idp, clock=None, **cfg) -> OidcVerifier:
    base = {"issuer": idp.issuer, "audience": "wardgate", "workspace": "eng",
            "role_mapping": {"ai-admins": "admin", "ai-developers": "developer"},
            "jwks_refresh_min_seconds": 30, "max_stale_seconds": 3600}
    return OidcVerifier(OidcIssuer.model_validate(base | cfg), clock=clock or time.time)


async def test_valid_token_maps_to_a_principal(idp):
    v = make(idp)
    token = idp.token()
    assert looks_like_jwt(token) and unverified_issuer(token) == idp.issuer
    p = v.principal(await v.verify(token))
    assert p.kind == "user" and p.role == "developer" and p.workspace == "eng" and p.email == "dev@example.com"
    assert p.id.startswith("sso_") and "user-1" not in p.id
    await v.close()


async def test_ec_keys_work_too(idp):
    kid = idp.add_key("ES256")
    v = make(idp)
    assert (await v.verify(idp.token(kid=kid)))["sub"] == "user-1"
    await v.close()


async def test_group_mapping_default_role_and_workspace_claim(idp):
    v = make(idp)
    with pytest.raises(TokenRejected, match="no role"):
        v.principal(await v.verify(idp.token(groups=["marketing"])))
    v2 = make(idp, default_role="analyst", workspace=None, workspace_claim="team")
    p = v2.principal(await v2.verify(idp.token(groups=["marketing"], team="finance")))
    assert p.role == "analyst" and p.workspace == "finance"
    with pytest.raises(TokenRejected, match="workspace"):
        v2.principal(await v2.verify(idp.token()))
    await v.close()
    await v2.close()


async def test_mfa_required_for_a_role(idp):
    v = make(idp, require_mfa={"roles": ["admin"], "amr": ["mfa", "otp"]})
    with pytest.raises(TokenRejected, match="MFA"):
        v.principal(await v.verify(idp.token(groups=["ai-admins"], amr=["pwd"])))
    assert v.principal(await v.verify(idp.token(groups=["ai-admins"], amr=["pwd", "otp"]))).role == "admin"
    assert v.principal(await v.verify(idp.token(groups=["ai-developers"]))).role == "developer"  # no MFA needed
    await v.close()


async def test_key_rotation_unknown_kid_refetches_once(idp):
    clock = Clock()
    v = make(idp, clock=clock)
    await v.verify(idp.token())
    assert idp.hits["jwks"] == 1
    new_kid = idp.add_key("RS256")        # the IdP rotates its signing key
    clock.now += 31                       # (refetches are throttled to one per 30 s)
    assert (await v.verify(idp.token(kid=new_kid)))["sub"] == "user-1"  # unknown kid: one refetch
    assert idp.hits["jwks"] == 2
    assert (await v.verify(idp.token(kid=new_kid)))["sub"] == "user-1"
    assert idp.hits["jwks"] == 2          # and then cached
    await v.close()


async def test_unknown_kid_refetch_is_throttled(idp):
    clock = Clock()
    v = make(idp, clock=clock)
    await v.verify(idp.token())
    bogus = idp.add_key("RS256", publish=False)   # signed with a key the IdP never published
    for _ in range(20):
        with pytest.raises(TokenRejected, match="unknown key id"):
            await v.verify(idp.token(kid=bogus))
    assert idp.hits["jwks"] == 1  # inside the refresh interval: no refetch storm
    clock.now += 31
    with pytest.raises(TokenRejected):
        await v.verify(idp.token(kid=bogus))
    assert idp.hits["jwks"] == 2
    await v.close()


async def test_idp_outage_uses_last_good_keys_then_fails_closed(idp):
    clock = Clock()
    v = make(idp, clock=clock, max_stale_seconds=3600)
    await v.verify(idp.token())
    idp.down = True
    clock.now += 1900  # past the routine refresh point: the refresh fails, the old keys stay
    assert (await v.verify(idp.token()))["sub"] == "user-1"
    clock.now += 1800  # now older than max_stale_seconds
    with pytest.raises(TokenRejected, match="stale"):
        await v.verify(idp.token())
    idp.down = False
    clock.now += 31
    assert (await v.verify(idp.token()))["sub"] == "user-1"  # recovers once the IdP is back
    await v.close()


async def test_idp_down_from_the_start_fails_closed(idp):
    idp.down = True
    v = make(idp)
    with pytest.raises(TokenRejected, match="unavailable"):
        await v.verify(idp.token())
    await v.close()


@pytest.mark.parametrize("mutate, reason", [
    (lambda idp, t: t(exp=int(time.time()) - 3600), "expired"),
    (lambda idp, t: t(nbf=int(time.time()) + 3600), "not yet valid"),
    (lambda idp, t: t(iss=idp.issuer + "/other"), "issuer"),
    (lambda idp, t: t(aud="someone-else"), "audience"),
    (lambda idp, t: t(exp=None), "invalid token"),
    (lambda idp, t: t(sub=None), "invalid token"),
    (lambda idp, t: t(padding="x" * 10_000), "too large"),
    (lambda idp, t: t()[:-4] + "AAAA", "invalid token"),
])
async def test_bad_claims_and_signatures(idp, mutate, reason):
    v = make(idp)
    with pytest.raises(TokenRejected, match=reason):
        await v.verify(mutate(idp, idp.token))
    await v.close()


async def test_leeway_on_exp(idp):
    v = make(idp, leeway_seconds=60)
    assert await v.verify(idp.token(exp=int(time.time()) - 30))
    await v.close()


async def test_alg_none_is_refused(idp):
    v = make(idp)
    kid = idp.published[0]
    token = forge({"alg": "none", "typ": "JWT", "kid": kid},
                  {"iss": idp.issuer, "aud": "wardgate", "sub": "attacker", "iat": 1, "exp": 9999999999}, None)
    with pytest.raises(TokenRejected, match="algorithm"):
        await v.verify(token)
    await v.close()


async def test_rs_to_hs_confusion_is_refused(idp):
    v = make(idp)
    kid = idp.published[0]
    claims = {"iss": idp.issuer, "aud": "wardgate", "sub": "attacker", "iat": int(time.time()),
              "exp": int(time.time()) + 300, "groups": ["ai-admins"]}
    token = forge({"alg": "HS256", "typ": "JWT", "kid": kid}, claims, idp.public_pem(kid))
    with pytest.raises(TokenRejected, match="algorithm"):
        await v.verify(token)
    await v.close()


async def test_alg_swap_between_allowed_families_is_refused(idp):
    ec_kid = idp.add_key("ES256")
    v = make(idp)
    rsa_kid = idp.published[0]
    # a token claiming ES256 but naming the RSA key: the key type must match the algorithm
    _, ec_private = idp.keys[ec_kid]
    import jwt
    token = jwt.encode({"iss": idp.issuer, "aud": "wardgate", "sub": "x", "iat": int(time.time()),
                        "exp": int(time.time()) + 60}, ec_private, algorithm="ES256", headers={"kid": rsa_kid})
    with pytest.raises(TokenRejected, match="does not match"):
        await v.verify(token)
    await v.close()


async def test_jku_x5u_and_embedded_jwk_are_ignored(idp):
    attacker = LocalIdP()  # a server the token points at: it must never be contacted
    try:
        v = make(idp)
        bogus = attacker.published[0]
        attacker_key = attacker.jwks()["keys"][0]
        token = attacker.token(kid=bogus, iss=idp.issuer, headers={
            "jku": attacker.issuer + "/jwks", "x5u": attacker.issuer + "/cert", "jwk": attacker_key})
        with pytest.raises(TokenRejected, match="unknown key id"):
            await v.verify(token)
        assert attacker.hits == {"discovery": 0, "jwks": 0, "other": 0}
        await v.close()
    finally:
        attacker.stop()


def test_config_refuses_unsafe_algorithms():
    from wardgate.errors import ConfigError
    from wardgate.settings import settings_from_dict
    for alg in ("none", "HS256", "NONE"):
        with pytest.raises(ConfigError, match="identity.oidc.0.algorithms"):
            settings_from_dict({"identity": {"oidc": [{"issuer": "https://idp", "audience": "a", "workspace": "w",
                                                        "algorithms": [alg]}]}})
