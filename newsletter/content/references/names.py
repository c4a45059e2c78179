"""Personal names as registries send them → CSL name parts, and surnames compared fairly.

Registries split names inconsistently: `{"given": "Ludwig van", "family": "Beethoven"}`,
`{"family": "van Beethoven"}`, `{"family": "FLÜCKIGER"}`, `{"family": "Smith Jr."}`. CSL wants
the lower-case particle (van, de, del, von der …) in `non-dropping-particle`, a generational
suffix in `suffix`, and organisations as `literal`. Comparisons fold case, accents, apostrophes
and hyphens, and accept a surname written with or without its particles.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Lower-case name particles (CSL spec, "Name particles"); capitalised forms (De Jong, Del Re) are
# part of the surname in English-language usage and APA keeps them there.
PARTICLES = frozenset({
    "van", "von", "der", "den", "de", "del", "della", "delle", "dei", "degli", "di", "da", "das",
    "do", "dos", "du", "des", "la", "le", "les", "lo", "ter", "ten", "te", "op", "in", "het", "'t",
    "van't", "zu", "zum", "zur", "af", "av", "el", "al", "bin", "ibn", "y", "e", "d'", "l'",
})
SUFFIXES = ("Jr.", "Sr.", "Jr", "Sr", "II", "III", "IV", "V")
_SUFFIX_RE = re.compile(r",?\s+(Jr\.?|Sr\.?|II|III|IV|V)$")
_FOLD = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe",
                       "ß": "ss", "ı": "i", "ŀ": "l", "ħ": "h"})
_APOSTROPHES = "'’ʼ‘`´"


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form: 'O’Brien' → 'obrien', 'Flückiger' → 'fluckiger'."""
    text = unicodedata.normalize("NFKD", text.casefold()).translate(_FOLD)
    return "".join(c for c in text if c.isalnum())


def _is_particle(word: str) -> bool:
    w = word.replace("’", "'")
    return w in PARTICLES or (w.endswith("'") and w[:-1].islower() and len(w) <= 3)


def fix_case(name: str) -> str:
    """'FLÜCKIGER' → 'Flückiger', 'DEL RE' → 'Del Re'; mixed-case names are left alone."""
    letters = [c for c in name if c.isalpha()]
    if len(letters) < 2 or not all(c.isupper() for c in letters):
        return name
    return re.sub(r"[^\W\d_]+", lambda m: m.group()[0] + m.group()[1:].lower(), name)


def split_family(family: str) -> tuple[str, str]:
    """('van der', 'Berg') from 'van der Berg'; ('', 'Del Re') from 'Del Re'."""
    words = family.split()
    lead = []
    while len(words) > 1 and _is_particle(words[0]):
        lead.append(words.pop(0))
    return " ".join(lead), " ".join(words)


def csl_name(person: dict[str, Any]) -> dict[str, str] | None:
    """A registry's person or organisation → CSL name parts; None if it carries no name at all.

    Accepts Crossref contributors (`given`, `family`, `suffix`, `name`) and CSL names (`literal`,
    particles already split). Text is assumed plain (see `markup.plain_text`).
    """
    literal = str(person.get("literal") or person.get("name") or "").strip()
    family = fix_case(str(person.get("family") or "").strip())
    given = fix_case(str(person.get("given") or "").strip())
    if not family:
        return {"literal": literal} if literal else ({"literal": given} if given else None)
    out: dict[str, str] = {}
    suffix = str(person.get("suffix") or "").strip()
    m = _SUFFIX_RE.search(family)
    if m and not suffix:
        suffix, family = m.group(1), family[:m.start()].strip()
    m = _SUFFIX_RE.search(given)
    if m and not suffix:
        suffix, given = m.group(1), given[:m.start()].strip()
    particle = str(person.get("non-dropping-particle") or "").strip()
    if not particle:
        particle, family = split_family(family)
    gwords = given.split()
    trailing: list[str] = []
    while len(gwords) > 1 and _is_particle(gwords[-1]):  # {"given": "Ludwig van"}
        trailing.insert(0, gwords.pop())
    if trailing:
        given = " ".join(gwords)
        particle = " ".join([*trailing, particle]).strip()
    dropping = str(person.get("dropping-particle") or "").strip()
    out["family"] = family
    if given:
        out["given"] = given
    if particle:
        out["non-dropping-particle"] = particle
    if dropping:
        out["dropping-particle"] = dropping
    if suffix:
        out["suffix"] = suffix
    return out


def surname(name: dict[str, str]) -> str:
    """The name as APA sorts and prints it first: particle + family, or the literal name."""
    if "literal" in name:
        return name["literal"]
    return " ".join(p for p in (name.get("non-dropping-particle", ""), name.get("family", "")) if p)


def surnames_match(written: str, name: dict[str, str]) -> bool:
    """Does `written` (as an author typed it) name this CSL person?

    Equal after folding, with or without the particles ('Beethoven', 'van Beethoven' and
    'Van Beethoven' all match {"non-dropping-particle": "van", "family": "Beethoven"}); a group
    author matches its literal name. Hyphens and apostrophes are ignored ('OBrien' = 'O’Brien').
    """
    w = fold(written)
    if not w:
        return False
    if "literal" in name:
        return w == fold(name["literal"])
    family = name.get("family", "")
    candidates = {fold(surname(name)), fold(family), fold(split_family(family)[1])}
    particles = " ".join(p for p in (name.get("dropping-particle", ""), name.get("non-dropping-particle", ""))
                         if p)
    if particles:
        candidates.add(fold(f"{particles} {family}"))
    return w in candidates or fold(split_family(written)[1]) in candidates
