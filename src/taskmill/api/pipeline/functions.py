"""Looking at step functions: their source (for display and the cache key), arguments, imports."""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import sysconfig
import types
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from taskmill.errors import SpecError

_STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
_PURELIB = Path(sysconfig.get_paths()["purelib"]).resolve()
_PLATLIB = Path(sysconfig.get_paths()["platlib"]).resolve()
_MAX_LOCAL_FUNCTIONS = 200  # a guard against walking a whole code base
_MAX_UNWRAP = 20  # wrappers of wrappers: a guard against closures that refer to each other


def unwrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The innermost function of a decorated one (``functools.wraps`` chains)."""
    inner: Callable[..., Any] = inspect.unwrap(fn)
    return inner


def innermost(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function a step is named after and called with: :func:`unwrap`, then (as ClearML
    does) wrappers without ``functools.wraps``, whose closure holds the function they wrap (the
    first plain function in the closure, repeatedly). The wrapper still runs; its source stays
    in the cache key (:func:`function_source` reads the outer function)."""
    inner = unwrap(fn)
    for _ in range(_MAX_UNWRAP):
        cells = getattr(inner, "__closure__", None) or ()
        wrapped = next((c.cell_contents for c in cells if _cell_function(c)), None)
        if wrapped is None:
            break
        inner = inspect.unwrap(wrapped)
    return inner


def _cell_function(cell: Any) -> bool:
    try:
        return inspect.isfunction(cell.cell_contents)
    except ValueError:  # an empty cell (a variable not assigned yet)
        return False


def _source(fn: Any) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        name = getattr(fn, "__qualname__", fn)
        digest = hashlib.sha256(code.co_code).hexdigest() if code else ""
        return f"# source unavailable for {name!r}; bytecode sha256 {digest}\n"


def _is_user_code(fn: Any) -> bool:
    """True for functions of the user's project (not the stdlib, installed packages or taskmill)."""
    module_name = getattr(fn, "__module__", "") or ""
    if module_name == "taskmill" or module_name.startswith("taskmill."):
        return False
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if not path:
        return module_name == "__main__"
    resolved = Path(path).resolve()
    return not any(resolved.is_relative_to(root) for root in (_STDLIB, _PURELIB, _PLATLIB))


def local_callees(fn: Callable[..., Any]) -> list[Callable[..., Any]]:
    """User-code functions ``fn`` refers to by global name, transitively (helpers it calls)."""
    seen: dict[int, Callable[..., Any]] = {}
    stack = [unwrap(fn)]
    while stack and len(seen) < _MAX_LOCAL_FUNCTIONS:
        current = stack.pop()
        code = getattr(current, "__code__", None)
        if code is None:
            continue
        names = set(code.co_names)
        for const in code.co_consts:  # nested functions and comprehensions
            if isinstance(const, types.CodeType):
                names |= set(const.co_names)
        glb = getattr(current, "__globals__", {})
        for name in sorted(names):
            obj = glb.get(name)
            if isinstance(obj, types.FunctionType):
                target = unwrap(obj)
                if id(target) not in seen and target is not unwrap(fn) and _is_user_code(target):
                    seen[id(target)] = target
                    stack.append(target)
    return list(seen.values())


def function_source(fn: Callable[..., Any], helpers: Sequence[Callable[..., Any]] = ()) -> str:
    """Source of ``fn`` plus its helper functions and the local functions it calls.

    This is what a function step's task shows as its code, and the code part of its cache key:
    editing the function or anything of yours it calls changes it.
    """
    main = unwrap(fn)
    parts = [_source(main)]
    extra = {id(unwrap(h)): unwrap(h) for h in helpers}
    inner = innermost(fn)  # a wrapper without functools.wraps: the wrapped function is code too
    if inner is not main:
        extra.setdefault(id(inner), inner)
    for callee in [*local_callees(main), *(local_callees(inner) if inner is not main else [])]:
        extra.setdefault(id(callee), callee)
    for h in sorted(
        extra.values(), key=lambda f: (getattr(f, "__module__", ""), getattr(f, "__qualname__", ""))
    ):
        parts.append(
            f"# helper: {getattr(h, '__module__', '')}.{getattr(h, '__qualname__', '')}\n{_source(h)}"
        )
    return "\n\n".join(parts)


def bind_arguments(
    step: str, fn: Callable[..., Any], kwargs: Mapping[str, Any], sig: inspect.Signature | None = None
) -> dict[str, Any]:
    """Check ``kwargs`` against ``fn``'s signature and fill defaults (ClearML fills them too).

    Raises SpecError naming the step, the bad or missing arguments, and the signature.
    """
    sig = sig or inspect.signature(unwrap(fn))
    params = sig.parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    named = {
        n
        for n, p in params.items()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }
    unknown = [k for k in kwargs if k not in named and not k.isdigit()]
    if unknown and not accepts_any:
        raise SpecError(
            f"step '{step}': function {fn.__name__}{sig} has no argument(s) {unknown}; "
            "fix function_kwargs to match the signature"
        )
    out = dict(kwargs)
    missing = []
    for name, p in params.items():
        if name in out or p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if p.default is inspect.Parameter.empty:
            missing.append(name)
        else:
            out[name] = p.default
    if missing:
        raise SpecError(
            f"step '{step}': function {fn.__name__}{sig} needs argument(s) {missing}; "
            "give them in function_kwargs (a value or a reference like '${other_step.return_name}')"
        )
    return out


def is_jsonable(value: Any) -> bool:
    """True if ``value`` survives a JSON round trip as the same value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    try:
        return bool(json.loads(json.dumps(value)) == value)
    except (TypeError, ValueError):
        return False
