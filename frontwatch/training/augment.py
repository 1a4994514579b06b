"""Counterfactual copies of training articles: Ukrainian and Russian references exchanged.

The direction label depends on who moves ("les forces ukrainiennes se retirent" is a retreat, "les
forces russes se retirent" an advance). A classifier trained on the corpus alone learnt the events
instead: with every Ukrainian and Russian reference of a training article exchanged, it kept its
label on 283 of 367 moving articles. A copy with the actors exchanged and the direction swapped
teaches it that the actor decides.

The exchange is lexical: nationality adjectives and nouns, the two capitals and presidents, and the
two countries where they act rather than locate ("la Russie affirme", not "l'est de l'Ukraine").
The presidents' first names go with their surnames; other names (units, generals, Wagner) are left
alone, so a copy is sometimes implausible; its label still follows the scheme, which is what it teaches.
"""

import re

# French nouns an adjective "russe(s)" may follow that take the feminine "ukrainienne(s)".
_FEMININE = frozenset(
    "armée armées force forces troupe troupes défense défenses aviation artillerie infanterie marine garde "
    "brigade brigades unité unités position positions ligne lignes frontière frontières partie offensive "
    "contre-offensive contre-attaque attaque attaques avancée avancées percée colonne colonnes incursion "
    "opération opérations autorité autorités présidence capitale diplomatie propagande presse agence "
    "télévision population présence perte pertes".split()
)
_FRENCH = {
    "ukrainien": "russe", "ukrainienne": "russe", "ukrainiens": "russes", "ukrainiennes": "russes",
    "ukraine": "Russie", "russie": "Ukraine", "kiev": "Moscou", "kyiv": "Moscou", "moscou": "Kiev",
    "zelensky": "Poutine", "zelenski": "Poutine", "poutine": "Zelensky",
    "volodymyr zelensky": "Vladimir Poutine", "vladimir poutine": "Volodymyr Zelensky",
}
_ENGLISH = {
    "ukrainian": "Russian", "russian": "Ukrainian", "ukrainians": "Russians", "russians": "Ukrainians",
    "ukraine": "Russia", "russia": "Ukraine", "kiev": "Moscow", "kyiv": "Moscow", "moscow": "Kyiv",
    "zelensky": "Putin", "putin": "Zelensky",
    "volodymyr zelensky": "Vladimir Putin", "vladimir putin": "Volodymyr Zelensky",
}
_COUNTRIES = {"ukraine", "russie", "russia"}
_WORD = re.compile(r"\b([ld]')?(" + "|".join(sorted({*_FRENCH, *_ENGLISH, "russe", "russes"}, key=len, reverse=True)) + r")\b", re.I)
# A country after one of these is a place ("dans l'est de l'Ukraine", "in Russia"), not an actor.
_LOCATIVE = re.compile(r"\b(en|dans|de|de la|in|of|to|from|into|across)\s*$", re.I)


def _cased(like: str, word: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    return word[0].upper() + word[1:] if like[0].isupper() else word.lower()


def _ukrainian(russe: str, before: str) -> str:
    """The Ukrainian for a French 'russe'/'Russes', agreeing with the noun just before it."""
    plural = russe.lower().endswith("s")
    if russe[0].isupper():  # the people: "les Russes"
        return "Ukrainiens" if plural else "Ukrainien"
    nouns = re.findall(r"[\w-]+", before)
    feminine = bool(nouns) and nouns[-1].lower() in _FEMININE
    return "ukrainien" + ("ne" if feminine else "") + ("s" if plural else "")


def swap_actors(text: str, english: bool = False) -> str:
    """`text` with its Ukrainian and Russian references exchanged.

    Example:
        >>> swap_actors("Les forces russes se retirent de Kherson, annonce Moscou.")
        'Les forces ukrainiennes se retirent de Kherson, annonce Kiev.'
        >>> swap_actors("Ukraine says its troops entered Izium.", english=True)
        'Russia says its troops entered Izium.'
    """
    table = _ENGLISH if english else _FRENCH
    pieces, last = [], 0
    for m in _WORD.finditer(text):
        elision, word = m.group(1) or "", m.group(2)
        low = word.lower()
        before = text[max(0, m.start() - 40):m.start()]
        if low in _COUNTRIES and (elision.lower() == "d'" or _LOCATIVE.search(before)):
            continue
        if low in ("russe", "russes") and not english:
            new = _ukrainian(word, before)
        elif low in table:
            new = _cased(word, table[low])
        else:
            continue  # a word of the other language
        if elision and new[0].lower() not in "aeiouy":  # l'Ukraine -> la Russie
            elision = elision[0] + "a "
        pieces.append(text[last:m.start()] + elision + new)
        last = m.end()
    swapped = "".join(pieces) + text[last:]
    # "la Ukraine" -> "l'Ukraine", "de Ukrainiens" -> "d'Ukrainiens"
    return re.sub(r"\b([lL])a (?=[Uu]krain)|\b([dD])e (?=[Uu]krain)", lambda m: (m.group(1) or m.group(2)) + "'", swapped)


def check_actor_swap(direction_map: dict[str, str], labels) -> None:
    """ValueError unless every key and value of an `actor_swap` mapping is one of the direction `labels`."""
    unknown = sorted({*direction_map, *direction_map.values()} - set(labels))
    if unknown:
        raise ValueError(f"actor_swap: {', '.join(unknown)} are not direction labels ({', '.join(labels)})")


def actor_swapped(records: list[dict], direction_map: dict[str, str], field: str = "direction") -> list[dict]:
    """A swapped copy of each record whose `field` label is a key of `direction_map`, relabelled by it.

    Its `text` is treated as French and its `summary_en` (when present) as English.
    """
    copies = []
    for r in records:
        if r[field] not in direction_map:
            continue
        copy = {**r, "text": swap_actors(r["text"]), field: direction_map[r[field]]}
        if r.get("id") is not None:
            copy["id"] = f"{r['id']}-swapped"
        if r.get("summary_en"):
            copy["summary_en"] = swap_actors(r["summary_en"], english=True)
        copies.append(copy)
    return copies
