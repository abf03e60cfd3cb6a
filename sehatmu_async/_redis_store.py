"""``RedisTokenStore``: one access token for every process of a fleet, on Redis.

Keys, per scope (a hash of the base URL and client id; the ``{…}`` hash tag keeps one
scope's keys in one Redis Cluster slot, as its scripts need)::

    <prefix>{<scope>}:token      hash: access_token, token_type, expires_in, scope,
                                 issued_at; expires (PX) when the token does
    <prefix>{<scope>}:lock       the renewal lock: a random owner id, SET NX PX lock_ttl
    <prefix>{<scope>}:cooldown   hash: the last failure (error, message, status,
                                 request_id); expires when its cool-down ends
    <prefix>{<scope>}:failures   token requests failed in a row; outlives the cool-down

The client secret is never written. The access token is: it is a bearer secret for at
most its lifetime (one hour), so protect the Redis like the secret (AUTH, TLS, an ACL on
the prefix); see the README's "Fleets" section for why it is not encrypted.

Every operation is one Lua script (one round trip, atomic): reading the whole state;
taking or extending the lock (``SET NX PX``, or ``PEXPIRE`` when the caller already
owns it); releasing it only if the caller still owns it (compare-and-delete); publishing
a token and releasing the lock together; recording a failure and releasing the lock
together; and dropping the token after a 401 only if it is still the refused one.
Scripts are sent by SHA (``EVALSHA``) and loaded on first use (``NOSCRIPT``). Nothing
here imports redis: any client with the ``redis.asyncio`` API (``evalsha``/``eval``),
such as valkey-py's, works.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ._token_store import FAILURE_MEMORY, SharedFailure, SharedToken, TokenStoreState
from .errors import ConfigurationError

__all__ = ["RedisTokenStore"]


class LuaScript:
    """One Lua script, sent by SHA and loaded on the first ``NOSCRIPT``."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def __call__(self, redis: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except Exception as exc:
            # redis-py raises NoScriptError ("No matching script"); others keep the
            # server's "NOSCRIPT" text.
            text = f"{type(exc).__name__} {exc}"
            if "NOSCRIPT" not in text and "NoScript" not in text:
                raise
        # First use on this server (or after a restart / SCRIPT FLUSH).
        return await redis.eval(self.source, len(keys), *keys, *args)


_LOAD = LuaScript(
    """
local token = redis.call('HGETALL', KEYS[1])
local token_ttl = redis.call('PTTL', KEYS[1])
local failure = redis.call('HGETALL', KEYS[2])
local failure_ttl = redis.call('PTTL', KEYS[2])
local failures = redis.call('GET', KEYS[3]) or ''
local locked = redis.call('EXISTS', KEYS[4])
return {token, token_ttl, failure, failure_ttl, failures, locked}
"""
)

_LOCK = LuaScript(
    """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
)

_UNLOCK = LuaScript(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
)

_PUBLISH = LuaScript(
    """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2], KEYS[3])
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
return 1
"""
)

_RECORD_FAILURE = LuaScript(
    """
redis.call('DEL', KEYS[1])
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 5))
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return 1
"""
)

_DISCARD = LuaScript(
    """
if redis.call('HGET', KEYS[1], 'access_token') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _pairs(flat: Any) -> dict[str, str]:
    if isinstance(flat, dict):  # a client speaking RESP3 may hand maps over as dicts
        return {_text(k): _text(v) for k, v in flat.items()}
    items = list(flat or ())
    return {_text(items[i]): _text(items[i + 1]) for i in range(0, len(items) - 1, 2)}


