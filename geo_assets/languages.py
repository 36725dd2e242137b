"""Languages, as listings say what they are run in and people say what they speak.

Stored as ISO 639 codes ("ur", "pl", a regional "pt-BR"); people and spreadsheets
write names ("Urdu", "Bangla"). One table serves the spreadsheet and HSDS readers,
the HSDS export, the search form and the matcher's reasons.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from geo_assets.errors import InvalidInputError

# Codes: ISO 639-1 (or -2/-3 where there is no two-letter one) with optional subtags.
CODE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

#: English names of the languages most often met in UK community listings and in the
#: places Connecting People has been adapted (Nepal, Sierra Leone).
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "ur": "Urdu", "pa": "Punjabi", "pl": "Polish", "bn": "Bengali",
    "ar": "Arabic", "gu": "Gujarati", "hi": "Hindi", "cy": "Welsh", "gd": "Scottish Gaelic",
    "so": "Somali", "ro": "Romanian", "ku": "Kurdish", "fa": "Persian", "ps": "Pashto",
    "uk": "Ukrainian", "ru": "Russian", "zh": "Chinese", "es": "Spanish", "fr": "French",
    "pt": "Portuguese", "it": "Italian", "de": "German", "tr": "Turkish", "ti": "Tigrinya",
    "sq": "Albanian", "lt": "Lithuanian", "sk": "Slovak", "cs": "Czech", "ta": "Tamil",
    "yue": "Cantonese", "fi": "Finnish", "sv": "Swedish", "ne": "Nepali", "kri": "Krio",
    "bsl": "British Sign Language", "sgn": "Sign language",
}  # fmt: skip
# Other names people use for the same languages.
_ALSO_CALLED = {
    "bangla": "bn", "farsi": "fa", "mandarin": "zh", "mirpuri": "pa", "sylheti": "bn",
    "bsl": "bsl", "sign language": "sgn",
}  # fmt: skip
_BY_NAME = {name.casefold(): code for code, name in LANGUAGE_NAMES.items()} | _ALSO_CALLED


def language_by_name(name: str) -> str | None:
    """The code of a language named in English ("Urdu", "bangla"); None if unknown."""
    return _BY_NAME.get(" ".join(name.split()).casefold())


def language_code(text: str) -> str | None:
    """The code for a language's name or code as people type it ("Urdu", "UR", "pt-BR");
    None when it is neither a name we know nor shaped like a code."""
    text = text.strip()
    named = language_by_name(text)
    if named is not None:
        return named
    code = lower_language(text)
    return code if CODE_PATTERN.match(code) else None


def lower_language(code: str) -> str:
    """A code's language part in lower case, its subtags as given: "UR" -> "ur",
    "PT-BR" -> "pt-BR"."""
    head, *rest = code.split("-")
    return "-".join([head.lower(), *rest])


def language_name(code: str) -> str:
    """The English name for a code ("ur" -> "Urdu", "pt-BR" -> "Portuguese"), else the code."""
    return LANGUAGE_NAMES.get(code, LANGUAGE_NAMES.get(code.split("-")[0].lower(), code))


def languages_text(codes: Iterable[str]) -> str:
    """Codes as a reader (and the forms that read them back) would have them: "English, Urdu"."""
    return ", ".join(language_name(code) for code in codes)


# How people list languages: "English, Urdu", "English and Urdu", "en; ur", "Urdu/Punjabi".
_SEPARATORS = re.compile(r"\s*(?:[,;/&\n]|\band\b)\s*", re.IGNORECASE)


def split_languages(text: str) -> list[str]:
    """The languages in a list typed in one box or cell, as typed."""
    return [part for part in _SEPARATORS.split(text) if part.strip()]


def languages_in(text: str, field: str = "languages") -> list[str]:
    """``language_codes`` for a list typed in one box or cell."""
    return language_codes(split_languages(text), field)


def language_codes(typed: Iterable[str], field: str = "languages") -> list[str]:
    """The codes for languages as people type them, in order, each once; an
    ``InvalidInputError`` naming ``field`` and the first one that is not a language."""
    codes = []
    for text in typed:
        code = language_code(text)
        if code is None:
            raise InvalidInputError(
                f"{text.strip()!r} is not a language we know: give its name, e.g. Urdu, "
                "or its code, e.g. ur",
                field=field,
            )
        codes.append(code)
    return list(dict.fromkeys(codes))
