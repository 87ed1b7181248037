"""MkDocs hooks: the README (as the home page) and BENCHMARKS.md, which live at the repository's top so that
GitHub and PyPI show them, join the site; their links and the pages' links to them are rewritten to the
site's layout (the Markdown files themselves stay as GitHub reads them)."""
import os
import re

from mkdocs.structure.files import File

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTSIDE = {"index.md": "README.md", "BENCHMARKS.md": "BENCHMARKS.md"}  # site path -> file at the top


def on_files(files, config):
    for site_path, top_path in OUTSIDE.items():
        with open(os.path.join(TOP, top_path), encoding="utf-8") as source:
            files.append(File.generated(config, site_path, content=source.read()))
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri in OUTSIDE:  # a top-level file: its links into docs/ lose the folder
        return re.sub(r"\]\(docs/", "](", markdown)
    return markdown.replace("](../README.md", "](index.md").replace("](../BENCHMARKS.md", "](BENCHMARKS.md")
