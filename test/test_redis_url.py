"""REDIS_URL: one Redis, or Redis Sentinel (`redis+sentinel://host:port,.../service`).

What the URL means, what is refused at start-up and why, and how the Sentinel
storage is built (fail fast, like one Redis). The failover itself, on real
servers under traffic, is test_sentinel_live.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from limits.storage import RedisSentinelStorage, RedisStorage
from live import free_port

from grau.config import ConfigError, Sentinel, redis_sentinel
from grau.http.ratelimit import redis_storage

# ---------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost:6379/0",
        "redis://:secret@redis.internal:6380",
        "rediss://user:secret@redis.example.com:6380/2",
        "redis+unix:///run/redis.sock",
    ],
)
def test_a_url_of_one_redis_is_left_to_redis_py(url):
    assert redis_sentinel(url) is None


def test_a_sentinel_url_names_the_sentinels_and_the_service():
    url = "redis+sentinel://sentinel-0:26379,sentinel-1:26379,10.0.0.7:26380/grau"

    assert redis_sentinel(url) == Sentinel(
        (("sentinel-0", 26379), ("sentinel-1", 26379), ("10.0.0.7", 26380)), "grau"
    )


def test_a_sentinel_url_takes_a_percent_encoded_password_a_user_and_a_database():
    url = "redis+sentinel://grau:p%40ss%2Fword@[::1]:26379/mymaster?db=3"

    assert redis_sentinel(url) == Sentinel((("::1", 26379),), "mymaster", 3, "grau", "p@ss/word")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("localhost:6379", "must start with redis://"),
        ("http://redis:6379", "must start with redis://"),
        ("redis://redis:63a9/0", "not a valid URL"),
        ("redis://redis:6379/zero", "database must be a number"),
        ("redis+sentinel://sentinel-0/grau", "each sentinel needs host:port"),
        ("redis+sentinel://s0:26379,/grau", "each sentinel needs host:port"),
        ("redis+sentinel://s0:26379,s1:x/grau", "each sentinel needs host:port"),
        ("redis+sentinel://s0:26379", "must name the service"),
        ("redis+sentinel://s0:26379/", "must name the service"),
        ("redis+sentinel://s0:26379/grau/0", "must name the service"),
        ("redis+sentinel://s0:26379/grau?database=1", "takes only ?db=N"),
        ("redis+sentinel://s0:26379/grau?db=one", "?db= must be one number"),
        ("redis+sentinel://s0:26379/grau?db=1&db=2", "?db= must be one number"),
        ("redis+sentinel://:p@ss@s0:26379/grau", "percent-encode an @"),
    ],
)
def test_a_malformed_redis_url_is_refused_saying_what_is_wrong(url, says):
    with pytest.raises(ConfigError, match=f"REDIS_URL.*{re.escape(says)}"):
        redis_sentinel(url)


def test_an_app_refuses_to_start_on_a_malformed_redis_url(make_app: Callable[..., Flask]):
    with pytest.raises(ConfigError, match="REDIS_URL"):
        make_app({"REDIS_URL": "redis+sentinel://sentinel-0/grau"})


def test_a_password_is_not_echoed_in_the_refusal():
    with pytest.raises(ConfigError) as refused:
        redis_sentinel("https://:hunter2hunter2@redis:6379")

    assert "hunter2" not in str(refused.value)


# ---------------------------------------------------------------------------- storage


def _fails_fast(options: dict[str, Any], timeout_s: float) -> bool:
    retry = options["retry"]
    return (
        options["socket_timeout"] == timeout_s
        and options["socket_connect_timeout"] == timeout_s
        and retry.get_retries() == 0
    )


def test_one_redis_gets_redis_storage():
    storage = redis_storage("redis://127.0.0.1:6379/0", "grau:rl", 0.25)

    assert type(storage) is RedisStorage


def test_sentinel_storage_asks_the_sentinels_for_the_service_and_fails_fast_on_both():
    storage = redis_storage("redis+sentinel://:s%2Fcret@s0:26379,s1:26379/grau?db=2", "p", 0.25)

    assert isinstance(storage, RedisSentinelStorage)
    assert (storage.service_name, storage.use_replicas, storage.key_prefix) == ("grau", False, "p")
    sentinel = storage.sentinel
    hosts = [s.connection_pool.connection_kwargs["host"] for s in sentinel.sentinels]
    assert hosts == ["s0", "s1"]
    # A hung sentinel, like a hung Redis, costs one short timeout and no retries.
    assert _fails_fast(sentinel.sentinel_kwargs, 0.25)
    assert _fails_fast(sentinel.connection_kwargs, 0.25)
    assert sentinel.connection_kwargs["db"] == 2
    assert sentinel.connection_kwargs["password"] == "s/cret"


def test_ready_reports_redis_down_when_no_sentinel_answers(build_app):
    closed = free_port()  # nothing listens: every sentinel refuses the connection
    app = build_app({"REDIS_URL": f"redis+sentinel://127.0.0.1:{closed}/grau"})

    response = app.test_client().get("/ready")

    assert response.status_code == 200  # only rate limits need Redis
    assert (response.json["status"], response.json["redis"]["status"]) == ("degraded", "down")
