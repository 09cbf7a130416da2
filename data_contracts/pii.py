"""The PII guard: header names that look like direct identifiers reject a file whole.

A header is compared in a *detection key*: Unicode NFKC (full-width forms, ligatures),
zero-width characters removed, case folded, accents stripped, look-alike Cyrillic and
Greek letters read as Latin, and every run of separators (space, ``_``, ``-``, ``.``,
``/`` or any other non-alphanumeric character) one ``_``; letters and digits are split
too (``name1`` is ``name_1``). The key's words are then matched against the Dutch,
French, English and German words for names, national register and social-security
numbers, contact details, addresses, dates of birth, identity documents, bank
accounts and free text (which can hold any of these). A word may stand alone or in a
compound (``klantnaam``, ``Familienname``, ``woonadres``), anywhere in the header
(``client e-mail``, ``name_1``).

The contract's own columns are never identifiers, in any spelling the readers map onto
them; words such as ``nationality``, ``registration`` or ``residence`` are not read as
``national``, ``register`` or an address.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from data_contracts.row_model import COLUMNS


def normalise_header(name: str) -> str:
    """Header as compared against the contract: trimmed, lower case, spaces as ``_``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip()).lower()


# Invisible characters an export (or a hand edit) can leave inside a header.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_DELETE = dict.fromkeys(map(ord, ZERO_WIDTH))
# Cyrillic and Greek letters that look like Latin ones (after case folding).
_LOOK_ALIKES = str.maketrans(
    "аеорсухіјѕԁԛԝһӏкмнтвαονρτυικεχβμη",
    "aeopcyxijsdqwhlkmhtbaovptuikexbmh",
)


def detection_key(name: str) -> str:
    """The header as the identifier patterns read it (see the module docstring)."""
    text = unicodedata.normalize("NFKC", name).translate(_DELETE).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    text = text.translate(_LOOK_ALIKES)
    text = re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", "_", text)
    return re.sub(r"[\W_]+", "_", text).strip("_")


# ---------------------------------------------------------------------------
# The words. EXACT: a word of the key is one of these. PREFIX: a word starts with
# one (compounds: ``rijksregisternr``, ``adresgegevens``). SUFFIX: a word ends with
# one (``woonadres``, ``smartphone``). PAIRS: a word of each set appears. Names and
# dates of birth have rules of their own (a country's name or of birth is no
# identifier). The header with its separators removed is matched as one word too
# (``FirstName``, ``e.mail`` and ``first-name`` alike).
# ---------------------------------------------------------------------------

NAME_EXACT = frozenset({
    "name", "names", "naam", "namen", "nom", "noms", "nome", "surname", "surnames",
    "firstname", "lastname", "givenname", "fullname", "forename", "forenames",
    "maidenname", "nickname", "vorname", "vornamen", "nachname", "familienname",
    "voornaam", "voornamen", "achternaam", "familienaam", "geslachtsnaam",
    "meisjesnaam", "roepnaam", "prenom", "prenoms", "initials", "initialen",
    "initiales",
})  # fmt: skip
NAME_PREFIX = ("prenom", "voornaam", "achternaam", "familienaam", "vorname", "nachname")
NAME_SUFFIX = ("name", "names", "naam", "namen")
# ``country name``, ``nom du pays``, ``bestandsnaam``: names of things, not of people.
THING_WORDS = frozenset({
    "country", "countries", "land", "landen", "landes", "pays", "nationality",
    "nationaliteit", "nationalite", "file", "bestand", "bestands", "fichier", "datei",
    "organisation", "organization", "organisatie", "column", "kolom", "colonne",
    "field", "veld", "champ", "product", "programme", "program", "programma",
})  # fmt: skip
_THINGS = tuple(THING_WORDS | {w.removesuffix("s") for w in THING_WORDS})
LINK_WORDS = frozenset({"of", "de", "du", "des", "van", "het", "der", "la", "le", "l", "d"})

NUMBER_WORDS = frozenset({
    "number", "numbers", "no", "nr", "nrs", "num", "numero", "nummer", "nummers",
    "register", "registre", "registry", "id", "ident", "identification",
    "identifier", "identificatie", "identifikation", "n",
})  # fmt: skip

