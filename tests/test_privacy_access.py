"""Access: every documented or scripted way to start the Dagster UI binds to 127.0.0.1 (Dagster OSS has
no login; production puts an authenticating proxy in front, docs/PRIVACY.md), and the serving copy
publishes only marts and ref."""
import re
from pathlib import Path

from pipelines.serving import SERVING_SCHEMAS

ROOT = Path(__file__).resolve().parents[1]
UI_COMMAND = re.compile(r"(dagster(-webserver| dev| dg dev)|dg dev)[^\n]*")


def test_ui_commands_bind_to_loopback():
    files = [ROOT / "Makefile", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "deploy").rglob("*")),
             *sorted((ROOT / "pipelines").glob("*.py"))]
    commands = []
    for path in files:
        if path.is_file():
            for m in UI_COMMAND.finditer(path.read_text(errors="replace")):
                line = m.group(0)
                if "-h " in line or "--host" in line or "dagster dev" in line or "dagster-webserver" in line:
                    commands.append((path.name, line))
    assert any(name == "Makefile" for name, _ in commands)
    unbound = [(n, c) for n, c in commands if "127.0.0.1" not in c and ("-h " in c or "--host" in c)]
    assert unbound == []
    makefile_ui = [c for n, c in commands if n == "Makefile" and "dagster dev" in c]
    assert makefile_ui and all("-h 127.0.0.1" in c for c in makefile_ui)


def test_serving_copy_schemas_exclude_restricted_layers():
    assert set(SERVING_SCHEMAS) == {"marts", "ref"}
