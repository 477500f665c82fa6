"""The one masking rule: URLs inside free text and std.http's ``auth`` input."""

from __future__ import annotations

from app.masking import is_secret_name, masked_headers, masked_text


def test_every_url_in_a_text_is_masked_and_the_rest_kept() -> None:
    text = "404 from {'url': 'https://hooks.test/x?token=abc&page=2', 'other': 'ftp://u:pw@files.test/a'}"
    assert masked_text(text) == ("404 from {'url': 'https://hooks.test/x?token=***&page=2', "
                                 "'other': 'ftp://u:***@files.test/a'}")
    assert masked_text("no address here: token=abc") == "no address here: token=abc"


def test_the_auth_input_is_a_secret_but_not_every_name_that_contains_auth() -> None:
    assert is_secret_name("auth") and is_secret_name("Auth")
    assert not is_secret_name("author")
    assert masked_headers({"Auth": "robot:pa55word", "Author": "Ann"}) == {"Auth": "***", "Author": "Ann"}
