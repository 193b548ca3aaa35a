"""lark's parse failures -> ParseErrors that say in words what is wrong and where.

lark reports the token it could not use and the set of terminals it would have
accepted. That set is unreliable for words: LALR merges states, so after
``h :- a`` it also lists ``':-'``, and inside ``[1 2]`` it lists ``'}'``. So the
wording here looks at the text as well: which brackets are still open, whether
the statement so far has a ``:-``, whether the token starts a new line.
"""

from __future__ import annotations

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..errors import ParseError, Span, span_in

_LABELS = {
    "DOT": "'.'", "COMMA": "','", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'",
    "LBRACE": "'{'", "RBRACE": "'}'", "LESSTHAN": "'<'", "MORETHAN": "'>'", "DOLLAR": "'$'",
    "EQUAL": "'='", "VBAR": "'|'", "COLON": "':'", "IMPLIED": "':-'", "NEGATION": "'!' or '~'",
    "HIDDEN": "'*'", "BUILTIN": "'@'", "NAME": "a name", "VARIABLE": "a variable",
    "NUMBER": "a number", "TYPE": "a type prefix", "PREDICATE": "a predicate declaration (name/arity)",
    "META_OPEN": "metadata '[key=value]'", "$END": "the end of the file",
}
# Terminals that can begin a literal, a weight in front of one, or a term.
_ATOM_START = {"NAME", "NEGATION", "HIDDEN", "BUILTIN"}
_WEIGHT_START = {"DOLLAR", "LESSTHAN", "LSQB", "LBRACE", "NUMBER"}
_TERM = {"NAME", "VARIABLE", "NUMBER", "TYPE"}
_LITERAL_START = _ATOM_START | _WEIGHT_START | {"META_OPEN"}

_CLOSER = {"(": ")", "[": "]", "{": "}"}
_CLOSER_TOKEN = {"(": "RPAR", "[": "RSQB", "{": "RBRACE"}


def _expected_words(expected: set[str]) -> str:
    """The accepted terminals as a short phrase, grouping the ones that start a literal or term."""
    words: list[str] = []
    rest = set(expected)
    if _ATOM_START <= rest:
        words.append("a literal")
        rest -= _ATOM_START | _WEIGHT_START
        if "PREDICATE" in rest:
            words.append("a predicate declaration (name/arity)")
        if "META_OPEN" in rest:
            words.append("metadata '[key=value]'")
        rest -= {"PREDICATE", "META_OPEN"}
    if _TERM <= rest:
        words.append("a term (a variable, a constant or a number)")
        rest -= _TERM
    words += sorted(_LABELS.get(t, t.lower()) for t in rest)
    if len(words) > 6:
        words = words[:6] + ["..."]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    kind = {"NAME": "name", "VARIABLE": "variable", "NUMBER": "number"}.get(token.type)
    return f"{kind} '{token}'" if kind else f"'{token}'"


def _previous_char(text: str, pos: int) -> int:
    """Offset of the last non-blank character before ``pos`` (or -1)."""
    i = pos - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    return i


def _is_statement_end(text: str, i: int) -> bool:
    """Is the '.' at ``i`` a statement's end (not the point of a number like 1.5)?"""
    return not (0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit())


def _statement_start(text: str, pos: int) -> int:
    i = pos - 1
    while i >= 0 and not (text[i] == "." and _is_statement_end(text, i)):
        i -= 1
    return i + 1


def _open_brackets(text: str, pos: int) -> tuple[list[tuple[str, int]], tuple[str, int] | None]:
    """Brackets still open at ``pos``, and the first closer that matched nothing (if any)."""
    stack: list[tuple[str, int]] = []
    for i in range(_statement_start(text, pos), pos):
        ch = text[i]
        if ch in _CLOSER:
            stack.append((ch, i))
        elif ch in ")]}":
            if not stack or _CLOSER[stack[-1][0]] != ch:
                return stack, (ch, i)
            stack.pop()
    return stack, None


def _statement_kind(text: str, pos: int, start: str) -> str:
    """What the statement being parsed at ``pos`` is, in the user's words."""
    segment = text[_statement_start(text, pos):pos]
    if start == "data":
        return "example" if (":-" in segment or "<=" in segment) else "statement"
    if ":-" in segment or "<=" in segment:
        return "rule"
    return "fact"


def _at(text: str, file: str | None, offset: int, end: int | None = None) -> Span:
    return span_in(text, max(0, min(offset, len(text))), file, end)


def syntax_error(e: UnexpectedInput, text: str, file: str | None, start: str = "template") -> ParseError:
    """A ParseError for lark's ``e`` on ``text`` (comments already blanked), parsed from ``start``."""
    if isinstance(e, UnexpectedCharacters):
        return _unexpected_character(text, e.pos_in_stream, file)
    if isinstance(e, UnexpectedToken):
        return _unexpected_token(e.token, set(e.expected), text, file, start)
    assert isinstance(e, UnexpectedEOF)
    return _unexpected_token(Token("$END", ""), set(e.expected), text, file, start)


