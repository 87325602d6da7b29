"""The Dagger SDK's decorators, typed for mypy; at run time they are the SDK's own.

`dagger.object_type`, `dagger.function` and friends are bound methods of the
SDK's default Module: mypy sees neither their dataclass_transform (so the
constructors of our object types are untyped) nor the return types of the
methods they wrap. The declarations below say what the decorators do, once,
so every module file is checked in full.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, dataclass_transform, overload

import dagger

__all__ = ["check", "enum_type", "field", "function", "object_type", "up"]

if TYPE_CHECKING:
    T = TypeVar("T")
    F = TypeVar("F", bound=Callable[..., Any])

    def field(
        *, default: Any = ..., name: str | None = None, init: bool = True, deprecated: str | None = None
    ) -> Any: ...

    @dataclass_transform(field_specifiers=(field,))
    def object_type(cls: type[T]) -> type[T]: ...

    def enum_type(cls: type[T]) -> type[T]: ...

    @overload
    def function(func: F, /) -> F: ...
    @overload
    def function(
        *, name: str | None = None, doc: str | None = None, cache: str | None = None
    ) -> Callable[[F], F]: ...
    def function(func: F | None = None, /, **kwargs: Any) -> Any: ...

    def check(func: F) -> F: ...

    def up(func: F) -> F: ...

else:
    check = dagger.check
    enum_type = dagger.enum_type
    field = dagger.field
    function = dagger.function
    object_type = dagger.object_type
    up = dagger.up
