"""Spark records are parsed once, tolerating the odd shapes real MLS data arrives in."""

import pytest

from spark import SparkProtocolError
from spark.models import (
    ActivitySummary,
    parse_account,
    parse_activity_summary,
    parse_contact,
    parse_listing,
    parse_page,
)


def listing(**fields):
    return {"Id": "20200101000000000000000001", "StandardFields": fields}


@pytest.mark.parametrize(
    ("raw", "price"),
    [
        (450000, 450000.0),
        ("450000.0", 450000.0),
        (" 1,250,000 ", 1250000.0),
        ("$99,000", 99000.0),
        ("********", None),
        (None, None),
        ("call agent", None),
        ("NaN", None),
        (True, None),
        ({"nested": 1}, None),
    ],
)
def test_price_tolerates_strings_masks_and_nulls(raw, price):
    assert parse_listing(listing(ListPrice=raw)).price == price


def test_missing_fields_are_none_and_address_degrades_gracefully():
    parsed = parse_listing({"Id": "1", "StandardFields": {}})
    assert (parsed.price, parsed.beds, parsed.baths, parsed.photo_url) == (None, None, None, None)
    assert parsed.address == "Address not available"
    assert parse_listing(listing(ListingId="24-1187")).address == "MLS #24-1187"


def test_address_joins_street_city_state_zip():
    parsed = parse_listing(
        listing(
            UnparsedFirstLineAddress=" 1234 W Maple Ave ",
            City="Denver",
            StateOrProvince="CO",
            PostalCode="80202",
        )
    )
    assert parsed.address == "1234 W Maple Ave, Denver, CO 80202"
    assert parse_listing(listing(City="Denver", PostalCode="********")).address == "Denver"


def test_codes_are_trimmed_and_masks_dropped():
    parsed = parse_listing(
        listing(PropertyType="A ", MlsStatus="********", BedsTotal="3", BathsTotal="2.5")
    )
    assert (parsed.property_type, parsed.status, parsed.beds, parsed.baths) == ("A", None, 3.0, 2.5)


def test_primary_photo_is_chosen_over_the_first():
    photos = [
        {"Uri300": "https://p/1-300.jpg", "UriThumb": "https://p/1-t.jpg", "Primary": False},
        {"Uri300": "https://p/2-300.jpg", "UriThumb": "https://p/2-t.jpg", "Primary": True},
    ]
    parsed = parse_listing(listing(Photos=photos))
    assert parsed.photo_url == "https://p/2-300.jpg"
    assert parsed.thumb_url == "https://p/2-t.jpg"


@pytest.mark.parametrize(
    "photos",
    [[], None, "********", [None, 3], [{"Uri300": "javascript:alert(1)"}], [{"Uri300": ""}]],
)
def test_unusable_photos_mean_no_image(photos):
    assert parse_listing(listing(Photos=photos)).photo_url is None


def test_photo_falls_back_to_thumbnail():
    parsed = parse_listing(listing(Photos=[{"UriThumb": "https://p/t.jpg"}]))
    assert parsed.photo_url == "https://p/t.jpg"


def test_listing_id_falls_back_to_listing_key():
    assert parse_listing({"StandardFields": {"ListingKey": "abc"}}).id == "abc"


@pytest.mark.parametrize("record", [None, [], "x", {"StandardFields": {}}])
def test_listing_without_id_is_a_protocol_error(record):
    with pytest.raises(SparkProtocolError):
        parse_listing(record)


def test_activity_summary_counts_are_non_negative_integers():
    summary = parse_activity_summary(
        {
            "ManualEmailsSent": "10",
            "ManualEmailsOpened": 8.0,
            "SubscriptionEmailsSent": -3,
            "SubscriptionEmailsOpened": None,
            "ListingsViewed": "********",
            "ListingsShared": 81,
        }
    )
    assert summary == ActivitySummary(10, 8, 0, 0, 0, 81)


def test_contact_display_name_falls_back_to_given_family_then_email():
    assert (
        parse_contact({"Id": "1", "GivenName": "Jane", "FamilyName": "Doe"}).display_name
        == "Jane Doe"
    )
    assert parse_contact({"Id": "1", "PrimaryEmail": "j@x.io"}).display_name == "j@x.io"
    assert parse_contact({"Id": "1"}).display_name == "(no name)"