EXACT = frozenset({
    # national register, social security and other state numbers
    "rijksregister", "rijksregisternr", "rijksregisternummer", "rrn", "nrn", "niss",
    "insz", "inss", "ssn", "ssin", "bsn", "bisnummer", "sofinummer",
    # contact details
    "tel", "tels", "phone", "phones", "telephone", "telefoon", "telefon", "gsm",
    "mobile", "mobiel", "portable", "handy", "fax", "cellphone",
    "mail", "mails", "email", "emails", "courriel", "courriels",
    # address
    "rue", "adr", "address", "adres", "adresse", "anschrift", "street", "straat",
    "strasse", "domicile", "domicilie", "woonplaats", "wohnort", "wohnsitz",
    "verblijfplaats", "verblijfsadres", "zip", "zipcode", "plz", "postcode", "postal",
    "postleitzahl", "huisnummer", "hausnummer", "housenumber",
    # identity documents, photographs, signatures
    "passport", "paspoort", "passeport", "reisepass", "reispas", "pasnummer", "eid",
    "ausweis", "personalausweis", "identiteitskaart", "photo", "foto", "signature",
    "handtekening", "unterschrift",
    # bank accounts
    "iban", "bic", "rib", "rekening", "rekeningnummer", "bankrekening", "kontonummer",
    "bankkonto",
    # free text (it can hold any of the above)
    "note", "notes", "memo", "memos", "remark", "remarks", "remarque", "remarques",
    "comment", "comments", "commentaire", "commentaires", "commentaar", "opmerking",
    "opmerkingen", "kommentar", "kommentare", "bemerkung", "bemerkungen", "anmerkung",
    "anmerkungen", "notiz", "notizen", "notitie", "notities", "toelichting",
    "observation", "observations", "freetext", "freitext", "vrijetekst", "textelibre",
})  # fmt: skip
PREFIX = (
    "rijksregister", "insz", "niss", "bisnummer", "sozialversicherung",
    "burgerservicenummer", "wachtregister", "bevolkingsregister",
    "vreemdelingenregister", "identificatienummer", "identifikationsnummer",
    "telef", "telep", "phonenumber", "gsmnummer", "mobilenumber", "mobielnummer",
    "mobilnummer", "mobilfunk", "handynummer", "faxnummer",
    "email", "courriel", "mailadres",
    "adres", "address", "straat", "strasse", "street", "domicil", "woonplaats",
    "woonadres", "thuisadres", "wohnort", "wohnsitz", "wohnadresse", "anschrift",
    "verblijfplaats", "verblijfsadres", "postcode", "postleitzahl", "huisnummer",
    "hausnummer",
    "passport", "paspoort", "passeport", "reisepass", "reispas", "pasnummer",
    "personalausweis", "identit",
    "iban", "rekeningnummer", "bankrekening", "kontonummer", "bankkonto",
    "opmerking", "remark", "remarque", "comment", "kommentar", "bemerkung",
    "anmerkung", "notitie", "notiz", "toelichting",
)  # fmt: skip
SUFFIX = (
    "phone", "telefoon", "telefon", "telefonnummer", "telefoonnummer", "mail",
    "adres", "adresse", "address", "straat", "strasse", "street",
    "rekeningnummer", "kontonummer", "opmerking", "opmerkingen",
)  # fmt: skip
_NATIONAL = frozenset({"national", "nationaal", "nationale", "nationalen", "rijks"})
_NUMBER = frozenset({"number", "nummer", "numero", "nr", "no"})
PAIRS = (
    (_NATIONAL, NUMBER_WORDS),
    (frozenset({"registre", "register"}), frozenset({"population", "bevolking"}) | _NATIONAL),
    (frozenset({"bis", "dvz", "oe", "ibz", "ovnr"}), NUMBER_WORDS - {"n"}),
    (frozenset({"social", "sociale", "securite", "sozial"}),
     frozenset({"security", "securite", "sociale", "zekerheid", "versicherung"})),
    (frozenset({"id", "identity", "identiteit"}),
     frozenset({"card", "cards", "kaart", "carte", "karte"})),
    (frozenset({"document", "documents"}), _NUMBER),
    (frozenset({"travel", "reis"}), frozenset({"document", "documents"})),
    (frozenset({"free", "vrije", "vrij", "freie", "libre"}),
     frozenset({"text", "tekst", "texte"})),
    (frozenset({"bank", "bancaire", "banque"}),
     frozenset({"account", "rekening", "konto", "compte"}) | _NUMBER),
    (frozenset({"compte", "account"}), frozenset({"bancaire", "bank"}) | _NUMBER),
    (frozenset({"identification", "identificatie", "identifikation"}), _NUMBER),
    (frozenset({"place", "lieu", "plaats", "ort"}),
     frozenset({"residence", "residentie", "woon", "wohn", "verblijf", "domicile"})),
    (frozenset({"home", "woon", "thuis", "wohn"}),
     frozenset({"adres", "address", "plaats", "ort"})),
    (frozenset({"contact"}),
     frozenset({"person", "persoon", "personne", "details", "gegevens"}) | _NUMBER),
)  # fmt: skip
BIRTH_STEMS = ("geboorte", "geburts", "geburt", "birth", "naissance")
# ``né le``, ``geboren op``: these short words only next to a date word.
BIRTH_SHORT = frozenset({"born", "geboren", "ne", "nee"})
DATE_WORDS = frozenset({"date", "datum", "day", "dag", "tag", "jour", "le", "op", "am", "on"})
BIRTH_COUNTRY = THING_WORDS | {"staat", "state", "nation"}


