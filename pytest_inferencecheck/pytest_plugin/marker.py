"""The `deploy_target` marker: its documentation and the validation of its arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_inferencecheck.config.options import OPTION_NAMES, CheckOptions, validate
from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.recommendations.table import TARGETS, Target, resolve_target

NAME = "deploy_target"
DOC = (f"{NAME}(*targets, **options): check the model this test passes to the inference_check "
       f"fixture on each deployment target (one test item per target). Targets: "
       f"{', '.join(TARGETS)}. Options: {', '.join(OPTION_NAMES)}.")


@dataclass(frozen=True)
class ItemSpec:
    """One item of a marked test: its resolved target and the marker's validated options."""

    target: Target
    options: CheckOptions

    def __str__(self) -> str:
        return self.target.id


def parse(args: tuple, kwargs: dict[str, Any], where: str) -> tuple[tuple[Target, ...],
                                                                     CheckOptions]:
    """Resolved targets (aliases resolved, duplicates dropped) and validated options: the
    marker's door, where both are validated once for every item of the test."""
    if not args:
        raise InferenceCheckError(f"{where}: @pytest.mark.{NAME}() needs at least one target; "
                                  f"valid targets: {', '.join(TARGETS)}")
    try:
        targets = tuple(dict.fromkeys(resolve_target(a) for a in args))
        return targets, validate(dict(kwargs), f"@pytest.mark.{NAME} on {where}")
    except InferenceCheckError as exc:
        message = str(exc)
        raise InferenceCheckError(message if where in message else f"{where}: {message}") \
            from None
