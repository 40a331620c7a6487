"""The staff forms as typed: read from a request, shown again as typed, and turned into service input.

The forms only check what a browser can get wrong (blank fields, numbers, dates, code spelling);
every rule of a questionnaire is the service's (services.survey_problems). Field ids here are the
ids of the form's inputs, so the error summary links land on them.
"""

from __future__ import annotations

import re

import msgspec
from litestar.datastructures import FormMultiDict

from talking.errors import FieldError
from talking.questionnaires.dates import MOMENT_IDS, Moment, moment_of, parse_dates, read_moment
from talking.questionnaires.schemas import CustomIssue, QuestionCreate, SurveyCreate
from talking.reference import districts, issues, issues_by_code
from talking.surveys.schemas import MAX_PICKS_LIMIT, QuestionKind, Survey
from talking.web.forms import form_text

SPARE_CUSTOM_ROWS = 3
QUESTION_KINDS: tuple[tuple[QuestionKind, str, str], ...] = (
    ("single_choice", "Single choice", "Residents choose one answer from your options"),
    ("multiple_choice", "Multiple choice", "Residents choose any number of your options"),
    ("agreement", "Five-point agreement scale", "From strongly agree to strongly disagree"),
    ("free_text", "Free text", "Residents write their own answer"),
)
ISSUE_GROUPS = (
    ("residents", "Residents' issues"),
    ("strategic", "Strategic Assessment priorities"),
    ("common", "Other concerns"),
)
_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
QUESTION_FIELD_IDS = ["kind", "prompt", "hint", "options", "required"]
_CUSTOM_FIELD = re.compile(r"^custom-(\d{1,3})-(code|label|position)$")


class CustomRow(msgspec.Struct, kw_only=True):
    """One row of "issues of your own", as typed."""

    code: str = ""
    label: str = ""
    position: str = ""

    def is_blank(self) -> bool:
        """Whether nothing was typed in this row."""
        return not (self.code or self.label or self.position)


class SurveyForm(msgspec.Struct, kw_only=True):
    """The create/edit form as typed, kept for re-rendering."""

    title: str = ""
    introduction: str = ""
    issues: list[str] = msgspec.field(default_factory=list)  # ticked taxonomy codes
    positions: dict[str, str] = msgspec.field(default_factory=dict)  # taxonomy code -> typed position
    custom: list[CustomRow] = msgspec.field(default_factory=list)
    max_picks: str = "5"
    districts: list[str] = msgspec.field(default_factory=lambda: [d.code for d in districts()])
    opens: Moment = msgspec.field(default_factory=Moment)
    closes: Moment = msgspec.field(default_factory=Moment)
    ask_about_you: str = "yes"
    audience: str = "open"

    def with_spare_rows(self) -> SurveyForm:
        """The same form with empty custom rows at the end, so issues can be added without JavaScript."""
        # Rows keep their numbers (their fields' ids), so only empty rows at the end are dropped.
        last = max((n for n, row in enumerate(self.custom) if not row.is_blank()), default=-1)
        spare = [CustomRow() for _ in range(SPARE_CUSTOM_ROWS)]
        return msgspec.structs.replace(self, custom=self.custom[: last + 1] + spare)

    def field_ids(self) -> list[str]:
        """The ids of the form's fields from top to bottom, for the error summary's order."""
        custom = [
            f"custom-{n}-{part}" for n in range(1, len(self.custom) + 1) for part in ("code", "label", "position")
        ]
        return [
            "title",
            "introduction",
            "issues",
            *(
                f"position-{issue.code}"
                for source, _name in ISSUE_GROUPS
                for issue in issues()
                if issue.source == source
            ),
            *custom,
            "max_picks",
            "districts",
            *MOMENT_IDS,
            "ask_about_you",
            "audience",
            "questions",
        ]


def in_page_order(errors: dict[str, str], field_ids: list[str]) -> dict[str, str]:
    """The errors in the order their fields appear on the page (the error summary lists them so)."""
    rank = {field_id: n for n, field_id in enumerate(field_ids)}
    return dict(sorted(errors.items(), key=lambda item: rank.get(item[0], len(rank))))


class QuestionForm(msgspec.Struct, kw_only=True):
    """The "add a question" form as typed."""

    kind: str = ""
    prompt: str = ""
    hint: str = ""
    options: str = ""
    required: str = "no"


# --- the create / edit form ------------------------------------------------------------------------


