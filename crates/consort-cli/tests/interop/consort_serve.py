"""What the interop clients share: a check that fails loudly, and a client
of the official Python SDK connected to `consort serve`, over stdio or
streamable HTTP, in a given mode.
"""

import contextlib
import subprocess

from mcp import Client, StdioServerParameters

ANNOUNCEMENT = "serving MCP at "


def check(condition, what):
    if not condition:
        raise AssertionError(what)


@contextlib.asynccontextmanager
async def connect(binary, serve, transport, mode, **client_options):
    """A `Client` of `BINARY SERVE... --stdio|--http`, and a label naming the
    transport, the mode and the protocol version it settled on."""
    if transport == "stdio":
        params = StdioServerParameters(command=binary, args=serve + ["--stdio"])
        async with Client(params, mode=mode, **client_options) as client:
            yield client, f"stdio/{mode} ({client.protocol_version})"
        return
    server = subprocess.Popen(
        [binary] + serve + ["--http", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True
    )
    try:
        # Lines such as a deployment's check may come first.
        line = server.stderr.readline()
        while line and not line.startswith(ANNOUNCEMENT):
            line = server.stderr.readline()
        check(line.startswith(ANNOUNCEMENT), f"the server announces its address: {line!r}")
        url = line.removeprefix(ANNOUNCEMENT).strip()
        async with Client(url, mode=mode, **client_options) as client:
            yield client, f"http/{mode} ({client.protocol_version})"
    finally:
        server.terminate()
        server.wait(timeout=30)
