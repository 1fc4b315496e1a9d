"""``Dispatcher``: which names a peer may call, and what calling them means, written once for
XML-RPC, JSON-RPC and the object channel.

The rules (SECURITY.md R04, R06), in :meth:`Dispatcher.resolve`:

=======================================  =========================================================
a name registered with ``register``      that function (a dotted name such as ``math.add`` is
                                         just a name here: nothing is looked up by it)
an instance's method                     ``prefix.name`` or ``name``: one identifier, looked up
                                         on the instance; it must be a routine (function or
                                         method: never a class, a module, a property or a
                                         callable object) and public
``_private``, ``__dunder__``             never, in any part of any name (a registered name
                                         cannot have one either)
``a.b.c`` into attributes                never: CPython's ``allow_dotted_names=True`` walked
                                         ``__class__.__init__.__globals__`` (CVE-2005-0089)
``system.*``                             the introspection functions and ``system.multicall``
=======================================  =========================================================

A call's failure becomes a :class:`Fault`: the method's own Fault as it is, an unknown or
refused name ``-32601``, arguments that do not bind ``-32602``, any other exception
``-32000`` with its type and message (``expose_errors=False``: the type only) and its
traceback in the ``wirekit.rpc`` log, never to the peer. ``system.multicall`` runs at most
``limits.max_calls`` calls and none of them may be a multicall.
"""

from __future__ import annotations

import datetime as _dt
import inspect
import logging
import typing
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Final, TypeVar, overload

from wirekit.errors import ConfigError
from wirekit.proto.xmlrpc import (
    APPLICATION_ERROR,
    DEFAULT_RPC_LIMITS,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    Fault,
    RPCLimits,
)

__all__ = ["Dispatcher", "logger"]

logger = logging.getLogger("wirekit.rpc")

F = TypeVar("F", bound=Callable[..., Any])
MULTICALL: Final = "system.multicall"
_SIGNATURE_TYPES: Final[dict[Any, str]] = {
    int: "int", bool: "boolean", float: "double", str: "string", bytes: "base64",
    _dt.datetime: "dateTime.iso8601", list: "array", tuple: "array", dict: "struct",
    type(None): "nil",
}
_NO_SIGNATURE: Final = "signatures not supported"  # what the standard library answers


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or any(
            not part or part.startswith("_") for part in name.split(".")):
        raise ConfigError(f"cannot register {name!r}: a public name is needed (no empty or "
                          "'_'-prefixed part)")


