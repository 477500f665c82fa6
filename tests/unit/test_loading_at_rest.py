"""What a process loads before it needs it counts in its memory at rest (DECISIONS' setting).

A dialect's module is loaded by its engine, or by a model declaring an option for it (an index's
``postgresql_where``, say): 2.4 MiB in each process that never talks to that database. YAQL is
loaded by the first YAQL expression a process meets (2.4 MiB as well).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from app.config import Settings
from app.dbtools import upgrade_database

ROOT = Path(__file__).resolve().parents[2]

WORKFLOW = """
version: '2.0'
uses_yaql:
  tasks:
    only:
      action: std.echo output=<% $.get(greeting, hello) %>
"""


def _api_process(tmp_path: Path, body: str) -> str:
    """Run ``body`` in a fresh process holding the API (``client``) on SQLite; return its output."""
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "TRAMONTANE_DATA_DIR": str(tmp_path)}
    # The schema comes first, in a process of its own as in a deployment (`tramontane db upgrade`):
    # the migrations state their indexes' options for every database.
    upgrade_database(Settings.from_env(environment))
    script = textwrap.dedent(f"""
        import sys
        from app.config import Settings
        from app.engine.dispatch import CollectingDispatcher
        from app.factory import create_app
        settings = Settings.from_env({environment!r})
        client = create_app(settings, dispatcher=CollectingDispatcher()).test_client()
        assert client.get("/v2/workflows").status_code == 200
        def loaded(prefix):
            return sorted(m for m in sys.modules if m == prefix or m.startswith(prefix + "."))
    """) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_models_and_the_api_on_sqlite_load_only_the_sqlite_dialect(tmp_path: Path) -> None:
    out = _api_process(tmp_path, """
        assert "sqlalchemy.dialects.sqlite" in sys.modules
        print([m for m in loaded("sqlalchemy.dialects")
               if not m.startswith("sqlalchemy.dialects._") and m.split(".")[2:3] != ["sqlite"]
               and m != "sqlalchemy.dialects"])
    """)
    assert out == "[]"


def test_yaql_is_loaded_by_the_first_yaql_expression(tmp_path: Path) -> None:
    out = _api_process(tmp_path, f"""
        print(len(loaded("yaql")))
        answer = client.post("/v2/workflows", data={WORKFLOW!r}, headers={{"Content-Type": "text/plain"}})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        print(len(loaded("yaql")) > 0)
    """)
    assert out.splitlines() == ["0", "True"]
