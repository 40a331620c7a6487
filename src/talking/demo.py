"""The demo: a published "top five issues" survey with realistic synthetic answers, and a demo panel.

Answers come from a Plackett-Luce model whose issue worths differ by district (a seaside town
worries about drugs and alcohol, a rural valley about speeding and rural crime), so every
district-level view in the demo has something true to show.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from talking.db.engine import create_engine, immediate
from talking.db.models import invitations, surveys
from talking.invitations.services import send_invitations
from talking.members.schemas import MemberRow
from talking.members.services import import_members
from talking.questionnaires.schemas import SurveyCreate
from talking.questionnaires.services import create_survey, publish
from talking.reference import AGE_BANDS, PREFER_NOT_TO_SAY, districts
from talking.settings import Settings
from talking.surveys.batches import PendingResponse
from talking.surveys.writer import ResponseWriter

DEMO_TITLE = "Lancashire Talking: your top five community issues"
DEMO_INTRODUCTION = (
    "Tell the community safety partnership which issues matter most where you live. "
    "Your answers help set priorities for the Lancashire Strategic Assessment."
)

# County-wide appeal of each issue (Plackett-Luce worths).
BASE_WORTH = {
    "anti-social-behaviour": 3.0,
    "drug-dealing-and-taking": 2.5,
    "speeding": 2.2,
    "road-safety": 2.0,
    "burglary": 1.6,
    "fly-tipping-and-litter": 1.3,
    "criminal-damage": 1.2,
    "fraud": 1.2,
    "violent-crime": 1.1,
    "alcohol": 1.0,
    "domestic-abuse": 0.9,
    "vehicle-crime": 0.8,
    "cyber-crime": 0.6,
    "hate-crime": 0.35,
    "rural-crime": 0.3,
}

# What stands out in each district: these issues get a larger worth there.
DISTRICT_CONCERNS = {
    "Blackpool": ("drug-dealing-and-taking", "alcohol", "violent-crime", "anti-social-behaviour"),
    "Blackburn with Darwen": ("anti-social-behaviour", "drug-dealing-and-taking", "road-safety"),
    "Burnley": ("anti-social-behaviour", "criminal-damage", "burglary"),
    "Pendle": ("drug-dealing-and-taking", "speeding", "anti-social-behaviour"),
    "Hyndburn": ("anti-social-behaviour", "fly-tipping-and-litter", "drug-dealing-and-taking"),
    "Preston": ("violent-crime", "drug-dealing-and-taking", "vehicle-crime"),
    "Lancaster": ("alcohol", "anti-social-behaviour", "cyber-crime"),
    "Rossendale": ("speeding", "fly-tipping-and-litter", "road-safety"),
    "Ribble Valley": ("rural-crime", "speeding", "road-safety", "fraud"),
    "Fylde": ("fraud", "speeding", "road-safety"),
    "Wyre": ("fraud", "speeding", "fly-tipping-and-litter"),
    "Chorley": ("speeding", "road-safety", "burglary"),
    "South Ribble": ("speeding", "road-safety", "burglary"),
    "West Lancashire": ("rural-crime", "speeding", "burglary"),
}
CONCERN_BOOST = 2.5

COMMENT_PHRASES = {
    "anti-social-behaviour": "Groups hanging round the shops at night shouting and intimidating people.",
    "drug-dealing-and-taking": "Drug dealing happens openly near the park and the alley behind the houses.",
    "speeding": "Cars speed down our road every evening; it needs speed cameras or bumps.",
    "road-safety": "The junction by the school is dangerous and there is no safe crossing.",
    "burglary": "Several houses on our street have been burgled this year.",
    "fly-tipping-and-litter": "Fly-tipping in the back lanes is getting worse and is never cleared quickly.",
    "criminal-damage": "Bus shelters and cars keep getting vandalised.",
    "fraud": "My elderly neighbour was targeted by phone scammers pretending to be the bank.",
    "violent-crime": "There have been fights in the town centre at weekends.",
    "alcohol": "Street drinking in the town centre makes people feel unsafe.",
    "domestic-abuse": "More support is needed for people living with domestic abuse.",
    "vehicle-crime": "Catalytic converters stolen from cars parked on the street.",
    "cyber-crime": "Young people are being bullied and scammed online.",
    "hate-crime": "Neighbours have been abused because of their religion.",
    "rural-crime": "Farm machinery thefts and sheep worrying by dogs off leads.",
}


def synthetic_responses(
    issue_codes: list[str], max_picks: int, n: int, seed: int, now: datetime
) -> list[PendingResponse]:
    """Draw ``n`` answers whose preferences differ by district; repeatable for a given seed."""
    rng = np.random.default_rng(seed)
    areas = districts()
    population = np.array([d.population for d in areas], dtype=float)
    district_index = rng.choice(len(areas), size=n, p=population / population.sum())
    log_worth = np.log([[BASE_WORTH.get(code, 1.0) for code in issue_codes] for _ in areas])
    for row, area in enumerate(areas):
        for code in DISTRICT_CONCERNS.get(area.name, ()):
            if code in issue_codes:
                log_worth[row, issue_codes.index(code)] += np.log(CONCERN_BOOST)
    # Plackett-Luce by Gumbel-max: sorting log-worth plus Gumbel noise draws a ranking.
    keys = log_worth[district_index] + rng.gumbel(size=(n, len(issue_codes)))
    order = np.argsort(-keys, axis=1)
    # Most residents fill all their picks; some stop early.
    n_picks = np.minimum(max_picks, rng.choice([max_picks, max_picks - 1, 2, 1], size=n, p=[0.8, 0.1, 0.06, 0.04]))
    n_picks = np.maximum(n_picks, 1)
    older = np.array([d.aged_65_and_over / (d.aged_15_to_64 + d.aged_65_and_over) for d in areas])
    age_codes = [c.code for c in AGE_BANDS if c.code != PREFER_NOT_TO_SAY]
    seconds_ago = rng.uniform(0, 30 * 24 * 3600, size=n)
    responses = []
    for i in range(n):
        d = district_index[i]
        picks = tuple(issue_codes[j] for j in order[i, : n_picks[i]])
        roll = rng.random()
        if roll < 0.1:
            age_band = None
        elif roll < 0.15:
            age_band = PREFER_NOT_TO_SAY
        elif rng.random() < older[d] * 1.4:  # In the Know members skew older than the population
            age_band = str(rng.choice(age_codes[5:]))
        else:
            age_band = str(rng.choice(age_codes[:5]))
        sex = None
        if rng.random() < 0.9:
            sex = str(rng.choice(["female", "male", PREFER_NOT_TO_SAY], p=[0.55, 0.42, 0.03]))
        comment = COMMENT_PHRASES.get(picks[0]) if rng.random() < 0.2 else None
        responses.append(
            PendingResponse(
                survey_id=0,
                district=areas[d].code,
                picks=picks,
                comment=comment,
                age_band=age_band,
                sex=sex,
                channel="demo",
                submitted_at=now - timedelta(seconds=float(seconds_ago[i])),
            )
        )
    return responses


async def load_demo(settings: Settings, n_responses: int, seed: int, if_empty: bool = False) -> int | None:
    """Publish the demo survey and store ``n_responses`` synthetic answers; returns its id."""
    engine = create_engine(settings.database_url)
    try:
        if if_empty:
            async with engine.connect() as conn:
                if (await conn.execute(select(func.count()).select_from(surveys))).scalar_one():
                    return None
        now = datetime.now(UTC)
        issue_codes = list(BASE_WORTH)
        definition = SurveyCreate(
            title=DEMO_TITLE,
            introduction=DEMO_INTRODUCTION,
            issues=tuple(issue_codes),
            max_picks=5,
            opens_at=now - timedelta(days=30),
            closes_at=now + timedelta(days=60),
        )
        async with immediate(engine).begin() as conn:
            survey_id = await create_survey(conn, definition)
            await publish(conn, survey_id)
        writer = ResponseWriter(engine)
        answers = synthetic_responses(issue_codes, 5, n_responses, seed, now)
        with tqdm(total=n_responses, desc="demo responses", unit="resp") as progress:
            for start in range(0, n_responses, 2_000):
                batch = answers[start : start + 2_000]
                for answer in batch:
                    answer.survey_id = survey_id
                await writer.store_now(batch)
                progress.update(len(batch))
        await writer.stop()
        return survey_id
    finally:
        await engine.dispose()


# --- the demo panel: members, a members survey, invitations and some answers --------------------------

PANEL_TITLE = "Lancashire Talking panel: feeling safe where you live"
PANEL_INTRODUCTION = (
    "You are on the Lancashire Talking panel. Tell the community safety partnership which issues matter "
    "most where you live: it takes about five minutes."
)
PANEL_SIZE = 420
# The members survey opened this many days before the demo was loaded.
PANEL_OPEN_DAYS = 7
# How keen each district's members are to answer (share of those invited); a few are low, so the
# response-rate table has warnings to show.
ANSWER_SHARE = {"Blackpool": 0.08, "Burnley": 0.3, "Pendle": 0.06, "Ribble Valley": 0.7, "Fylde": 0.65}
DEFAULT_ANSWER_SHARE = 0.45


class DemoPanel(msgspec.Struct, frozen=True):
    """What the demo panel loader made."""

    survey_id: int
    members: int
    invited: int
    answered: int


async def load_demo_panel(settings: Settings, seed: int) -> DemoPanel:
    """A few hundred demo members across the 14 districts, a published members survey, its invitations
    (emails queued) and answers from some of them, stored by the response writer with their invitations used."""
    rng = np.random.default_rng(seed + 1)
    areas = districts()
    population = np.array([d.population for d in areas], dtype=float)
    per_district = np.maximum(12, np.round(PANEL_SIZE * population / population.sum())).astype(int)
    rows = []
    for area, count in zip(areas, per_district, strict=True):
        slug = area.name.lower().replace(" ", "-")
        for n in range(count):
            email = f"demo.{slug}.{n}@example.org"
            age = str(rng.choice([c.code for c in AGE_BANDS])) if rng.random() < 0.7 else None
            rows.append(MemberRow(len(rows) + 2, email, email, area.code, age, None))
    engine = create_engine(settings.database_url)
    try:
        now = datetime.now(UTC)
        definition = SurveyCreate(
            title=PANEL_TITLE,
            introduction=PANEL_INTRODUCTION,
            issues=tuple(BASE_WORTH),
            max_picks=5,
            opens_at=now - timedelta(days=PANEL_OPEN_DAYS),
            closes_at=now + timedelta(days=21),
            audience="members",
        )
        async with immediate(engine).begin() as conn:
            await import_members(conn, rows)
            survey_id = await create_survey(conn, definition)
            await publish(conn, survey_id)
            invited = await send_invitations(
                conn, survey_id, base_url=settings.base_url, secret_key=settings.secret_key
            )
            found = (
                await conn.execute(
                    select(invitations.c.id, invitations.c.district_code).where(invitations.c.survey_id == survey_id)
                )
            ).all()
        names = {d.code: d.name for d in areas}
        chosen = [
            (invitation_id, code)
            for invitation_id, code in found
            if rng.random() < ANSWER_SHARE.get(names[code], DEFAULT_ANSWER_SHARE)
        ]
        await _answer_as_invited(engine, survey_id, chosen, seed, now)
        return DemoPanel(survey_id=survey_id, members=len(rows), invited=invited, answered=len(chosen))
    finally:
        await engine.dispose()


async def _answer_as_invited(
    engine: AsyncEngine, survey_id: int, chosen: list[tuple[int, str]], seed: int, now: datetime
) -> None:
    """Answers for the chosen invitations, by the response writer, each invitation then marked used on its day."""
    # Drawn with each district's own preferences; a district that drew too few borrows another's answers.
    drawn = synthetic_responses(list(BASE_WORTH), 5, len(chosen) * 4, seed + 2, now)
    pools: dict[str, list[PendingResponse]] = {}
    for answer in drawn:
        pools.setdefault(answer.district, []).append(answer)
    spare = iter(drawn[::-1])
    batch, used = [], []
    for invitation_id, code in chosen:
        answer = copy.copy(pools[code].pop() if pools.get(code) else next(spare))
        # Answers over the week the survey has been open (drawn over the last thirty days).
        answer_age = (now - (answer.submitted_at or now)) * (PANEL_OPEN_DAYS / 30)
        answer.survey_id, answer.district, answer.submitted_at = survey_id, code, now - answer_age
        batch.append(answer)
        used.append({"invitation_id": invitation_id, "day": answer.submitted_at.date()})
    writer = ResponseWriter(engine)
    try:
        if batch:
            await writer.store_now(batch)
    finally:
        await writer.stop()
    if used:
        async with immediate(engine).begin() as conn:
            await conn.execute(
                update(invitations)
                .where(invitations.c.id == bindparam("invitation_id"))
                .values(used_on=bindparam("day")),
                used,
            )
