"""The county's and a district's story in plain words, from the rank ranges of their published figures.

Which issues came top and how clearly comes from analysis.story.tiers: an issue is said to be
ahead of another only when their rank ranges do not overlap; otherwise they are "too close to
separate". A district is compared with the county by the report's own test ("over", "under").
"""

from __future__ import annotations

from analysis.story import tiers
from talking.results.schemas import PublicArea, PublicIssue


def mid_sentence(label: str) -> str:
    """A label inside a sentence: "Road safety" -> "road safety" ("ASB" stays as it is)."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def listed(labels: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def top_story(issues: list[PublicIssue], *, where: str = "") -> list[str]:
    """Sentences on which issues came top and which next, and how clearly (``where``: " in Preston")."""
    if not issues:
        return []
    found = tiers(issues)
    top = found[0]
    names = [issue.label for issue in top]
    sentences = []
    if len(issues) == 1:
        sentences.append(f"{names[0]} was the only issue residents{where} named.")
    elif len(top) == 1:
        sentences.append(f"{names[0]} was the top concern{where}, clearly ahead of the next issue.")
    elif len(top) == len(issues):
        sentences.append(
            f"Residents{where} ranked every issue about the same: the answers are too close to separate any of them."
        )
        return sentences
    else:
        first, *rest = names
        sentences.append(
            f"{listed([first, *[mid_sentence(n) for n in rest]])} were the top concerns{where}, too close to separate: "
            "the answers do not show which of them matters more."
        )
    if len(found) > 1:
        following = [mid_sentence(issue.label) for issue in found[1]]
        if len(found) == 2 and len(following) > 1:
            sentences.append(f"The other issues ({listed(following)}) were too close to separate.")
        elif len(following) == 1:
            sentences.append(f"Next came {following[0]}.")
        else:
            sentences.append(f"Next came {listed(following)}, too close to separate.")
    return sentences


def against_county(district: PublicArea, county: PublicArea) -> list[str]:
    """Sentences on the issues a district put higher or lower than the county, beyond chance."""
    over = [mid_sentence(i.label) for i in district.issues if i.versus_county == "over"]
    under = [mid_sentence(i.label) for i in district.issues if i.versus_county == "under"]
    sentences = []
    if over:
        sentences.append(f"Residents of {district.name} put {listed(over)} higher than the county as a whole.")
    if under:
        sentences.append(f"They put {listed(under)} lower than the county as a whole.")
    if not over and not under:
        sentences.append(
            f"No issue stood out in {district.name} from the county as a whole by more than chance could explain."
        )
    if county.issues and district.issues and county.issues[0].code != district.issues[0].code:
        sentences.append(f"Across Lancashire, {mid_sentence(county.issues[0].label)} ranked first.")
    return sentences
