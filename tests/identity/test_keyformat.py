import re

import pytest

from wardgate.identity.keyformat import KEY_PATTERN, is_well_formed, key_hash, key_hint, new_key


def test_format_prefix_length_and_entropy():
    live, test = new_key("prod"), new_key("dev")
    assert live.startswith("wg_live_") and test.startswith("wg_test_") and new_key("staging").startswith("wg_test_")
    assert len(live) == 46 and KEY_PATTERN.match(live)
    assert len({new_key() for _ in range(2000)}) == 2000
    body_chars = set("".join(new_key()[8:40] for _ in range(200)))
    assert len(body_chars) == 62  # the whole base62 alphabet is used: 32 × log2(62) ≈ 190 bits


def test_checksum_catches_typos_and_truncation():
    key = new_key()
    assert is_well_formed(key)
    typo = key[:20] + ("A" if key[20] != "A" else "B") + key[21:]
    assert not is_well_formed(typo)
    assert not is_well_formed(key[:-1]) and not is_well_formed(key + "x")
    assert not is_well_formed(key.replace("wg_live_", "wg_prod_"))
    assert not is_well_formed("wg_live_" + "-" * 38)
    assert not is_well_formed("sk-ant-api03-xxxx")


def test_gitleaks_rule_matches_keys_exactly():
    from pathlib import Path
    rule = Path(__file__).resolve().parents[2] / "docs" / "gitleaks-wardgate.toml"
    regex = re.search(r"regex = '''(.+)'''", rule.read_text()).group(1)
    key = new_key()
    assert re.search(regex, f"export KEY={key}\n").group(0) == key
    assert not re.search(regex, "wg_live_short")


def test_hash_is_keyed_and_hint_is_not_secret():
    key = new_key()
    assert key_hash(key, b"p" * 32) != key_hash(key, b"q" * 32)
    assert len(key_hash(key, b"p" * 32)) == 64
    hint = key_hint(key)
    assert hint.startswith("wg_live_") and hint.endswith(key[-4:]) and key[8:40] not in hint


@pytest.mark.parametrize("env", ["prod", "staging", "dev"])
def test_every_generated_key_is_well_formed(env):
    assert all(is_well_formed(new_key(env)) for _ in range(200))
