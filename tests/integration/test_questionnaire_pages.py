"""The questionnaire builder and the survey pages for staff, through the real app and its real forms (SQLite)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import audit_events, survey_questions, surveys
from talking.surveys.schemas import Survey
from talking.surveys.services import load_surveys

from ..conftest import make_user, publish_survey
from .staff_helpers import Client, csrf_from, error_summary, h1s, sign_in, submit, text_of, title

LONDON = ZoneInfo("Europe/London")
ANALYST = "analyst@lancashire.test"
CHORLEY, PRESTON, SOUTH_RIBBLE = "E07000118", "E07000123", "E07000126"
ALL_DISTRICTS = [
    "E06000008", "E06000009", "E07000117", "E07000118", "E07000119", "E07000120", "E07000121",
    "E07000122", "E07000123", "E07000124", "E07000125", "E07000126", "E07000127", "E07000128",
]  # fmt: skip


def london_date(days: int) -> date:
    """Today in the UK, moved on by ``days``."""
    return datetime.now(LONDON).date() + timedelta(days=days)


def moment_fields(prefix: str, day: date | None, clock: str = "") -> dict[str, str]:
    """A date input and time as a browser sends them."""
    if day is None:
        return {f"{prefix}-day": "", f"{prefix}-month": "", f"{prefix}-year": "", f"{prefix}-time": clock}
    parts = {"day": str(day.day), "month": str(day.month), "year": str(day.year), "time": clock}
    return {f"{prefix}-{part}": value for part, value in parts.items()}


def survey_form(**overrides: object) -> dict[str, object]:
    """A good create form: four issues from the taxonomy and one of our own, three districts, open now."""
    data: dict[str, object] = {
        "title": "Chorley community safety 2027",
        "introduction": "Tell us what matters.\r\n\r\nIt takes three minutes.",
        "issues": ["speeding", "burglary", "road-safety", "anti-social-behaviour"],
        "position-speeding": "1",
        "custom-1-code": "parking-near-schools",
        "custom-1-label": "Parking near schools",
        "custom-1-position": "2",
        "custom-2-code": "",
        "custom-2-label": "",
        "custom-2-position": "",
        "custom-3-code": "",
        "custom-3-label": "",
        "custom-3-position": "",
        "max_picks": "3",
        "districts": [CHORLEY, PRESTON, SOUTH_RIBBLE],
        **moment_fields("opens", london_date(-1), "9:00"),
        **moment_fields("closes", london_date(30), "17:30"),
        "ask_about_you": "yes",
    }
    data.update(overrides)
    return data


async def saved(engine: AsyncEngine, survey_id: int) -> Survey:
    """The survey as stored."""
    async with engine.connect() as conn:
        return (await load_surveys(conn, [survey_id]))[0]


async def count_rows(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()  # type: ignore[arg-type]


async def audit_actions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(audit_events.c.action).order_by(audit_events.c.id))).scalars())


def banner(html: str) -> str:
    """The success banner's text, or ""."""
    success = r'<div class="govuk-notification-banner govuk-notification-banner--success".*?</div>\s*</div>'
    found = re.search(success, html, re.S)
    return text_of(found.group(0)) if found else ""


def field_value(html: str, field_id: str) -> str | None:
    """The value of the text input with this id."""
    found = re.search(rf'<input[^>]*id="{re.escape(field_id)}"[^>]*>', html)
    assert found, f"no input {field_id}"
    value = re.search(r'value="([^"]*)"', found.group(0))
    return unescape(value.group(1)) if value else None


def checked(html: str, name: str) -> list[str]:
    """Values of the ticked boxes or chosen radios called ``name``."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
    return [re.search(r'value="([^"]*)"', i).group(1) for i in inputs if " checked" in i]  # type: ignore[union-attr]


def table_counts(html: str) -> dict[str, str]:
    """{district: responses} from the survey page's table, the total included."""
    body = re.search(r'<tbody class="govuk-table__body">(.*?)</tbody>', html, re.S)
    assert body, "no table"
    rows = re.findall(r"<th[^>]*>(.*?)</th>\s*<td[^>]*>(.*?)</td>", body.group(1), re.S)
    return {text_of(name): text_of(count) for name, count in rows}


