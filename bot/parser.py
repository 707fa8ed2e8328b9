"""The text grammar shared by Matrix and the console, and argument binding for every adapter.

Words split on white space; "..." quotes a value (curly quotes too, as phones type them);
`key:value` sets a named argument when key names one of the command's arguments; the other
words fill the positional arguments in the table's order, and a REST argument takes all
remaining words. An optional typed argument whose type does not fit the next word is skipped,
so `checkin tired but here` is a note, not a bad mood.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from bot.commands import CIRCLE_ARG, DEFAULT_MOOD_WORDS, Arg, Command, CommandTable, Kind
from bot.texts import Texts
from bot.timezones import resolve_timezone

_QUOTES = {'"': '"', "“": "”", "„": "“", "”": "”"}
_NAMED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", re.DOTALL)
_YES = {"yes", "y", "true", "on", "1"}
_NO = {"no", "n", "false", "off", "0"}
MAX_LINE = 8000


class ParseError(Exception):
    """A rejection: its message is the one sentence the member sees. What the member typed
    may be quoted in it, line breaks included, so white space is folded to keep one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


@dataclass(frozen=True)
class Token:
    raw: str  # as typed, quotes included
    value: str  # quotes removed
    quoted: bool


@dataclass(frozen=True)
class ParsedLine:
    command: Command
    positional: tuple[str, ...]
    named: dict[str, str]


