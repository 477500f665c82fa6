import pytest

# The rehearsal checks assert outside test modules: show their diffs as pytest does in tests.
pytest.register_assert_rewrite("tests.engine.driver", "tests.engine.rehearsal")
