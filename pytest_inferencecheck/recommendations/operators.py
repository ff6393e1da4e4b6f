"""An app's ExecuTorch operator set: the kernels its runtime was built with (selective build).

A `.pte` calls, outside its delegates, operators by name (`aten::convolution.out`); a phone
whose app runtime lacks one fails to load the program with `OperatorMissing`. The set is read
from the files ExecuTorch's selective build reads:

- `selected_operators.yaml` (what `executorch.codegen.tools.gen_oplist` writes): a mapping
  `operators:` whose keys are operator names; `include_all_operators: true` takes every one;
- a kernel list YAML (`functions.yaml`, `custom_ops.yaml`): entries `- op: add.out` (namespace
  `aten` when none is given) or `- func: my_ns::op.out(...) -> ...`;
- any other file: names separated by commas, spaces or new lines, as the `ROOT_OPS` /
  `EXECUTORCH_SELECT_OPS_LIST` lists are written (`aten::add.out,aten::mm.out`); `#` comments.

A name without an overload (`aten::add`) takes all its overloads, as in a selective build.
Prim operators (symbolic sizes, `executorch_prim::*`) are part of every runtime.

The vocabulary only: no torch, no ExecuTorch import (options validate with it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_inferencecheck.errors import InferenceCheckError

#: Registered by ExecuTorch's runtime core (`register_prim_ops.cpp`), whatever the app selects.
PRIM_OPERATORS = frozenset({"aten::sym_size.int", "aten::sym_numel", "aten::sym_stride.int",
                            "aten::sym_storage_offset", "aten::_local_scalar_dense"})
_NAME = re.compile(r"^[A-Za-z_][\w]*::[A-Za-z_][\w]*(\.[A-Za-z_]\w*)?$")


def is_prim(name: str) -> bool:
    """An operator every ExecuTorch runtime has (symbolic sizes and ExecuTorch's prim ops)."""
    return name.startswith("executorch_prim::") or name in PRIM_OPERATORS


@dataclass(frozen=True)
class OperatorSet:
    """The operators an app's runtime was built with, read from `path`."""

    path: str
    names: frozenset[str]
    everything: bool = False  # include_all_operators: the app takes every kernel

    def has(self, operator: str) -> bool:
        """Whether the app's runtime has `operator` (`ns::name.overload`)."""
        if self.everything or is_prim(operator) or operator in self.names:
            return True
        return operator.split(".", 1)[0] in self.names  # a name with no overload takes all

    def __str__(self) -> str:
        return self.path


def operator_set(value: Any, where: str, base: Path | None = None) -> OperatorSet:
    """The operator set in the file `value` names (relative to `base`, else the working
    directory); a usage error naming `where` when it is missing, unreadable or names nothing."""
    if isinstance(value, OperatorSet):
        return value
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise InferenceCheckError(f"executorch_operators={value!r} from {where}: must be the "
                                  "path of the app's operator list (selected_operators.yaml, "
                                  "a functions.yaml or a comma-separated list of operators)")
    path = Path(value)
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InferenceCheckError(f"executorch_operators={str(value)!r} from {where}: cannot "
                                  f"read {path}: {why}") from None
    everything, names = (_from_yaml(text, path, where) if path.suffix in (".yaml", ".yml")
                         else (False, _from_list(text)))
    bad = sorted(n for n in names if not _NAME.match(n))
    if bad:
        raise InferenceCheckError(
            f"executorch_operators from {where}: {path} names {', '.join(map(repr, bad[:3]))}, "
            "which are not operator names (`namespace::name` or `namespace::name.overload`, "
            "e.g. aten::add.out)")
    if not names and not everything:
        raise InferenceCheckError(f"executorch_operators from {where}: {path} names no "
                                  "operator; list the operators the app's runtime has")
    return OperatorSet(str(path), frozenset(names), everything)


def _qualified(name: str) -> str:
    name = name.strip()
    return name if "::" in name else f"aten::{name}"


def _from_list(text: str) -> set[str]:
    words = re.split(r"[\s,]+", "\n".join(line.split("#", 1)[0] for line in text.splitlines()))
    return {_qualified(w) for w in words if w}


def _from_yaml(text: str, path: Path, where: str) -> tuple[bool, set[str]]:
    try:
        import yaml  # noqa: PLC0415 - PyYAML comes with ExecuTorch; only YAML lists need it
    except ImportError:
        raise InferenceCheckError(f"executorch_operators from {where}: reading {path} needs "
                                  "PyYAML: install pytest-inferencecheck[executorch]") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InferenceCheckError(f"executorch_operators from {where}: {path} is not valid "
                                  f"YAML: {exc}") from None
    if isinstance(data, dict) and ("operators" in data or "include_all_operators" in data):
        operators = data.get("operators") or {}
        if not isinstance(operators, dict):
            raise InferenceCheckError(f"executorch_operators from {where}: {path}: `operators` "
                                      "must map operator names to their entries, as "
                                      "selected_operators.yaml does")
        return bool(data.get("include_all_operators")), {_qualified(str(k)) for k in operators}
    if isinstance(data, list) and all(isinstance(e, dict) and ("op" in e or "func" in e)
                                      for e in data):
        return False, {_qualified(str(e["op"])) if "op" in e
                       else _qualified(str(e["func"]).split("(", 1)[0]) for e in data}
    raise InferenceCheckError(
        f"executorch_operators from {where}: {path} is neither a selected_operators.yaml "
        "(`operators:` mapping) nor a kernel list (`- op: add.out` / `- func: ...` entries)")