def _unexpected_character(text: str, pos: int, file: str | None) -> ParseError:
    char = text[pos]
    nxt = text[pos + 1] if pos + 1 < len(text) else ""
    hint = None
    if char == "." and nxt.isdigit():
        hint = "write numbers with a leading digit, e.g. 0.5"
    elif char in "&;" or (char == "|" and nxt == "|"):
        hint = "separate body literals with ','"
    elif char == "#" or (char == "/" and nxt == "/"):
        hint = "comments start with '%' (to the end of the line) or are enclosed in /* */"
    elif char in "\"'`":
        hint = "the language has no quoted strings; constants are lower-case names or numbers"
    elif char == "/":
        hint = "a predicate declaration is written name/arity with a lower-case name, e.g. h/1"
    elif char == "-" and nxt == ">":
        hint = "rules are written head :- body (or head <= body)"
    what = f"character '{char}'" if char.isprintable() and not char.isspace() else f"character {char!r}"
    return ParseError(f"unexpected {what}", _at(text, file, pos), hint)


def _unexpected_token(token: Token, expected: set[str], text: str, file: str | None, start: str) -> ParseError:
    at_end = token.type == "$END"
    pos = len(text) if at_end else token.start_pos
    prev = _previous_char(text, pos)
    here = _at(text, file, pos, None if at_end else token.end_pos)
    after_prev = _at(text, file, prev + 1)  # just after the last character before the token
    stack, stray = _open_brackets(text, pos)
    new_line = at_end or "\n" in text[prev + 1:pos]
    kind = _statement_kind(text, pos, start)

    # Closing brackets that close nothing, or the wrong thing.
    if stray is None and token.type in ("RPAR", "RSQB", "RBRACE") and (not stack or _CLOSER[stack[-1][0]] != token):
        stray = (str(token), pos)
    if stray is not None:
        ch, i = stray
        if stack:
            opener, j = stack[-1]
            o = _at(text, file, j)
            return ParseError(f"'{ch}' does not match the '{opener}' at {o.line}:{o.column}", _at(text, file, i),
                              f"close it with '{_CLOSER[opener]}'")
        return ParseError(f"'{ch}' closes a bracket that was never opened", _at(text, file, i))

    # Brackets left open when something else (or the end) comes.
    if stack:
        opener, j = stack[-1]
        closer = _CLOSER[opener]
        o = _at(text, file, j)
        inside = "between the arguments" if opener == "(" else "between the numbers"
        if "COMMA" in expected and not at_end and not new_line and (
                (opener == "(" and token.type in _TERM) or (opener != "(" and token.type == "NUMBER")):
            return ParseError(f"missing ',' {inside} before {_describe(token)}", here)
        if _CLOSER_TOKEN[opener] in expected or at_end or token.type in ("DOT", "IMPLIED") or new_line:
            return ParseError(f"missing '{closer}' to close the '{opener}' at {o.line}:{o.column}",
                              here if not new_line else after_prev)

    if expected == {"MORETHAN"}:
        return ParseError(f"missing '>' to close the fixed value '<...>' before {_describe(token)}", here)

    # A statement that runs into the next line or the end of the file without its '.'.
    if "DOT" in expected and new_line:
        where = " (the file ends here)" if at_end else ""
        every = "rule and fact" if start == "template" else "example and query"
        return ParseError(f"missing '.' at the end of the {kind}{where}", after_prev, f"every {every} ends with '.'")
    if token.type in ("DOT", "$END") and prev >= 0 and text[prev] == ",":
        return ParseError("a ',' must be followed by another literal", _at(text, file, prev), "remove the trailing ','")
    if at_end:
        return ParseError(f"unexpected end of the file; expected {_expected_words(expected)}", after_prev)

    # Two literals side by side.
    if "COMMA" in expected and "DOT" in expected and token.type in _LITERAL_START | {"VARIABLE"}:
        if kind == "rule" or (kind == "example" and start == "data"):
            return ParseError(f"missing ',' between literals before {_describe(token)}", here,
                              "separate the literals of a body with ','")
        hint = ("end each fact with '.', or separate the literals of one statement with ','" if start == "template"
                else "separate the facts or queries of one statement with ',' and end it with '.'")
        return ParseError(f"missing '.' or ',' before {_describe(token)}", here, hint)

    if token.type == "IMPLIED":
        if prev < 0 or (text[prev] == "." and _is_statement_end(text, prev)) or text[prev] == "]":
            return ParseError("a rule needs a head before ':-'", here)
        if "DOT" in expected:
            return ParseError(f"a statement has a second '{token}'", here, "end the previous statement with '.'")
    if token.type == "VARIABLE" and "NAME" in expected:
        return ParseError(f"predicate names start with a lower-case letter, not '{token}'", here,
                          "upper-case names are variables; write the predicate in lower case")
    if token.type == "COMMA" and prev >= 0 and text[prev] == ",":
        return ParseError("two ',' in a row", here, "remove one of them")
    if token.type == "DOT" and text[pos + 1:pos + 2].isdigit():
        return ParseError("unexpected '.'", here, "write numbers with a leading digit, e.g. 0.5")
    if token.type == "NAME" and prev >= 0 and text[prev] == "[":
        return ParseError(f"unexpected {_describe(token)} in a value", here,
                          "metadata is written [key=value, ...]; a vector is written [1.0, 2.0]")
    if expected == {"EQUAL"}:  # only after '$name' in a weight
        return ParseError(f"missing '=' after the weight name, before {_describe(token)}", here,
                          "a named weight is written $name=value, e.g. $w={3,3}")
    if token.type == "VBAR":
        return ParseError("unexpected '|'", here, "separate body literals with ','; '|' only appears in sparse values")
    return ParseError(f"unexpected {_describe(token)}; expected {_expected_words(expected)}", here)
