"""The official Python MCP SDK (`mcp` 2.x) answering a workflow's question
for a human through `consort serve`, over stdio and streamable HTTP: in the
2026-07-28 mode the
question comes back as an input-required result that the SDK answers by
calling again; in the legacy mode it arrives mid-call as
`elicitation/create`. Either way the SDK hands it to the same elicitation
callback, and the run completes with the answer.

Usage: python_human.py CONSORT_BINARY REGISTRY.json WORKFLOWS_DIR DEPLOY.json
Prints one line per mode and exits non-zero on the first failure.
"""

import asyncio
import subprocess
import sys

import mcp_types as types
from mcp import Client, StdioServerParameters

BINARY, REGISTRY, WORKFLOWS, DEPLOY = sys.argv[1:5]
SERVE = ["serve", "--experts", REGISTRY, "--workflows", WORKFLOWS, "--deploy", DEPLOY]
ANSWER = "2027-01-15"


def check(condition, what):
    if not condition:
        raise AssertionError(what)


async def answer(client, label, asked):
    listed = await client.call_tool("consort_workflows_list", {})
    name = listed.structured_content["workflows"][0]["name"]
    run = await client.call_tool("consort_workflow_start", {"name": name, "wait": True})
    check(not run.is_error, f"{label}: workflow_start succeeds: {run}")
    check(len(asked) == 1, f"{label}: one question asked: {asked}")
    check("launch date" in asked[0], f"{label}: the expert's question: {asked[0]}")
    check(run.structured_content["state"] == "completed", f"{label}: the run completes: {run}")
    print(f"ok {label}: asked {asked[0]!r}, answered, run completed")


def answering():
    """An elicitation callback that answers every form, and what it was asked."""
    asked = []

    async def on_elicitation(context, params):
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"answer": ANSWER})

    return on_elicitation, asked


async def over_stdio(mode):
    callback, asked = answering()
    params = StdioServerParameters(command=BINARY, args=SERVE + ["--stdio"])
    async with Client(params, mode=mode, elicitation_callback=callback) as client:
        await answer(client, f"stdio/{mode} ({client.protocol_version})", asked)


async def over_http(mode):
    server = subprocess.Popen(
        [BINARY] + SERVE + ["--http", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True
    )
    try:
        line = server.stderr.readline()
        while line and not line.startswith("serving MCP at "):
            line = server.stderr.readline()
        check(line.startswith("serving MCP at "), f"the server announces its address: {line!r}")
        url = line.removeprefix("serving MCP at ").strip()
        callback, asked = answering()
        async with Client(url, mode=mode, elicitation_callback=callback) as client:
            await answer(client, f"http/{mode} ({client.protocol_version})", asked)
    finally:
        server.terminate()
        server.wait(timeout=30)


async def main():
    for mode in ("auto", "legacy"):
        await over_stdio(mode)
        await over_http(mode)


asyncio.run(main())
