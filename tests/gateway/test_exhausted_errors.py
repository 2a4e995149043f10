import time

from gateway import errors
from grok2api_poolclient.errors import ExhaustedReason, PoolExhausted


def test_an_empty_pool_tells_the_user_to_add_accounts():
    status, body = errors.payload_for(
        PoolExhausted("x", reason=ExhaustedReason.NO_ACCOUNT_OF_TIER)
    )
    assert status == 429
    assert body["error"]["code"] == "no_available_account"
    assert "grok2api tokens add" in body["error"]["message"]


def test_cooling_accounts_say_when_one_frees_up():
    _, body = errors.payload_for(
        PoolExhausted("x", reason=ExhaustedReason.ALL_COOLING, retry_at=time.time() + 120)
    )
    message = body["error"]["message"]
    assert "cooling down" in message
    assert "frees up in about 1" in message  # 119-120 s


def test_accounts_refused_the_product_say_what_to_add():
    _, body = errors.payload_for(
        PoolExhausted("x", reason=ExhaustedReason.NO_ACCOUNT_FOR_PRODUCT)
    )
    message = body["error"]["message"]
    assert "refused" in message and "SuperGrok" in message and "tokens refresh" in message