def form_of(survey: Survey) -> SurveyForm:
    """A saved survey as its edit form shows it."""
    taxonomy = issues_by_code()
    positions = {issue.code: str(n) for n, issue in enumerate(survey.issues, start=1)}
    return SurveyForm(
        title=survey.title,
        introduction=survey.introduction,
        issues=[i.code for i in survey.issues if i.code in taxonomy],
        positions={code: n for code, n in positions.items() if code in taxonomy},
        custom=[
            CustomRow(code=i.code, label=i.label, position=positions[i.code])
            for i in survey.issues
            if i.code not in taxonomy
        ],
        max_picks=str(survey.max_picks),
        districts=list(survey.districts),
        opens=moment_of(survey.opens_at),
        closes=moment_of(survey.closes_at, end_of_day=True),
        ask_about_you="yes" if survey.ask_about_you else "no",
        audience=survey.audience,
    ).with_spare_rows()


def read_survey_form(form: FormMultiDict) -> SurveyForm:
    """The create/edit form from a POST (a single ticked box is still a list)."""
    rows: dict[int, dict[str, str]] = {}
    for name in form:
        if found := _CUSTOM_FIELD.match(name):
            rows.setdefault(int(found.group(1)), {})[found.group(2)] = form_text(form, name).strip()
    return SurveyForm(
        title=form_text(form, "title").strip(),
        introduction=form_text(form, "introduction").replace("\r\n", "\n").strip(),
        issues=[v for v in form.getall("issues", []) if isinstance(v, str)],
        positions={i.code: form_text(form, f"position-{i.code}").strip() for i in issues()},
        custom=[CustomRow(**rows[n]) for n in sorted(rows)],
        max_picks=form_text(form, "max_picks").strip(),
        districts=[v for v in form.getall("districts", []) if isinstance(v, str)],
        opens=read_moment(form, "opens"),
        closes=read_moment(form, "closes"),
        ask_about_you=form_text(form, "ask_about_you"),
        # Absent only from a form older than the question: the survey stays open to anyone, as before.
        audience=form_text(form, "audience") or "open",
    )


class Built(msgspec.Struct, kw_only=True):
    """A form turned into service input: the definition, the field id of each issue, what is wrong."""

    data: SurveyCreate
    issue_ids: list[str]
    errors: dict[str, str]


class _Entry(msgspec.Struct, frozen=True):
    """A chosen issue on its way into the definition."""

    item: str | CustomIssue
    issue_id: str  # where the service's "issues[i]" errors are shown
    position_id: str
    label: str
    position: str


def _ordered(entries: list[_Entry], errors: dict[str, str]) -> list[_Entry]:
    """The entries in the order staff chose: numbered ones at their number, the rest as listed."""
    count = len(entries)
    numbered: dict[int, list[_Entry]] = {}
    for entry in entries:
        if not entry.position:
            continue
        number = int(entry.position) if entry.position.isdigit() else 0
        if 1 <= number <= count:
            numbered.setdefault(number, []).append(entry)
        else:
            errors[entry.position_id] = f"Give {entry.label} a number from 1 to {count}, or leave it blank"
    placed: dict[int, _Entry] = {}
    for number, sharing in numbered.items():
        if len(sharing) == 1:
            placed[number] = sharing[0]
            continue
        for entry in sharing:
            others = " and ".join(other.label for other in sharing if other is not entry)
            errors[entry.position_id] = f"Give {entry.label} a different number from {others}"
    rest = iter([entry for entry in entries if entry not in placed.values()])
    return [placed[n] if n in placed else next(rest) for n in range(1, count + 1)]


def _custom_entries(rows: list[CustomRow], errors: dict[str, str]) -> list[_Entry]:
    """The typed custom issues (blank rows skipped); a row whose code cannot be used is left out."""
    entries = []
    for n, row in enumerate(rows, start=1):
        if row.is_blank():
            continue
        name = row.label or row.code or f"custom issue {n}"
        if not row.code:
            errors[f"custom-{n}-code"] = f"Enter a code for {name}"
        elif not _CODE.match(row.code):
            errors[f"custom-{n}-code"] = (
                f"The code for {name} must use only lower-case letters, numbers and hyphens, like parking-near-schools"
            )
        if not row.label:
            errors[f"custom-{n}-label"] = f"Enter the words residents see for {name}"
        elif len(row.label) > 200:
            errors[f"custom-{n}-label"] = f"The words for {name} must be 200 characters or fewer"
        if f"custom-{n}-code" not in errors:
            item = CustomIssue(code=row.code, label=row.label)
            entries.append(_Entry(item, f"custom-{n}-code", f"custom-{n}-position", name, row.position))
    return entries


