"""hotline.throttles.delay: how long each failure in a row delays the next sign-in attempt."""
import pytest

from hotline import throttles


@pytest.mark.parametrize(("failures", "free", "seconds"), [
    (1, 3, 0), (2, 3, 0),        # an account's first two failures cost nothing
    (3, 3, 30),                  # the third: 30 s
    (4, 3, 60), (5, 3, 120), (6, 3, 240),  # each further one doubles it
    (7, 3, 300), (50, 3, 300),   # up to five minutes, never a lock
    (10_000, 3, 300),            # however many
    (19, 20, 0), (20, 20, 30),   # an address gets twenty first
])
def test_delay(failures, free, seconds):
    assert throttles.delay(failures, free).total_seconds() == seconds


def test_the_rules_the_table_assumes():
    assert (throttles.ACCOUNT_FREE, throttles.ADDRESS_FREE) == (3, 20)
    assert throttles.BASE_DELAY.total_seconds() == 30 and throttles.MAX_DELAY.total_seconds() == 300
