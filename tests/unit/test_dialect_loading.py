"""A process on SQLite loads no other database's SQLAlchemy dialect (and one on PostgreSQL no SQLite's).

A dialect's module is loaded by its engine, or by a model declaring an option for it (say an
index's ``postgresql_where``): 2.4 MiB in each process that never talks to that database.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from app.config import Settings
from app.dbtools import upgrade_database

ROOT = Path(__file__).resolve().parents[2]


def test_the_models_and_the_api_on_sqlite_load_only_the_sqlite_dialect(tmp_path: Path) -> None:
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
        assert "sqlalchemy.dialects.sqlite" in sys.modules
        print(sorted(m for m in sys.modules if m.startswith("sqlalchemy.dialects.")
                     and not m.startswith("sqlalchemy.dialects._")
                     and m.split(".")[2] != "sqlite"))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