def build_survey(typed: SurveyForm, questions: tuple[QuestionCreate, ...] = ()) -> Built:
    """The definition the form describes, with the form's own errors (the service's come later)."""
    errors: dict[str, str] = {}
    if not typed.title:
        errors["title"] = "Enter a title"
    elif len(typed.title) > 200:
        errors["title"] = "The title must be 200 characters or fewer"
    if len(typed.introduction) > 5000:
        errors["introduction"] = "The introduction must be 5,000 characters or fewer"
    ticked = [issue for issue in issues() if issue.code in typed.issues]
    entries = [_Entry(i.code, "issues", f"position-{i.code}", i.label, typed.positions.get(i.code, "")) for i in ticked]
    # A code that is not in the taxonomy can only come from a doctored form: the service names it.
    entries += [_Entry(code, "issues", "issues", code, "") for code in typed.issues if code not in issues_by_code()]
    entries += _custom_entries(typed.custom, errors)
    ordered = _ordered(entries, errors)
    max_picks = 0
    if not typed.max_picks.isdigit():
        errors["max_picks"] = "Enter the number of issues residents may pick, like 5"
    elif not 1 <= int(typed.max_picks) <= MAX_PICKS_LIMIT:
        errors["max_picks"] = f"The number of picks must be between 1 and {MAX_PICKS_LIMIT}"
    else:
        max_picks = int(typed.max_picks)
    if typed.ask_about_you not in ("yes", "no"):
        errors["ask_about_you"] = "Select yes if residents should be asked their age and sex"
    if typed.audience not in ("open", "members"):
        errors["audience"] = "Select who can answer: anyone with the link, or invited panel members only"
    opens_at, closes_at, date_errors = parse_dates(typed.opens, typed.closes)
    errors.update(date_errors)
    data = SurveyCreate(
        title=typed.title,
        introduction=typed.introduction,
        issues=tuple(entry.item for entry in ordered),
        max_picks=max_picks or 1,
        districts=tuple(typed.districts),
        opens_at=opens_at,
        closes_at=closes_at,
        questions=questions,
        ask_about_you=typed.ask_about_you != "no",
        audience="members" if typed.audience == "members" else "open",
    )
    return Built(data=data, issue_ids=[entry.issue_id for entry in ordered], errors=errors)


def survey_field_ids(problems: list[FieldError], issue_ids: list[str]) -> dict[str, str]:
    """The service's problems by the create/edit form's field ids."""
    found: dict[str, str] = {}
    for problem in problems:
        field = problem.field
        if found_index := re.fullmatch(r"issues\[(\d+)\](\.label)?", field):
            index = int(found_index.group(1))
            field = issue_ids[index] if index < len(issue_ids) else "issues"
            if found_index.group(2) and field.endswith("-code"):  # a custom issue's words
                field = field.removesuffix("-code") + "-label"
        field = {"opens_at": "opens-day", "closes_at": "closes-day"}.get(field, field)
        field = "questions" if field.startswith("questions") else field
        found.setdefault(field, problem.message)
    return found


# --- the "add a question" form ----------------------------------------------------------------------


def read_question_form(form: FormMultiDict) -> QuestionForm:
    """The "add a question" form from a POST."""
    return QuestionForm(
        kind=form_text(form, "kind"),
        prompt=form_text(form, "prompt").strip(),
        hint=form_text(form, "hint").strip(),
        options=form_text(form, "options").replace("\r\n", "\n"),
        required=form_text(form, "required") or "no",
    )


def build_question(typed: QuestionForm, key: str) -> tuple[QuestionCreate | None, dict[str, str]]:
    """The question the form describes, under ``key``, or the form's own errors."""
    errors: dict[str, str] = {}
    kinds = {kind for kind, _label, _hint in QUESTION_KINDS}
    if typed.kind not in kinds:
        errors["kind"] = "Select the kind of question"
    if not typed.prompt:
        errors["prompt"] = "Enter the question residents will see"
    elif len(typed.prompt) > 300:
        errors["prompt"] = "The question must be 300 characters or fewer"
    if len(typed.hint) > 1000:
        errors["hint"] = "The hint must be 1,000 characters or fewer"
    options = tuple(line.strip() for line in typed.options.split("\n") if line.strip())
    if any(len(option) > 200 for option in options):
        errors["options"] = "Each option must be 200 characters or fewer"
    if typed.required not in ("yes", "no"):
        errors["required"] = "Select yes if residents must answer the question"
    if errors:
        return None, errors
    question = QuestionCreate(
        kind=typed.kind,  # type: ignore[arg-type]
        prompt=typed.prompt,
        key=key,
        hint=typed.hint,
        options=options,
        required=typed.required == "yes",
    )
    return question, {}


def question_field_ids(problems: list[FieldError], new_index: int) -> dict[str, str]:
    """The service's problems with a new question by the "add a question" form's field ids."""
    found: dict[str, str] = {}
    for problem in problems:
        part = problem.field.removeprefix(f"questions[{new_index}]")
        field = "options" if part == "" or part.startswith(".options") else "hint" if part == ".hint" else "prompt"
        found.setdefault(field, problem.message)
    return found


def next_key(taken: set[str]) -> str:
    """A question key not used yet: q1, q2, ... (keys stay with their questions when others move)."""
    return next(f"q{n}" for n in range(1, len(taken) + 2) if f"q{n}" not in taken)
