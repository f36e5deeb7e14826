"""Store operations that are both REST routes and steps of ``POST /api/v1/batch``.

:class:`OperationRouter` registers each route on a FastAPI router *and* records it as a named
operation (its OpenAPI operation id). ``/batch`` then runs a list of ``{"op", "args"}`` through the
same endpoint functions inside one store transaction, so a batch behaves exactly like the
individual requests would, only atomically.

An operation endpoint takes its path parameters (strings) and at most one pydantic model (the
request body, or the query parameters as a model); it returns JSON-able data. Batch arguments
are the path parameters plus the fields of that model, validated by the same model.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

F = TypeVar("F", bound=Callable[..., Any])

_PATH_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


@dataclass(frozen=True, slots=True)
class Operation:
    """One registered operation: its endpoint and how to feed it batch arguments."""

    name: str
    endpoint: Callable[..., Any]
    path_params: tuple[str, ...]
    model_param: str | None  #: the endpoint parameter that takes the pydantic model
    model: type[BaseModel] | None


def _model_parameter(fn: Callable[..., Any]) -> tuple[str | None, type[BaseModel] | None]:
    hints = typing.get_type_hints(fn)  # strips Annotated[...]
    found = [
        (name, hint)
        for name, hint in hints.items()
        if name != "return" and isinstance(hint, type) and issubclass(hint, BaseModel)
    ]
    if len(found) > 1:
        raise TypeError(f"operation {fn.__name__} takes more than one model: {[n for n, _ in found]}")
    return found[0] if found else (None, None)


class OperationRouter:
    """An :class:`APIRouter` whose routes are also recorded as batchable operations."""

    def __init__(self) -> None:
        self.router = APIRouter()
        self._operations: dict[str, Operation] = {}

    @property
    def operations(self) -> Mapping[str, Operation]:
        """The registered operations by name (read-only view)."""
        return self._operations

    def add(self, method: str, path: str, name: str, **route_options: Any) -> Callable[[F], F]:
        """Register the decorated function as ``method path`` with operation id ``name``."""

        def register(fn: F) -> F:
            if name in self._operations:
                raise ValueError(f"operation '{name}' is registered twice")
            path_params = tuple(_PATH_PARAM.findall(path))
            model_param, model = _model_parameter(fn)
            expected = set(path_params) | ({model_param} if model_param else set())
            if set(inspect.signature(fn).parameters) != expected:
                raise TypeError(f"operation {name}: parameters must be the path parameters and one model")
            self.router.add_api_route(
                path,
                fn,
                methods=[method],
                name=name,
                operation_id=name,
                summary=_summary(fn),
                **route_options,
            )
            self._operations[name] = Operation(name, fn, path_params, model_param, model)
            return fn

        return register

    def run(self, name: str, args: Mapping[str, Any], *, index: int = 0) -> Any:
        """Run operation ``name`` with batch arguments ``args``; returns its JSON-able result.

        Raises ValueError for an unknown operation or a path parameter that is not a string,
        RequestValidationError (located at ``body.ops.<index>.args``) for invalid arguments.
        """
        op = self._operations.get(name)
        if op is None:
            raise ValueError(f"batch operation {index}: unknown operation '{name}'; see /openapi.json")
        kwargs: dict[str, Any] = {}
        for param in op.path_params:
            value = args.get(param)
            if not isinstance(value, str):
                raise ValueError(f"batch operation {index} ({name}): argument '{param}' must be a string")
            kwargs[param] = value
        fields = op.model.model_fields if op.model is not None else {}
        # A path parameter that is also a body field (an artifact's task_id) goes to both.
        rest = {k: v for k, v in args.items() if k not in op.path_params or k in fields}
        if op.model is not None and op.model_param is not None:
            try:
                kwargs[op.model_param] = op.model.model_validate(rest)
            except ValidationError as exc:
                raise RequestValidationError(
                    _relocate(exc.errors(), ("body", "ops", index, "args"))
                ) from None
        elif rest:
            raise ValueError(f"batch operation {index} ({name}): unexpected arguments {sorted(rest)}")
        return op.endpoint(**kwargs)


def _relocate(errors: Sequence[Any], prefix: tuple[Any, ...]) -> list[Any]:
    return [{**e, "loc": (*prefix, *e.get("loc", ()))} for e in errors]


def _summary(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn) or ""
    return doc.splitlines()[0].rstrip(".") if doc else fn.__name__.replace("_", " ")
