"""FLEXMLS_LISTING_URL: checked when the settings load, filled with URL-quoted values."""

from __future__ import annotations

import pytest

from settings import SettingsError, fill_link, load_settings

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}


@pytest.mark.parametrize(
    "template",
    [
        "https://myflexmls.example.com/listing/{id}",
        "https://myflexmls.example.com/search?mls={mls}",
        "https://myflexmls.example.com/l/{mls}?key={id}#photos",
    ],
)
def test_an_https_template_with_id_or_mls_is_accepted(template):
    settings = load_settings({**BASE, "FLEXMLS_LISTING_URL": f"  {template} "})
    assert settings.flexmls_listing_url == template


def test_unset_or_blank_means_no_link():
    assert load_settings(BASE).flexmls_listing_url is None
    assert load_settings({**BASE, "FLEXMLS_LISTING_URL": "  "}).flexmls_listing_url is None


@pytest.mark.parametrize(
    "template",
    [
        "http://myflexmls.example.com/listing/{id}",  # not https
        "javascript:alert('{id}')",
        "https:///listing/{id}",  # no host
        "https://{id}.example.com/",  # the host must be fixed
        "https://user@evil.example/{id}",
        "https://myflexmls.example.com/listing/",  # no placeholder
        "https://myflexmls.example.com/listing/{ID}",
        "https://myflexmls.example.com/listing/{contact}",
        "https://myflexmls.example.com/listing/{}",
        "https://myflexmls.example.com/listing/{0}",
        "https://myflexmls.example.com/listing/{id!r}",
        "https://myflexmls.example.com/listing/{id:>30}",
        "https://myflexmls.example.com/listing/{id.__class__}",
        "https://myflexmls.example.com/listing/{id",
        "https://myflexmls.example.com/listing/id}",
        "https://myflexmls.example.com/a b/{id}",
        "https://myflexmls.example.com/" + "x" * 1000 + "{id}",
    ],
)
def test_anything_else_stops_the_start_naming_the_setting(template):
    with pytest.raises(SettingsError, match="FLEXMLS_LISTING_URL"):
        load_settings({**BASE, "FLEXMLS_LISTING_URL": template})


def test_values_are_url_quoted_so_they_stay_in_their_place():
    template = "https://myflexmls.example.com/l/{id}?mls={mls}"
    url = fill_link(template, id="20200101/../../admin?x=1#y", mls="24-1187&next=https://evil")
    assert url == (
        "https://myflexmls.example.com/l/20200101%2F..%2F..%2Fadmin%3Fx%3D1%23y"
        "?mls=24-1187%26next%3Dhttps%3A%2F%2Fevil"
    )


def test_a_missing_value_gives_no_link():
    assert fill_link("https://x.example/{mls}", id="L1", mls=None) is None
    assert fill_link("https://x.example/{mls}", id="L1", mls="") is None
    assert fill_link("https://x.example/{id}", id="L1", mls=None) == "https://x.example/L1"
