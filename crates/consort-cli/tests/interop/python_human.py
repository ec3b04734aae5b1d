"""The official Python MCP SDK (`mcp` 2.x) answering a workflow's question
for a human through `consort serve`, over stdio and streamable HTTP: in the
2026-07-28 mode the
question comes back as an input-required result that the SDK answers by
calling again; in the legacy mode it arrives mid-call as
`elicitation/create`. Either way the SDK hands it to the same elicitation
callback, and the run completes with the answer.

Usage: python_human.py CONSORT_BINARY REGISTRY.json WORKFLOWS_DIR DEPLOY.json
Prints one line per transport and mode and exits non-zero on the first failure.
"""

import asyncio
import sys

import mcp_types as types

from consort_serve import check, connect

BINARY, REGISTRY, WORKFLOWS, DEPLOY = sys.argv[1:5]
SERVE = ["serve", "--experts", REGISTRY, "--workflows", WORKFLOWS, "--deploy", DEPLOY]
ANSWER = "2027-01-15"


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


async def main():
    for mode in ("auto", "legacy"):
        for transport in ("stdio", "http"):
            callback, asked = answering()
            async with connect(
                BINARY, SERVE, transport, mode, elicitation_callback=callback
            ) as (client, label):
                await answer(client, label, asked)


asyncio.run(main())
