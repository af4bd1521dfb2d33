"""Every page of the app runs under Streamlit's AppTest without an exception."""

import ast
from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]


def test_the_app_starts_on_the_title_page():
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert "overparameterization" in at.title[0].value
    assert any("3,000,340" in m.value for m in at.metric)


def test_the_route_names_every_page_of_the_talk():
    """The title page's route through the talk lists every later page, by its navigation title."""
    from tests.browser.test_pages import talk_pages

    at = AppTest.from_file(str(REPO / "pages/home.py"), default_timeout=60).run()
    route = next(m.value for m in at.markdown if "**The route**" in m.value)
    for _, title in talk_pages()[1:]:
        assert f"**{title}**" in route, title
    assert "menu on the left" not in route  # a phone has no menu on the left


def talk_files() -> list[str]:
    """The page files of streamlit_app.TALK, read from its source (importing it would run the app)."""
    tree = ast.parse((REPO / "streamlit_app.py").read_text())
    talk = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "TALK" for t in node.targets))
    return [path for path, _, _ in ast.literal_eval(talk)]


def test_pages_holds_the_page_scripts_only():
    """Streamlit runs any module in pages/ as a page when its address is typed (`/ui`), so every
    .py there must be a page of the talk; shared machinery lives in the app/ package."""
    found = sorted(str(path.relative_to(REPO)) for path in (REPO / "pages").rglob("*.py"))
    assert found == sorted(talk_files())


def test_core_never_imports_streamlit():
    for path in (REPO / "core").rglob("*.py"):
        text = path.read_text()
        assert "import streamlit" not in text and "from streamlit" not in text, path