def tokenize(line: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        raw: list[str] = []
        value: list[str] = []
        quoted = False
        while i < n and not line[i].isspace():
            ch = line[i]
            if ch in _QUOTES:
                close = _QUOTES[ch]
                end = line.find(close, i + 1)
                if end < 0:  # an unclosed quote takes the rest of the line: kinder than refusing
                    end = n
                raw.append(line[i : end + 1])
                value.append(line[i + 1 : end])
                quoted = True
                i = end + 1
            else:
                raw.append(ch)
                value.append(ch)
                i += 1
        tokens.append(Token("".join(raw), "".join(value), quoted))
    return tokens


def split_command(table: CommandTable, line: str, texts: Texts) -> ParsedLine:
    """Find the command a line names and split its words; binding comes later."""
    if len(line) > MAX_LINE:
        raise ParseError(texts("err.line_too_long", limit=MAX_LINE))
    stripped = line.strip()
    if stripped[:1] in ("!", "/"):
        stripped = stripped[1:]
    tokens = tokenize(stripped)
    if not tokens:
        raise ParseError(texts("err.empty"))
    head = tokens[0].value.lower()
    rest = tokens[1:]
    if head in table.groups:
        sub = rest[0].value.lower() if rest and not rest[0].quoted else None
        if sub is not None and table.get(f"{head} {sub}") is not None:
            command = table.get(f"{head} {sub}")
            rest = rest[1:]
        elif sub is not None and (head not in table.defaults
                                  or not table.get(f"{head} {table.defaults[head]}").args):  # type: ignore[union-attr]
            # A default that takes no words cannot be what `nudges maybe` meant.
            subs = table.subcommand_words(head)
            guess = closest(sub, subs, 0.8)
            if guess:
                raise ParseError(texts("err.unknown_command_suggest", word=f"{head} {sub[:40]}",
                                       guess=f"{head} {guess}"))
            raise ParseError(texts("err.unknown_subcommand", group=head, sub=sub[:40],
                                   subs=", ".join(subs)))
        elif head in table.defaults:
            # After a group with a default, only an exact subcommand word is a subcommand:
            # `call cancer scare` opens a request, never "did you mean call cancel?".
            command = table.get(f"{head} {table.defaults[head]}")
        else:
            raise ParseError(texts("err.need_subcommand", group=head,
                                   subs=", ".join(table.subcommand_words(head))))
    else:
        command = table.get(head)
    if command is None:
        names = sorted({c.words[0] for c in table.visible()} | {c.path for c in table.visible()})
        guess = closest(head, names)
        if guess:
            raise ParseError(texts("err.unknown_command_suggest", word=head, guess=guess))
        raise ParseError(texts("err.unknown_command", word=head))
    assert command is not None
    positional: list[str] = []
    named: dict[str, str] = {}
    for tok in rest:
        m = _NAMED.match(tok.raw)
        if m and not tok.raw.startswith(tuple(_QUOTES)):
            key = m.group(1).lower()
            if command.arg(key) is not None or key == CIRCLE_ARG.name:
                if key in named:
                    raise ParseError(texts("err.named_twice", name=key, usage=command.usage()))
                named[key] = _NAMED.match(tok.value).group(2)  # type: ignore[union-attr]
                continue
        positional.append(tok.value)
    return ParsedLine(command, tuple(positional), named)


def closest(word: str, options: list[str], cutoff: float = 0.6) -> str | None:
    found = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    return found[0] if found else None


def bind(command: Command, positional: tuple[str, ...], named: dict[str, str], texts: Texts,
         mood_words: dict[str, int] | None = None) -> dict[str, Any]:
    """Validate raw argument strings against the table; returns typed values by name."""
    moods = {**DEFAULT_MOOD_WORDS, **(mood_words or {})}
    values: dict[str, Any] = {}
    for key, raw in named.items():
        arg = CIRCLE_ARG if key == CIRCLE_ARG.name else command.arg(key)
        if arg is None:
            raise ParseError(texts("err.unknown_argument", name=key, usage=command.usage()))
        values[key] = convert(arg, raw, texts, moods, command)
    words = list(positional)
    open_args = [a for a in command.args if a.name not in values and not a.named_only]
    for idx, arg in enumerate(open_args):
        if not words:
            break
        if arg.kind is Kind.REST:
            # Choice words at the start of the text set their choice whatever follows:
            # `checkin 2 private couldn't sleep` is private, never a note posted to the room.
            later = [a for a in open_args[idx + 1 :] if a.kind in (Kind.CHOICE, Kind.BOOL)]
            while words:
                fit = next((a for a in later if a.name not in values
                            and _leading_choice(a, words[0])), None)
                if fit is None:
                    break
                values[fit.name] = convert(fit, words.pop(0), texts, moods, command)
            if words:
                values[arg.name] = convert(arg, " ".join(words), texts, moods, command)
            words = []
            break
        if not arg.required and not _fits(arg, words[0], moods):
            continue  # an optional argument the word doesn't fit is skipped
        values[arg.name] = convert(arg, words.pop(0), texts, moods, command)
    if words:
        # A word that was skipped for not fitting an optional argument: say why it doesn't fit.
        for arg in open_args:
            if arg.name not in values and arg.kind not in (Kind.TEXT, Kind.REST):
                convert(arg, words[0], texts, moods, command)
        raise ParseError(texts("err.extra_words", words=" ".join(words)[:60],
                               usage=command.usage()))
    for arg in command.args:
        if arg.name not in values:
            if arg.required:
                raise ParseError(texts("err.missing_argument", name=arg.name,
                                       usage=command.usage()))
            values[arg.name] = arg.default
    return values


def _leading_choice(arg: Arg, word: str) -> bool:
    """A word that names a choice outright: one of a choice's values, or a yes/no option's
    own name (`anonymous`); `yes` alone could be the first word of a note."""
    w = word.lower()
    return w in arg.choices if arg.kind is Kind.CHOICE else w == arg.name


def _fits(arg: Arg, word: str, moods: dict[str, int]) -> bool:
    w = word.lower()
    if arg.kind is Kind.INT:
        return _is_int(w.removeprefix("#"))
    if arg.kind is Kind.MOOD:  # a decimal is a mood said wrong, not the start of a note
        return _is_int(w) or w in moods or bool(re.fullmatch(r"-?\d+([.,]\d+)?(/5)?", w))
    if arg.kind is Kind.CHOICE:
        return w in arg.choices
    if arg.kind is Kind.BOOL:
        return w in _YES or w in _NO or w == arg.name
    if arg.kind is Kind.MEMBER:
        return word.startswith("@")
    if arg.kind is Kind.TIMEZONE:
        return "/" in word or w == "utc"
    return True


def _is_int(w: str) -> bool:
    return bool(re.fullmatch(r"[+-]?\d{1,9}", w))


def convert(arg: Arg, raw: str, texts: Texts, moods: dict[str, int], command: Command) -> Any:
    value = raw.strip()
    if arg.kind in (Kind.TEXT, Kind.REST):
        if arg.max_len is not None and len(value) > arg.max_len:
            raise ParseError(texts("err.too_long", name=arg.name, length=len(value),
                                   limit=arg.max_len))
        if arg.required and not value:
            raise ParseError(texts("err.missing_argument", name=arg.name, usage=command.usage()))
        return value
    low = value.lower()
    if arg.kind is Kind.INT:
        low = low.removeprefix("#")  # `ack #12` as the page shows it
        if not _is_int(low):
            raise ParseError(texts("err.not_a_number", name=arg.name, value=value[:40],
                                   usage=command.usage()))
        number = int(low)
        if (arg.minimum is not None and number < arg.minimum) or (
            arg.maximum is not None and number > arg.maximum
        ):
            if arg.maximum is None:  # only a floor: say that, not "from 1 to None"
                raise ParseError(texts("err.below_minimum", name=arg.name, value=number,
                                       minimum=arg.minimum))
            raise ParseError(texts("err.out_of_range", name=arg.name, value=number,
                                   minimum=arg.minimum, maximum=arg.maximum))
        return number
    if arg.kind is Kind.MOOD:
        if low.endswith("/5"):
            low = low[:-2]
        if re.fullmatch(r"-?\d+[.,]\d+", low):
            raise ParseError(texts("err.mood_whole", value=value[:10]))
        if _is_int(low):
            number = int(low)
            if not 1 <= number <= 5:
                raise ParseError(texts("err.mood_range", value=number))
            return number
        if low in moods:
            return moods[low]
        raise ParseError(texts("err.mood_word", value=value[:40],
                               words=", ".join(sorted(moods, key=lambda k: (moods[k], k))[:6])))
    if arg.kind is Kind.CHOICE:
        if low not in arg.choices:
            raise ParseError(texts("err.bad_choice", name=arg.name, value=value[:40],
                                   choices=", ".join(arg.choices)))
        return low
    if arg.kind is Kind.BOOL:
        if low in _YES or low == arg.name:
            return True
        if low in _NO:
            return False
        raise ParseError(texts("err.bad_bool", name=arg.name, value=value[:40]))
    if arg.kind is Kind.TIMEZONE:
        tz, guess = resolve_timezone(value)
        if tz is None:
            if guess:
                raise ParseError(texts("err.timezone_suggest", value=value[:60], guess=guess))
            raise ParseError(texts("err.timezone", value=value[:60]))
        return tz
    if arg.kind is Kind.MEMBER:
        if not value.startswith("@") or len(value) < 2:
            raise ParseError(texts("err.bad_member", name=arg.name, value=value[:60]))
        return value
    raise AssertionError(arg.kind)
