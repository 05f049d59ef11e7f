"""Model attrs saved and loaded with a Thinc model's weights (`Model.to_bytes`), for
classes with `to_bytes`, `from_bytes` and a constructor that takes no arguments: the
string tables and gazetteers the layers keep in their attrs."""

from typing import Any, Type, TypeVar

from thinc.api import Model, deserialize_attr, serialize_attr

T = TypeVar("T")


def saved_with_model(cls: Type[T]) -> Type[T]:
    """Register `cls` with Thinc's `serialize_attr`/`deserialize_attr` (a class
    decorator, or a call for a class defined elsewhere). RETURNS: `cls`."""

    @serialize_attr.register(cls)
    def _serialize(_: Any, value: Any, name: str, model: Model) -> bytes:
        return value.to_bytes()

    @deserialize_attr.register(cls)
    def _deserialize(_: Any, value: bytes, name: str, model: Model) -> Any:
        return cls().from_bytes(value)  # type: ignore[attr-defined]

    return cls
