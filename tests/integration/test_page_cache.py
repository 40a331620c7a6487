"""Remembered page parts never outlive the survey definition they came from (the real app, SQLite)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ..conftest import make_user
from .staff_helpers import Client, error_summary, sign_in, sign_out, submit

STAFF = "staff@lancashire.test"
PRESTON = "E07000123"


def survey_form(**overrides: object) -> dict[str, object]:
    """The builder's form: four taxonomy issues and one of our own, open from yesterday for a month."""
    today = datetime.now(ZoneInfo("Europe/London")).date()
    data: dict[str, object] = {
        "title": "Preston community safety",
        "introduction": "Tell us what matters.",
        "issues": ["speeding", "burglary", "road-safety", "anti-social-behaviour"],
        "custom-1-code": "parking-near-schools",
        "custom-1-label": "Parking near schools",
        "custom-1-position": "2",
        "max_picks": "3",
        "districts": [PRESTON],
        "ask_about_you": "yes",
    }
    for prefix, day, clock in (
        ("opens", today - timedelta(days=1), "9:00"),
        ("closes", today + timedelta(days=30), ""),
    ):
        data |= {f"{prefix}-day": str(day.day), f"{prefix}-month": str(day.month), f"{prefix}-year": str(day.year)}
        data[f"{prefix}-time"] = clock
    return data | overrides


@pytest.fixture
async def staff(client: Client, engine: AsyncEngine) -> Client:
    """The client, signed in as a member of staff."""
    await make_user(engine, STAFF, "staff")
    assert (await sign_in(client, STAFF)).status_code == 303
    return client


def offered(html: str) -> list[tuple[str, str]]:
    """(code, label) of each issue checkbox on an issues page."""
    boxes = re.findall(
        r'<input class="govuk-checkboxes__input" id="[^"]+" name="picks" type="checkbox" value="([^"]+)"[^>]*>\s*'
        r"<label[^>]*>\s*(.*?)\s*</label>",
        html,
        re.S,
    )
    return [(code, unescape(label)) for code, label in boxes]


async def test_a_draft_edited_then_published_shows_its_new_issues(staff: Client, engine: AsyncEngine) -> None:
    created = await submit(staff, "/staff/surveys/new", "/staff/surveys/new", survey_form())
    assert created.status_code == 303, error_summary(created.text)
    survey_id = int(created.headers["location"].rsplit("/", 1)[1])

    # Staff preview the residents' issues page: its checkboxes are rendered and remembered.
    preview = f"/staff/surveys/{survey_id}/preview/issues"
    before = offered((await staff.get(preview)).text)
    assert ("speeding", "Speeding") in before
    assert ("parking-near-schools", "Parking near schools") in before

    # Edit the draft: other issues, and a new label for the same custom code.
    edit = f"/staff/surveys/{survey_id}/edit"
    changed = survey_form(
        issues=["fraud", "burglary"], **{"custom-1-label": "Parking outside schools", "custom-1-position": "1"}
    )
    edited = await submit(staff, edit, edit, changed)
    assert edited.status_code == 303, error_summary(edited.text)
    after = [code for code, _label in offered((await staff.get(preview)).text)]
    assert sorted(after) == ["burglary", "fraud", "parking-near-schools"]
    assert ("parking-near-schools", "Parking outside schools") in offered((await staff.get(preview)).text)

    # Publish; a resident then sees the new definition, never the remembered old one.
    page = f"/staff/surveys/{survey_id}"
    assert (await submit(staff, page, f"{page}/publish", {})).status_code == 303
    assert (await sign_out(staff)).status_code == 303
    chosen = await submit(
        staff, f"/surveys/{survey_id}/district", f"/surveys/{survey_id}/district", {"district": PRESTON}
    )
    assert chosen.status_code == 303, error_summary(chosen.text)
    issues = (await staff.get(f"/surveys/{survey_id}/issues")).text
    shown = offered(issues)
    assert sorted(code for code, _label in shown) == ["burglary", "fraud", "parking-near-schools"]
    assert ("parking-near-schools", "Parking outside schools") in shown
    assert "Speeding" not in issues and "Parking near schools" not in issues
