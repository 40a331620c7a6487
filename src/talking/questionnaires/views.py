"""What a survey's staff page shows: its waves, what its state allows, and responses by district as a chart."""

from __future__ import annotations

import msgspec

from talking.errors import SurveyNotFound
from talking.questionnaires.schemas import DistrictCount, SurveySummary
from talking.reference import districts_by_code
from talking.surveys.schemas import Survey

# The chart's geometry, in SVG user units (it scales to the column's width).
CHART_WIDTH = 640
LABEL_WIDTH = 250  # room for "Blackburn with Darwen" in a wide font
VALUE_ROOM = 60
ROW_HEIGHT = 36
BAR_HEIGHT = 24
FONT_SIZE = 19  # GOV.UK body text


class Bar(msgspec.Struct, frozen=True):
    """One district's bar."""

    name: str
    responses: int
    y: int
    width: int
    text_y: int  # the baseline of its name and number, level with the bar


class Chart(msgspec.Struct, frozen=True):
    """A horizontal bar chart of responses by district."""

    width: int
    height: int
    label_width: int
    bar_height: int
    font_size: int
    bars: list[Bar]
    description: str


class SurveyView(msgspec.Struct, frozen=True):
    """A survey's page beyond its definition: state, waves, counts, and the actions open to this user."""

    summary: SurveySummary
    previous: SurveySummary | None
    next_waves: list[SurveySummary]
    district_names: list[str]
    counts: list[DistrictCount]
    total: int
    chart: Chart
    can_change: bool
    can_publish: bool
    can_close: bool
    can_start_wave: bool
    can_edit: bool
    can_change_dates: bool


def bar_chart(counts: list[DistrictCount]) -> Chart:
    """Bars as long as each district's count, relative to the largest (labels and numbers as text)."""
    largest = max((c.responses for c in counts), default=0)
    room = CHART_WIDTH - LABEL_WIDTH - VALUE_ROOM
    bars = []
    for n, count in enumerate(counts):
        y = n * ROW_HEIGHT + 8
        width = round(room * count.responses / largest) if largest else 0
        bars.append(Bar(name=count.name, responses=count.responses, y=y, width=width, text_y=y + BAR_HEIGHT - 6))
    total = sum(c.responses for c in counts)
    if largest:
        leaders = [c.name for c in counts if c.responses == largest]
        most = f"Most responses: {' and '.join(leaders)} ({largest})."
    else:
        most = "No responses yet."
    description = (
        f"One bar for each of the {len(counts)} districts, as long as its number of responses; "
        f"{total} {'response' if total == 1 else 'responses'} in all. {most} The table has the same figures."
    )
    return Chart(
        width=CHART_WIDTH,
        height=len(counts) * ROW_HEIGHT + 16,
        label_width=LABEL_WIDTH,
        bar_height=BAR_HEIGHT,
        font_size=FONT_SIZE,
        bars=bars,
        description=description,
    )


def survey_view(
    survey: Survey, summaries: list[SurveySummary], counts: list[DistrictCount], *, can_change: bool
) -> SurveyView:
    """Everything the survey page shows besides the definition itself."""
    by_id = {s.id: s for s in summaries}
    summary = by_id.get(survey.id)
    if summary is None:
        raise SurveyNotFound(survey.id)
    names = districts_by_code()
    published = survey.status != "draft"
    return SurveyView(
        summary=summary,
        previous=by_id.get(survey.previous_wave_id) if survey.previous_wave_id else None,
        next_waves=sorted((s for s in summaries if s.previous_wave_id == survey.id), key=lambda s: s.id),
        district_names=[names[code].name for code in survey.districts if code in names],
        counts=counts,
        total=sum(c.responses for c in counts),
        chart=bar_chart(counts),
        can_change=can_change,
        can_publish=can_change and survey.status == "draft",
        can_close=can_change and survey.status == "open" and summary.state in ("open", "scheduled"),
        can_start_wave=can_change and published,
        can_edit=can_change and not published,
        can_change_dates=can_change and survey.status != "closed",
    )
