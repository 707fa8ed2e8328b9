"""User-facing texts, read from gettext catalogues (.po files) with Babel.

Each catalogue directory holds one `<lang>.po` per language: `bot/locale` for the machinery,
`bot/features/<name>/locale` for each feature, plus any directory a feature living elsewhere
adds with `register_catalogue`. An entry's `msgctxt` is the key the code looks up, its `msgid`
the English text and its `msgstr` the translation: a Python str.format template. The .po
files are read directly (no compile step), so a fresh clone runs as it is.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from babel.dates import format_datetime
from babel.messages.pofile import read_po

from bot.timezones import zone

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "es")

_HERE = Path(__file__).resolve().parent
_registered: list[Path] = []  # directories added by register_catalogue, in order


class CatalogueError(ValueError):
    """The catalogues contradict each other (a key in two places, an entry without a key)."""


@dataclass(frozen=True)
class Plural:
    """A text that embeds a count: one template per plural form of its language."""

    forms: tuple[str, ...]
    index: Callable[[int], int]  # the file's Plural-Forms rule: count -> form number


Template = str | Plural


def register_catalogue(directory: Path) -> None:
    """Add a directory of `<lang>.po` files (a feature that lives outside bot/features)."""
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise NotADirectoryError(f"no catalogue directory at {directory}")
    if directory not in _registered:
        _registered.append(directory)
    _catalogue.cache_clear()  # the next lookup reads the catalogues again, with this one


def unregister_catalogue(directory: Path) -> None:
    """Take a registered directory away again (a test's toy feature, when the test ends)."""
    resolved = Path(directory).resolve()
    if resolved in _registered:
        _registered.remove(resolved)
    _catalogue.cache_clear()


def catalogue_directories() -> list[Path]:
    """Every catalogue directory, the core's first; each listed once."""
    found = [_HERE / "locale", *sorted((_HERE / "features").glob("*/locale"))]
    found += [d for d in _registered if d not in found]  # registering a built-in one is a no-op
    return [d for d in found if d.is_dir()]


def _read(path: Path, lang: str) -> dict[str, Template]:
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang, abort_invalid=True)
    # Read the rule from the file's own header, so its msgstr[i] and the rule always agree.
    index = gettext.c2py(catalog.plural_expr)
    entries: dict[str, Template] = {}
    for message in catalog:
        if not message.id:
            continue  # the header entry
        key = message.context
        if not key:
            raise CatalogueError(f"{path}: the entry {message.id!r} has no msgctxt (its key)")
        if key in entries:
            raise CatalogueError(f"{path}: the key {key!r} is defined twice")
        if message.fuzzy:
            continue  # a guess awaiting review is not a translation: fall back to English
        if isinstance(message.id, tuple | list):
            forms = tuple(message.string or ())
            if lang == DEFAULT_LANGUAGE:
                # English may leave msgstr empty: msgid/msgid_plural are the English text.
                forms = tuple(f or message.id[min(i, 1)] for i, f in enumerate(forms))
            if forms and all(forms):
                entries[key] = Plural(forms, index)
        else:
            text = message.string or (message.id if lang == DEFAULT_LANGUAGE else "")
            if text:  # an empty msgstr is untranslated: fall back to English
                entries[key] = text
    return entries


@cache
def _catalogue(lang: str) -> dict[str, Template]:
    """All texts of one language, from every catalogue directory; a key lives in one only."""
    merged: dict[str, Template] = {}
    origin: dict[str, Path] = {}
    for directory in catalogue_directories():
        path = directory / f"{lang}.po"
        if not path.is_file():
            if lang == DEFAULT_LANGUAGE:
                raise CatalogueError(f"{directory} has no {lang}.po; English is the reference")
            continue  # the language falls back to English for this directory's keys
        for key, template in _read(path, lang).items():
            if key in origin:
                raise CatalogueError(f"the key {key!r} is defined in both {origin[key]} "
                                     f"and {path}")
            merged[key], origin[key] = template, path
    return merged


class Texts:
    """Looks a key up in one language, falling back to English, then formats it."""

    def __init__(self, lang: str | None = None) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def _template(self, key: str) -> Template:
        english = _catalogue(DEFAULT_LANGUAGE)[key]  # an unknown key is a KeyError, as ever
        own = _catalogue(self.lang).get(key)
        # A translation of the wrong shape (plural where English is not) counts as missing.
        if own is None or isinstance(own, Plural) != isinstance(english, Plural):
            return english
        return own

    def __call__(self, key: str, **values: object) -> str:
        template = self._template(key)
        if isinstance(template, Plural):
            raise TypeError(f"{key!r} depends on a count; use Texts.n({key!r}, count, ...)")
        return template.format(**values)  # always: a missing value is a KeyError, not "{id}"

    def n(self, key: str, count: int, **values: object) -> str:
        """The form of a counted text that suits `count`; `count` is also a format value."""
        template = self._template(key)
        if not isinstance(template, Plural):
            raise TypeError(f"{key!r} has no plural forms; use Texts({self.lang!r})({key!r})")
        form = template.forms[min(template.index(count), len(template.forms) - 1)]
        return form.format(count=count, **values)

    def has(self, key: str) -> bool:
        return key in _catalogue(DEFAULT_LANGUAGE)

    def when(self, instant: datetime, tz: str, pattern: str = "EEE dd MMM HH:mm") -> str:
        """An instant on the wall clock of `tz`, its day and month names in this language
        (`Mon 23 Nov 09:00`, `lun 23 nov 09:00`); `pattern` is CLDR's (Babel's) syntax."""
        return format_datetime(instant, pattern, tzinfo=zone(tz), locale=self.lang)


def t(key: str, lang: str | None = None, **values: object) -> str:
    return Texts(lang)(key, **values)
