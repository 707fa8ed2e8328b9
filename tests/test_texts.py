"""The catalogues: every language has English's keys and placeholders, and lookups fall back."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

import bot.texts as texts_module
from bot.texts import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    CatalogueError,
    Plural,
    Texts,
    catalogue_directories,
    register_catalogue,
    t,
)

BOT = Path(texts_module.__file__).resolve().parent

# Named-argument examples (visibility:private, timezone:Europe/Berlin...) that the parser
# only understands in English; help.tail describes the syntax itself, so it may translate.
_NAMED_EXAMPLE = re.compile(r"\b[a-z_]+:[A-Za-z_/]+")
_SYNTAX_ONLY = {"help.tail"}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _po(path: Path, lang: str) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def _entries(path: Path, lang: str) -> dict[str, Message]:
    return {m.context: m for m in _po(path, lang) if m.id}


def _forms(template: str | Plural) -> tuple[str, ...]:
    return template.forms if isinstance(template, Plural) else (template,)


def _texts(lang: str) -> dict[str, tuple[str, ...]]:
    return {key: _forms(v) for key, v in texts_module._catalogue(lang).items()}


@pytest.fixture
def own_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Directories registered by a test are forgotten after it, and so are the texts read."""
    monkeypatch.setattr(texts_module, "_registered", [])
    texts_module._catalogue.cache_clear()
    yield
    texts_module._catalogue.cache_clear()


