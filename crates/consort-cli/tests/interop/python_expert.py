"""An expert on the official Python SDK: the `consult` tool of consort's
expert contract (docs/mcp.md, "Writing an expert"), rule-based like the
Rust `expert_server` example, so that consort's `McpExecutor` is tested
against an MCP server it did not write.

Usage: python_expert.py ROLE JOURNAL stdio | http PORT
"""

import json
import os
import sys

from mcp.server.mcpserver import MCPServer

role, journal = sys.argv[1], sys.argv[2]
server = MCPServer(f"python-{role}")


def log(line: dict) -> None:
    with open(journal, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


@server.tool()
def consult(
    run_id: str,
    attempt: int,
    kind: str,
    step: dict,
    inputs: dict,
    collaborators: list[str] | None = None,
    validation: dict | None = None,
) -> dict:
    """Run a workflow step as this expert, or validate another expert's outputs."""
    log({"event": "call", "role": role, "kind": kind, "step": step["number"],
         "attempt": attempt, "pid": os.getpid()})
    params = inputs.get("params", {})
    if kind == "validate":
        limit = params.get("budget_limit")
        for name, value in (validation or {}).get("outputs", {}).items():
            if role == "finance_accountant" and "budget" in name and limit is not None \
                    and isinstance(value, (int, float)) and value > limit:
                return {"passed": False, "reason": f"{name} {value} is over {limit}"}
        return {"passed": True, "reason": f"{role} (python) agrees"}
    answer = {}
    for name in step["outputs"]:
        if "budget" in name:
            proposed = params.get("proposed_budget", 50000)
            limit = params.get("budget_limit", proposed)
            answer[name] = proposed if attempt == 1 else min(proposed, limit)
        else:
            answer[name] = f"{name} by {role} (python), attempt {attempt}"
    return answer


if sys.argv[3] == "stdio":
    server.run("stdio")
else:
    port = int(sys.argv[4])
    print(f"serving MCP at http://127.0.0.1:{port}/mcp", file=sys.stderr, flush=True)
    server.run("streamable-http", host="127.0.0.1", port=port)
