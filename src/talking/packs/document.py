"""A pack's document: the canonical JSON that is stored, and the report read back from it.

Canonical means keys sorted and no spaces (msgspec's encoder writes floats the shortest way that
reads back exactly), so the same figures are always the same bytes and a pack's bytes can be
compared, hashed and served as they are.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from analysis.report import ReportSettings
from talking.reports.data import SurveyFrame
from talking.reports.service import ReportDocument, SurveyReport

FORMAT = "talking-pack/1"


def canonical(value: Any) -> bytes:
    """JSON with sorted keys and no spaces."""
    return msgspec.json.encode(msgspec.to_builtins(value), order="sorted")


def decode(content: bytes) -> dict[str, Any]:
    """A stored pack's document."""
    return msgspec.json.decode(content)


def frame_part(frame: SurveyFrame) -> dict[str, list[str]]:
    """What the renderers need of the survey's definition beyond the report: issues and districts in order."""
    return {
        "issue_codes": frame.issue_codes,
        "issue_labels": frame.issue_labels,
        "district_codes": frame.district_codes,
        "district_names": frame.district_names,
    }


def settings_of(document: dict[str, Any]) -> ReportSettings:
    """The method's settings a pack was made with."""
    return msgspec.convert(document["method"]["settings"], ReportSettings)


def survey_report_of(document: dict[str, Any]) -> SurveyReport:
    """The pack's report as the report feature's renderers take it, from the stored figures only."""
    report = msgspec.convert(document["report"], ReportDocument)
    part, survey = document["frame"], report.survey
    frame = SurveyFrame(
        id=survey.id,
        title=survey.title,
        status=survey.status,
        wave=survey.wave,
        previous_wave_id=survey.previous_wave_id,
        max_picks=report.max_picks,
        issue_codes=part["issue_codes"],
        issue_labels=part["issue_labels"],
        district_codes=part["district_codes"],
        district_names=part["district_names"],
        # Weighting inputs: used only while analysing, never by the renderers.
        population=np.zeros(0),
        age_targets=np.zeros((0, 7)),
        sex_targets=np.zeros((0, 2)),
    )
    return SurveyReport(frame, report, survey.repeat_answers.numerator, recorded_crime=report.recorded_crime)


# What may change without the figures changing: a survey closing after its pack was made.
NOT_FIGURES = {("survey", "status")}


def differences(old: Any, new: Any, path: tuple[str, ...] = (), limit: int = 20) -> list[str]:
    """Where two report documents differ, as paths ("county.weighted.issues.0.score: 41.2 -> 40.9")."""
    found: list[str] = []

    def walk(a: Any, b: Any, at: tuple[str, ...]) -> None:
        if len(found) >= limit or at in NOT_FIGURES:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key), b.get(key), (*at, key))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, (*at, str(i)))
        elif a != b:
            found.append(f"{'.'.join(at) or '(document)'}: {_short(a)} -> {_short(b)}")

    walk(old, new, path)
    return found


def _short(value: Any) -> str:
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."
