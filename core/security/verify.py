"""Verification of signed merchant requests, exactly as ARCHITECTURE §4.1 orders the checks.

1 key exists and is active, 2 timestamp in window, 3 signature matches (constant time),
4 never seen before (Redis SET NX), 5 client IP whitelisted, 6 merchant active; then the
per-key rate limit. One Redis round trip does 4 and the limit.

Strict forms (§4.1): `X-Timestamp` is ASCII digits without sign, separator or leading zero
(`int()` also takes `+ts`, `0ts`, `1_795...` and Arabic-Indic digits: each would be another
string to sign for the same second); `X-Signature` is exactly 64 lowercase hex characters.
"""

from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from core.errors import ApiError
from core.security.crypto import keyring_for
from core.security.keycache import KeyCache
from core.security.network import ip_allowed
from core.signing import signature
from core.storage.postgres import Handle

_TIMESTAMP = re.compile(r"[1-9][0-9]{0,11}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
# A signature is remembered while its timestamp can still be inside the window: a timestamp
# `tolerance` seconds ahead stays valid until `tolerance` seconds behind, plus the second's
# granularity and clock steps between replicas.
REPLAY_MARGIN_SECONDS = 2


def replay_ttl(tolerance: int) -> int:
    return 2 * tolerance + REPLAY_MARGIN_SECONDS


# KEYS[1] replay key, KEYS[2] bucket key; ARGV: replay ttl, consume (0/1), rate, burst.
# Returns {0} replayed, {1} allowed, {2, retry_after_ms} rate limited.
_SCRIPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return {0} end
if ARGV[2] == '0' then return {1} end
local rate, burst = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[2], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]) or burst, tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
if tokens < 1 then
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'ts', now)
  return {2, math.ceil((1 - tokens) * 1000 / rate)}
end
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens - 1), 'ts', now)
redis.call('PEXPIRE', KEYS[2], math.ceil(burst * 1000 / rate) + 1000)
return {1}
"""


@dataclass(frozen=True)
class MerchantAuth:
    """The verified caller of a merchant request, injected into functions as `merchant`."""

    merchant_id: str
    key_id: str
    client_ip: str


class RequestVerifier:
    def __init__(self, redis: Redis, db: Handle, *, secrets_spec: str, tolerance: int, rate: int, burst: int) -> None:
        self.redis = redis
        self.ring = keyring_for(secrets_spec)
        self.tolerance = tolerance
        self.rate, self.burst = rate, burst
        self.keys = KeyCache(db)
        self._script = redis.register_script(_SCRIPT)

    async def verify(
        self, *, key_id: str, timestamp: str, sig: str, method: str, path_and_query: str, body: bytes, ip: str
    ) -> MerchantAuth:
        entry = await self.keys.get(key_id, self.ring) if key_id else None
        if entry is None or not entry.key_active:
            raise ApiError("invalid_api_key", "API key is unknown or revoked")
        if _TIMESTAMP.fullmatch(timestamp) is None:
            raise ApiError("timestamp_out_of_window", "X-Timestamp must be integer Unix seconds (ASCII digits)")
        if abs(int(time.time()) - int(timestamp)) > self.tolerance:
            raise ApiError("timestamp_out_of_window", f"X-Timestamp is more than {self.tolerance} s from now")
        if _SIGNATURE.fullmatch(sig) is None:
            raise ApiError("invalid_signature", "X-Signature must be 64 lowercase hex characters")
        expected = signature(entry.secret, timestamp, method, path_and_query, body)
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            raise ApiError("invalid_signature", "signature does not match the request")
        ip_ok = not entry.whitelist or ip_allowed(ip, entry.whitelist)
        consume = ip_ok and entry.merchant_active
        rate = entry.rate_per_second or self.rate
        burst = entry.rate_burst or self.burst
        result = await self._script(
            keys=[f"gw:replay:{expected}", f"gw:ratelimit:{key_id}"],
            args=[replay_ttl(self.tolerance), "1" if consume else "0", rate, burst],
        )
        if int(result[0]) == 0:
            raise ApiError("replayed_request", "this signed request was already accepted")
        if not ip_ok:
            raise ApiError("ip_not_allowed", "client IP is not in the merchant's whitelist")
        if not entry.merchant_active:
            raise ApiError("merchant_suspended", "merchant is suspended")
        if int(result[0]) == 2:
            retry_after = max(1, -(-int(result[1]) // 1000))
            raise ApiError("rate_limited", "too many requests", headers={"Retry-After": str(retry_after)})
        return MerchantAuth(merchant_id=entry.merchant_id, key_id=key_id, client_ip=ip)
