"""The PII guard: header names that look like direct identifiers reject a file whole."""

from __future__ import annotations

import re

# The contract's list, plus common spellings of the same things in NL/FR/EN exports.
IDENTIFIER_COLUMN = re.compile(
    r"""^(
        (first|last|given|family|full|sur|maiden)?_?name
      | (voor|achter|familie)?naam | nom | prenom | prénom
      | rijksregister(nummer)? | national_?(number|register(_number)?|id) | niss | insz | ssn
      | passport(_number)? | id_card(_number)? | document_number
      | address | adres | adresse | street | straat | rue | postal_code | postcode | zip
      | phone | telephone | telefoon | mobile | gsm | e_?mail
      | birth_?date | date_of_birth | dob | geboortedatum | date_de_naissance
      | notes? | remarks? | comments? | opmerkingen | remarques | free_text
    )$""",
    re.VERBOSE,
)


def normalise_header(name: str) -> str:
    """Header as compared against the contract: trimmed, lower case, spaces as ``_``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip()).lower()


def identifier_columns(header: list[str]) -> list[str]:
    """The header names (as written in the file) that look like direct identifiers."""
    return [name for name in header if IDENTIFIER_COLUMN.match(normalise_header(name))]
