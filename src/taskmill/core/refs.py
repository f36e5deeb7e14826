"""The ``${...}`` reference language of pipeline steps: parse, check, find and interpolate.

A step's inputs (``parameter_override`` values, ``function_kwargs``, ``task_overrides``, the
execution queue) may name values that only exist once other steps ran, e.g.
``${stage_data.artifacts.dataset.url}`` or ``${pipeline.lr}``. This module owns the syntax of those
references, which kinds are allowed where, the add-time checks, the implicit parents they imply,
and the substitution of resolved values into strings.

What does not belong here: fetching the values (the engine passes a ``resolver`` callable that
reads the store), step specs, and the DAG itself (:mod:`taskmill.core.dag`).

Forms (``<step>`` is a step name; ``pipeline`` is reserved for pipeline parameters):

========================================  ===========  ==========================================
reference                                  kind         path
========================================  ===========  ==========================================
``${pipeline.<param>}``                    PIPELINE     ``(param,)``
``${<step>.id}``                           ID           ``()``
``${<step>.parameters.<Section/key>}``     PARAMETERS   ``("Section/key",)`` (key may hold dots)
``${<step>.artifacts.<name>.<attr>}``      ARTIFACTS    ``(name, attr)`` (``\\.`` = dot in name)
``${<step>.models.<io>.<index>.<attr>}``   MODELS       ``("input"|"output", "-1", attr)``
``${<step>.script.branch}`` and friends    FIELD        ``("script", "branch")``
``${<step>.<return_name>}``                RETURN       ``(return_name,)``
========================================  ===========  ==========================================
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from taskmill.errors import ReferenceError_

#: One reference inside a string (ClearML's pattern); a string may hold several.
REF_PATTERN = re.compile(r"\$\{[^}]*\}")

#: The reserved first token of pipeline-parameter references (and the reserved step name).
PIPELINE = "pipeline"

#: Attributes of an artifact a reference may read (``.url`` is the usual one).
ARTIFACT_ATTRS = frozenset(
    {"url", "name", "size", "type", "mode", "hash", "timestamp", "metadata", "preview"}
)

#: Attributes of a model a reference may read (``task`` is the id of the task that made it).
MODEL_ATTRS = frozenset({"url", "id", "name", "framework", "task"})

#: The two model lists of a task.
MODEL_MODES = ("input", "output")

#: Raw task fields that hold a structure: the reference may go deeper (``${s.script.branch}``).
STRUCTURED_FIELDS = frozenset({"script", "execution", "container", "output"})

#: Raw task fields that are a single value: the reference stops there (``${s.tags}``).
SCALAR_FIELDS = frozenset({"comment", "tags", "system_tags", "project"})

#: Words after ``<step>.`` that are not return names; a function step cannot return these names
#: and still be referenced as ``${step.<name>}``.
RESERVED_WORDS = frozenset({"id", "parameters", "artifacts", "models"}) | STRUCTURED_FIELDS | SCALAR_FIELDS

# A dot that is not escaped as ``\.`` (artifact names may contain escaped dots).
_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")
_INDEX = re.compile(r"[-+]?[0-9]+")


class RefKind(StrEnum):
    """What a reference reads. Values are plain strings, so ``ref.kind == "id"`` works."""

    PIPELINE = "pipeline"  #: a pipeline parameter
    ID = "id"  #: the id of the step's executed (or cached) task
    PARAMETERS = "parameters"  #: a ``Section/key`` hyperparameter of the step's task
    ARTIFACTS = "artifacts"  #: an attribute of one of the step's artifacts
    MODELS = "models"  #: an attribute of one of the step's input or output models
    FIELD = "field"  #: a raw task field (``script.branch``, ``container.image``, ``tags`` ...)
    RETURN = "return"  #: a declared return value of a function step (the Python object)


class RefContext(StrEnum):
    """Where a reference appears; decides which kinds are allowed (see :data:`ALLOWED_KINDS`)."""

    PARAMETERS = "parameter_override"
    FUNCTION_KWARGS = "function_kwargs"
    TASK_OVERRIDES = "task_overrides"
    QUEUE = "execution_queue"


_VALUE_KINDS = frozenset(
    {RefKind.PIPELINE, RefKind.ID, RefKind.PARAMETERS, RefKind.ARTIFACTS, RefKind.MODELS, RefKind.RETURN}
)

#: Kinds allowed per context. Raw task fields only make sense where task fields are set (ClearML's
#: rule). Return values are allowed wherever a value is wanted: the resolver hands back the object.
ALLOWED_KINDS: Mapping[RefContext, frozenset[RefKind]] = MappingProxyType(
    {
        RefContext.PARAMETERS: _VALUE_KINDS,
        RefContext.FUNCTION_KWARGS: _VALUE_KINDS,
        RefContext.TASK_OVERRIDES: _VALUE_KINDS | {RefKind.FIELD},
        RefContext.QUEUE: _VALUE_KINDS | {RefKind.FIELD},
    }
)


@dataclass(frozen=True, slots=True)
class Ref:
    """One parsed ``${...}`` reference.

    Attributes:
        step: The producing step's name, or ``"pipeline"`` for a pipeline parameter.
        kind: What is read (see :class:`RefKind`).
        path: Kind-specific parts, unescaped (see the module docstring's table).
        raw: The reference exactly as written, ``${`` and ``}`` included.
    """

    step: str
    kind: RefKind
    path: tuple[str, ...]
    raw: str

    @property
    def model_index(self) -> int:
        """Index into the model list of a MODELS reference (negative counts from the end)."""
        if self.kind is not RefKind.MODELS:
            raise ValueError(f"{self.raw} is a {self.kind.value} reference, not a models reference")
        return int(self.path[1])

    def __str__(self) -> str:
        return self.raw


@dataclass(frozen=True, slots=True)
class RefScope:
    """The names references of one pipeline can see.

    Attributes:
        steps: Every step name, mapped to the return names it declares when it is a function step
            (an empty collection if it declares none), or ``None`` when it is a Task step.
        params: The pipeline parameter names.
    """

    steps: Mapping[str, Collection[str] | None]
    params: Collection[str]


def parse_ref(raw: str) -> Ref:
    """Parse one reference such as ``${train.models.output.-1.url}``.

    Only the syntax is checked here; whether the step or parameter exists, and whether the kind is
    allowed where it appears, is :func:`check_refs`'s job.

    Args:
        raw: The reference with its ``${`` and ``}``.

    Returns:
        The parsed reference.

    Raises:
        ReferenceError_: The text is not a reference, or its parts do not fit its kind.
    """
    if not REF_PATTERN.fullmatch(raw):
        raise ReferenceError_(f"'{raw}' is not a reference; write it as ${{step.id}} or ${{pipeline.param}}")
    step, dot, rest = raw[2:-1].partition(".")
    if not step or not dot or not rest:
        raise _bad(raw, "it needs a step and what to read", "${step.id} or ${pipeline.param}")
    if step == PIPELINE:
        return Ref(step, RefKind.PIPELINE, (rest,), raw)
    word, _, tail = rest.partition(".")
    if word == "id":
        if tail:
            raise _bad(raw, "nothing may follow 'id'", f"${{{step}.id}}")
        return Ref(step, RefKind.ID, (), raw)
    if word == "parameters":
        return _parse_parameters(raw, step, tail)
    if word == "artifacts":
        return _parse_artifacts(raw, step, tail)
    if word == "models":
        return _parse_models(raw, step, tail)
    if word in STRUCTURED_FIELDS or word in SCALAR_FIELDS:
        return _parse_field(raw, step, word, tail)
    if not word:
        raise _bad(raw, "a part is empty", f"${{{step}.id}}")
    if tail:
        close = difflib.get_close_matches(word, sorted(RESERVED_WORDS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        kinds = ", ".join(sorted(RESERVED_WORDS))
        raise ReferenceError_(f"bad reference '{raw}': unknown kind '{word}'{hint}; expected one of: {kinds}")
    return Ref(step, RefKind.RETURN, (word,), raw)


def check_closed(text: str) -> None:
    """Raise ReferenceError_ if ``text`` opens a reference it never closes (``${a`` or ``${a.b ${c.id}``).

    Without this an unclosed ``${`` would pass as a literal, or swallow the reference after it.
    """
    start = text.find("${")
    while start != -1:
        end = text.find("}", start + 2)
        following = text.find("${", start + 2)
        if end == -1 or (following != -1 and following < end):
            stop = len(text) if following == -1 else following
            fragment = text[start:stop].rstrip()
            fragment = fragment if len(fragment) <= 40 else fragment[:37] + "..."
            raise _bad(fragment, "it is not closed (no '}')", "${step.id} or ${pipeline.param}")
        start = text.find("${", end + 1)


def _bad(raw: str, why: str, example: str) -> ReferenceError_:
    return ReferenceError_(f"bad reference '{raw}': {why}; write it like {example}")


def _parse_parameters(raw: str, step: str, key: str) -> Ref:
    # The key is taken verbatim: ClearML re-joins the remaining tokens with '.', so keys may hold dots.
    if not key:
        raise _bad(raw, "the parameter key is missing", f"${{{step}.parameters.General/key}}")
    section, slash, name = key.partition("/")
    if not slash or not section or not name:
        raise _bad(raw, f"parameter key '{key}' has no section", f"${{{step}.parameters.General/{key}}}")
    return Ref(step, RefKind.PARAMETERS, (key,), raw)


def _parse_artifacts(raw: str, step: str, tail: str) -> Ref:
    example = f"${{{step}.artifacts.<name>.url}}"
    parts = _UNESCAPED_DOT.split(tail) if tail else []
    if len(parts) != 2 or not parts[0]:
        why = "it needs an artifact name and an attribute"
        if len(parts) > 2:
            why += r" (write a dot inside the artifact name as '\.')"
        raise _bad(raw, why, example)
    name, attr = parts[0].replace("\\.", "."), parts[1]
    if attr not in ARTIFACT_ATTRS:
        attrs = ", ".join(sorted(ARTIFACT_ATTRS))
        raise _bad(raw, f"unknown artifact attribute '{attr}' (one of: {attrs})", example)
    return Ref(step, RefKind.ARTIFACTS, (name, attr), raw)


def _parse_models(raw: str, step: str, tail: str) -> Ref:
    example = f"${{{step}.models.output.-1.url}}"
    parts = tail.split(".") if tail else []
    if len(parts) != 3:
        raise _bad(raw, "it needs input|output, an index and an attribute", example)
    mode, index, attr = parts
    if mode not in MODEL_MODES:
        raise _bad(raw, f"model list '{mode}' is neither 'input' nor 'output'", example)
    if not _INDEX.fullmatch(index):
        raise _bad(raw, f"model index '{index}' is not an integer (-1 is the last model)", example)
    if attr not in MODEL_ATTRS:
        attrs = ", ".join(sorted(MODEL_ATTRS))
        raise _bad(raw, f"unknown model attribute '{attr}' (one of: {attrs})", example)
    return Ref(step, RefKind.MODELS, (mode, str(int(index)), attr), raw)


def _parse_field(raw: str, step: str, word: str, tail: str) -> Ref:
    if word in SCALAR_FIELDS:
        if tail:
            raise _bad(raw, f"task field '{word}' has no sub-fields", f"${{{step}.{word}}}")
        return Ref(step, RefKind.FIELD, (word,), raw)
    sub = tail.split(".") if tail else []
    if any(not part for part in sub):
        raise _bad(raw, "a part is empty", f"${{{step}.{word}.<field>}}")
    return Ref(step, RefKind.FIELD, (word, *sub), raw)


def find_refs(text: str) -> list[Ref]:
    """Parse every reference in ``text``, in order of appearance.

    Raises:
        ReferenceError_: One of them is malformed (see :func:`parse_ref`) or not closed.
    """
    check_closed(text)
    return [parse_ref(m.group(0)) for m in REF_PATTERN.finditer(text)]


def single_ref(text: str) -> Ref | None:
    """The reference ``text`` consists of, or ``None`` unless it is exactly one reference.

    ``"${a.id}"`` is a single reference; ``"[${a.id}]"`` and ``"${a.id}${b.id}"`` are not.
    """
    if REF_PATTERN.fullmatch(text):
        return parse_ref(text)
    return None


def _strings(value: object, label: str, recursive: bool) -> Iterator[tuple[str, str]]:
    """Yield ``(label, text)`` for each string of ``value`` that may hold references.

    A top-level string is always scanned; lists, tuples and dict values only when ``recursive``
    (ClearML's ``recursively_parse_parameters``). Dict keys are never scanned.
    """
    if isinstance(value, str):
        yield label, value
    elif recursive and isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _strings(item, f"{label}[{i}]", recursive)
    elif recursive and isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{label}[{key!r}]", recursive)


def referenced_steps(value: object, recursive: bool = False) -> set[str]:
    """Names of the steps whose references appear in ``value`` (``pipeline`` excluded).

    Used to add implicit parents. Lenient on purpose: it never raises, malformed references are
    reported by :func:`check_refs`; only the step part (before the first dot) is read.

    Args:
        value: A str, list, tuple or dict; other types hold no references.
        recursive: Also scan strings nested inside lists, tuples and dict values.
    """
    found: set[str] = set()
    for _, text in _strings(value, "", recursive):
        if "${" not in text:
            continue
        for match in REF_PATTERN.finditer(text):
            step = match.group(0)[2:-1].partition(".")[0]
            if step and step != PIPELINE:
                found.add(step)
    return found


def check_refs(
    value: object,
    scope: RefScope,
    *,
    step: str,
    field: str,
    context: RefContext,
    recursive: bool = False,
) -> list[Ref]:
    """Parse and validate every reference in ``value`` for the step that consumes it.

    Checks the syntax, that the referenced step (or pipeline parameter) exists and is not the
    consuming step itself, that the kind is allowed in ``context``, and that a return-value
    reference names a function step that declares that return name.

    Args:
        value: The value as given by the user (str, or list/tuple/dict when ``recursive``).
        scope: The steps and pipeline parameters that exist.
        step: The consuming step (named in errors).
        field: Where the value sits, e.g. ``"parameter_override['General/url']"`` (named in errors).
        context: Which kinds are allowed.
        recursive: Also scan strings nested inside lists, tuples and dict values.

    Returns:
        The references found, in order.

    Raises:
        ReferenceError_: The first bad reference, with the consuming step, the field, the
            reference and how to fix it.
    """
    refs: list[Ref] = []
    for label, text in _strings(value, field, recursive):
        if "${" not in text:
            continue
        try:
            check_closed(text)
        except ReferenceError_ as exc:
            raise ReferenceError_(f"step '{step}', {label}: {exc}") from None
        for match in REF_PATTERN.finditer(text):
            try:
                ref = parse_ref(match.group(0))
                _check_one(ref, scope, step, context)
            except ReferenceError_ as exc:
                raise ReferenceError_(f"step '{step}', {label}: {exc}") from None
            refs.append(ref)
    return refs


def _check_one(ref: Ref, scope: RefScope, consumer: str, context: RefContext) -> None:
    if ref.kind is RefKind.PIPELINE:
        if ref.path[0] not in scope.params:
            known = _names(scope.params) or "none (declare one with add_parameter)"
            raise ReferenceError_(
                f"'{ref.raw}' names unknown pipeline parameter '{ref.path[0]}'"
                f"{_did_you_mean(ref.path[0], scope.params)}; pipeline parameters: {known}"
            )
        return
    if ref.step == consumer:
        raise ReferenceError_(f"'{ref.raw}' refers to the step itself; a step can only read its parents")
    if ref.step not in scope.steps:
        raise ReferenceError_(
            f"'{ref.raw}' names unknown step '{ref.step}'{_did_you_mean(ref.step, scope.steps)}; "
            f"known steps: {_names(scope.steps) or 'none yet'} (add the step before referencing it)"
        )
    if ref.kind not in ALLOWED_KINDS[context]:
        raise ReferenceError_(
            f"'{ref.raw}' reads the raw task field '{'.'.join(ref.path)}', allowed only in "
            f"task_overrides and execution_queue; in {context.value} use ${{{ref.step}.id}}, "
            f"${{{ref.step}.parameters.Section/key}}, ${{{ref.step}.artifacts.<name>.url}} or "
            f"${{{ref.step}.models.output.-1.url}}"
        )
    if ref.kind is RefKind.RETURN:
        returns = scope.steps[ref.step]
        name = ref.path[0]
        if returns is None:
            raise ReferenceError_(
                f"'{ref.raw}': step '{ref.step}' is a Task step, so it has no return value '{name}'; "
                f"use ${{{ref.step}.parameters.Section/key}} or ${{{ref.step}.artifacts.{name}.url}}"
            )
        if name not in returns:
            declared = ", ".join(repr(r) for r in returns) or "none"
            raise ReferenceError_(
                f"'{ref.raw}': function step '{ref.step}' declares no return value '{name}' "
                f"(its function_return: {declared}); add '{name}' to its function_return or fix the name"
            )


def _did_you_mean(word: str, names: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(names), n=3)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _names(names: Collection[str], limit: int = 20) -> str:
    # Pipelines can have thousands of steps: cap the list so the message stays readable.
    shown = sorted(names)[:limit]
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(shown) + more


def resolve(value: object, resolver: Callable[[Ref], object], *, recursive: bool = False) -> object:
    """Substitute every reference in ``value`` with what ``resolver`` returns for it.

    Deliberate difference from ClearML: a string that is *exactly one* reference becomes the
    resolver's raw value, keeping its type in every case (an ``int`` stays an ``int``, a Python
    object stays that object, and a ``str`` is a ``str``). A string with several references or
    with text around them gets ``str(value)`` of each one spliced in. ClearML instead returns the
    raw value of the *first* reference that resolves to a non-string, even inside longer text,
    dropping that text.

    Args:
        value: A str, or a list/tuple/dict when ``recursive``; anything else is returned as is.
        resolver: Called once per reference occurrence; its exceptions propagate.
        recursive: Also resolve strings nested inside lists, tuples and dict values (the
            container type is kept; dict keys are not resolved).

    Returns:
        The resolved value. Strings without references, and the containers holding them, are
        returned unchanged (the very same objects when nothing changed is not guaranteed).

    Raises:
        ReferenceError_: A reference is malformed or not closed.
    """
    if isinstance(value, str):
        return _resolve_text(value, resolver)
    if recursive and isinstance(value, list):
        return [resolve(item, resolver, recursive=True) for item in value]
    if recursive and isinstance(value, tuple):
        return tuple(resolve(item, resolver, recursive=True) for item in value)
    if recursive and isinstance(value, dict):
        return {key: resolve(item, resolver, recursive=True) for key, item in value.items()}
    return value


def _resolve_text(text: str, resolver: Callable[[Ref], object]) -> object:
    if "${" not in text:
        return text
    check_closed(text)
    if REF_PATTERN.fullmatch(text):
        return resolver(parse_ref(text))
    return REF_PATTERN.sub(lambda m: str(resolver(parse_ref(m.group(0)))), text)
