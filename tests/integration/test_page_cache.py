"""Remembered page parts never outlive the survey definition they came from (the real app, SQLite)."""

from __future__ import annotations

import re
from html import unescape

from .staff_helpers import Client, error_summary, sign_out, submit
from .test_questionnaire_pages import PRESTON, survey_form


def offered(html: str) -> list[tuple[str, str]]:
    """(code, label) of each issue checkbox on an issues page."""
    boxes = re.findall(
        r'<input class="govuk-checkboxes__input" id="[^"]+" name="picks" type="checkbox" value="([^"]+)"[^>]*>\s*'
        r"<label[^>]*>\s*(.*?)\s*</label>",
        html,
        re.S,
    )
    return [(code, unescape(label)) for code, label in boxes]


async def test_a_draft_edited_then_published_shows_its_new_issues(staff: Client) -> None:
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
