import pytest

from wardgate.errors import ConfigError
from wardgate.settings import load_settings


def write(tmp_path, text):
    p = tmp_path / "wardgate.yaml"
    p.write_text(text)
    return p


def test_defaults_and_database_default(tmp_path):
    s = load_settings(None, environ={})
    assert s.server.port == 8088 and s.upstream.timeouts.read == 600
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("wardgate.db")
    assert s.redis.url is None


def test_yaml_and_env_overrides(tmp_path):
    p = write(tmp_path, "server:\n  port: 9000\nupstream:\n  timeouts:\n    read: 30\n")
    s = load_settings(p, environ={"WARDGATE_UPSTREAM__TIMEOUTS__CONNECT": "2.5", "WARDGATE_SERVER__PORT": "9100",
                                  "WARDGATE_CONFIG": "ignored", "WARDGATE_REDIS__URL": "redis://127.0.0.1:6379/0"})
    assert s.server.port == 9100
    assert s.upstream.timeouts.read == 30 and s.upstream.timeouts.connect == 2.5
    assert s.redis.url == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize("text, key", [
    ("server:\n  prot: 1\n", "server.prot: unknown key"),
    ("upstream:\n  timeouts:\n    read: fast\n", "upstream.timeouts.read"),
    ("upstream:\n  retries:\n    max: 5\n", "upstream.retries.max"),
    ("upstream:\n  base_url: ftp://x\n", "upstream.base_url"),
    ("auth:\n  static_keys:\n    - id: a\n", "auth.static_keys.0"),
])
def test_errors_name_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, text), environ={})
    assert key in exc.value.message


def test_errors_never_echo_values(tmp_path):
    secret = "sk-ant-api03-THIS-IS-A-SECRET-VALUE"
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, f"upstream:\n  api_key_env: {secret}\n"), environ={})
    assert secret not in exc.value.message and "upstream.api_key_env" in exc.value.message
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, f"server:\n  port: {secret}\n"), environ={})
    assert secret not in exc.value.message


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "server: [\n"), environ={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml", environ={})
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path, "- a\n"), environ={})


def test_env_typo_is_an_error():
    with pytest.raises(ConfigError, match="WARDGATE_SEVER__PORT"):
        load_settings(None, environ={"WARDGATE_SEVER__PORT": "1"})


def test_yaml_words_on_off_are_not_booleans_for_guard_modes(tmp_path):
    from wardgate.guards import build_guards
    cfg = tmp_path / "c.yaml"
    cfg.write_text("guards:\n  limits:\n    mode: off\n")
    assert {g.name: g.mode for g in build_guards(load_settings(cfg, {}))}["limits"] == "off"
    env = load_settings(None, {"WARDGATE_GUARDS__LIMITS__MODE": "off", "WARDGATE_SERVER__ACCESS_LOG": "false"})
    assert env.guards["limits"]["mode"] == "off" and env.server.access_log is False
    assert load_settings(None, {"WARDGATE_LIMITS__REDIS_PREFIX": "wgbench:1:"}).limits.redis_prefix == "wgbench:1:"
