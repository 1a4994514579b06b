"""Checks every English summary must pass before it is returned.

- `not_english`: the summary is not English;
- `too_long`: more than 60 words;
- `direction_mismatch`: the classifier, reading the summary itself, finds a different direction
  from the article's;
- `name_not_in_article`: a proper name the summary states (a place, or a person) cannot be found in the
  article under any usual French or English spelling;
- `number_not_in_article`: a number the summary states (in digits or in words) is not in the article, in
  digits or in French words ("21 killed" for "au moins 21 personnes", not "20"; "2,000" for "2 000").

Names are compared through a rough phonetic skeleton, one set of rules for English
transliterations and one for French ones (Bakhmut/Bakhmout, Chasiv Yar/Tchassiv Iar,
Zaporizhzhia/Zaporijjia), plus a table of exonyms that no rule covers (Moscow/Moscou).
"""

import re
import unicodedata
from difflib import SequenceMatcher

MAX_WORDS = 60
CHECKS = ("not_english", "too_long", "direction_mismatch", "name_not_in_article", "number_not_in_article")

# Capitalised words that are not names to look up: sentence starts, titles, institutions,
# nationalities, months. The belligerents themselves are always allowed.
_NOT_NAMES = set(
    """a an the in on at of for from after before during while since as by with without about according
    amid over under near around into this that these those there it its he she they his her their we our
    but and or yet so if when where which who what some several both all one two three four five six seven
    eight nine ten ukraine ukrainian ukrainians russia russian russians kremlin kyiv kiev soviet
    western west east north south eastern southern northern central
    ministry defence defense general staff armed forces force army navy air marine marines national guard
    brigade brigades battalion battalions regiment division corps command commander chief commanders
    president prime minister governor mayor spokesman spokeswoman spokesperson head deputy officials official
    military intelligence service security council institute study war isw afp reuters ap bbc cnn
    operation offensive counteroffensive counter-offensive front group groups district region oblast province
    river sea bay lake island islands bridge dam plant power nuclear station city town village villages
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december telegram moscow-installed moscow-backed pro-russian
    pro-kremlin european union un nato eu us u.s. american americans britain british french germany german
    moscow fleet guards airborne volunteer volunteers freedom legion corps square day initiative grain
    recovery glide christmas kamikaze drone drones himars storm shadow leopard abrams bradley patriot
    no not despite former people daily jubilant analysts authorities explosions shelling soldiers troops
    residents fighting heavy fierce new old local then now later meanwhile elsewhere earlier also however
    separately footage video images photos satellite sources witnesses""".split()
)

# English exonym -> spellings a French article uses (skeletons are compared after this).
_EXONYMS = {
    "moscow": ["moscou"], "crimea": ["crimee"], "crimean": ["crimee"], "dnipro": ["dniepr", "dnipro"],
    "donbas": ["donbass", "donbas"], "black": ["noire"], "azov": ["azov"], "belgorod": ["belgorod", "bilhorod"],
    "kharkiv": ["kharkiv", "kharkov"], "luhansk": ["louhansk", "lougansk", "luhansk"], "donetsk": ["donetsk"],
    "kherson": ["kherson"], "mykolaiv": ["mykolaiv", "mykolaïv", "nikolaiev"], "odesa": ["odessa"],
    "zaporizhzhia": ["zaporijjia", "zaporijia", "zaporizhzhia"], "chernihiv": ["tchernihiv", "tchernigov"],
    "lviv": ["lviv", "lvov"], "kursk": ["koursk"], "sumy": ["soumy"], "wagner": ["wagner"],
    "belarus": ["bielorussie", "belarus"], "belarusian": ["bielorusse", "bielorussie"], "turkey": ["turquie"],
    "united": ["etats-unis", "unis"], "states": ["etats-unis", "etats"], "switzerland": ["suisse"],
    "lebanon": ["liban"], "brittany": ["bretagne"], "breton": ["breton", "bretagne"], "belgian": ["belge", "belgique"],
    "belgium": ["belgique"], "dutch": ["neerlandais", "pays-bas"], "netherlands": ["pays-bas"],
    "korean": ["coreen", "coreens", "coree"], "korea": ["coree"], "alsatian": ["alsacien", "alsace"],
    "poland": ["pologne"], "polish": ["polonais", "pologne"], "germany": ["allemagne"], "german": ["allemand"],
    "france": ["france"], "paris": ["paris"], "london": ["londres"], "washington": ["washington"],
    "georgia": ["georgie"], "moldova": ["moldavie"], "transnistria": ["transnistrie"], "iran": ["iran"],
    "iranian": ["iranien", "iran"], "chechen": ["tchetchene", "tchetchenie"], "chechnya": ["tchetchenie"],
}