def _of_birth(words: list[str]) -> bool:
    """A date, year or place of birth (but not a country of birth)."""
    if "dob" in words:
        return True
    hit = False
    for word in words:
        stem = next((s for s in BIRTH_STEMS if word.startswith(s)), None)
        if stem is not None:
            rest = word[len(stem) :]
            if rest in BIRTH_COUNTRY or rest.startswith(("land", "country")):
                return False  # ``geboorteland``, ``Geburtsland``
            hit = True
    if hit:
        return not any(w in BIRTH_COUNTRY for w in words)  # ``country of birth``
    return bool(BIRTH_SHORT.intersection(words)) and bool(DATE_WORDS.intersection(words))


def _before_name(word: str) -> str | None:
    """What precedes the name in ``word`` ('' when ``word`` is one), or None: no name."""
    if word in NAME_EXACT or word.startswith(NAME_PREFIX):
        return ""
    for suffix in NAME_SUFFIX:
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)]
    return None


def _names_a_person(words: list[str]) -> bool:
    for i, word in enumerate(words):
        before = _before_name(word)
        if before is None:
            continue
        if before:  # a compound: ``landnaam`` is a thing's name, ``klantnaam`` a person's
            if not before.removesuffix("s").endswith(_THINGS):
                return True
            continue
        # ``country name``, ``nom du pays``, ``naam van het land``
        previous = words[i - 1] if i else ""
        later = (words[j] for j in range(i + 1, len(words)))
        following = next((w for w in later if w not in LINK_WORDS), "")
        if previous not in THING_WORDS and following not in THING_WORDS:
            return True
    return False


def _is_identifier(key: str) -> bool:
    words = key.split("_") if key else []
    if not words:
        return False
    compact = "".join(words)
    if _names_a_person(words) or _names_a_person([compact]):
        return True
    for word in {*words, compact}:
        if word in EXACT or word.startswith(PREFIX):
            return True
        if any(word.endswith(s) and len(word) > len(s) for s in SUFFIX):
            return True
        if word.startswith("national") and word[len("national") :] in NUMBER_WORDS:
            return True  # ``nationalnumber``, ``nationalid`` (never ``nationality``)
    present = set(words)
    if any(present & first and present & second for first, second in PAIRS):
        return True
    return _of_birth(words) or _of_birth([compact])


@cache
def _contract_keys() -> frozenset[str]:
    return frozenset(detection_key(c) for c in COLUMNS)


def is_identifier_header(name: str) -> bool:
    """Whether one header name looks like a direct identifier (never a contract column)."""
    if normalise_header(name) in COLUMNS:
        return False
    key = detection_key(name)
    return key not in _contract_keys() and _is_identifier(key)


def identifier_columns(header: list[str]) -> list[str]:
    """The header names (as written in the file) that look like direct identifiers."""
    return [name for name in header if is_identifier_header(name)]
