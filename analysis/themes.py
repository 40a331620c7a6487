"""Themes in residents' free-text comments: TF-IDF and non-negative matrix factorisation.

Each theme is labelled by its top terms, sized by the comments it dominates, and illustrated by
the comments most strongly about it. Quotes come only from comments the caller allows (never
from a suppressed district). With too few comments, or none with usable words, there are no
themes. At scale, pass a random sample of comments: themes do not need them all.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer

from analysis.schemas import Theme


def comment_themes(
    comments: list[str],
    n_themes: int = 5,
    n_terms: int = 6,
    n_quotes: int = 3,
    quotable: np.ndarray | None = None,
    min_comments: int = 10,
    max_quote_chars: int = 280,
    random_state: int | None = 0,
) -> list[Theme]:
    """Find up to n_themes themes; quotable (bool per comment) marks comments that may be quoted."""
    allowed = np.ones(len(comments), dtype=bool) if quotable is None else np.asarray(quotable, bool)
    texts = [(c or "").strip() for c in comments]
    keep = np.array([i for i, t in enumerate(texts) if t], dtype=np.int64)
    if keep.size < max(min_comments, 2):
        return []
    docs = [texts[i] for i in keep]
    # on small samples a term in one comment can still be a theme; on large ones it is noise
    vectorizer = TfidfVectorizer(
        stop_words="english", min_df=2 if len(docs) >= 50 else 1, max_df=0.9, sublinear_tf=True
    )
    try:
        tfidf = vectorizer.fit_transform(docs)
    except ValueError:  # nothing left after stop words
        return []
    terms = vectorizer.get_feature_names_out()
    k = min(n_themes, len(docs) - 1, len(terms))
    if k < 1:
        return []
    nmf = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=400)
    weight = nmf.fit_transform(tfidf)
    owner = np.where(weight.max(axis=1) > 0, weight.argmax(axis=1), -1)
    themes = []
    for t in range(k):
        size = int((owner == t).sum())
        if size == 0:
            continue
        top_terms = [str(terms[j]) for j in np.argsort(-nmf.components_[t])[:n_terms]]
        quotes, seen = [], set()
        for row in np.argsort(-weight[:, t]):
            if len(quotes) == n_quotes or weight[row, t] <= 0:
                break
            text = docs[row]
            if owner[row] != t or not allowed[keep[row]] or text in seen:
                continue
            seen.add(text)
            quotes.append(text if len(text) <= max_quote_chars else text[: max_quote_chars - 1] + "…")
        themes.append(Theme(terms=top_terms, size=size, quotes=quotes))
    themes.sort(key=lambda th: -th.size)
    return themes
