"""The simulator's clearance book: binding, expiry, single-use challenges, on-demand rules."""

from __future__ import annotations

from grok_sim.clearance import ClearanceBook, expected_answer

UA = "Mozilla/5.0 test"


def issue(book: ClearanceBook, *, address: str = "127.0.0.2", now: float = 0.0) -> str:
    ray = book.new_ray(address=address)
    value = book.solve(ray=ray, answer=expected_answer(ray), address=address, user_agent=UA,
                       now=now, ttl=60.0)
    assert value is not None
    return value


def test_a_clearance_expires_after_its_lifetime():
    book = ClearanceBook()
    value = issue(book)

    assert book.is_valid(value, address="127.0.0.2", user_agent=UA, now=59.0)
    assert not book.is_valid(value, address="127.0.0.2", user_agent=UA, now=60.0)


def test_an_answer_counts_once_and_only_from_the_challenged_address():
    book = ClearanceBook()
    ray = book.new_ray(address="127.0.0.2")

    assert book.solve(ray=ray, answer=expected_answer(ray), address="127.0.0.3",
                      user_agent=UA, now=0, ttl=60) is None
    assert book.solve(ray=ray, answer="wrong", address="127.0.0.2",
                      user_agent=UA, now=0, ttl=60) is None
    assert book.solve(ray=ray, answer=expected_answer(ray), address="127.0.0.2",
                      user_agent=UA, now=0, ttl=60) is not None
    assert book.solve(ray=ray, answer=expected_answer(ray), address="127.0.0.2",
                      user_agent=UA, now=0, ttl=60) is None
    assert book.issued == {"127.0.0.2": 1}


def test_a_challenge_rule_covers_its_address_for_its_count_and_revokes_it():
    book = ClearanceBook()
    value = issue(book)
    other = issue(book, address="127.0.0.3")

    book.challenge(address="127.0.0.2", times=2)

    assert not book.is_valid(value, address="127.0.0.2", user_agent=UA, now=1)
    assert book.is_valid(other, address="127.0.0.3", user_agent=UA, now=1)
    assert [book.take_challenge(address="127.0.0.2") for _ in range(3)] == [True, True, False]
    assert not book.take_challenge(address="127.0.0.3")