def chart_counts(html: str) -> dict[str, str]:
    """{district: number} from the bar chart's text labels."""
    chart = re.search(r'<svg class="talking-chart.*?</svg>', html, re.S)
    assert chart, "no chart"
    assert 'role="img"' in chart.group(0)
    assert re.search(r'<title id="chart-title">.+</title>\s*<desc id="chart-desc">.+</desc>', chart.group(0))
    labels = re.findall(r'<text x="\d+" y="\d+"[^>]*>([^<]+)</text>', chart.group(0))
    return dict(zip(labels[::2], labels[1::2], strict=True))


def main_of(html: str) -> str:
    found = re.search(r"<main.*?</main>", html, re.S)
    assert found
    return found.group(0)


async def post(client: Client, page: str, action: str, data: dict[str, object] | None = None) -> httpx.Response:
    """Open ``page`` and post its form's CSRF token with ``data`` to ``action``."""
    return await submit(client, page, action, data or {})


async def create(client: Client, **overrides: object) -> int:
    """Create a draft through the form; returns its id."""
    response = await post(client, "/staff/surveys/new", "/staff/surveys/new", survey_form(**overrides))
    assert response.status_code == 303, error_summary(response.text)
    return int(response.headers["location"].rsplit("/", 1)[1])


async def add_question(client: Client, survey_id: int, **fields: str) -> httpx.Response:
    page = f"/staff/surveys/{survey_id}/questions"
    return await post(client, page, page, {"hint": "", "options": "", "required": "no", **fields})


# --- the whole life of a survey ---------------------------------------------------------------------