def _write(directory: Path, lang: str, entries: dict[str, tuple[object, object]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(locale=lang, fuzzy=False)
    for key, (msgid, msgstr) in entries.items():
        catalog.add(msgid, msgstr, context=key)
    with (directory / f"{lang}.po").open("wb") as f:
        write_po(f, catalog)


# -- the shipped catalogues ------------------------------------------------------------------

def test_catalogue_directories_are_the_core_and_the_features() -> None:
    names = [str(d.relative_to(BOT)) for d in catalogue_directories()]
    assert names[0] == "locale"  # the machinery's first
    # Every feature package with texts brings its own catalogue, without being listed here.
    packages = {f"features/{p.name}/locale" for p in (BOT / "features").iterdir()
                if (p / "locale").is_dir()}
    assert set(names[1:]) == packages and "features/lifeline/locale" in packages


@pytest.mark.parametrize("directory", catalogue_directories(), ids=str)
def test_spanish_translates_exactly_the_english_entries(directory: Path) -> None:
    en, es = _entries(directory / "en.po", "en"), _entries(directory / "es.po", "es")
    assert set(es) - set(en) == set(), "keys only in es"
    assert set(en) - set(es) == set(), "keys missing from es"
    num_plurals = _po(directory / "es.po", "es").num_plurals
    for key, message in en.items():
        theirs = es[key]
        assert theirs.id == message.id, f"{key}: es.po's msgid is not the current English"
        assert not theirs.fuzzy, key
        if message.pluralizable:
            assert len(theirs.string) == num_plurals, key
            wanted = _fields(message.id[1])
            assert _fields(message.id[0]) == wanted, key
            for form in theirs.string:
                assert form and _fields(form) == wanted, (key, form)
        else:
            assert theirs.string and _fields(theirs.string) == _fields(message.id), key


@pytest.mark.parametrize("directory", catalogue_directories(), ids=str)
def test_english_msgstr_is_the_msgid(directory: Path) -> None:
    for key, message in _entries(directory / "en.po", "en").items():
        if message.pluralizable:
            assert tuple(message.string) == tuple(message.id), key
        else:
            assert message.string == message.id, key


def test_no_key_is_in_two_catalogues() -> None:
    seen: dict[str, Path] = {}
    for directory in catalogue_directories():
        for key in _entries(directory / "en.po", "en"):
            assert key not in seen, f"{key} in {seen.get(key)} and {directory}"
            seen[key] = directory
    assert len(texts_module._catalogue("en")) == len(seen)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_formats_with_dummy_values(lang: str) -> None:
    texts = Texts(lang)
    for key, template in texts_module._catalogue(lang).items():
        if isinstance(template, Plural):
            values = dict.fromkeys(_fields(template.forms[-1]) - {"count"}, "x")
            for count in (0, 1, 2, 5, 21, 1_000_000):
                assert isinstance(texts.n(key, count, **values), str), key
        else:
            values = dict.fromkeys(_fields(template), "x")
            assert isinstance(texts(key, **values), str), key


def test_named_argument_examples_stay_in_english() -> None:
    en, es = _texts("en"), _texts("es")
    for key, forms in en.items():
        if key in _SYNTAX_ONLY:
            continue
        for example in _NAMED_EXAMPLE.findall(" ".join(forms)):
            assert example in " ".join(es[key]), (key, example)


def test_spanish_is_used() -> None:
    assert "es" in LANGUAGES
    assert Texts("es")("step.1") != Texts("en")("step.1")
    assert t("step.one", "es", n=1, text="…").startswith("Paso 1")


def test_unknown_language_is_english() -> None:
    assert Texts("xx").lang == "en"
    assert Texts(None)("step.1") == _texts(DEFAULT_LANGUAGE)["step.1"][0]


# -- plurals ---------------------------------------------------------------------------------

def test_counted_texts_agree_with_their_count() -> None:
    en, es = Texts("en"), Texts("es")
    assert en.n("report.fallback", 1, rate="33") == (
        "Fallback rate: 33% (1 request reached no one in time).")
    assert en.n("report.fallback", 2, rate="66") == (
        "Fallback rate: 66% (2 requests reached no one in time).")
    assert en.n("report.head", 0, name="R", days=7) == "Lifeline in R, last 7 days: 0 requests."
    assert en.n("report.claim", 1, p50="1 s", p90="2 s").endswith("(1 request).")
    assert en.n("report.late", 1) == "Watchdog: 1 lifeline timer fired more than 2 minutes late."
    assert es.n("report.fallback", 1, rate="33") == (
        "Tasa sin respuesta: 33% (1 petición no llegó a nadie a tiempo).")
    assert es.n("report.fallback", 2, rate="66") == (
        "Tasa sin respuesta: 66% (2 peticiones no llegaron a nadie a tiempo).")
    assert es.n("report.head", 1, name="R", days=7).endswith(": 1 petición.")
    assert es.n("report.head", 1_000_000, name="R", days=7).endswith(": 1000000 peticiones.")


def test_plural_and_plain_lookups_are_not_mixed_up() -> None:
    with pytest.raises(TypeError, match=r"report\.late"):
        Texts("en")("report.late", count=1)
    with pytest.raises(TypeError, match=r"step\.1"):
        Texts("en").n("step.1", 1)


# -- the loader ------------------------------------------------------------------------------

def test_missing_key_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = {
        "en": {"greet": "Hello, {name}.", "only.en": "Only in English, {name}."},
        "es": {"greet": "Hola, {name}."},
    }
    monkeypatch.setattr(texts_module, "_catalogue", lambda lang: fake[lang])
    texts = Texts("es")
    assert texts("greet", name="Ana") == "Hola, Ana."
    assert texts("only.en", name="Ana") == "Only in English, Ana."
    assert texts.has("only.en")
    with pytest.raises(KeyError):
        texts("nowhere")


def test_a_feature_elsewhere_brings_its_own_texts(tmp_path: Path, own_registry: None) -> None:
    toy = tmp_path / "toy" / "locale"
    plural = ("{count} toy", "{count} toys")
    _write(toy, "en", {"toy.hello": ("Hello, {name}.", "Hello, {name}."),
                       "toy.bye": ("Bye.", "Bye."),
                       "toy.count": (plural, plural)})
    _write(toy, "es", {"toy.hello": ("Hello, {name}.", "Hola, {name}."),
                       "toy.bye": ("Bye.", ""),  # untranslated: English it is
                       "toy.count": (plural, ("{count} juguete", "{count} juguetes",
                                              "{count} juguetes"))})
    assert not Texts("en").has("toy.hello")
    register_catalogue(toy)
    register_catalogue(toy)  # idempotent
    assert catalogue_directories().count(toy.resolve()) == 1
    assert Texts("es")("toy.hello", name="Ana") == "Hola, Ana."
    assert Texts("es")("toy.bye") == "Bye."
    assert Texts("en").n("toy.count", 1) == "1 toy"
    assert Texts("es").n("toy.count", 3) == "3 juguetes"
    assert Texts("es")("step.one", n=1, text="…").startswith("Paso 1")  # the core still there


def test_without_spanish_a_feature_speaks_english(tmp_path: Path, own_registry: None) -> None:
    toy = tmp_path / "locale"
    _write(toy, "en", {"toy.only": ("Only English.", "Only English.")})
    register_catalogue(toy)
    assert Texts("es")("toy.only") == "Only English."


def test_a_key_in_two_catalogues_is_an_error(tmp_path: Path, own_registry: None) -> None:
    _write(tmp_path, "en", {"step.1": ("Again.", "Again.")})
    register_catalogue(tmp_path)
    with pytest.raises(CatalogueError, match=r"'step\.1'.*guidance.*en\.po.*en\.po"):
        Texts("en")("step.1")


def test_registering_a_missing_directory_fails(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        register_catalogue(tmp_path / "nowhere")


# -- end to end ------------------------------------------------------------------------------

async def test_a_spanish_circle_hears_spanish_even_for_a_typo(console: object) -> None:
    from adapters.console import ConsoleSession
    from tests.conftest import run_lines

    assert isinstance(console, ConsoleSession)
    said = await run_lines(console, "@alice> circle setup name:Riberas timezone:Europe/Madrid\n"
                                    "@alice> circle settings language:es\n@alice> chekin 3\n"
                                    "@bob> join\n@bob dm> checkin 2 mal día")
    assert ('[reply @alice] No conozco "chekin"; ¿querías decir checkin? Escribe help para ver '
            "la lista.") in said
    assert "Te damos la bienvenida a Riberas" in "\n".join(said)
    assert any(line.startswith("[reply @bob] Registrado; está publicado en la sala de Riberas")
               for line in said)


async def test_what_an_adapter_says_itself_is_in_the_members_language(
        console: object) -> None:
    from adapters.console import ConsoleSession
    from bot.refs import Place, RoomRef, UserRef
    from tests.conftest import run_lines

    assert isinstance(console, ConsoleSession)
    await run_lines(console, "@alice> circle setup name:Riberas timezone:Europe/Madrid\n"
                             "@alice> circle settings language:es\n@bob> join\n"
                             "@carol> join\n@carol dm> me language en")
    core = console.core
    assert core is not None
    room = Place(RoomRef("console", "circle"))
    assert (await core.texts_for(UserRef("console", "bob"), room)).lang == "es"  # the circle's
    assert (await core.texts_for(UserRef("console", "carol"), room)).lang == "en"  # her own
    assert (await core.texts_for(UserRef("console", "nobody"), Place.direct())).lang == "en"


def test_a_forgotten_name_is_taken_out_only_where_it_stands_as_a_name() -> None:
    """The repair forget hook blanks a person's name in unsent room posts; a short name must
    not eat into other words ("Al" in "Also"), and names with regex characters are literal."""
    from bot.mentions import name_pattern

    assert name_pattern("Al").sub("…", "Al, Also Sal and Al.") == "…, Also Sal and …."
    assert name_pattern("a.b (x)").sub("…", "with a.b (x) and aXb (x)") == "with … and aXb (x)"
    assert name_pattern("Zoë").search("Zoëy") is None