class Dispatcher:
    """A registry of functions and instances, called by name (see the module docstring)."""

    def __init__(self, *, introspection: bool = True, multicall: bool = True,
                 limits: RPCLimits = DEFAULT_RPC_LIMITS, expose_errors: bool = True) -> None:
        self.limits = limits
        self.expose_errors = expose_errors
        self._functions: dict[str, Callable[..., Any]] = {}
        self._instances: list[tuple[str, Any]] = []
        self._resolved: dict[str, Callable[..., Any]] = {}  # instance methods found by name
        if introspection:
            self._functions.update({"system.listMethods": self.list_methods,
                                    "system.methodHelp": self.method_help,
                                    "system.methodSignature": self.method_signature})
        if multicall:
            self._functions[MULTICALL] = self.multicall

    # -- registering ------------------------------------------------------------------------
    @overload
    def register(self, function: F, name: str | None = None) -> F: ...

    @overload
    def register(self, function: None = None, name: str | None = None
                 ) -> Callable[[F], F]: ...

    def register(self, function: F | None = None, name: str | None = None
                 ) -> F | Callable[[F], F]:
        """Register ``function`` under ``name`` (default: its ``__name__``); usable as a
        decorator, bare or with ``name=``. Returns the function unchanged."""
        if function is None:
            return lambda fn: self.register(fn, name)
        if not callable(function):
            raise ConfigError(f"cannot register {function!r}: not callable")
        key = name if name is not None else getattr(function, "__name__", "")
        _check_name(key)
        self._functions[key] = function
        self._resolved.clear()
        return function

    register_function = register  # the standard library's name

    def register_instance(self, instance: Any, prefix: str = "") -> None:
        """Offer ``instance``'s public methods, as ``prefix.method`` when a prefix is given.
        Instances are searched in the order registered, after the functions."""
        if prefix:
            _check_name(prefix)
        self._instances.append((prefix, instance))
        self._resolved.clear()

    # -- resolving and calling --------------------------------------------------------------
    def resolve(self, name: str) -> Callable[..., Any]:
        """The callable behind ``name``, or a ``-32601`` Fault."""
        function = self._functions.get(name) or self._resolved.get(name)
        if function is not None:
            return function
        for prefix, instance in self._instances:
            member = name[len(prefix) + 1:] if prefix else name
            if prefix and not name.startswith(prefix + "."):
                continue
            found = _public_method(instance, member)
            if found is not None:
                self._resolved[name] = found  # bounded: only names that resolved
                return found
        raise Fault(METHOD_NOT_FOUND, f"Method not found: {name[:100]!r}")

    def call(self, name: str, params: list[Any] | tuple[Any, ...] | Mapping[str, Any] = ()
             ) -> Any:
        """Call ``name`` with positional (a list) or named (a dict) parameters; every
        failure is raised as a :class:`Fault`."""
        if isinstance(params, Mapping):
            return self.invoke(name, (), params)
        return self.invoke(name, params, {})

    def invoke(self, name: str, args: list[Any] | tuple[Any, ...], kwargs: Mapping[str, Any]
               ) -> Any:
        """Call ``name`` with both kinds of parameters (the object channel's calls)."""
        function = self._resolved.get(name) or self.resolve(name)
        try:
            return function(*args, **kwargs)
        except Fault:
            raise
        except TypeError as exc:
            tb = exc.__traceback__
            if tb is not None and tb.tb_next is None:  # raised binding the arguments
                raise Fault(INVALID_PARAMS, f"Invalid params for {name}: {exc}") from None
            raise self._failure(name, exc) from None
        except Exception as exc:
            raise self._failure(name, exc) from None

    def _failure(self, name: str, exc: Exception) -> Fault:
        logger.warning("%s raised %s", name, type(exc).__name__, exc_info=exc)
        kind = type(exc).__name__
        return Fault(APPLICATION_ERROR, f"{kind}: {exc}" if self.expose_errors else kind)

    # -- system.* ---------------------------------------------------------------------------
    def list_methods(self) -> list[str]:
        """The names this server answers to."""
        names = set(self._functions)
        for prefix, instance in self._instances:
            for attribute in dir(instance):
                if _public_method(instance, attribute) is not None:
                    names.add(f"{prefix}.{attribute}" if prefix else attribute)
        return sorted(names)

    def method_help(self, name: str) -> str:
        """The method's docstring ("" when it has none)."""
        return inspect.getdoc(self.resolve(name)) or ""

    def method_signature(self, name: str) -> list[list[str]] | str:
        """``[[return type, parameter types...]]`` in XML-RPC's type names, from the
        method's annotations; the standard library's "signatures not supported" without."""
        function = self.resolve(name)
        try:
            hints = typing.get_type_hints(function)
            parameters = inspect.signature(function).parameters.values()
        except Exception:  # no introspectable signature (a builtin, a string annotation)
            return _NO_SIGNATURE
        names = [_SIGNATURE_TYPES.get(hints.get("return", _NO_SIGNATURE))]
        names += [_SIGNATURE_TYPES.get(hints.get(p.name, _NO_SIGNATURE)) for p in parameters]
        if any(kind is None for kind in names):
            return _NO_SIGNATURE
        return [typing.cast("list[str]", names)]

    def multicall(self, calls: list[Any]) -> list[Any]:
        """``system.multicall``: run each ``{"methodName": ..., "params": [...]}`` in
        order; answer ``[result]`` or ``{"faultCode": ..., "faultString": ...}`` for each."""
        if not isinstance(calls, list):
            raise Fault(INVALID_PARAMS, "system.multicall takes an array of calls")
        if len(calls) > self.limits.max_calls:
            raise Fault(INVALID_REQUEST, f"system.multicall of {len(calls)} calls, more than "
                                         f"the {self.limits.max_calls} allowed")
        results: list[Any] = []
        for entry in calls:
            try:
                results.append([self._one_of_many(entry)])
            except Fault as fault:
                results.append({"faultCode": fault.code, "faultString": fault.message})
        return results

    def _one_of_many(self, entry: Any) -> Any:
        if not isinstance(entry, dict) or not isinstance(entry.get("methodName"), str):
            raise Fault(INVALID_REQUEST, "each call is a struct with a methodName")
        name, params = entry["methodName"], entry.get("params", [])
        if name == MULTICALL:
            raise Fault(INVALID_REQUEST, "system.multicall cannot be nested")
        if not isinstance(params, list):
            raise Fault(INVALID_PARAMS, "params is an array")
        return self.call(name, params)

    def __repr__(self) -> str:
        return (f"<Dispatcher {len(self._functions)} function(s), "
                f"{len(self._instances)} instance(s)>")


def _public_method(instance: Any, name: str) -> Callable[..., Any] | None:
    """``instance.name`` if ``name`` is one public identifier naming a routine its class
    defines (a module's or a class's own function when the instance is one); else None.

    Looked up statically first, so a property's getter never runs; a function stored on the
    instance itself (``self.hook = os.system``) or shadowing a method is not a method."""
    if not name.isidentifier() or name.startswith("_"):
        return None
    owner = instance if isinstance(instance, ModuleType | type) else type(instance)
    try:
        raw = inspect.getattr_static(owner, name)
        if owner is not instance and inspect.getattr_static(instance, name) is not raw:
            return None  # shadowed by an attribute of the instance
    except AttributeError:
        return None
    if not (isinstance(raw, staticmethod | classmethod) or inspect.isroutine(raw)):
        return None
    found = getattr(instance, name, None)
    return found if inspect.isroutine(found) else None
