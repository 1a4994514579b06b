"""Plain-text helpers shared by data validation and inference: language guess, HTML stripping."""

import html
import re

# Short function words: frequent, unambiguous between these languages, and enough to tell a
# paragraph of news apart. Cyrillic script is told apart by letters, not words.
_STOPWORDS = {
    "fr": "le la les des du de un une et est sont dans pour par sur avec que qui ont été pas ce cette aux au "
    "selon mais ou il elle ils nous leur plus se sa son ses".split(),  # not "a": also English
    "en": "the of and to in is are was were for on with that this by from has have had it its as at be "
    "not but which their said says will an after while near into than who his her they".split(),
    "es": "el los las del y en es son por con para que una un se lo como más pero sus al".split(),
    "de": "der die das und ist sind nicht mit von den dem ein eine auf für sich auch wurde".split(),
    "it": "il gli della delle degli che sono per con una nel alla anche è ha non".split(),
    "pt": "os das dos não uma com para que são pelo pela mais foi ao".split(),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]")
_UKRAINIAN_LETTERS = re.compile(r"[іїєґІЇЄҐ]")
_RUSSIAN_LETTERS = re.compile(r"[ыэъёЫЭЪЁ]")


def detect_language(text: str) -> tuple[str, float]:
    """Guesses the language of `text` from function words and script.

    Returns:
        (code, confidence): an ISO 639-1 code ('fr', 'en', 'ru', 'uk', ...) or 'unknown', and the
        share of counted evidence for it (0 to 1).

    Example:
        >>> detect_language("Les troupes russes se sont retirées de la ville.")[0]
        'fr'
    """
    cyr = len(_CYRILLIC.findall(text))
    lat = len(_LATIN.findall(text))
    if cyr > lat:
        uk, ru = len(_UKRAINIAN_LETTERS.findall(text)), len(_RUSSIAN_LETTERS.findall(text))
        if uk == ru == 0:
            return "ru", 0.5
        return ("uk", uk / (uk + ru)) if uk > ru else ("ru", ru / (uk + ru))
    counts = dict.fromkeys(_STOPWORDS, 0)
    for word in _WORD.findall(text.lower()):
        for lang, words in _STOPWORD_SETS.items():
            if word in words:
                counts[lang] += 1
    total = sum(counts.values())
    if total < 2:
        return "unknown", 0.0
    best = max(counts, key=counts.get)
    return best, counts[best] / total


_STOPWORD_SETS = {lang: frozenset(words) for lang, words in _STOPWORDS.items()}

_HTML_HINT = re.compile(r"<(html|body|div|p|script|head|article|span|br)\b", re.I)
_DROP_BLOCKS = re.compile(r"<(script|style|noscript|head|nav|footer)\b.*?</\1\s*>", re.I | re.S)
_BLOCK_TAGS = re.compile(r"<\s*/?\s*(p|div|br|h[1-6]|li|article|section|tr|blockquote)\b[^>]*>", re.I)
_ANY_TAG = re.compile(r"<[^>]+>")


def looks_like_html(text: str) -> bool:
    """True when `text` carries HTML markup rather than article prose."""
    return len(_HTML_HINT.findall(text)) >= 2


def strip_html(text: str) -> str:
    """Turns an HTML page into paragraphs of text: scripts, styles and navigation dropped."""
    text = _DROP_BLOCKS.sub(" ", text)
    text = _BLOCK_TAGS.sub("\n\n", text)
    text = html.unescape(_ANY_TAG.sub(" ", text))
    paragraphs = (re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)


# Stems of war vocabulary in French, English, Russian and Ukrainian. Front-line news uses several in
# every paragraph; a recipe, a match report or a stock market story uses none or one.
_WAR_STEMS = re.compile(
    r"\b(guerre|arm[ée]e|militair|troupe|soldat|front|forces?\b|offensiv|contre-offensiv|missile|drone|"
    r"frapp|bombard|combats?\b|combattant|obus|artiller|char(s)?\b|brigade|bataillon|occup|lib[ée]r|envahi|invasion|"
    r"russe|ukrain|kremlin|kiev|kyiv|moscou|poutine|zelensk|wagner|"
    r"war\b|army|military|troops|soldier|shell|strike|attack|russia|ukrain|"
    r"войн|арми|войск|фронт|ракет|обстрел|наступ|вiйн|війн|армі|військ|обстріл)",
    re.I,
)


def war_relevance(text: str, sample_chars: int = 20000) -> float:
    """Share of the expected war vocabulary found, 0 to 1: 1.0 from 8 matches per 400 words.

    Example:
        >>> war_relevance("La recette demande trois oeufs et du beurre.")
        0.0
    """
    sample = text[:sample_chars]
    words = max(1, len(sample.split()))
    expected = max(2.0, 8 * min(words, 400) / 400)  # short texts need fewer hits
    return min(1.0, len(_WAR_STEMS.findall(sample)) / expected)
