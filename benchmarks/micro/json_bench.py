"""JSON encode/decode of typical Keystone bodies: orjson vs msgspec vs stdlib json.

    .venv/bin/python -m benchmarks.micro.json_bench [--repeat 5]

Each figure is the best of ``--repeat`` timeit runs, in microseconds per call. Encoders produce
bytes (what a WSGI body needs), so the stdlib figure includes ``.encode()``.
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit

import msgspec
import orjson

from benchmarks.common import table
from benchmarks.micro.bodies import auth_request, token_response, user_list

_menc = msgspec.json.Encoder()
_mdec = msgspec.json.Decoder()

ENCODERS = {
    "orjson": lambda o: orjson.dumps(o, option=orjson.OPT_NON_STR_KEYS),
    "msgspec": _menc.encode,
    "json (stdlib)": lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=False).encode(),
}
DECODERS = {"orjson": orjson.loads, "msgspec": _mdec.decode, "json (stdlib)": json.loads}


def best_us(fn, arg, repeat: int) -> float:
    timer = timeit.Timer(lambda: fn(arg))
    number, _ = timer.autorange()
    return min(timer.repeat(repeat, number)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    bodies = {"token (catalog)": token_response(), "100 users": user_list(100), "auth request": auth_request()}
    rows = []
    for label, body in bodies.items():
        raw = orjson.dumps(body)
        for op, impls, arg in (("encode", ENCODERS, body), ("decode", DECODERS, raw)):
            # every implementation must round-trip to the same document
            for impl in impls.values():
                out = impl(arg)
                assert (orjson.loads(out) if op == "encode" else out) == body
            times = {name: best_us(fn, arg, args.repeat) for name, fn in impls.items()}
            fastest = min(times.values())
            rows.append([label, f"{len(raw):,}", op,
                         *(f"{t:.1f} ({t / fastest:.1f}x)" for t in times.values())])
    print(table(["body", "bytes", "op", *ENCODERS], rows))
    # what each reports on malformed input (the 400 message we can give)
    bad = b'{"auth": {"identity": {"methods": ["password"],}}}'
    print("\nmalformed input:", bad.decode())
    for name, fn in DECODERS.items():
        try:
            fn(bad)
        except ValueError as exc:  # all three raise ValueError subclasses
            print(f"  {name:14s} {type(exc).__module__}.{type(exc).__name__}: {exc}")
    print(f"\norjson {orjson.__version__}, msgspec {msgspec.__version__}, python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
