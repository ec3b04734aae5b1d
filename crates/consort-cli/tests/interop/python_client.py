"""The official Python MCP SDK (`mcp` 2.x) as an independent client of
`consort serve`, over stdio and streamable HTTP, in the 2026-07-28 mode
(discovery) and the legacy mode (initialize handshake).

Usage: python_client.py CONSORT_BINARY REGISTRY.json WORKFLOWS_DIR
Prints one line per check and exits non-zero on the first failure.
"""

import asyncio
import sys

from consort_serve import check, connect

BINARY, REGISTRY, WORKFLOWS = sys.argv[1:4]
SERVE = ["serve", "--simulate", "--experts", REGISTRY, "--workflows", WORKFLOWS]


async def exercise(client, label):
    tools = await client.list_tools()
    names = {tool.name for tool in tools.tools}
    check(len(names) == 17, f"{label}: 17 tools, got {sorted(names)}")
    for tool in tools.tools:
        check(tool.output_schema is not None, f"{label}: {tool.name} has an outputSchema")
        for field, schema in tool.input_schema.get("properties", {}).items():
            check("description" in schema, f"{label}: {tool.name}.{field} is described")

    routed = await client.call_tool("consort_route", {"request": "Review the NDA before we sign"})
    check(not routed.is_error, f"{label}: route succeeds: {routed}")
    check(routed.structured_content["primary"] == "legal_consultant", f"{label}: routed to legal")

    bad = await client.call_tool("consort_route", {"requst": "typo"})
    check(bad.is_error, f"{label}: a misspelt field is a tool error")
    check('did you mean "request"' in bad.content[0].text, f"{label}: {bad.content[0].text}")

    listed = await client.call_tool("consort_workflows_list", {})
    name = listed.structured_content["workflows"][0]["name"]
    progress = []

    async def on_progress(done, total, message):
        progress.append((done, total, message))

    run = await client.call_tool(
        "consort_workflow_start", {"name": name, "wait": True}, progress_callback=on_progress
    )
    check(not run.is_error, f"{label}: workflow_start succeeds: {run}")
    check(run.structured_content["state"] == "completed", f"{label}: the run completes")
    steps = len(run.structured_content["status"]["steps"])
    finished = [p for p in progress if p[2] and "completed" in p[2]]
    check(len(finished) >= steps, f"{label}: a progress notification per step: {progress}")
    check(finished[0][1] == steps, f"{label}: progress totals are the step count")
    print(f"ok {label}: {len(names)} tools, route, strict input, {len(progress)} progress notifications")


async def main():
    for mode in ("auto", "legacy"):
        for transport in ("stdio", "http"):
            async with connect(BINARY, SERVE, transport, mode) as (client, label):
                await exercise(client, label)


asyncio.run(main())
