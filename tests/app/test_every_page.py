"""Every page of the app runs under Streamlit's AppTest without an exception."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]


def test_the_app_starts_on_the_title_page():
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert "overparameterization" in at.title[0].value
    assert any("3,000,340" in m.value for m in at.metric)


def test_core_never_imports_streamlit():
    for path in (REPO / "core").glob("*.py"):
        text = path.read_text()
        assert "import streamlit" not in text and "from streamlit" not in text, path