def _float(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisTokenStore:
    """A :class:`~sehatmu_async.TokenStore` on Redis, shared by every process using it.

    ::

        import redis.asyncio as redis
        r = redis.Redis.from_url("rediss://:password@redis.internal:6380/0")
        client = SehatMuClient(cid, secret, token_store=RedisTokenStore(r))

    ``prefix`` starts every key (give each application its own, and restrict the Redis
    user to it with an ACL). ``lock_ttl`` is how long a renewal lock lives unless its
    holder extends it (it does, every third of it, while its token request runs): the
    longest a process killed mid-renewal keeps the others waiting.
    """

    def __init__(self, redis: Any, *, prefix: str = "sehatmu:", lock_ttl: float = 5.0) -> None:
        if not isinstance(prefix, str):
            raise ConfigurationError("prefix must be a string such as 'myapp:sehatmu:'")
        if (
            isinstance(lock_ttl, bool)
            or not isinstance(lock_ttl, (int, float))
            or not (0.05 <= lock_ttl <= 3600)
        ):
            raise ConfigurationError("lock_ttl must be seconds between 0.05 and 3600")
        self.redis = redis
        self.prefix = prefix
        self.lock_ttl = float(lock_ttl)

    def __repr__(self) -> str:
        return f"<RedisTokenStore prefix={self.prefix!r} lock_ttl={self.lock_ttl:g}>"

    def keys(self, key: str) -> dict[str, str]:
        """The Redis key names of one scope (for inspection and clean-up)."""
        base = f"{self.prefix}{{{key}}}:"
        return {name: base + name for name in ("token", "lock", "cooldown", "failures")}

    async def load(self, key: str) -> TokenStoreState:
        k = self.keys(key)
        raw = await _LOAD(self.redis, [k["token"], k["cooldown"], k["failures"], k["lock"]], [])
        token_fields, token_pttl, failure_fields, failure_pttl, failures, locked = raw
        token = self._token(_pairs(token_fields), int(token_pttl))
        count = _float(_text(failures))
        failure = None
        if count is not None:
            fields = _pairs(failure_fields)
            pttl = int(failure_pttl)
            status = _float(fields.get("status"))
            failure = SharedFailure(
                error=fields.get("error", ""),
                message=fields.get("message", ""),
                status=int(status) if status is not None else None,
                request_id=fields.get("request_id") or None,
                failures=int(count),
                ttl=pttl / 1000.0 if pttl > 0 else 0.0,
            )
        return TokenStoreState(token=token, failure=failure, renewing=bool(int(locked)))

    @staticmethod
    def _token(fields: dict[str, str], pttl: int) -> SharedToken | None:
        access_token = fields.get("access_token")
        expires_in = _float(fields.get("expires_in"))
        if not access_token or expires_in is None or pttl <= 0:
            return None
        return SharedToken(
            access_token=access_token,
            token_type=fields.get("token_type") or "Bearer",
            expires_in=expires_in,
            ttl=pttl / 1000.0,
            scope=fields.get("scope") or None,
            issued_at=_float(fields.get("issued_at")),
        )

    async def lock(self, key: str, owner: str) -> bool:
        result = await _LOCK(self.redis, [self.keys(key)["lock"]], [owner, _ms(self.lock_ttl)])
        return bool(int(result))

    async def unlock(self, key: str, owner: str) -> None:
        await _UNLOCK(self.redis, [self.keys(key)["lock"]], [owner])

    async def publish(self, key: str, owner: str, token: SharedToken) -> None:
        k = self.keys(key)
        fields: list[Any] = [
            "access_token",
            token.access_token,
            "token_type",
            token.token_type,
            "expires_in",
            repr(float(token.expires_in)),
            "scope",
            token.scope or "",
            "issued_at",
            "" if token.issued_at is None else repr(float(token.issued_at)),
        ]
        await _PUBLISH(
            self.redis,
            [k["token"], k["cooldown"], k["failures"], k["lock"]],
            [owner, _ms(token.ttl), *fields],
        )

    async def record_failure(self, key: str, owner: str, failure: SharedFailure) -> None:
        k = self.keys(key)
        cooldown_ms = int(failure.ttl * 1000) if failure.ttl > 0 else 0
        fields: list[Any] = [
            "error",
            failure.error,
            "message",
            failure.message,
            "status",
            "" if failure.status is None else str(failure.status),
            "request_id",
            failure.request_id or "",
        ]
        await _RECORD_FAILURE(
            self.redis,
            [k["cooldown"], k["failures"], k["lock"]],
            [owner, cooldown_ms, _ms(failure.ttl + FAILURE_MEMORY), failure.failures, *fields],
        )

    async def discard(self, key: str, access_token: str) -> bool:
        result = await _DISCARD(self.redis, [self.keys(key)["token"]], [access_token])
        return bool(int(result))