async def test_build_publish_watch_close_and_copy_a_survey(staff: Client, engine: AsyncEngine) -> None:
    home = await staff.get("/staff")
    assert home.status_code == 200
    assert title(home.text) == "Surveys - Lancashire Talking"
    assert "There are no surveys yet." in home.text
    assert 'href="/staff/surveys/new"' in home.text

    blank = await staff.get("/staff/surveys/new")
    assert h1s(blank.text) == ["Create a survey"]
    assert checked(blank.text, "districts") == ALL_DISTRICTS
    assert checked(blank.text, "issues") == []
    assert field_value(blank.text, "max_picks") == "5"
    assert checked(blank.text, "ask_about_you") == ["yes"]
    assert "custom-3-code" in blank.text and "custom-4-code" not in blank.text  # three empty rows, no JavaScript needed

    # --- create: the custom issue second, speeding first, the rest in the taxonomy's order
    survey_id = await create(staff)
    page = await staff.get(f"/staff/surveys/{survey_id}")
    assert banner(page.text) == "Success Survey created as a draft"
    survey = await saved(engine, survey_id)
    assert survey.status == "draft"
    assert [i.code for i in survey.issues] == [
        "speeding",
        "parking-near-schools",
        "anti-social-behaviour",
        "road-safety",
        "burglary",
    ]
    assert survey.issues[1].label == "Parking near schools"
    assert survey.districts == (CHORLEY, PRESTON, SOUTH_RIBBLE)
    assert survey.introduction == "Tell us what matters.\n\nIt takes three minutes."
    assert survey.opens_at == datetime.combine(london_date(-1), time(9, 0), tzinfo=LONDON).astimezone(UTC)
    assert survey.closes_at == datetime.combine(london_date(30), time(17, 30), tzinfo=LONDON).astimezone(UTC)
    assert survey.opens_at.tzinfo is not None

    # --- edit: the form comes back filled in; change the title, picks and issues
    edit_url = f"/staff/surveys/{survey_id}/edit"
    form = await staff.get(edit_url)
    assert field_value(form.text, "title") == "Chorley community safety 2027"
    assert field_value(form.text, "custom-1-code") == "parking-near-schools"
    assert field_value(form.text, "position-speeding") == "1"
    assert field_value(form.text, "position-burglary") == "5"
    assert checked(form.text, "districts") == [CHORLEY, PRESTON, SOUTH_RIBBLE]
    edited = survey_form(
        title="Chorley and Preston 2027",
        issues=["speeding", "burglary", "road-safety"],
        **{"position-speeding": "3", "position-burglary": "1", "custom-1-position": "", "max_picks": "2"},
    )
    response = await post(staff, edit_url, edit_url, edited)
    assert response.status_code == 303
    assert banner((await staff.get(response.headers["location"])).text) == "Success Changes saved"
    survey = await saved(engine, survey_id)
    assert survey.title == "Chorley and Preston 2027"
    assert [i.code for i in survey.issues] == ["burglary", "road-safety", "speeding", "parking-near-schools"]
    assert survey.max_picks == 2

    # --- extra questions: one of each kind, then move and remove
    for fields in (
        {
            "kind": "single_choice",
            "prompt": "How often do you go out after dark?",
            "options": "Often\r\nSometimes\r\nNever",
        },
        {
            "kind": "multiple_choice",
            "prompt": "How do you hear about local policing?",
            "options": "In the Know\nSocial media",
        },
        {"kind": "agreement", "prompt": "I feel safe walking alone after dark", "required": "yes"},
        {"kind": "free_text", "prompt": "What one thing would make your street safer?", "hint": "In a few words"},
    ):
        added = await add_question(staff, survey_id, **fields)
        assert added.status_code == 303, error_summary(added.text)
        assert added.headers["location"] == f"/staff/surveys/{survey_id}/questions"
    listed = await staff.get(f"/staff/surveys/{survey_id}/questions")
    assert banner(listed.text) == "Success Question added"
    survey = await saved(engine, survey_id)
    assert [(q.key, q.kind) for q in survey.questions] == [
        ("q1", "single_choice"),
        ("q2", "multiple_choice"),
        ("q3", "agreement"),
        ("q4", "free_text"),
    ]
    assert [o.code for o in survey.questions[0].options] == ["often", "sometimes", "never"]
    assert survey.questions[2].required and len(survey.questions[2].options) == 5
    questions_url = f"/staff/surveys/{survey_id}/questions"
    moved = await post(staff, questions_url, f"{questions_url}/q4/move", {"direction": "up"})
    assert moved.status_code == 303
    assert banner((await staff.get(questions_url)).text) == "Success Question moved up"
    moved = await post(staff, questions_url, f"{questions_url}/q1/move", {"direction": "down"})
    assert moved.status_code == 303
    removed = await post(staff, questions_url, f"{questions_url}/q2/remove")
    assert removed.status_code == 303
    assert banner((await staff.get(questions_url)).text) == "Success Question removed"
    survey = await saved(engine, survey_id)
    assert [q.key for q in survey.questions] == ["q1", "q4", "q3"]
    # Changing the questions keeps everything else, the dates included.
    assert survey.title == "Chorley and Preston 2027"
    assert survey.closes_at == datetime.combine(london_date(30), time(17, 30), tzinfo=LONDON).astimezone(UTC)
    assert (await post(staff, questions_url, f"{questions_url}/q9/remove")).status_code == 404

    # --- preview: every page a resident meets, none of which can send anything
    url, seen = f"/staff/surveys/{survey_id}/preview", []
    while url:
        shown = await staff.get(url)
        assert shown.status_code == 200, url
        assert "Preview: answers are not saved" in text_of(shown.text)
        assert title(shown.text).startswith("Preview: ")
        main = main_of(shown.text)
        assert 'method="post"' not in main and "_csrf_token" not in main and "action=" not in main
        assert all("disabled" in button for button in re.findall(r"<button[^>]*>", main))
        assert not re.search(r'href="/surveys/', main)  # links stay inside the preview
        seen.append(url.removeprefix(f"/staff/surveys/{survey_id}/preview"))
        found = re.search(r'<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="next">', shown.text)
        url = found.group(1) if found else ""
    assert seen == [
        "",
        "/district",
        "/issues",
        "/order",
        "/questions/q1",
        "/questions/q4",
        "/questions/q3",
        "/comment",
        "/about-you",
        "/check",
        "/done",
    ]
    start = await staff.get(f"/staff/surveys/{survey_id}/preview")
    assert f'href="/staff/surveys/{survey_id}/preview/district" role="button"' in start.text
    district = await staff.get(f"/staff/surveys/{survey_id}/preview/district")
    assert "Which area do you live in?" in h1s(district.text) or "Which area do you live in?" in district.text
    assert re.findall(r'name="district" type="radio" value="([^"]+)"', district.text) == [
        CHORLEY,
        PRESTON,
        SOUTH_RIBBLE,
    ]
    check = await staff.get(f"/staff/surveys/{survey_id}/preview/check")
    assert "An example comment" in check.text
    assert (await staff.get(f"/staff/surveys/{survey_id}/preview/questions/nope")).status_code == 404
    assert (await staff.get(f"/staff/surveys/{survey_id}/preview/nope")).status_code == 404
    assert (await staff.get(f"/surveys/{survey_id}")).status_code == 404  # residents still cannot see the draft

    # --- publish, and a resident answers
    page_url = f"/staff/surveys/{survey_id}"
    published = await post(staff, page_url, f"{page_url}/publish")
    assert published.status_code == 303
    assert published.headers["location"] == page_url
    page = await staff.get(page_url)
    assert banner(page.text) == "Success Survey published"
    assert "Open: residents can answer now" in text_of(page.text)
    assert ">Publish<" not in page.text.replace("\n", "").replace(" ", "")
    answer = {"district": PRESTON, "picks": ["speeding", "parking-near-schools"], "answers": {"q3": "agree"}}
    stored = await staff.post(f"/api/v1/surveys/{survey_id}/responses", json=answer)
    assert stored.status_code == 201, stored.text
    page = await staff.get(page_url)
    assert table_counts(page.text) == {"Chorley": "0", "Preston": "1", "South Ribble": "0", "Total": "1"}
    assert chart_counts(page.text) == {"Chorley": "0", "Preston": "1", "South Ribble": "0"}
    assert "Most responses: Preston (1)." in page.text
    dashboard = await staff.get("/staff")
    assert "Chorley and Preston 2027" in dashboard.text and ">Open<" in dashboard.text.replace("\n", "").replace(
        " ", ""
    )

    # --- change the dates, close, and start the next wave
    later = moment_fields("closes", london_date(40), "")
    changed = await post(
        staff, page_url, f"{page_url}/dates", {**moment_fields("opens", london_date(-1), "09:00"), **later}
    )
    assert changed.status_code == 303
    page = await staff.get(page_url)
    assert banner(page.text) == "Success Dates changed"
    # Shown again as typed: the end of the day is the closing date alone.
    assert (field_value(page.text, "closes-day"), field_value(page.text, "closes-time")) == (
        str(london_date(40).day),
        "",
    )
    survey = await saved(engine, survey_id)
    assert survey.closes_at == datetime.combine(london_date(41), time(0, 0), tzinfo=LONDON).astimezone(
        UTC
    )  # end of day
    closed = await post(staff, page_url, f"{page_url}/close")
    assert closed.status_code == 303
    page = await staff.get(page_url)
    assert banner(page.text) == "Success Survey closed"
    assert "Closed: no more answers are taken" in text_of(page.text)
    assert f'action="{page_url}/dates"' not in page.text  # a closed survey's dates are settled
    assert (await staff.post(f"/api/v1/surveys/{survey_id}/responses", json=answer)).status_code == 409

    copied = await post(staff, page_url, f"{page_url}/waves")
    assert copied.status_code == 303
    wave_id = int(copied.headers["location"].rsplit("/", 1)[1])
    wave_page = await staff.get(f"/staff/surveys/{wave_id}")
    assert banner(wave_page.text) == "Success Wave 2 started as a draft copy of wave 1"
    assert (
        f'<a class="govuk-link" href="/staff/surveys/{survey_id}">wave 1: Chorley and Preston 2027</a>'
        in wave_page.text
    )
    assert (
        f'<a class="govuk-link" href="/staff/surveys/{wave_id}">wave 2: Chorley and Preston 2027</a>'
        in (await staff.get(page_url)).text
    )
    wave = await saved(engine, wave_id)
    assert (wave.status, wave.wave, wave.previous_wave_id) == ("draft", 2, survey_id)
    assert [i.code for i in wave.issues] == [i.code for i in survey.issues]
    assert [q.key for q in wave.questions] == ["q1", "q4", "q3"]
    assert await audit_actions(engine) == [
        "user_created",
        "sign_in",
        "survey_created",
        "survey_updated",
        *["survey_updated"] * 7,  # four questions added, two moved, one removed
        "survey_published",
        "survey_updated",
        "survey_closed",
        "survey_created",
        "survey_wave_created",
    ]


