"""Fuzzing the stdio transport with a real server process: every frame gets an answer.

Hypothesis draws frames (valid requests, malformed JSON, batches, ids of every type,
``params`` of every type, deep nesting, lone surrogates, NUL bytes, invalid UTF-8); one
server process takes them all, each followed by a ``tools/call`` probe. Each bad frame
must be answered with -32700 or -32600 (and logged), each probe answered, and the server
must still be alive at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from dynamic_orchestrator_mcp_server.stdio_transport import MAX_DEPTH, check_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SERVER = Path(__file__).with_name("stdio_transport_server.py")
INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "fuzz", "version": "0"},
    },
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def _nested(depth: int) -> bytes:
    return (
        '{"jsonrpc":"2.0","id":7,"method":"ping","params":{"a":' + "[" * depth + "]" * depth + "}}"
    ).encode()


bad_frames = st.one_of(
    st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b and b.strip()),
    st.lists(json_values, max_size=3).map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [
            b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"s":"\\ud800"}}',
            b'{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}',
            b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[1,2]}',
            b'{"jsonrpc":"2.0","id":1,"method":"ping"\x00}',
            b'{"jsonrpc":"2.0","id":1,',
            b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]',
            b"\xff\xfe{}",
            _nested(MAX_DEPTH + 5),
            _nested(300),
        ]
    ),
    st.builds(
        lambda ident, params: json.dumps(
            {"jsonrpc": "2.0", "id": ident, "method": "tools/list", "params": params}
        ).encode(),
        st.dictionaries(st.text(), st.integers(), max_size=2) | st.lists(st.integers(), max_size=2),
        st.lists(st.integers(), max_size=2) | st.integers() | st.text(max_size=5),
    ),
)


def test_the_checks_name_what_is_wrong() -> None:
    assert check_frame(b'[{"jsonrpc":"2.0"}]') == (
        -32600,
        "invalid request: batches are not supported",
        None,
    )
    assert check_frame(_nested(MAX_DEPTH + 1))[0:2] == (
        -32600,
        f"invalid request: nested deeper than {MAX_DEPTH}",
    )  # type: ignore[index]
    assert check_frame(b'{"jsonrpc":"2.0","id":3,"method":"ping"}') is None


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(bad_frames, min_size=40, max_size=60))
def test_every_frame_is_answered_and_the_server_lives(frames: list[bytes]) -> None:
    expected_errors = sum(check_frame(frame) is not None for frame in frames)
    probes = len(frames)
    payload = json.dumps(INIT).encode() + b"\n"
    payload += (
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode() + b"\n"
    )
    for i, frame in enumerate(frames):
        payload += frame + b"\n"
        probe: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": f"probe-{i}",
            "method": "tools/call",
            "params": {"name": "big", "arguments": {"size": 2}},
        }
        payload += json.dumps(probe).encode() + b"\n"
    done = subprocess.run(
        [sys.executable, str(SERVER), str(1 << 20)], input=payload, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    lines = done.stdout.decode().splitlines()
    assert lines[-1] == "stdout restored"  # printed by the test server after serving
    answers = [json.loads(line) for line in lines[:-1]]
    probe_answers = [a for a in answers if str(a.get("id", "")).startswith("probe-")]
    missing = {f"probe-{i}" for i in range(probes)} - {a["id"] for a in probe_answers}
    assert not missing, [frames[int(m.split("-")[1])] for m in missing]  # the server lived
    assert all("result" in a for a in probe_answers)
    errors = [a for a in answers if "error" in a and a["error"]["code"] in (-32700, -32600)]
    assert len(errors) == expected_errors
    assert done.stderr.decode().count("stdio_frame_refused") == expected_errors
