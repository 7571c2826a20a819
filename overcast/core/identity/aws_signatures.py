"""The AWS request signatures Keystone checks against a user's EC2 credentials.

``/v3/ec2tokens`` receives what an EC2-compatible API server saw of a signed request (``host``,
``verb``, ``path``, the query or form ``params``, the ``headers`` and the SHA-256 of the body) and
checks the signature as AWS would: version 0, 1 or 2 (``SignatureVersion`` parameter) or version 4
(``AWS4-HMAC-SHA256`` Authorization header, or the ``X-Amz-*`` query parameters of a presigned
request). ``/v3/s3tokens`` receives the string the S3 front end signed (base64) and its signature:
S3's HMAC-SHA1 ("AWS" header) or a version 4 string to sign for the ``s3`` service.

Each function returns the signature the request should carry, to be compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Mapping
from urllib.parse import quote

V4_ALGORITHM = "AWS4-HMAC-SHA256"


class SignatureError(ValueError):
    """The request cannot be signed as given (unknown version, malformed version 4 fields)."""


def _utf8(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _b64_hmac(secret: str, message: bytes, digest: Any) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, digest).digest()).decode()


def canonical_query(params: Mapping[str, Any]) -> str:
    """Sorted ``key=value`` pairs, each percent-encoded except for ``-_.~``."""
    return "&".join(f"{quote(_utf8(key), safe='')}={quote(_utf8(params[key]), safe='-_~')}"
                    for key in sorted(params))


def _v0(secret: str, params: Mapping[str, Any]) -> str:
    return _b64_hmac(secret, _utf8(params["Action"]) + _utf8(params["Timestamp"]), hashlib.sha1)


def _v1(secret: str, params: Mapping[str, Any]) -> str:
    message = b"".join(_utf8(key) + _utf8(params[key]) for key in sorted(params, key=str.lower))
    return _b64_hmac(secret, message, hashlib.sha1)


def _v2(secret: str, params: Mapping[str, Any], verb: str, host: str, path: str) -> str:
    digest = hashlib.sha1 if params.get("SignatureMethod") == "HmacSHA1" else hashlib.sha256
    message = f"{verb}\n{host}\n{path}\n{canonical_query(params)}"
    return _b64_hmac(secret, message.encode("utf-8"), digest)


def signing_key(secret: str, date: str | bytes, region: str | bytes, service: str | bytes) -> bytes:
    """Version 4's key, derived from the secret for one day, region and service."""
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, _utf8(part), hashlib.sha256).digest()
    return key


def _v4(secret: str, params: Mapping[str, Any], verb: str, path: str, headers: Mapping[str, str],
        body_hash: str) -> str:
    authorization = headers.get("Authorization")

    def auth_param(name: str) -> str:
        if authorization is not None:
            return authorization.partition(f"{name}=")[2].split(",")[0].strip()
        return str(params.get(f"X-Amz-{name}", ""))

    lowered = {k.lower().strip(): str(v).strip() for k, v in headers.items()}
    signed_headers = auth_param("SignedHeaders")
    canonical_headers = "".join(f"{h}:{lowered[h]}\n" for h in signed_headers.split(";") if h in lowered)
    query = "" if verb.upper() == "POST" else canonical_query(
        {k: v for k, v in params.items() if k != "X-Amz-Signature"})
    request = "\n".join((verb.upper(), path, query, canonical_headers, signed_headers, body_hash))
    credential = auth_param("Credential").split("/")
    date = headers.get("X-Amz-Date") or str(params.get("X-Amz-Date", ""))
    if len(credential) != 5 or not date.startswith(credential[1]):
        raise SignatureError("Request date mismatch error")
    scope = "/".join(credential[1:])
    to_sign = "\n".join((V4_ALGORITHM, date, scope, hashlib.sha256(request.encode("utf-8")).hexdigest()))
    key = signing_key(secret, credential[1], credential[2], credential[3])
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def is_v4(credentials: Mapping[str, Any]) -> bool:
    headers, params = credentials.get("headers") or {}, credentials.get("params") or {}
    return (str(headers.get("Authorization", "")).startswith(V4_ALGORITHM)
            or params.get("X-Amz-Algorithm") == V4_ALGORITHM)


def ec2_signature(secret: str, credentials: Mapping[str, Any]) -> str:
    """The signature of the request ``credentials`` describes (Keystone's Ec2Signer; version 2 also
    with HmacSHA1, which AWS allows). ``Signature`` itself is left out of what is signed.

    :raises SignatureError: an unknown version or incomplete fields.
    """
    params = {k: v for k, v in (credentials.get("params") or {}).items() if k != "Signature"}
    version = params.get("SignatureVersion")
    try:
        if version == "0":
            return _v0(secret, params)
        if version == "1":
            return _v1(secret, params)
        if version == "2":
            return _v2(secret, params, credentials["verb"], credentials["host"], credentials["path"])
        if is_v4(credentials):
            return _v4(secret, params, credentials["verb"], credentials["path"], credentials.get("headers") or {},
                       credentials.get("body_hash") or "")
    except (KeyError, TypeError, AttributeError) as exc:
        raise SignatureError(f"Incomplete request to sign: {exc}") from None
    raise SignatureError(f"Unknown signature version: {version}" if version is not None
                         else "Unexpected signature format")


def s3_signature(secret: str, string_to_sign: bytes) -> str:
    """The signature of an S3 request's string to sign: S3's HMAC-SHA1 in base64, or version 4
    (hex) when it is a version 4 string to sign for the ``s3`` service.

    :raises SignatureError: a malformed version 4 string to sign.
    """
    if not string_to_sign.startswith(b"AWS4"):
        return _b64_hmac(secret, string_to_sign, hashlib.sha1)
    parts = string_to_sign.split(b"\n")
    if len(parts) != 4 or parts[0] != V4_ALGORITHM.encode():
        raise SignatureError("Invalid EC2 signature.")
    scope = parts[2].split(b"/")
    if len(scope) != 4 or scope[2] != b"s3" or scope[3] != b"aws4_request":
        raise SignatureError("Invalid EC2 signature.")
    return hmac.new(signing_key(secret, scope[0], scope[1], scope[2]), string_to_sign, hashlib.sha256).hexdigest()