_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ'’\-]+"
_TOKEN = re.compile(_WORD)
_OPEN_WORD = re.compile(_WORD + "$")  # a word still being written at the end of a text
_LOCATIVE = re.compile(
    r"\b(?:in|near|around|at|from|of|outside|towards?|into|across|to|on|by|beyond|north|south|east|west)\s+"
    r"((?:[A-Z][\w'’\-]+)(?:\s+[A-Z][\w'’\-]+)*)"
)


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def _collapse(s: str) -> str:
    s = re.sub(r"[yj]", "i", s).replace("g", "h")  # Igor/Ihor, Lugansk/Luhansk
    s = re.sub(r"(.)\1+", r"\1", s)  # doubled letters
    return re.sub(r"[^a-zA-Z]", "", s)


def skeleton_en(word: str) -> str:
    """Skeleton of an English-transliterated name (Klishchiivka -> kliSCiivka, collapsed)."""
    s = _ascii(word)
    for a, b in (("shch", "SC"), ("zh", "J"), ("kh", "h"), ("sh", "S"), ("ch", "C"), ("ts", "T"), ("yi", "i")):
        s = s.replace(a, b)
    return _collapse(s)


def skeleton_fr(word: str) -> str:
    """Skeleton of a French-transliterated name (Klichtchiïvka -> kliSCiivka, collapsed)."""
    s = _ascii(word)
    for a, b in (("chtch", "SC"), ("tch", "C"), ("kh", "h"), ("ch", "S"), ("ts", "T"), ("ou", "u"), ("j", "J")):
        s = s.replace(a, b)
    return _collapse(s)


def _similar(a: str, b: str) -> bool:
    if len(a) < 3 or len(b) < 3:
        return a == b
    if a == b or (len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5]):  # inflected or adjectival forms
        return True
    return SequenceMatcher(None, a, b).ratio() >= 0.8


class ArticleNames:
    """The article's words, indexed for name lookups."""

    def __init__(self, article: str):
        words = {w.strip("'’-") for w in _TOKEN.findall(article)}
        words |= {re.split(r"['’]", w)[-1] for w in words}  # elided: d'Avdeïevka -> Avdeïevka
        self.words = words
        self.ascii_words = {_ascii(w) for w in words if w}
        self.skeletons = {skeleton_fr(w) for w in words} | {skeleton_en(w) for w in words}
        self.skeletons.discard("")

    def has(self, name: str) -> bool:
        low = _ascii(name)
        if low in self.ascii_words or any(_ascii(x) in self.ascii_words for x in _EXONYMS.get(low, [])):
            return True
        sk = skeleton_en(name)
        return any(_similar(sk, s) for s in self.skeletons)


def _name_parts(word: str) -> list[str]:
    """The parts of one word that are names to look up: "Moscow-installed" -> ["Moscow"], "the" -> []."""
    word = re.sub(r"['’]s$", "", word).strip("'’-")
    if not word[:1].isupper():
        return []
    return [p for p in word.split("-") if p[:1].isupper() and p.lower() not in _NOT_NAMES and not p.isupper()]


def summary_names(summary: str) -> list[str]:
    """The capitalised words of `summary` that are names to look up, in order, without duplicates."""
    names = []
    for word in _TOKEN.findall(summary):
        names += [p for p in _name_parts(word) if p not in names]
    return names