# --- bad input ----------------------------------------------------------------------------------------


BAD_SURVEYS = {
    "no title": ({"title": "  "}, "#title", "Enter a title"),
    "no issues": (
        {"issues": [], "custom-1-code": "", "custom-1-label": "", "custom-1-position": ""},
        "#issues",
        "Offer at least 2 issues",
    ),
    "unknown district": ({"districts": [CHORLEY, "E07999999"]}, "#districts", "Unknown district codes ['E07999999']"),
    "no district": ({"districts": []}, "#districts", "Select at least one district"),
    "closing before opening": (
        moment_fields("closes", london_date(-2), "9:00"),
        "#closes-day",
        "The closing time must be after the opening time",
    ),
    "more picks than issues": (
        {"issues": ["speeding"], "max_picks": "3"},
        "#max_picks",
        "The number of picks cannot be more than the number of issues",
    ),
    "picks not a number": (
        {"max_picks": "five"},
        "#max_picks",
        "Enter the number of issues residents may pick, like 5",
    ),
    "too many picks": ({"max_picks": "11"}, "#max_picks", "The number of picks must be between 1 and 10"),
    "no such date": (
        {"opens-day": "31", "opens-month": "2"},
        "#opens-day",
        "The opening date must be a real date, like 27 3 2027",
    ),
    "date missing its year": ({"closes-year": ""}, "#closes-day", "The closing date must include a year"),
    "two-digit year": ({"opens-year": "27"}, "#opens-day", "The opening date must be a real date, like 27 3 2027"),
    "bad time": ({"opens-time": "25:00"}, "#opens-time", "Enter the opening time like 9:00 or 17:30"),
    "time without a date": (
        {**moment_fields("opens", None, "9:00")},
        "#opens-day",
        "Enter the opening date as well as the time",
    ),
    "custom code clashes with the taxonomy": (
        {"custom-1-code": "burglary"},
        "#custom-1-code",
        "'burglary' is a taxonomy code: pick it from the list",
    ),
    "custom code spelt wrong": (
        {"custom-1-code": "Parking near schools"},
        "#custom-1-code",
        "The code for Parking near schools must use only lower-case letters, numbers and hyphens,"
        " like parking-near-schools",
    ),
    "custom issue without words": (
        {"custom-1-label": ""},
        "#custom-1-label",
        "Enter the words residents see for parking-near-schools",
    ),
    "same custom code twice": (
        {"custom-2-code": "parking-near-schools", "custom-2-label": "Parking"},
        "#issues",
        "Each issue can be offered only once",
    ),
    "two issues in one place": (
        {"position-burglary": "1"},
        "#position-burglary",
        "Give Burglary a different number from Speeding",
    ),
    "position out of range": (
        {"position-burglary": "9"},
        "#position-burglary",
        "Give Burglary a number from 1 to 5, or leave it blank",
    ),
}


