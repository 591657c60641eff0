"""Evaluate ``print`` query words with the stack semantics of the API manual."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial

from simulators.routeros.values import parse_bool

Row = Mapping[str, str]
Predicate = Callable[[Row], bool]


class QueryError(ValueError):
    """A query word that cannot be understood."""


def _same(actual: str, wanted: str) -> bool:
    if actual == wanted:
        return True
    actual_bool = parse_bool(actual)
    return actual_bool is not None and actual_bool == parse_bool(wanted)


def _compare(actual: str, wanted: str) -> int:
    try:
        left, right = int(actual), int(wanted)
    except ValueError:
        return (actual > wanted) - (actual < wanted)
    return (left > right) - (left < right)


def _test(word: str) -> Predicate:
    body = word[1:]
    if body.startswith("="):
        body = body[1:]
    if body.startswith("-"):
        name = body[1:]
        return lambda row: name not in row
    if body[:1] in ("<", ">"):
        sign = 1 if body[0] == ">" else -1
        name, sep, value = body[1:].partition("=")
        if not sep:
            raise QueryError(f"comparison without a value: {word}")
        return lambda row: name in row and _compare(row[name], value) == sign
    name, sep, value = body.partition("=")
    if not name:
        raise QueryError(f"query word without a property name: {word}")
    if not sep:
        return lambda row: name in row
    return lambda row: name in row and _same(row[name], value)


def _operate(stack: list[bool], ops: str) -> None:
    def pop() -> bool:
        return stack.pop() if stack else True

    index = ""
    for pos, char in enumerate(ops):
        if char.isdigit():
            index += char
            if pos == len(ops) - 1:
                at = int(index)
                value = stack[-1 - at] if at < len(stack) else True
                stack[:] = [value]
            continue
        if index:
            at = int(index)
            stack.append(stack[-1 - at] if at < len(stack) else True)
            index = ""
        if char == "|":
            right, left = pop(), pop()
            stack.append(left or right)
        elif char == "&":
            right, left = pop(), pop()
            stack.append(left and right)
        elif char == "!":
            stack.append(not pop())
        elif char == ".":
            top = pop()
            stack.extend((top, top))
        else:
            raise QueryError(f"unknown query operation {char!r}")


def _run_operations(ops: str, _row: Row, stack: list[bool]) -> None:
    _operate(stack, ops)


def _push_test(test: Predicate, row: Row, stack: list[bool]) -> None:
    stack.append(test(row))


def compile_query(words: Sequence[str]) -> Predicate:
    """Turn ``?`` words into a predicate over one row.

    :raises QueryError: on a malformed word.
    """
    steps: list[Callable[[Row, list[bool]], None]] = []
    for word in words:
        if not word.startswith("?"):
            raise QueryError(f"not a query word: {word}")
        if word.startswith("?#"):
            ops = word[2:]
            _operate([], ops)  # validate once, so a bad word fails before any row
            steps.append(partial(_run_operations, ops))
        else:
            test = _test(word)
            steps.append(partial(_push_test, test))

    def predicate(row: Row) -> bool:
        stack: list[bool] = []
        for step in steps:
            step(row, stack)
        return all(stack)

    return predicate