class NameGuard:
    """The name check of one article, applied while its summary is written, token by token.

    A finished word passes as in `unsupported_names`. A capitalised word still being written passes
    while its skeleton is the start of the skeleton of a word it could become: a word of the article
    (in either spelling), a common word, or an exonym of a place the article names. Generation uses
    it to keep a summary from starting to spell a name its article lacks. Only the article's capitalised
    words count as names it could become, so that a French verb does not let a name through.
    """

    def __init__(self, article: str):
        self.names = ArticleNames(article)
        capitalised = {w for w in self.names.words if w[:1].isupper()}
        targets = {skeleton_fr(w) for w in capitalised} | {skeleton_en(w) for w in capitalised}
        targets |= {skeleton_en(k) for k, forms in _EXONYMS.items() if any(_ascii(f) in self.names.ascii_words for f in forms)}
        self.prefixes = _prefixes(targets) | _COMMON_PREFIXES
        self.near_prefixes = _deletions(self.prefixes - _COMMON_PREFIXES) | _COMMON_NEAR_PREFIXES
        self.starts = {t[:5] for t in targets if len(t) >= 5}  # a name that starts like one of them passes
        self._known: dict[str, bool] = {}

    def allows(self, written: str, piece: str) -> bool:
        """Whether a summary that reads `written` so far may go on with `piece`."""
        last = _OPEN_WORD.search(written)
        segment = (last.group(0) if last else "") + piece
        words = list(_TOKEN.finditer(segment))
        for n, match in enumerate(words):
            is_open = n == len(words) - 1 and match.end() == len(segment)
            if not (self._may_become_name(match.group(0)) if is_open else self._is_supported(match.group(0))):
                return False
        return True

    def _is_supported(self, word: str) -> bool:
        if word not in self._known:
            self._known[word] = all(self.names.has(p) for p in _name_parts(word))
        return self._known[word]

    def _may_become_name(self, word: str) -> bool:
        stem = re.sub(r"['’]s?$", "", word)
        if stem.endswith("-") or not stem:
            return self._is_supported(stem)
        *done, last = stem.split("-")
        if not all(self._is_supported(p) for p in done):
            return False
        if not last[:1].isupper() or last.isupper():
            return True
        sk = skeleton_en(last)
        if not sk or self._starts_a_target(sk) or sk[:5] in self.starts:
            return True
        # The last letter may start a digraph still being written (Bak|h -> Bakh): it is let through.
        return last[-1] in "kzsctKZSCT" and self._starts_a_target(sk[:-1])

    def _starts_a_target(self, sk: str) -> bool:
        """Whether `sk` is, to one letter added, dropped or changed, the start of a target's skeleton.

        The full-word check is as loose (Synie|hubov against Synehoubov); from 4 letters on.
        """
        if sk in self.prefixes:
            return True
        if len(sk) < 4:
            return False
        dropped = _deletions([sk])
        return sk in self.near_prefixes or bool(dropped & self.prefixes) or bool(dropped & self.near_prefixes)


def _prefixes(words) -> set[str]:
    return {w[:i] for w in words for i in range(1, len(w) + 1)}


def _deletions(words) -> set[str]:
    """Every string one letter shorter than a word of `words`."""
    return {w[:i] + w[i + 1 :] for w in words for i in range(len(w))}


def main_place(summary: str) -> str | None:
    """The first place a (reference) summary names after a locative word: 'near Kupiansk' -> 'Kupiansk'."""
    for match in _LOCATIVE.finditer(summary):
        for word in match.group(1).split():
            word = re.sub(r"['’]s$", "", word)
            if word.lower() not in _NOT_NAMES:
                return word
    return None


def names_match(name: str, other: str) -> bool:
    """Whether two spellings (English, or French) name the same place."""
    return _similar(skeleton_en(name), skeleton_en(other)) or _similar(skeleton_en(name), skeleton_fr(other))


def word_count(summary: str) -> int:
    return len(summary.split())


def static_checks(summary: str, article: str) -> list[str]:
    """The checks that need no model: language, length, names. Returns the failed checks' names."""
    from frontwatch.text import detect_language

    failed = []
    if not summary.strip() or detect_language(summary)[0] != "en":
        failed.append("not_english")
    if word_count(summary) > MAX_WORDS:
        failed.append("too_long")
    if unsupported_names(summary, article):
        failed.append("name_not_in_article")
    if unsupported_numbers(summary, article):
        failed.append("number_not_in_article")
    return failed


