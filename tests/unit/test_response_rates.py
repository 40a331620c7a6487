"""Response rates from invitation counts: the rate, the low flag's two thresholds, the county, and the words."""

from __future__ import annotations

from talking.invitations.rates import FEW_ANSWERS, LOW_RATE, percent, rate_notes, rates_of
from talking.reference import districts

CODES = {d.name: d.code for d in districts()}


def test_rates_by_district_and_for_the_county() -> None:
    rates = rates_of(
        [(CODES["Preston"], 100, 40), (CODES["Wyre"], 300, 20), (CODES["Burnley"], 50, 19), (CODES["Fylde"], 400, 39)],
        covered=(CODES["Preston"], CODES["Chorley"]),
    )
    by_name = {d.name: d for d in rates.districts}
    assert list(by_name) == ["Burnley", "Chorley", "Fylde", "Preston", "Wyre"]  # by name; covered but uninvited too
    assert (by_name["Preston"].rate, by_name["Preston"].low) == (0.4, False)
    assert (by_name["Wyre"].rate, by_name["Wyre"].low) == (20 / 300, True)  # under 10%
    assert by_name["Burnley"].low  # 38%, but fewer than 20 answers
    assert by_name["Fylde"].low  # 39 answers, but 9.75%
    assert (by_name["Chorley"].rate, by_name["Chorley"].low) == (None, False)  # nobody invited: nothing to warn of
    assert (rates.county.invited, rates.county.answered) == (850, 118)
    assert rates.county.low is False  # 13.9%: the county is judged on its rate alone
    assert [d.name for d in rates.low] == ["Burnley", "Fylde", "Wyre"]
    assert (LOW_RATE, FEW_ANSWERS) == (0.10, 20)


def test_no_invitations_yet() -> None:
    rates = rates_of([])
    assert rates.districts == [] and not rates.any_invited and rates.county.rate is None


def test_words() -> None:
    assert [percent(r) for r in (None, 0.0, 0.004, 0.0975, 0.5, 1.0)] == [
        "no invitations", "0%", "0.4%", "9.8%", "50%", "100%",
    ]  # fmt: skip
    notes = rate_notes(rates_of([(CODES["Preston"], 100, 40), (CODES["Wyre"], 300, 20)]))
    assert notes[0] == (
        "Invited panel members only: 400 invited, 60 answered, a response rate of 15%. "
        "By district: Preston 40% (40 of 100); Wyre 6.7% (20 of 300)."
    )
    assert notes[1].startswith("Warning: a low response rate (under 10% of those invited, or fewer than 20 answers)")
    assert "in Wyre (6.7%, 20 of 300)" in notes[1]
