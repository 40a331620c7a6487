"""Comment themes: planted themes found, few or empty comments handled."""

from __future__ import annotations

import numpy as np

from analysis.synthetic import THEME_WORDS, make_survey
from analysis.themes import comment_themes


def test_planted_themes_are_found():
    survey = make_survey(1500, comment_rate=0.6, seed=6)
    themes = comment_themes(survey.comments, n_themes=6, random_state=0)
    assert len(themes) == 6
    found = []
    for theme in themes:
        overlap = {name: len(set(theme.terms) & set(words)) for name, words in THEME_WORDS.items()}
        best = max(overlap, key=overlap.get)
        assert overlap[best] >= 4
        found.append(best)
        assert len(theme.quotes) == 3
        assert all(sum(w in q.lower() for w in THEME_WORDS[best]) >= 3 for q in theme.quotes)
    assert sorted(found) == sorted(THEME_WORDS)
    sizes = np.bincount(survey.comment_theme[survey.comment_theme >= 0])
    assert sorted(t.size for t in themes) == sorted(sizes)


def test_few_or_empty_comments_give_no_themes():
    assert comment_themes([]) == []
    assert comment_themes(["", "  ", None] * 20) == []
    assert comment_themes(["Speeding cars."] * 3) == []
    assert comment_themes(["the and of it"] * 30) == []  # only stop words


def test_quotes_respect_quotable():
    survey = make_survey(800, comment_rate=0.6, seed=7)
    quotable = np.arange(800) % 2 == 0
    themes = comment_themes(survey.comments, quotable=quotable, random_state=0)
    allowed = {c for c, ok in zip(survey.comments, quotable, strict=True) if ok}
    assert themes and all(q in allowed for t in themes for q in t.quotes)