@pytest.mark.parametrize("case", BAD_SURVEYS)
async def test_bad_create_forms_are_refused_with_everything_kept(staff: Client, engine: AsyncEngine, case: str) -> None:
    overrides, href, message = BAD_SURVEYS[case]
    data = survey_form(**overrides)
    response = await post(staff, "/staff/surveys/new", "/staff/surveys/new", data)
    assert response.status_code == 422
    assert title(response.text).startswith("Error: Create a survey")
    assert (href, message) in error_summary(response.text)
    assert f'id="{href[1:]}"' in response.text  # the summary's link lands on a field
    # Everything typed comes back.
    assert field_value(response.text, "title") == str(data["title"]).strip()
    assert checked(response.text, "issues") == [
        c
        for c in ("anti-social-behaviour", "road-safety", "burglary", "speeding")
        if c in data["issues"]  # type: ignore[operator]
    ]
    assert checked(response.text, "districts") == [d for d in ALL_DISTRICTS if d in data["districts"]]  # type: ignore[operator]
    assert field_value(response.text, "custom-1-code") == data["custom-1-code"]
    assert field_value(response.text, "opens-day") == data["opens-day"]
    assert field_value(response.text, "max_picks") == data["max_picks"]
    assert await count_rows(engine, surveys) == 0


async def test_every_problem_is_listed_at_once_in_page_order(staff: Client) -> None:
    data = survey_form(title="", issues=["speeding"], max_picks="0", districts=[], **{"closes-day": "32"})
    data.update({"custom-1-code": "", "custom-1-label": "", "custom-1-position": ""})
    response = await post(staff, "/staff/surveys/new", "/staff/surveys/new", data)
    assert response.status_code == 422
    assert [href for href, _message in error_summary(response.text)] == [
        "#title",
        "#issues",
        "#max_picks",
        "#districts",
        "#closes-day",
    ]