def unsupported_names(summary: str, article: str) -> list[str]:
    """The summary's names that the article does not contain."""
    names = ArticleNames(article)
    return [n for n in summary_names(summary) if not names.has(n)]


# What a common word can start with, for every guard.
_COMMON_SKELETONS = {skeleton_en(w) for w in _NOT_NAMES}
_COMMON_PREFIXES = _prefixes(_COMMON_SKELETONS)
_COMMON_NEAR_PREFIXES = _deletions(_COMMON_PREFIXES)


# Number words, by language; a run of them ("vingt-cinq", "seven hundred") also counts as its value.
_NUMBER_WORDS = {
    "en": dict(zip(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million".split(),
        [*range(21), 30, 40, 50, 60, 70, 80, 90, 100, 1000, 1000000])),
    "fr": dict(zip(
        "zéro un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize vingt "
        "vingts trente quarante cinquante soixante cent cents mille million millions".split(),
        [0, 1, 1, *range(2, 17), 20, 20, 30, 40, 50, 60, 100, 100, 1000, 1000000, 1000000]))
    # "about twenty": une vingtaine; "several hundred": plusieurs centaines; a "double" strike: two
    | dict(zip("dizaine dizaines douzaine douzaines quinzaine vingtaine trentaine quarantaine cinquantaine "
               "soixantaine centaine centaines millier milliers double".split(),
               [10, 10, 12, 12, 15, 20, 30, 40, 50, 60, 100, 100, 1000, 1000, 2])),
}
_MULTIPLIERS = {100, 1000, 1000000}
# Digits with the separators either language uses: 2,000 2.000 2 000 (also a narrow no-break space) 1,5 1.5.
_DIGITS = re.compile(r"\d+(?:[ \u00a0\u202f.,]\d{3}(?!\d))*(?:[.,]\d+)?")
_NUMBER_WORD = re.compile(r"[a-zA-Zéè]+")


def _digit_values(text: str) -> set[float]:
    """Every value a digit string may mean: "1,305" is 1305 in English and 1.305 in French."""
    values = set()
    for match in _DIGITS.finditer(text):
        raw = re.sub(r"[ \u00a0\u202f]", "", match.group())
        for thousands, decimal in ((",", "."), (".", ",")):
            try:
                values.add(float(raw.replace(thousands, "").replace(decimal, ".")))
            except ValueError:
                pass
    return values


def _word_values(text: str, lang: str, parts: bool = True) -> set[float]:
    """Values of number words: each run of them read as one number ("seven hundred": 700), and with
    `parts` each word alone as well (7 and 100; an article is read leniently, a summary is not)."""
    words = _NUMBER_WORDS[lang]
    values, run = set(), []
    for word in [*_NUMBER_WORD.findall(text.lower()), ""]:
        if word in words:
            run.append(words[word])
            continue
        if word in ("and", "et") and run:
            continue
        if run:
            values.add(_read_run(run))
            if parts:
                values |= set(run)
        run = []
    return {float(v) for v in values}


def _read_run(run: list[int]) -> int:
    """[7, 100] -> 700, [20, 5] -> 25, [4, 20] -> 80 (quatre-vingts), [2, 1000, 300] -> 2300."""
    total, current = 0, 0
    for value in run:
        if value in _MULTIPLIERS:
            current = max(current, 1) * value
            if value >= 1000:
                total, current = total + current, 0
        elif value == 20 and current % 100 == 4:
            current += 76
        else:
            current += value
    return total + current


def unsupported_numbers(summary: str, article: str) -> list[str]:
    """The numbers the summary states that the article does not, in digits or in words."""
    known = _digit_values(article) | _word_values(article, "fr") | _word_values(article, "en")
    missing = []
    for match in _DIGITS.finditer(summary):
        if not _digit_values(match.group()) & known:
            missing.append(match.group())
    missing += [str(int(v)) for v in sorted(_word_values(summary, "en", parts=False) - known)]
    return missing
