"""Schemathesis hooks for .ci/schemathesis.sh.

An Idempotency-Key names one request: a retry with the same key and body
replays the first answer, and the same key with another body is refused with
422. Schemathesis draws keys from a small space ("0", "00", ...) and would send
one key with many different requests, so in positive test cases each key it
draws is given a fresh suffix before the request goes out. Negative test cases
(which may also leave out a required header, such as Authorization) are sent
as drawn.
"""

import itertools
import re

import schemathesis

HEADER = "Idempotency-Key"
VALID = re.compile(r"[!-~]([\t -~]{0,253}[!-~])?")
SUFFIX = re.compile(r"~st\d+$")
_fresh = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return
    headers = case.headers or {}
    name = next((name for name in headers if name.lower() == HEADER.lower()), None)
    key = headers.get(name) if name else None
    if isinstance(key, str) and VALID.fullmatch(key):
        base = SUFFIX.sub("", key)[:240]
        headers[name] = f"{base}~st{next(_fresh)}"
