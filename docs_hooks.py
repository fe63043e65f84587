"""MkDocs hooks (mkdocs.yml): the README as the home page, the notebooks of examples/.

* ``docs/index.md`` is README.md with its links made relative to docs/ (``docs/ODD.md`` →
  ``ODD.md``), so the README stays the one copy of the getting-started text.
* ``examples/*.py`` (jupytext percent scripts, outside docs/) are added to the site's files as
  ``examples/NAME.py``, for mkdocs-jupyter to render (not executed).
* Links from a page to repository files outside docs/ (``../src/...``) become code spans: the
  site has no copy of the sources, and ``--strict`` refuses a link it cannot resolve.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"
OUTSIDE = re.compile(r"\[([^\]]+)\]\((?:\.\./)+([^)#\s]+)\)")


@event_priority(100)  # before mkdocs-jupyter's on_files, which picks the notebooks up
def on_files(files: Files, config) -> Files:
    """Add README.md as index.md and every examples/NN_*.py notebook."""
    files.append(File.generated(config, "index.md", content=readme_for_site()))
    for path in sorted(EXAMPLES.glob("[0-9][0-9]_*.py")):
        # a File whose source folder is the repository root (not File.generated: mkdocs-jupyter
        # wraps the file and reads abs_src_path through src_dir, None for a generated one)
        files.append(
            File(
                f"examples/{path.name}",
                src_dir=str(ROOT),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


LINK = re.compile(r"\]\((?!https?:|#|mailto:)([^)#\s]+)")


def readme_for_site() -> str:
    """README.md with links into docs/ rewritten for a page at the root of docs/, and links to
    other repository files (CHANGELOG.md, examples/...) marked as outside docs/ (``../``), for
    :func:`on_page_markdown` to turn into code spans."""
    text = README.read_text(encoding="utf-8").replace("](docs/", "](")

    def relink(m: re.Match) -> str:
        target = m.group(1)
        if (ROOT / "docs" / target).exists() or not (ROOT / target).exists():
            return m.group(0)
        return f"](../{target}"

    return LINK.sub(relink, text)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Links to repository files outside docs/ as code spans (the site cannot link them)."""
    return OUTSIDE.sub(lambda m: f"{m.group(1)} (`{m.group(2)}`)", markdown)
