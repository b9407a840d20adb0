"""Settings come from the environment only; bad or missing values give one clear line."""

import subprocess
import sys
from pathlib import Path

import pytest

from settings import DEFAULT_SPARK_API_URL, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_from_an_empty_environment():
    s = load_settings({})
    assert s.spark_api_url == DEFAULT_SPARK_API_URL
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.database_path == Path("data/activity.db")
    assert (s.host, s.port, s.log_level) == ("0.0.0.0", 3000, "INFO")
    assert not s.socket_mode and not s.oauth_enabled


def test_values_are_trimmed_and_urls_normalised():
    s = load_settings(
        {
            "SPARK_API_URL": " http://127.0.0.1:8700/ ",
            "SLACK_API_URL": "http://x/api",
            "PORT": "8080",
        }
    )
    assert s.spark_api_url == "http://127.0.0.1:8700"
    assert s.slack_api_url == "http://x/api/"
    assert s.port == 8080


def test_oauth_is_enabled_only_with_all_three_values():
    base = {"SPARK_CLIENT_ID": "id", "SPARK_CLIENT_SECRET": "secret"}
    assert not load_settings(base).oauth_enabled
    assert load_settings({**base, "SPARK_REDIRECT_URI": "https://x/cb"}).oauth_enabled


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    ],
)
def test_missing_slack_credentials_are_named(env, missing):
    with pytest.raises(SettingsError, match=missing) as info:
        load_settings(env).require_slack()
    assert "\n" not in str(info.value)
    assert ".env" in str(info.value)


def test_socket_mode_does_not_need_a_signing_secret():
    load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}).require_slack()


@pytest.mark.parametrize(
    ("env", "name"),
    [({"PORT": "http"}, "PORT"), ({"PORT": "70000"}, "PORT"), ({"LOG_LEVEL": "loud"}, "LOG_LEVEL")],
)
def test_malformed_values_are_refused(env, name):
    with pytest.raises(SettingsError, match=name):
        load_settings(env)


def test_secrets_are_not_in_repr():
    s = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-secret-1",
            "SPARK_ACCESS_TOKEN": "spark-secret-2",
            "SLACK_SIGNING_SECRET": "sign-3",
            "TOKEN_ENCRYPTION_KEY": "key-4",
        }
    )
    text = repr(s)
    for secret in ("xoxb-secret-1", "spark-secret-2", "sign-3", "key-4"):
        assert secret not in text


def test_bot_prints_one_line_not_a_traceback_when_a_required_value_is_missing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "SLACK_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_workspace_token_is_for_all_unless_per_user_connections_are_configured():
    assert load_settings({}).workspace_token_for_all
    oauth = {
        "SPARK_CLIENT_ID": "i",
        "SPARK_CLIENT_SECRET": "s",
        "SPARK_REDIRECT_URI": "https://x/cb",
    }
    assert not load_settings(oauth).workspace_token_for_all
    assert load_settings({**oauth, "WORKSPACE_TOKEN_FOR_ALL": "yes"}).workspace_token_for_all
    assert not load_settings({"WORKSPACE_TOKEN_FOR_ALL": "off"}).workspace_token_for_all


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"WORKSPACE_TOKEN_FOR_ALL": "maybe"}, "WORKSPACE_TOKEN_FOR_ALL"),
        ({"SPARK_OAUTH_GRANT": "saml"}, "SPARK_OAUTH_GRANT"),
        ({"LISTING_LAYOUT": "grid"}, "LISTING_LAYOUT"),
    ],
)
def test_operator_switches_are_validated(env, name):
    with pytest.raises(SettingsError, match=name):
        load_settings(env)


def test_digest_channels_are_a_set_of_ids():
    assert load_settings({"DIGEST_CHANNELS": " C1, C2 ,,C1"}).digest_channels == {"C1", "C2"}
    assert load_settings({}).digest_channels == frozenset()


def test_spark_rate_limit_and_key_defaults_and_values():
    assert load_settings({}).spark_rate_limit == (1500, 300.0)
    assert load_settings({}).spark_access_token_key == "own"
    settings = load_settings({"SPARK_RATE_LIMIT": " 4000/300 ", "SPARK_ACCESS_TOKEN_KEY": "OAuth"})
    assert settings.spark_rate_limit == (4000, 300.0)
    assert settings.spark_access_token_key == "oauth"


@pytest.mark.parametrize("value", ["1500", "a/b", "1500/", "/300"])
def test_a_malformed_spark_rate_limit_is_one_clear_line(value):
    with pytest.raises(
        SettingsError, match="SPARK_RATE_LIMIT must be <requests>/<seconds>"
    ) as info:
        load_settings({"SPARK_RATE_LIMIT": value})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", ["0/300", "1500/0", "1500/inf", "1500/nan", "-1/5", "5/90000"])
def test_an_out_of_range_spark_rate_limit_says_which_part_is_wrong(value):
    with pytest.raises(SettingsError, match="requests must be at least 1") as info:
        load_settings({"SPARK_RATE_LIMIT": value})
    assert "\n" not in str(info.value) and "change only the first number" in str(info.value)


def test_spark_access_token_key_is_own_or_oauth():
    with pytest.raises(SettingsError, match="SPARK_ACCESS_TOKEN_KEY"):
        load_settings({"SPARK_ACCESS_TOKEN_KEY": "shared"})


def test_the_flexmls_contact_link_is_optional_and_quotes_the_id():
    assert load_settings({}).flexmls_contact_link("C1") is None
    settings = load_settings({"FLEXMLS_CONTACT_URL": " https://crm.flexmls.com/c/{id}?tab=a "})
    assert settings.flexmls_contact_url == "https://crm.flexmls.com/c/{id}?tab=a"
    assert settings.flexmls_contact_link("20090816141725963238000000") == (
        "https://crm.flexmls.com/c/20090816141725963238000000?tab=a"
    )
    assert settings.flexmls_contact_link("a/b?c&d e") == (
        "https://crm.flexmls.com/c/a%2Fb%3Fc%26d%20e?tab=a"
    )


@pytest.mark.parametrize(
    "template",
    [
        "http://crm.flexmls.com/c/{id}",  # https only
        "javascript:alert('{id}')",
        "https:///c/{id}",  # no host
        "https://crm.flexmls.com/c/",  # no {id}
        "https://crm.flexmls.com/c/{id}/{id}",  # twice
        "https://crm.flexmls.com/c/{ID}",
        "https://crm.flexmls.com/c/{id}/{name}",  # another placeholder
        "https://crm.flexmls.com/c/{id} x",  # spaces
        "https://crm.flexmls.com/" + "a" * 3000 + "{id}",
    ],
)
def test_a_malformed_flexmls_contact_link_is_refused_at_start(template):
    with pytest.raises(SettingsError, match="FLEXMLS_CONTACT_URL"):
        load_settings({"FLEXMLS_CONTACT_URL": template})