async def test_bad_edits_change_nothing(staff: Client, engine: AsyncEngine) -> None:
    survey_id = await create(staff)
    before = await saved(engine, survey_id)
    edit_url = f"/staff/surveys/{survey_id}/edit"
    response = await post(staff, edit_url, edit_url, survey_form(title="New title", districts=[]))
    assert response.status_code == 422
    assert title(response.text).startswith("Error: Edit the survey")
    assert ("#districts", "Select at least one district") in error_summary(response.text)
    assert field_value(response.text, "title") == "New title"
    assert await saved(engine, survey_id) == before


BAD_QUESTIONS = {
    "choice with one option": (
        {"kind": "single_choice", "prompt": "Pick", "options": "Only one"},
        "#options",
        "A choice question needs at least 2 options",
    ),
    "the same option twice": (
        {"kind": "multiple_choice", "prompt": "Pick", "options": "Yes\nyes"},
        "#options",
        "Each option must be different",
    ),
    "options for free text": (
        {"kind": "free_text", "prompt": "Tell us", "options": "A\nB"},
        "#options",
        "A free text question takes no options",
    ),
    "no kind": ({"prompt": "Tell us"}, "#kind", "Select the kind of question"),
    "no question": ({"kind": "agreement", "prompt": " "}, "#prompt", "Enter the question residents will see"),
}


@pytest.mark.parametrize("case", BAD_QUESTIONS)
async def test_bad_questions_are_refused_with_everything_kept(staff: Client, engine: AsyncEngine, case: str) -> None:
    survey_id = await create(staff)
    fields, href, message = BAD_QUESTIONS[case]
    response = await add_question(staff, survey_id, **fields)
    assert response.status_code == 422
    assert title(response.text).startswith("Error: Extra questions")
    assert (href, message) in error_summary(response.text)
    assert f'id="{href[1:]}"' in response.text
    if fields.get("kind"):
        assert checked(response.text, "kind") == [fields["kind"]]
    if fields.get("options"):
        assert fields["options"] in unescape(response.text)
    assert await count_rows(engine, survey_questions) == 0


# --- states ---------------------------------------------------------------------------------------------


async def test_actions_that_do_not_fit_the_state_are_explained(staff: Client, engine: AsyncEngine) -> None:
    open_id = await publish_survey(engine)
    page_url = f"/staff/surveys/{open_id}"
    again = await post(staff, page_url, f"{page_url}/publish")
    assert again.status_code == 409
    assert error_summary(again.text) == [("#actions", "Only a draft can be published")]
    assert h1s(again.text) == ["Lancashire Talking test survey"]

    locked = await staff.get(f"{page_url}/edit")
    assert locked.status_code == 200
    assert h1s(locked.text) == ["The questions are locked"]
    assert f'action="{page_url}/waves"' in locked.text
    assert (await post(staff, page_url, f"{page_url}/edit", survey_form())).status_code == 409
    assert (await staff.get(f"{page_url}/questions")).status_code == 200
    assert (
        await post(staff, page_url, f"{page_url}/questions", {"kind": "free_text", "prompt": "Hi"})
    ).status_code == 409
    assert (await saved(engine, open_id)).questions == ()

    draft_id = await create(staff, **moment_fields("closes", london_date(-1), "9:00"), **moment_fields("opens", None))
    draft_url = f"/staff/surveys/{draft_id}"
    closing = await post(staff, draft_url, f"{draft_url}/close")
    assert closing.status_code == 409
    assert error_summary(closing.text) == [("#actions", "Only a published survey can be closed")]
    late = await post(staff, draft_url, f"{draft_url}/publish")  # its closing time has passed
    assert late.status_code == 422
    assert error_summary(late.text) == [("#closes-day", "The closing time has passed: change it before publishing")]
    wave = await post(staff, draft_url, f"{draft_url}/waves")
    assert wave.status_code == 409
    bad_dates = {**moment_fields("opens", london_date(3), "9:00"), **moment_fields("closes", london_date(2), "9:00")}
    refused = await post(staff, draft_url, f"{draft_url}/dates", bad_dates)
    assert refused.status_code == 422
    assert error_summary(refused.text) == [("#closes-day", "The closing time must be after the opening time")]
    assert field_value(refused.text, "opens-day") == str(london_date(3).day)  # as typed
    typo = await post(staff, draft_url, f"{draft_url}/dates", {**bad_dates, "opens-month": "13"})
    assert typo.status_code == 422
    assert error_summary(typo.text) == [("#opens-day", "The opening date must be a real date, like 27 3 2027")]
    assert (await saved(engine, draft_id)).status == "draft"

    closed_id = await publish_survey(engine, title="Closed one")
    closed_url = f"/staff/surveys/{closed_id}"
    assert (await post(staff, closed_url, f"{closed_url}/close")).status_code == 303
    ok_dates = {**moment_fields("opens", None), **moment_fields("closes", london_date(9))}
    refused = await staff.post(
        f"{closed_url}/dates", data={"_csrf_token": csrf_from((await staff.get(closed_url)).text), **ok_dates}
    )
    assert refused.status_code == 409
    assert error_summary(refused.text) == [("#actions", "This survey is closed; start a new wave instead")]


