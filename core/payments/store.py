"""Typed access to the transaction collections: decode once when read, encode once when written.

Every write is a compare-and-set on the document's `version` (core/storage/mongo.py), so of two
racing writers exactly one wins and the other retries from a fresh read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec
from pymongo.errors import DuplicateKeyError

from core.errors import ApiError, not_found
from core.payments.model import COLLECTION, TYPES, Kind, Transaction
from core.storage.mongo import Document, Mongo, replace_if_unchanged

T = TypeVar("T", bound=Transaction)
ATTEMPTS = 50


def encode(obj: Transaction) -> Document:
    """The MongoDB document of a transaction (datetimes stay datetimes)."""
    return msgspec.to_builtins(obj, builtin_types=(datetime,))  # type: ignore[no-any-return]


class LostRaces(RuntimeError):
    """A compare-and-set lost ATTEMPTS races in a row (pathological contention)."""


class TransactionStore(Generic[T]):
    """One kind's collection, read and written as `T`."""

    def __init__(self, mongo: Mongo, kind: Kind) -> None:
        self.kind = kind
        self.type: type[T] = TYPES[kind]  # type: ignore[assignment]
        self.collection = mongo.db[COLLECTION[kind]]

    def decode(self, doc: Document) -> T:
        return msgspec.convert(doc, self.type)

    async def get(self, obj_id: str, *, merchant_id: str | None = None) -> T | None:
        query: dict[str, Any] = {"_id": obj_id}
        if merchant_id is not None:
            query["merchant_id"] = merchant_id
        doc = await self.collection.find_one(query)
        return None if doc is None else self.decode(doc)

    async def owned(self, obj_id: str, merchant_id: str) -> T:
        """The merchant's own transaction; another merchant's is 404 `not_found` too (§4.2)."""
        found = await self.get(obj_id, merchant_id=merchant_id)
        if found is None:
            raise not_found(str(self.kind))
        return found

    async def insert(self, obj: T) -> None:
        """Insert a new transaction; its (merchant, reference) taken already is 409
        `duplicate_reference` naming the existing one (the unique index makes this race-safe)."""
        try:
            await self.collection.insert_one(encode(obj))
        except DuplicateKeyError:
            raise self.duplicate(await self.existing_reference(obj.merchant_id, obj.reference)) from None

    async def existing_reference(self, merchant_id: str, reference: str) -> str | None:
        found = await self.collection.find_one({"merchant_id": merchant_id, "reference": reference}, {"_id": 1})
        return None if found is None else str(found["_id"])

    async def refuse_duplicate(self, merchant_id: str, reference: str) -> None:
        """409 before anything is held, when the reference is visibly taken."""
        existing = await self.existing_reference(merchant_id, reference)
        if existing is not None:
            raise self.duplicate(existing)

    def duplicate(self, existing_id: str | None) -> ApiError:
        return ApiError(
            "duplicate_reference",
            f"a {self.kind} with this reference exists",
            param="reference",
            extra={"existing_id": existing_id},
        )

    async def update(self, current: T | str, change: Callable[[T], T | None]) -> T | None:
        """Apply `change` until it sticks; `current` is the object already held (saves a read)
        or its id. Returns the stored object, or None when `change` declined or it is gone."""
        held = current if isinstance(current, Transaction) else None
        obj_id = held.id if held is not None else str(current)
        for _ in range(ATTEMPTS):
            if held is None:
                held = await self.get(obj_id)
                if held is None:
                    return None
            new = change(held)
            if new is None:
                return None
            stored = await replace_if_unchanged(self.collection, {"_id": obj_id, "version": held.version}, encode(new))
            if stored is not None:
                return msgspec.structs.replace(new, version=stored["version"])
            held = None
        raise LostRaces(f"{self.kind} {obj_id}: compare-and-set lost {ATTEMPTS} races")


def stores(mongo: Mongo) -> dict[Kind, TransactionStore[Any]]:
    return {kind: TransactionStore(mongo, kind) for kind in Kind}
