"""The checks every summary passes: language, length, names (French or English spellings) and numbers found in the article."""

import json
from pathlib import Path

import pytest

from frontwatch.inference.checks import (
    NameGuard, main_place, names_match, static_checks, summary_names, unsupported_names, unsupported_numbers,
)

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = (
    "KIEV, 12 mai 2023 - Les forces ukrainiennes affirment avoir progressé près de Bakhmout et de Tchassiv Iar, "
    "tandis que Moscou dit avoir repoussé des attaques dans la région de Zaporijjia, près de Koupiansk et de Klichtchiïvka. "
    "Le général Oleksandr Syrsky s'est rendu sur place."
)


@pytest.mark.parametrize("english", ["Bakhmut", "Chasiv Yar", "Zaporizhzhia", "Kupiansk", "Klishchiivka", "Syrskyi", "Moscow", "Kyiv"])
def test_english_spellings_are_found_in_the_french_article(english):
    assert unsupported_names(f"Fighting near {english} goes on.", ARTICLE) == []


@pytest.mark.parametrize("invented", ["Odesa", "Pokrovsk", "Kherson", "Melitopol"])
def test_a_place_the_article_lacks_is_flagged(invented):
    summary = f"Ukrainian forces say they advanced near Bakhmut and {invented}."
    assert unsupported_names(summary, ARTICLE) == [invented]
    assert static_checks(summary, ARTICLE) == ["name_not_in_article"]


@pytest.mark.parametrize("summary, article", [
    ("Shelling killed at least 21 people.", "Au moins 21 personnes ont été tuées."),
    ("Zelensky hails the liberation of 2,000 square kilometres.", "la libération de 2 000 km carrés"),
    ("Zelensky hails the liberation of 2,000 square kilometres.", "la libération de deux mille km²"),
    ("Seven people were wounded, including an eight-year-old.", "sept blessés, dont un enfant de huit ans"),
    ("Seven hundred vehicles were delivered.", "sept cents véhicules livrés"),
    ("Seven hundred vehicles were delivered.", "700 véhicules livrés"),
    ("About 25 percent of the town was retaken.", "environ vingt-cinq pour cent de la ville"),
    ("Eighty drones were shot down.", "quatre-vingts drones abattus"),
    ("Troops advanced 1.5 km.", "une avancée de 1,5 km"),
    ("They advanced several hundred metres.", "une avancée de plusieurs centaines de mètres"),
    ("Two missiles hit the town on 3 May 2023.", "une double frappe le 3 mai 2023"),
])
def test_numbers_found_in_the_article_in_digits_or_french_words(summary, article):
    assert unsupported_numbers(summary, article) == []
    assert "number_not_in_article" not in static_checks(summary, article)


@pytest.mark.parametrize("summary, article, missing", [
    ("Shelling killed at least 20 people.", "Au moins 21 personnes ont été tuées.", ["20"]),
    ("Ukraine liberated about 200 square kilometres (600 sq miles).", "la libération de 2 000 km", ["200", "600"]),
    ("An S-500 system was destroyed.", "un système S-400 détruit", ["500"]),
    ("Seven people died, including an eight-year-old.", "sept morts", ["8"]),
])
def test_a_number_the_article_lacks_is_flagged(summary, article, missing):
    assert unsupported_numbers(summary, article) == missing
    assert "number_not_in_article" in static_checks(summary, article)


def test_language_and_length():
    assert static_checks("Ukraine says its troops advanced near Bakhmut.", ARTICLE) == []
    assert "not_english" in static_checks("Les forces ukrainiennes ont avancé près de Bakhmout.", ARTICLE)
    assert "not_english" in static_checks("", ARTICLE)
    assert "too_long" in static_checks("Ukraine says its troops advanced near Bakhmut. " + "And the fight goes on. " * 13, ARTICLE)


def test_names_skip_sentence_words_and_institutions():
    names = summary_names("The Ukrainian General Staff says Russian troops left Kupiansk; Moscow-installed officials deny it.")
    assert names == ["Kupiansk"]


def test_main_place_is_the_first_place_after_a_locative_word():
    assert main_place("Russia's defence ministry claims the capture of Soledar, north-east of Bakhmut.") == "Soledar"
    assert main_place("Kyiv says nothing changed.") is None
    assert names_match("Soledar", "Soledar") and names_match("Kupiansk", "Koupiansk")


def test_reference_summaries_mostly_pass_the_name_check():
    # Measured on the test split's reference summaries: 121 of 128 pass. The failures are mostly
    # references that add a nearby town the article never names (a data flaw, see data/README.md).
    rows = [json.loads(l) for l in (ROOT / "data" / "test.jsonl").read_text().splitlines()]
    passed = sum(not unsupported_names(r["summary_en"], r["text"]) for r in rows)
    assert passed >= 0.93 * len(rows)


def written_in_pieces(guard: NameGuard, text: str, size: int = 3) -> str | None:
    """Writes `text` through `guard` in pieces of `size` characters (each word starting with its space, as
    Gemma's tokens do); returns the text written before the first refused piece, None if none was refused."""
    written = ""
    for word in text.split(" "):
        word = " " + word
        for piece in [word[i : i + size] for i in range(0, len(word), size)] + [""]:
            if not guard.allows(written, piece or " "):
                return written
            written += piece
    return None


@pytest.mark.parametrize("size", [2, 3, 5])
def test_the_guard_lets_the_articles_names_through_in_either_spelling(size):
    guard = NameGuard(ARTICLE)
    summary = "Ukraine's troops advanced near Bakhmut, Chasiv Yar and Klishchiivka; Moscow-installed officials in Zaporizhzhia deny it."
    assert written_in_pieces(guard, summary, size) is None


@pytest.mark.parametrize("invented", ["Odesa", "Pokrovsk", "Melitopol", "Kramatorsk"])
def test_the_guard_stops_a_name_the_article_lacks_before_it_is_finished(invented):
    stopped = written_in_pieces(NameGuard(ARTICLE), f"Ukrainian forces advanced near Bakhmut and {invented} this week.")
    assert stopped is not None and " Bakhmut and" in stopped and invented not in stopped


def test_the_guard_lets_through_the_reference_summaries_that_pass_the_check():
    # Measured: 234 of the 236 dev and test references that pass the name check are written to the end;
    # the 2 others are names that the full-word check matches more loosely (Avdiivka / Avdeïevka).
    rows = [json.loads(l) for name in ("dev", "test") for l in (ROOT / "data" / f"{name}.jsonl").read_text().splitlines()]
    passing = [r for r in rows if not unsupported_names(r["summary_en"], r["text"])]
    through = sum(written_in_pieces(NameGuard(r["text"]), r["summary_en"]) is None for r in passing)
    assert through >= 0.98 * len(passing)
