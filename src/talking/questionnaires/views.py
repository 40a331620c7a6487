"""What a survey's staff page shows: its waves, what its state allows, and responses by district as a chart."""

from __future__ import annotations

import msgspec

from talking.errors import SurveyNotFound
from talking.invitations.rates import FEW_ANSWERS, LOW_RATE, ResponseRates, percent
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
    # Members surveys: invited, answered and the rate by district; None for a survey open to anyone.
    rates: ResponseRates | None = None
    # Members surveys that are open: staff may send invitations and reminders.
    can_invite: bool = False
    rate_chart: RateChart | None = None
    rate_warning: str | None = None


class RateBar(msgspec.Struct, frozen=True):
    """One district's response rate as a bar, with its figures in words beside it."""

    name: str
    text: str  # "42% (21 of 50)"
    y: int
    width: int
    text_y: int
    low: bool


class RateChart(msgspec.Struct, frozen=True):
    """A horizontal bar chart of response rates by district (0 to 100%)."""

    width: int
    height: int
    label_width: int
    bar_height: int
    font_size: int
    bars: list[RateBar]
    description: str


# Room for "100% (1,234 of 5,678)" after the bar.
RATE_VALUE_ROOM = 200


def low_rate_warning(rates: ResponseRates) -> str | None:
    """The warning over the response rates, naming the districts whose rate is low (None if none is)."""
    if not rates.low:
        return None
    return (
        f"Low response rate (under {LOW_RATE:.0%}, or fewer than {FEW_ANSWERS} answers) in "
        f"{', '.join(d.name for d in rates.low)}: figures for these districts say less about their residents."
    )


def rate_chart(rates: ResponseRates) -> RateChart:
    """Bars as long as each district's response rate (the whole width would be 100%)."""
    room = CHART_WIDTH - LABEL_WIDTH - RATE_VALUE_ROOM
    bars = []
    for n, district in enumerate(rates.districts):
        y = n * ROW_HEIGHT + 8
        text = f"{percent(district.rate)} ({district.answered:,} of {district.invited:,})"
        width = round(room * (district.rate or 0.0))
        bars.append(RateBar(district.name, text, y, width, y + BAR_HEIGHT - 6, district.low))
    low = [d.name for d in rates.low]
    warning = f" Low (under {LOW_RATE:.0%}, or fewer than {FEW_ANSWERS} answers): {', '.join(low)}." if low else ""
    description = (
        f"One bar for each of the {len(bars)} districts, as long as the share of its invited panel members "
        f"who have answered; the county's rate is {percent(rates.county.rate)} ({rates.county.answered:,} of "
        f"{rates.county.invited:,}).{warning} The table has the same figures."
    )
    return RateChart(
        width=CHART_WIDTH,
        height=len(bars) * ROW_HEIGHT + 16,
        label_width=LABEL_WIDTH,
        bar_height=BAR_HEIGHT,
        font_size=FONT_SIZE,
        bars=bars,
        description=description,
    )


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
    survey: Survey,
    summaries: list[SurveySummary],
    counts: list[DistrictCount],
    *,
    can_change: bool,
    rates: ResponseRates | None = None,
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
        rates=rates,
        rate_chart=rate_chart(rates) if rates is not None and rates.any_invited else None,
        rate_warning=low_rate_warning(rates) if rates is not None else None,
        can_invite=can_change and survey.audience == "members" and summary.state == "open",
    )
