"""The actor-swapped training copies: the right words exchanged, places left alone, labels swapped."""

import pytest

from frontwatch.training.augment import actor_swapped, swap_actors

SWAP = {"advance": "retreat", "retreat": "advance"}


@pytest.mark.parametrize("french, swapped", [
    ("Les forces russes ont pris Soledar.", "Les forces ukrainiennes ont pris Soledar."),
    ("Les soldats ukrainiens reculent.", "Les soldats russes reculent."),
    ("Les Russes se retirent, selon l'état-major russe.", "Les Ukrainiens se retirent, selon l'état-major ukrainien."),
    ("Moscou affirme que l'Ukraine a perdu Avdiïvka.", "Kiev affirme que la Russie a perdu Avdiïvka."),
    ("La Russie revendique la prise du village.", "L'Ukraine revendique la prise du village."),
    ("Zelensky salue la percée ukrainienne.", "Poutine salue la percée russe."),
    # the presidents' first names go with them; other Vladimirs stay
    ("Volodymyr Zelensky et Vladimir Poutine ; Vladimir Saldo.", "Vladimir Poutine et Volodymyr Zelensky ; Vladimir Saldo."),
    # countries as places stay where they are
    ("Une ville de l'est de l'Ukraine, à l'ouest de la Russie.", "Une ville de l'est de l'Ukraine, à l'ouest de la Russie."),
    ("Des troupes entrées en Russie, dans la région de Koursk, venues d'Ukraine.",
     "Des troupes entrées en Russie, dans la région de Koursk, venues d'Ukraine."),
    ("KIEV, 3 mars (AFP) - Rien de neuf.", "MOSCOU, 3 mars (AFP) - Rien de neuf."),
])
def test_french_references_are_exchanged(french, swapped):
    assert swap_actors(french) == swapped


def test_english_references_are_exchanged():
    text = "Russian troops pulled back from Kherson, Ukraine's army says; Putin did not comment. Fighting in Ukraine goes on."
    assert swap_actors(text, english=True) == (
        "Ukrainian troops pulled back from Kherson, Russia's army says; Zelensky did not comment. Fighting in Ukraine goes on."
    )
    assert swap_actors("President Volodymyr Zelensky said so.", english=True) == "President Vladimir Putin said so."


def test_french_words_in_english_text_are_left_alone():
    assert swap_actors("The word russe stays, Russia does not.", english=True) == "The word russe stays, Ukraine does not."


def test_swapping_twice_gives_the_actors_back():
    text = "Les forces russes ont repris Kherson ; l'armée ukrainienne recule, dit Kiev."
    assert swap_actors(swap_actors(text)) == text


def test_only_mapped_rows_are_copied_with_the_direction_swapped():
    rows = [
        {"id": "a", "text": "Les forces russes avancent.", "summary_en": "Russian forces advance.", "sector": "kharkiv", "direction": "retreat"},
        {"id": "b", "text": "Les Ukrainiens reprennent un village.", "summary_en": "Ukrainians retake a village.", "sector": "kherson", "direction": "advance"},
        {"id": "c", "text": "Le front russe est stable.", "summary_en": "The Russian front is stable.", "sector": "kursk", "direction": "none"},
    ]
    copies = actor_swapped(rows, SWAP)
    assert [(c["id"], c["direction"], c["sector"]) for c in copies] == [("a-swapped", "advance", "kharkiv"), ("b-swapped", "retreat", "kherson")]
    assert copies[0]["text"] == "Les forces ukrainiennes avancent."
    assert copies[0]["summary_en"] == "Ukrainian forces advance."
    assert rows[0]["text"] == "Les forces russes avancent."  # the originals are untouched


def test_actor_swap_with_unknown_labels_is_an_error(tiny_config):
    from frontwatch.training import train_classifier

    tiny_config.actor_swap = {"advance": "retraet"}
    with pytest.raises(ValueError, match="actor_swap: retraet are not direction labels"):
        train_classifier(tiny_config, progress=False)
