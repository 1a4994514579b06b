"""The checks every summary passes: language, length, names found in the article (French or English spellings)."""

import json
from pathlib import Path

import pytest

from frontwatch.inference.checks import main_place, names_match, static_checks, summary_names, unsupported_names

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
