"""Masking secrets out of text that is about to be logged (docs/decisions/0027-log-masking.md).

Tokens travel in URLs (``GET /v2.0/tokens/{token}``, ``/tokens/{token}/endpoints``), headers
(``X-Auth-Token``, ``X-Subject-Token``) and sometimes in a fault's message; passwords in bodies
(``password``, ``adminPass``). Every log line goes through :func:`mask` (the log formatter of
:mod:`overcast.logs` applies it to the whole formatted line, tracebacks included), so no code
path has to remember to.
"""

from __future__ import annotations

import re

MASK = "***"

#: Keystone's and Overcast's tokens are Fernet tokens: url-safe base64 of a 0x80 version byte
#: and a timestamp, so they start "gAAAAA". Shorter runs are not tokens.
_FERNET = re.compile(r"gAAAAA[A-Za-z0-9_\-]{20,}=*")
#: ``/tokens/<anything>`` in a path: the v2.0 validate, check and endpoints calls
_TOKEN_PATH = re.compile(r"(/tokens/)[^/?#\s\"']+")
#: ``?token=...`` and friends in a query string (or a form-encoded body: OAuth 1.0a answers
#: ``oauth_token=...&oauth_token_secret=...``)
_QUERY = re.compile(r"(?i)((?:^|[?&\s\"'])(?:token|auth_token|x-auth-token|password|passwd|secret|auth_key|"
                    r"signature|access_key|secret_key|key|oauth_token|oauth_token_secret|oauth_verifier|"
                    r"oauth_signature)=)[^&#\s\"']+")
#: OAuth 1.0a parameters as an ``Authorization: OAuth`` header carries them: ``oauth_token="..."``
_OAUTH = re.compile(r"(?i)(oauth_(?:token|token_secret|verifier|signature)=\")[^\"]*")
#: a header as it appears in a dump: ``X-Auth-Token: ...``, ``'X-Subject-Token': '...'``
_HEADER = re.compile(r"(?i)((?:x-auth-token|x-subject-token|x-service-token)[\"']?\s*[:=]\s*[\"']?)"
                     r"[^\s\"',}]+")
#: ``Authorization`` (Basic, Bearer, OAuth ...): the whole value, quoted or to the end of the line
_AUTHORIZATION = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\n]*)")
#: a secret field in a JSON or Python dump: ``"password": "..."``, ``'adminPass': '...'``
_FIELD = re.compile(r"(?i)([\"']?(?:password|original_password|adminpass|admin_pass(?:word)?|secret|"
                    r"auth_key)[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*')")


def mask(text: str) -> str:
    """``text`` with every token, password and secret it carries replaced by ``***``."""
    if not text:
        return text
    text = _FERNET.sub(MASK, text)
    text = _TOKEN_PATH.sub(r"\1" + MASK, text)
    text = _OAUTH.sub(r"\1" + MASK, text)
    text = _QUERY.sub(r"\1" + MASK, text)
    text = _HEADER.sub(r"\1" + MASK, text)
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + (m.group(2)[0] + MASK + m.group(2)[0]
                                                      if m.group(2)[:1] in ("'", '"') else MASK), text)
    return _FIELD.sub(lambda m: m.group(1) + m.group(2)[0] + MASK + m.group(2)[0], text)
