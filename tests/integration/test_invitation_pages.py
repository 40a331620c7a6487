"""Staff send a members survey's invitations and reminders from its page, and read the response rates on the
page, in GET /counts and in the report's method (SQLite, the real app and forms); the builder's audience."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncEngine

from talking.surveys.batches import PendingResponse
from talking.surveys.writer import ResponseWriter
from talking.testing.surveys import DEMO_ISSUES

from ..conftest import make_token, make_user
from .invitation_helpers import (
    PRESTON,
    WYRE,
    age_invitations,
    invitation_rows,
    mark_answered,
    members_survey,
    outbox,
    panel,
)
from .staff_helpers import Client, error_summary, sign_in, text_of
from .test_questionnaire_pages import banner, checked, main_of, post, saved, survey_form


def rate_table(html: str) -> dict[str, list[str]]:
    """{district: [invited, answered, rate]} from the response-rate table (the county's row included)."""
    table = re.search(r"Panel members invited, and how many have answered.*?</table>", html, re.S)
    assert table, "no response-rate table"
    rows = re.findall(r"<th scope=\"row\"[^>]*>(.*?)</th>(.*?)</tr>", table.group(0), re.S)
    return {
        text_of(name): [text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
        for name, cells in rows
    }


async def store_answers(engine: AsyncEngine, survey_id: int, district: str, n: int) -> None:
    """n answers from a district through the response writer (as invited residents' answers are stored)."""
    writer = ResponseWriter(engine)
    batch = [PendingResponse(survey_id, district, tuple(DEMO_ISSUES[:3]), None, None, None, "test") for _ in range(n)]
    await writer.store_now(batch)
    await writer.stop()


async def test_send_invitations_and_reminders_from_the_survey_page(staff: Client, engine: AsyncEngine) -> None:
    ids = await panel(engine, {"Preston": 30, "Wyre": 4})
    survey_id = await members_survey(engine, districts=(PRESTON, WYRE))
    page = await staff.get(f"/staff/surveys/{survey_id}")
    assert "No invitations have been sent yet." in text_of(main_of(page.text))
    assert f'href="/staff/surveys/{survey_id}/invitations"' in page.text

    confirm = await staff.get(f"/staff/surveys/{survey_id}/invitations")
    assert confirm.status_code == 200
    assert "34 members have no invitation yet" in text_of(main_of(confirm.text))
    assert sorted(checked(confirm.text, "districts")) == sorted([PRESTON, WYRE])

    # No district ticked: the form says so and nothing is sent.
    refused = await post(staff, f"/staff/surveys/{survey_id}/invitations", f"/staff/surveys/{survey_id}/invitations")
    assert refused.status_code == 422
    assert error_summary(refused.text) == [("#districts", "Choose at least one district to invite")]
    assert await invitation_rows(engine, survey_id) == []

    # A doctored district: refused with its reason.
    doctored = await post(
        staff,
        f"/staff/surveys/{survey_id}/invitations",
        f"/staff/surveys/{survey_id}/invitations",
        {"districts": ["E99"]},
    )
    assert doctored.status_code == 422 and "Unknown district codes: E99" in doctored.text

    sent = await post(
        staff,
        f"/staff/surveys/{survey_id}/invitations",
        f"/staff/surveys/{survey_id}/invitations",
        {"districts": [WYRE]},
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/staff/surveys/{survey_id}#invitations"
    assert banner((await staff.get(f"/staff/surveys/{survey_id}")).text) == "Success 4 invitations sent"
    sent = await post(
        staff,
        f"/staff/surveys/{survey_id}/invitations",
        f"/staff/surveys/{survey_id}/invitations",
        {"districts": [PRESTON, WYRE]},
    )
    assert sent.status_code == 303
    assert len(await invitation_rows(engine, survey_id)) == len(await outbox(engine, "invitation")) == 34

    # Answers come in: 12 of Preston's 30, 1 of Wyre's 4.
    preston = [ids[f"preston{n}@example.org"] for n in range(12)]
    await mark_answered(engine, survey_id, [*preston, ids["wyre0@example.org"]])
    await store_answers(engine, survey_id, PRESTON, 12)
    await store_answers(engine, survey_id, WYRE, 1)
    page = await staff.get(f"/staff/surveys/{survey_id}")
    assert rate_table(page.text) == {
        "Preston": ["30", "12", "40% Low"],
        "Wyre": ["4", "1", "25% Low"],
        "Lancashire (all districts)": ["34", "13", "38%"],
    }
    words = text_of(main_of(page.text))
    assert "Low response rate (under 10%, or fewer than 20 answers) in Preston, Wyre" in words
    chart = re.search(
        r'<svg class="talking-chart[^>]*aria-labelledby="rate-chart-title rate-chart-desc".*?</svg>', page.text, re.S
    )
    assert chart and "40% (12 of 30)" in chart.group(0) and "25% (1 of 4)" in chart.group(0)

    # Reminders: none the day of the invitations, then the 21 who have not answered.
    reminders = await staff.get(f"/staff/surveys/{survey_id}/reminders")
    assert "0 members can be reminded now." in text_of(main_of(reminders.text))
    await age_invitations(engine, survey_id, days=3)
    reminders = await staff.get(f"/staff/surveys/{survey_id}/reminders")
    assert "21 members can be reminded now." in text_of(main_of(reminders.text))
    done = await post(staff, f"/staff/surveys/{survey_id}/reminders", f"/staff/surveys/{survey_id}/reminders")
    assert done.status_code == 303
    assert banner((await staff.get(f"/staff/surveys/{survey_id}")).text) == "Success 21 reminders sent"
    assert len(await outbox(engine, "reminder")) == 21


async def test_rates_in_counts_and_in_the_report_method(staff: Client, engine: AsyncEngine) -> None:
    # Before any email: the app's own sender writes while it sends, and this helper reads before writing.
    analyst = await make_token(engine, await make_user(engine, "analyst@lancashire.test", "analyst"))
    ids = await panel(engine, {"Preston": 25, "Wyre": 40})
    survey_id = await members_survey(engine, districts=(PRESTON, WYRE))
    await post(
        staff,
        f"/staff/surveys/{survey_id}/invitations",
        f"/staff/surveys/{survey_id}/invitations",
        {"districts": [PRESTON, WYRE]},
    )
    await mark_answered(engine, survey_id, [ids[f"preston{n}@example.org"] for n in range(22)])
    await mark_answered(engine, survey_id, [ids[f"wyre{n}@example.org"] for n in range(3)])
    await store_answers(engine, survey_id, PRESTON, 22)
    await store_answers(engine, survey_id, WYRE, 3)

    answer = await staff.get(f"/api/v1/surveys/{survey_id}/counts", headers={"Authorization": f"Bearer {analyst}"})
    counts = {d["name"]: d for d in answer.json()}
    assert (counts["Preston"]["responses"], counts["Preston"]["invited"], counts["Preston"]["answered"]) == (22, 25, 22)
    assert (counts["Wyre"]["responses"], counts["Wyre"]["invited"], counts["Wyre"]["answered"]) == (3, 40, 3)

    report = await staff.get(f"/staff/surveys/{survey_id}/report")
    assert report.status_code == 200
    words = text_of(report.text)
    assert "Invited panel members only: 65 invited, 25 answered, a response rate of 38%" in words
    assert "Preston 88% (22 of 25); Wyre 7.5% (3 of 40)" in words
    assert (
        "Warning: a low response rate (under 10% of those invited, or fewer than 20 answers) in Wyre (7.5%, 3 of 40)"
        in words
    )
    document = (await staff.get(f"/staff/surveys/{survey_id}/report.json")).json()
    assert any("65 invited, 25 answered" in note for note in document["method"]["notes"])
    # Counts only: never an address or a token.
    assert "@" not in report.text.replace("staff@lancashire.test", "")

    # An invitation sent later changes the rates the (cached) report gives.
    await panel(engine, {"Preston": 1}, prefix="late")
    await post(
        staff,
        f"/staff/surveys/{survey_id}/invitations",
        f"/staff/surveys/{survey_id}/invitations",
        {"districts": [PRESTON, WYRE]},
    )
    assert "66 invited, 25 answered" in text_of((await staff.get(f"/staff/surveys/{survey_id}/report")).text)


async def test_an_open_survey_takes_no_invitations_from_its_page(staff: Client, engine: AsyncEngine) -> None:
    await panel(engine, {"Preston": 2})
    survey_id = await members_survey(engine, audience="open")
    page = await staff.get(f"/staff/surveys/{survey_id}")
    assert "Invitations and response rates" not in page.text
    confirm = await staff.get(f"/staff/surveys/{survey_id}/invitations")
    assert "This survey is for anyone with the link" in text_of(main_of(confirm.text))
    assert "Send the invitations" not in confirm.text
    refused = await post(staff, f"/staff/surveys/{survey_id}/reminders", f"/staff/surveys/{survey_id}/reminders")
    assert refused.status_code == 409 and "takes no reminders" in refused.text
    assert await outbox(engine) == []


async def test_analysts_see_the_rates_but_cannot_send(client: Client, engine: AsyncEngine) -> None:
    await panel(engine, {"Preston": 2})
    survey_id = await members_survey(engine)
    await make_user(engine, "analyst@lancashire.test", "analyst")
    await sign_in(client, "analyst@lancashire.test")
    page = await client.get(f"/staff/surveys/{survey_id}")
    assert page.status_code == 200 and "Invitations and response rates" in page.text
    assert f'href="/staff/surveys/{survey_id}/invitations"' not in page.text
    assert (await client.get(f"/staff/surveys/{survey_id}/invitations")).status_code == 403
    assert (await client.get(f"/staff/surveys/{survey_id}/reminders")).status_code == 403


async def test_the_builder_asks_who_can_answer_and_fixes_it_once_published(staff: Client, engine: AsyncEngine) -> None:
    blank = await staff.get("/staff/surveys/new")
    assert "Who can answer?" in blank.text
    assert checked(blank.text, "audience") == ["open"]

    made = await post(staff, "/staff/surveys/new", "/staff/surveys/new", survey_form(audience="members"))
    assert made.status_code == 303, error_summary(made.text)
    survey_id = int(made.headers["location"].rsplit("/", 1)[1])
    assert (await saved(engine, survey_id)).audience == "members"
    edit = await staff.get(f"/staff/surveys/{survey_id}/edit")
    assert checked(edit.text, "audience") == ["members"]
    page = text_of(main_of((await staff.get(f"/staff/surveys/{survey_id}")).text))
    assert "Who can answer Invited panel members only, once each" in page
    assert "Publish the survey, then send the invitations from here." in page

    changed = await post(staff, f"/staff/surveys/{survey_id}/edit", f"/staff/surveys/{survey_id}/edit", survey_form())
    assert changed.status_code == 303
    assert (await saved(engine, survey_id)).audience == "open"  # no choice sent: anyone with the link, as before

    bad = await post(
        staff, f"/staff/surveys/{survey_id}/edit", f"/staff/surveys/{survey_id}/edit", survey_form(audience="all")
    )
    assert bad.status_code == 422
    assert ("#audience", "Select who can answer: anyone with the link, or invited panel members only") in error_summary(
        bad.text
    )
    assert (await saved(engine, survey_id)).audience == "open"

    await post(
        staff, f"/staff/surveys/{survey_id}/edit", f"/staff/surveys/{survey_id}/edit", survey_form(audience="members")
    )
    await post(staff, f"/staff/surveys/{survey_id}", f"/staff/surveys/{survey_id}/publish")
    page = text_of(main_of((await staff.get(f"/staff/surveys/{survey_id}")).text))
    assert "Invited panel members only, once each (fixed once published)" in page
    # A published survey's form is locked, the audience with it.
    locked = await post(staff, f"/staff/surveys/{survey_id}", f"/staff/surveys/{survey_id}/edit", survey_form())
    assert locked.status_code == 409
    assert (await saved(engine, survey_id)).audience == "members"