async def test_scheduled_survey_can_be_closed_before_it_opens(staff: Client, engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    survey_id = await publish_survey(engine, opens_at=now + timedelta(days=2), closes_at=now + timedelta(days=9))
    page = await staff.get(f"/staff/surveys/{survey_id}")
    assert "Scheduled: published, and opens at" in text_of(page.text)
    assert f'action="/staff/surveys/{survey_id}/close"' in page.text
    assert ">Scheduled<" in (await staff.get("/staff")).text.replace("\n", "").replace(" ", "")


async def test_unknown_surveys_are_not_found(staff: Client) -> None:
    for page in ("", "/edit", "/questions", "/preview", "/preview/check"):
        path = f"/staff/surveys/999{page}"
        assert (await staff.get(path)).status_code == 404, path
    assert (await post(staff, "/staff", "/staff/surveys/999/publish")).status_code == 404
    assert (await post(staff, "/staff", "/staff/surveys/999/waves")).status_code == 404


# --- who may do what ------------------------------------------------------------------------------------


async def test_analysts_read_but_change_nothing(client: Client, engine: AsyncEngine) -> None:
    await make_user(engine, ANALYST, "analyst")
    survey_id = await publish_survey(engine)
    assert (await sign_in(client, ANALYST)).status_code == 303
    home = await client.get("/staff")
    assert home.status_code == 200
    assert "Create a survey" not in home.text
    page = await client.get(f"/staff/surveys/{survey_id}")
    assert page.status_code == 200
    main = main_of(page.text)
    assert "<form" not in main and "<button" not in main  # no actions
    assert "Preston" in table_counts(page.text)
    assert (await client.get(f"/staff/surveys/{survey_id}/preview/district")).status_code == 200
    for path in ("/staff/surveys/new", f"/staff/surveys/{survey_id}/edit", f"/staff/surveys/{survey_id}/questions"):
        assert (await client.get(path)).status_code == 403, path
    token = csrf_from((await client.get("/account")).text)
    for action in (
        "publish",
        "close",
        "waves",
        "dates",
        "edit",
        "questions",
        "questions/q1/remove",
        "questions/q1/move",
    ):
        response = await client.post(f"/staff/surveys/{survey_id}/{action}", data={"_csrf_token": token})
        assert response.status_code == 403, action
    assert (await client.post("/staff/surveys/new", data={"_csrf_token": token, **survey_form()})).status_code == 403
    assert await count_rows(engine, surveys) == 1
    assert (await saved(engine, survey_id)).status == "open"


async def test_anonymous_people_are_sent_to_sign_in(client: Client, engine: AsyncEngine) -> None:
    survey_id = await publish_survey(engine)
    for path in ("/staff", f"/staff/surveys/{survey_id}", f"/staff/surveys/{survey_id}/preview", "/staff/surveys/new"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/sign-in?next=%2Fstaff")
    token = csrf_from((await client.get("/sign-in")).text)
    response = await client.post(
        f"/staff/surveys/{survey_id}/close", data={"_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")
    assert (await saved(engine, survey_id)).status == "open"