def test_contact_tags_keep_only_text():
    assert parse_contact({"Id": "1", "Tags": ["Buyer", None, " ", "IDX Lead"]}).tags == (
        "Buyer",
        "IDX Lead",
    )
    assert parse_contact({"Id": "1", "Tags": "Buyer"}).tags == ()


def test_account_takes_first_email():
    account = parse_account(
        {"Id": "A1", "Name": "Avery Agent", "Emails": [{"Name": "x"}, {"Address": "a@b.co"}]}
    )
    assert (account.name, account.email) == ("Avery Agent", "a@b.co")


def test_page_reads_pagination():
    page = parse_page(
        [{"Id": "1"}],
        {"TotalRows": 78, "PageSize": 25, "TotalPages": 4, "CurrentPage": 2},
        parse_contact,
        page=2,
        limit=25,
    )
    assert (page.total_rows, page.total_pages, page.current_page, page.has_prev, page.has_next) == (
        78,
        4,
        2,
        True,
        True,
    )


def test_page_without_pagination_infers_whether_more_may_follow():
    full = parse_page([{"Id": str(i)} for i in range(10)], None, parse_contact, page=1, limit=10)
    assert full.has_next
    short = parse_page([{"Id": "1"}], None, parse_contact, page=3, limit=10)
    assert not short.has_next and short.total_rows == 21


def test_page_derives_total_pages_from_rows():
    page = parse_page([], {"TotalRows": 26, "PageSize": 25}, parse_contact, page=1, limit=25)
    assert page.total_pages == 2


# Real shapes (spark_api.md §4/§5, FBS's own Ruby fixtures; these records are our own).


def test_the_street_is_built_from_its_parts_when_the_unparsed_line_is_missing():
    parsed = parse_listing(
        listing(
            StreetNumber="1420",
            StreetDirPrefix="N",
            StreetName="LARKSPUR",
            StreetSuffix="Way",
            StreetDirSuffix=None,
            StreetAdditionalInfo="Apt 3",
            City="Sandpoint",
            StateOrProvince="ID",
            PostalCode="83864",
            ListPrice="315000.0",
            BedsTotal=2,
        )
    )
    assert parsed.street == "1420 N LARKSPUR Way Apt 3"
    assert parsed.address == "1420 N LARKSPUR Way Apt 3, Sandpoint, ID 83864"
    assert parsed.status is None  # no MlsStatus: tolerated


@pytest.mark.parametrize(
    ("fields", "street"),
    [
        (
            {"UnparsedFirstLineAddress": "9 Elm St", "StreetNumber": "1", "StreetName": "X"},
            "9 Elm St",
        ),  # the unparsed line wins
        ({"StreetNumber": "12", "StreetName": "********", "StreetSuffix": "Rd"}, None),
        ({"StreetNumber": " 12 ", "StreetName": "Birch", "StreetDirSuffix": "SE"}, "12 Birch SE"),
        ({"StreetName": "County Road 5"}, "County Road 5"),
        ({}, None),
    ],
)
def test_street_parts_tolerate_gaps_masks_and_spaces(fields, street):
    assert parse_listing(listing(**fields)).street == street


def test_account_office_comes_from_office_and_tolerates_office_name():
    base = {"Id": "20000426173054342350000000", "Name": "Pat Example"}
    assert parse_account({**base, "Office": "Lakeside Realty", "OfficeId": "2003"}).office == (
        "Lakeside Realty"
    )
    assert parse_account({**base, "OfficeName": "Old Shape Realty"}).office == "Old Shape Realty"
    assert parse_account(base).office is None


def test_a_contact_with_only_a_display_name():
    contact = parse_contact(
        {
            "ResourceUri": "/v1/contacts/202001",
            "Id": "202001",
            "DisplayName": "Ngozi Adeyemi",
            "PrimaryEmail": "ngozi.example.net",
            "Tags": ["Past Client"],
        }
    )
    assert contact.display_name == "Ngozi Adeyemi"
    assert contact.given_name is None and contact.family_name is None


def test_a_constraint_failure_keeps_its_code_and_details():
    import httpx

    from spark import BadRequest, parse_envelope

    body = {
        "D": {
            "Success": False,
            "Code": 1053,
            "Message": "Failed constraints",
            "Details": [{"_limit": [{"RuleName": "MaxValue", "Value": 99, "RuleValue": 25}]}],
        }
    }
    with pytest.raises(BadRequest) as caught:
        parse_envelope(httpx.Response(400, json=body))
    assert caught.value.code == 1053
    assert caught.value.details[0]["_limit"][0]["RuleName"] == "MaxValue"
