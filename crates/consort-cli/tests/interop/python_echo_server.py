"""A trivial MCP server on the official Python SDK: one tool that returns
its input. The peer `benches/mcp_wire.rs` measures beside consort.

Usage: python_echo_server.py stdio | http PORT
"""

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("python-echo")


@server.tool()
def echo(request: str) -> dict:
    """Return the input."""
    return {"request": request}


if sys.argv[1] == "stdio":
    server.run("stdio")
else:
    port = int(sys.argv[2])
    print(f"serving MCP at http://127.0.0.1:{port}/mcp", file=sys.stderr, flush=True)
    server.run("streamable-http", host="127.0.0.1", port=port)
