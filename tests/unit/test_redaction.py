"""The redaction rules for residents' comments: what is removed, what is only flagged, what is left alone."""

from __future__ import annotations

import pytest

from talking.results.redaction import redact, removable_details


@pytest.mark.parametrize(
    ("comment", "detail", "kind"),
    [
        ("Email me at jo.bloggs+asb@example.co.uk please", "jo.bloggs+asb@example.co.uk", "email"),
        ("Ring 07700 900123 any time", "07700 900123", "phone"),
        ("Ring 07700900123", "07700900123", "phone"),
        ("Call the office on 01772 123456.", "01772 123456", "phone"),
        ("Call +44 (0)1772 123 456 now", "+44 (0)1772 123 456", "phone"),
        ("My mobile is 079-1234-5678", "079-1234-5678", "phone"),
        ("I live at PR1 2HE by the park", "PR1 2HE", "postcode"),
        ("postcode pr12he", "pr12he", "postcode"),
        ("Lads at BB11 3AB every night", "BB11 3AB", "postcode"),
        ("Cars race down 12 London Road every night", "12 London Road", "street"),
        ("Fights outside Fishergate Hill Close", "Fishergate Hill Close", "street"),
        ("The dealer Mr Smith is always there", "Mr Smith", "name"),
        ("Tell PC Jones", "PC Jones", "name"),
    ],
)
def test_details_are_removed(comment: str, detail: str, kind: str) -> None:
    redacted = redact(comment)
    assert detail not in redacted.text
    assert any(f.kind == kind and f.removed for f in redacted.findings), redacted.findings
    assert removable_details(redacted.text) == []


def test_possible_names_and_lower_case_streets_are_flagged_not_removed() -> None:
    redacted = redact("I told Dave about the bikes in church lane and on the main road")
    assert redacted.text == "I told Dave about the bikes in church lane and on the main road"
    flagged = {(f.kind, f.text) for f in redacted.findings if not f.removed}
    assert flagged == {("name", "Dave"), ("street", "church lane")}


@pytest.mark.parametrize(
    "comment",
    [
        "Speeding on the main road past the school every morning.",
        "Drug dealing in Preston town centre since 2024, 12 cars broken into",
        "Anti-social behaviour in Burnley and Blackpool at the weekend",
        "Reference LT-ABCD-1234 did not arrive",
    ],
)
def test_ordinary_comments_are_left_alone(comment: str) -> None:
    redacted = redact(comment)
    assert redacted.text == comment
    assert [f for f in redacted.findings if f.removed] == []
