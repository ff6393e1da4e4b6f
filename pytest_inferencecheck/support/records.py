"""Dataclasses to plain JSON data and back, derived from their fields: a type is written once.

`to_data` walks a dataclass's fields in order (nested dataclasses, lists, tuples and dicts
included); `from_data` rebuilds one from its type hints (`X | None`, `list[X]`, `tuple[X, ...]`,
nested dataclasses). What a field needs beyond its name and type is said beside it, with
`json_field`: another key in the JSON, left out when None, or an encoder and decoder for a shape
of its own. Values a type derives (an outcome, a median) are listed in its `__json_computed__`
(`key: (the key it follows, or None for the end; how it is derived)`): written, never read back
(they are derived again)."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

_SPEC = "json"


@dataclasses.dataclass(frozen=True)
class Spec:
    """How one field appears in JSON, beyond its name and type."""

    key: str | None = None  # the JSON key, when not the field's name
    omit_none: bool = False  # left out of the object when None
    encode: Callable[[Any], Any] | None = None  # the owning object -> the JSON value
    decode: Callable[[dict], Any] | None = None  # the whole JSON object -> the field's value
    skip: bool = False  # not written on its own (another field's encoder carries it)


def json_field(*, key: str | None = None, omit_none: bool = False,
               encode: Callable[[Any], Any] | None = None,
               decode: Callable[[dict], Any] | None = None, skip: bool = False,
               **field_kwargs: Any) -> Any:
    """A dataclass field with how it appears in JSON (`field_kwargs` go to `dataclasses.field`)."""
    return dataclasses.field(metadata={_SPEC: Spec(key, omit_none, encode, decode, skip)},
                             **field_kwargs)


def _spec(f: dataclasses.Field) -> Spec:
    return f.metadata.get(_SPEC) or Spec()


def to_data(value: Any) -> Any:
    """`value` as JSON data: a dataclass as an object of its fields, then its computed values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            spec = _spec(f)
            if spec.skip:
                continue
            item = getattr(value, f.name)
            if spec.omit_none and item is None:
                continue
            out[spec.key or f.name] = spec.encode(value) if spec.encode else to_data(item)
        for key, (after, derive) in getattr(type(value), "__json_computed__", {}).items():
            out[key] = derive(value)
            if after is not None:  # placed after that key, where readers have always found it
                keys = list(out)
                keys.insert(keys.index(after) + 1, keys.pop())
                out = {k: out[k] for k in keys}
        return out
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {k: to_data(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(hint: Any, value: Any) -> Any:
    """JSON data as the type `hint` names."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, v) for v in value]
    if origin is tuple:
        args = typing.get_args(hint)
        return tuple(_convert(args[0], v) for v in value) if args[-1:] == (Ellipsis,) else \
            tuple(value)
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return from_data(hint, value)
    return value


def from_data(cls: type, data: dict) -> Any:
    """Rebuild a `cls` from `to_data`'s object; a key that is absent takes the field's default."""
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        spec = _spec(f)
        if spec.decode is not None:
            kwargs[f.name] = spec.decode(data)
        elif (spec.key or f.name) in data and not spec.skip:
            kwargs[f.name] = _convert(hints[f.name], data[spec.key or f.name])
    return cls(**kwargs)
