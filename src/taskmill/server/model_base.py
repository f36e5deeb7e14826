"""The base of every API model, the bounded number types, and the error response model.

Integers are bounded to 64 bits and floats must be finite, and no text may contain NUL, so that
no request can reach the database with a value it cannot store (that would be a 5xx).
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
#: columns stored as 32-bit integers (task progress, queue priority)
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Count = Annotated[int, Field(ge=0, le=2**63 - 1)]
JsonDict = dict[str, JsonValue]


def _reject_nul(value: object, where: str) -> None:
    # Nested API models check themselves; plain dicts and lists are walked here.
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where}: text must not contain NUL characters (databases cannot store them)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key, where)
            _reject_nul(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_nul(item, where)


class Model(BaseModel):
    """Base of every API model: finite floats only, and no NUL characters in any text.

    PostgreSQL cannot store NUL; refusing it here gives the same 422 on every backend.
    """

    model_config = ConfigDict(allow_inf_nan=False)

    @model_validator(mode="after")
    def _no_nul(self) -> Self:
        for name in type(self).model_fields:
            _reject_nul(getattr(self, name), name)
        if self.model_extra:
            _reject_nul(self.model_extra, "")
        return self


class ErrorModel(Model):
    """Every error response: the exception class, its message, and attributes naming what failed."""

    error: str
    detail: str
    fields: dict[str, Any] = {}


#: The error responses every guarded endpoint may give (documented in /openapi.json).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorModel, "description": "No API key, or an unknown one."},
    403: {"model": ErrorModel, "description": "The API key was revoked."},
    404: {"model": ErrorModel, "description": "Unknown task, queue, worker, key or artifact."},
    409: {"model": ErrorModel, "description": "Conflict with the stored state (status table, duplicates)."},
    413: {"model": ErrorModel, "description": "Request body too large."},
    422: {"model": ErrorModel, "description": "Invalid request (malformed JSON, wrong types, bad values)."},
}
