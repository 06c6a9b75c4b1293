"""The semantic cache's vector store answers with the entry nearest by cosine distance, exactly."""

from __future__ import annotations

import random
from datetime import timedelta

from tools.emulator.clock import Clock
from tools.emulator.services import CacheEntry, VectorStore, cosine_distance


def _store(vectors: list[list[float]], clock: Clock, seconds: float = 60) -> VectorStore:
    store = VectorStore(clock)
    for index, vector in enumerate(vectors):
        store.store("p", CacheEntry(vector, str(index), {}, clock.now() + timedelta(seconds=seconds)))
    return store


def test_the_nearest_entry_is_the_one_of_smallest_cosine_distance() -> None:
    rng = random.Random(7)
    vectors = [[rng.gauss(0, 1) for _ in range(64)] for _ in range(300)]
    store = _store(vectors, Clock())
    for _ in range(50):
        query = [rng.gauss(0, 1) for _ in range(64)]
        distances = [cosine_distance(query, v) for v in vectors]
        found = store.nearest("p", query)
        assert found is not None
        assert found[0] == min(distances)
        assert found[1].body == str(distances.index(min(distances)))


def test_of_equally_near_entries_the_first_stored_answers() -> None:
    store = _store([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 0.0]], Clock())
    found = store.nearest("p", [3.0, 0.0])
    assert found is not None and found[1].body == "0"


def test_an_all_zero_vector_is_at_distance_one_from_everything() -> None:
    store = _store([[0.0, 0.0], [1.0, 0.0]], Clock())
    found = store.nearest("p", [0.0, 0.0])
    assert found is not None and found[0] == 1.0 and found[1].body == "0"


def test_expired_entries_are_never_answered() -> None:
    clock = Clock()
    store = _store([[1.0, 0.0]], clock, seconds=10)
    clock.advance(11)
    assert store.nearest("p", [1.0, 0.0]) is None


def test_entries_of_another_length_or_all_zeros_are_compared_as_cosine_distance_does() -> None:
    rng = random.Random(11)
    vectors = [[rng.gauss(0, 1) for _ in range(8 if i % 3 else 6)] for i in range(60)] + [[0.0] * 8]
    store = _store(vectors, Clock())
    for _ in range(20):
        query = [rng.gauss(0, 1) for _ in range(8)]
        distances = [cosine_distance(query, v) for v in vectors]
        found = store.nearest("p", query)
        assert found is not None
        assert (found[0], found[1].body) == (min(distances), str(distances.index(min(distances))))


def test_an_expired_entry_gives_way_to_the_nearest_live_one() -> None:
    clock = Clock()
    store = VectorStore(clock)
    store.store("p", CacheEntry([1.0, 0.0], "soon", {}, clock.now() + timedelta(seconds=10)))
    store.store("p", CacheEntry([1.0, 0.1], "later", {}, clock.now() + timedelta(seconds=60)))
    assert store.nearest("p", [1.0, 0.0]) == (0.0, store.partitions["p"].entries[0])
    clock.advance(11)
    found = store.nearest("p", [1.0, 0.0])
    assert found is not None and found[1].body == "later"
