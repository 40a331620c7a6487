"""The check page writes out GOV.UK's summary list (templates/surveys/_summary_list.html) for speed:
it must stay the markup govukSummaryList gives for the same rows."""

from __future__ import annotations

from typing import Any

import pytest
from markupsafe import Markup

from talking.templating import jinja_environment

ROWS: list[list[dict[str, Any]]] = [
    [  # one change link a row, plain text, as most of the check page
        {"key": "Where you live", "value": "Preston", "actions": [("/s/1/district", "Change", "where you live")]},
        {"key": "Your age", "value": "Prefer not to say", "actions": [("/s/1/about-you", "Change", "your age")]},
    ],
    [  # text that must be escaped, and an answer kept on its lines
        {
            "key": "Anything else <b>",
            "value": "Cars <speed> & race\nat night",
            "value_classes": "govuk-summary-list__value--preserve-lines",
            "actions": [("/s/1/comment?x=1&y=2", "Change", 'anything else "you" said')],
        }
    ],
    [  # an answer given as markup over several lines, with two actions
        {
            "key": "Your top issues",
            "value_html": Markup(
                '<ol class="govuk-list govuk-list--number">\n  <li>Fraud &amp; scams</li>\n  <li>Burglary</li>\n</ol>'
            ),
            "actions": [("/s/1/issues", "Change", "your issues"), ("/s/1/order", "Reorder", "your issues")],
        }
    ],
    [  # a row without actions among rows with them (an invited journey's area, from the membership)
        {"key": "Where you live", "value": "Preston", "actions": []},
        {"key": "Your age", "value": "35 to 44", "actions": [("/s/1/about-you", "Change", "your age")]},
    ],
]


def govuk_params(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The same rows as govukSummaryList's parameters."""
    params = []
    for row in rows:
        value: dict[str, Any] = {"html": row["value_html"]} if "value_html" in row else {"text": row["value"]}
        if row.get("value_classes"):
            value["classes"] = row["value_classes"]
        actions = [{"href": href, "text": text, "visuallyHiddenText": hidden} for href, text, hidden in row["actions"]]
        params.append(
            {"key": {"text": row["key"]}, "value": value, **({"actions": {"items": actions}} if actions else {})}
        )
    return {"rows": params}


@pytest.mark.parametrize("rows", ROWS)
def test_the_written_out_summary_list_is_govuks_markup(rows: list[dict[str, Any]]) -> None:
    environment = jinja_environment()
    environment.macro_cache = None  # type: ignore[attr-defined]  # GOV.UK's macro itself, every time
    ours = environment.from_string(
        '{% from "surveys/_summary_list.html" import summary_list %}{{ summary_list(rows) }}'
    ).render(rows=rows)
    theirs = environment.from_string(
        '{% from "govuk_frontend_jinja/components/summary-list/macro.html" import govukSummaryList %}'
        "{{ govukSummaryList(params) }}"
    ).render(params=govuk_params(rows))
    assert ours == theirs
