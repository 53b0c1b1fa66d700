"""`python -m bench.opcodes SCENARIO`: where one request's Python goes, function by function.

`make bench-instructions` counts what a request costs in all; this says which
Python functions it is spent in. It runs a scenario of bench/instructions.py
in this process (the same apps, user and request) and traces a number of
requests with `sys.settrace`, counting the bytecodes each function executes
itself (not its callees) and how often it is called, then the C functions
called. Like the instruction count it is exact: the same code gives the same
table however busy the machine is, so two runs before and after a change
show what moved. Bytecodes are not all equal (a call into C may cost
hundreds of instructions), so read it beside the instruction count.

    python -m bench.opcodes item --top 60
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from collections.abc import Iterable
from types import CodeType, FrameType
from typing import Any

from bench import instructions
from scripts import live_stack

SITE = f"{os.sep}site-packages{os.sep}"


def _name(code: CodeType) -> str:
    filename = code.co_filename
    if SITE in filename:
        filename = filename.split(SITE, 1)[1]
    elif filename.startswith(str(instructions.ROOT)):
        filename = filename[len(str(instructions.ROOT)) + 1 :]
    return f"{filename}:{code.co_firstlineno} {code.co_qualname}"


def traced(scenario: str, requests: int) -> dict[str, collections.Counter[str]]:
    """Bytecodes and calls per Python function, and calls per C function, over `requests`."""
    ready = instructions.prepared(scenario)
    found: dict[str, collections.Counter[str]] = {
        "opcodes": collections.Counter(),
        "calls": collections.Counter(),
        "c_calls": collections.Counter(),
    }
    opcodes, calls, c_calls = found["opcodes"], found["calls"], found["c_calls"]

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            frame.f_trace_opcodes = True
            calls[_name(frame.f_code)] += 1
        elif event == "opcode":
            opcodes[_name(frame.f_code)] += 1
        return trace

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call":
            c_calls[getattr(arg, "__qualname__", repr(arg))] += 1

    sys.setprofile(profile)
    sys.settrace(trace)
    try:
        for _ in range(requests):
            ready.call()
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    return found


def report(found: dict[str, collections.Counter[str]], requests: int, top: int) -> str:
    opcodes, calls, c_calls = found["opcodes"], found["calls"], found["c_calls"]
    per = float(requests)
    lines = [
        f"Per request: {sum(opcodes.values()) / per:,.0f} bytecodes, "
        f"{sum(calls.values()) / per:,.0f} Python calls, "
        f"{sum(c_calls.values()) / per:,.0f} C calls.",
        "",
        "By file (bytecodes):",
    ]
    files: collections.Counter[str] = collections.Counter()
    for name, count in opcodes.items():
        files[name.split(":", 1)[0]] += count
    lines += [f"  {count / per:8.1f}  {name}" for name, count in files.most_common(top)]
    lines += ["", "By function (bytecodes, calls):"]
    lines += [
        f"  {count / per:8.1f} {calls[name] / per:5.1f}  {name}"
        for name, count in opcodes.most_common(top)
    ]
    lines += ["", "C functions (calls):"]
    lines += [f"  {count / per:8.1f}  {name}" for name, count in c_calls.most_common(top)]
    return "\n".join(lines)


def parse_args(argv: Iterable[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Bytecodes per function of one request.")
    parser.add_argument("scenario", choices=list(instructions.SCENARIOS))
    parser.add_argument("--requests", type=int, default=100, help="traced requests")
    parser.add_argument("--top", type=int, default=40, help="rows per table")
    return parser.parse_args(None if argv is None else list(argv))


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    with live_stack.fresh_database("grau_opcodes") as database_url:
        env = live_stack.stack_env(database_url, instructions.SETTINGS)
        live_stack.prepare_database(env)
        os.environ.update(env)
        found = traced(args.scenario, args.requests)
    # stdout carries the app's access lines: the table goes to stderr.
    print(report(found, args.requests, args.top), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
