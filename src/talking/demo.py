"""The demo: a published "top five issues" survey with realistic synthetic answers.

Answers come from a Plackett-Luce model whose issue worths differ by district (a seaside town
worries about drugs and alcohol, a rural valley about speeding and rural crime), so every
district-level view in the demo has something true to show.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from tqdm import tqdm

from talking.db.engine import create_engine, immediate
from talking.db.models import surveys
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
