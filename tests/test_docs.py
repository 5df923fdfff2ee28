"""The docs stay true to the code: docs/configuration.md lists exactly the keys of params.yaml and of
the typed config, and every relative link in README.md and docs/*.md leads to a file (and heading)
that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from tunepipe.config import Config

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PAGE = ROOT / "docs" / "configuration.md"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def config_keys(model: type[BaseModel] = Config, prefix: str = "") -> set[str]:
    """Every dotted key of the typed config, e.g. ``search.window``.

    Walks ``model_fields`` into nested sections; a field that is not a section is a key, and what it
    holds is not walked: ``search.space`` and ``model.params`` are free-form mappings.
    """
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= config_keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def params_keys(path: Path = ROOT / "params.yaml") -> set[str]:
    """Every dotted key of the shipped params.yaml, plus the commented-out ones the config knows.

    A mapping is walked only where the config has a section, so the hyperparameters under
    ``search.space`` (the commented-out LightGBM space, or any written there) are not keys.
    """
    known = config_keys()
    sections = {key.split(".")[0] for key in known}
    keys: set[str] = set()
    for section, values in yaml.safe_load(path.read_text()).items():
        if section in sections and isinstance(values, dict):
            keys |= {f"{section}.{name}" for name in values}
        else:
            keys.add(section)  # not a section of the config: reported as it is, undocumented
    # A commented-out `key:` inside a section counts once the config has it (an option shown but
    # off); the comment lines of the example space do not, as the config has no such key.
    section = None
    for line in path.read_text().splitlines():
        if re.match(r"[a-z_]+:", line):
            section = line.split(":")[0]
        elif section and (m := re.match(r"\s*#\s*([a-z_]+):", line)):
            if f"{section}.{m.group(1)}" in known:
                keys.add(f"{section}.{m.group(1)}")
    return keys


def _skip_parentheses(text: str, i: int) -> int:
    """The index just past the balanced parenthesis that opens at ``text[i]``."""
    depth = 0
    for j in range(i, len(text)):
        depth += {"(": 1, ")": -1}.get(text[j], 0)
        if depth == 0:
            return j + 1
    return len(text)


def bullet_keys(line: str) -> list[str]:
    """The keys a line of docs/configuration.md documents, by the page's convention.

    A key's entry is a bullet that opens with its dotted name in backquotes; several keys may open
    one bullet side by side, each with its own parenthesis: "- `cv.n_splits` (default 5),
    `cv.shuffle` (default true). ...". Any other backquoted name is a mention, not an entry.
    """
    if not line.startswith("- "):
        return []
    keys, i = [], 2
    while m := re.compile(r"`([a-z_]+\.[a-z_]+)`").match(line, i):
        keys.append(m.group(1))
        i = m.end()
        if line.startswith(" (", i):
            i = _skip_parentheses(line, i + 1)
        if not line.startswith(", `", i):
            break
        i += 2
    return keys


def documented_keys(page: Path = CONFIG_PAGE) -> set[str]:
    """Every key docs/configuration.md has an entry for."""
    return {key for line in page.read_text().splitlines() for key in bullet_keys(line)}


@pytest.mark.parametrize(
    ("line", "keys"),
    [
        ("- `search.window` (default 4): the most trials in flight", ["search.window"]),
        ("- `cv.n_splits` (default 5), `cv.shuffle` (default true). Stratified", ["cv.n_splits", "cv.shuffle"]),
        # A parenthesis with backquotes and a link inside is skipped whole.
        ("- `search.strategy` (default `tpe`; in [`b/README.md`](../b/README.md)).", ["search.strategy"]),
        ("- `execution.cache` (default true), `execution.cache_dir` (default `.x`): the",
         ["execution.cache", "execution.cache_dir"]),
        ("- `data.task`: `auto` (default) | `binary`", ["data.task"]),
        # Mentions: a key later in the text, an indented sub-bullet, prose, a bullet that is no entry.
        ("- `model.params` (mapping): fixed, not tuned in `search.space`", ["model.params"]),
        ("  - `{low: 0.1, high: 0.9}` uniform float", []),
        ("Every strategy reads `search.scoring`", []),
        ("- LightGBM trials run on LightGBM's own training API", []),
    ],
)
def test_bullet_keys_follow_the_page_convention(line: str, keys: list[str]) -> None:
    assert bullet_keys(line) == keys


def test_params_keys_walk_sections_and_count_commented_keys_the_config_has(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(
        "# evaluate: a comment before any section\n"
        "search:\n"
        "  strategy: tpe\n"
        "  # time_budget: 10m        # shown, off\n"
        "  # null: the default space; for lightgbm:\n"
        "  #   learning_rate: {low: 0.01, high: 0.3, log: true}\n"
        "  space: {num_leaves: {low: 8, high: 64, type: int}}\n"
        "model:\n"
        "  params: {max_bin: 63}\n"
        "extra: 1\n"
    )
    assert params_keys(params) == {"search.strategy", "search.time_budget", "search.space", "model.params", "extra"}


def test_every_params_yaml_key_is_documented() -> None:
    missing = sorted(params_keys() - documented_keys())
    assert not missing, f"params.yaml keys with no entry in {CONFIG_PAGE.relative_to(ROOT)}: {missing}"


def test_every_documented_key_exists_in_the_typed_config() -> None:
    unknown = sorted(documented_keys() - config_keys())
    page = CONFIG_PAGE.relative_to(ROOT)
    assert not unknown, f"{page} documents keys that src/tunepipe/config.py does not have: {unknown}"


def test_every_config_key_is_documented() -> None:
    # The page says keys not listed there are rejected; that holds only if it lists them all,
    # including those params.yaml leaves at their defaults (execution.cache, search.time_budget, ...).
    missing = sorted(config_keys() - documented_keys())
    assert not missing, f"config keys with no entry in {CONFIG_PAGE.relative_to(ROOT)}: {missing}"


def _prose(text: str) -> str:
    """Markdown without fenced code blocks and inline code: a `# comment` in a block is no heading,
    and `[i](j)` in code is no link."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens,
    a repeated one suffixed -1, -2, ..."""
    seen: dict[str, int] = {}
    found = set()
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, re.M):
        label = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
        slug = re.sub(r"[^\w\- ]", "", label).replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


def relative_links(page: Path) -> list[str]:
    """The targets of a page's markdown links that are not URLs (no scheme such as https:)."""
    targets = re.findall(r"\]\(([^)\s]+)\)", _prose(page.read_text()))
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def test_anchors_are_githubs(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Search strategies\n"
        "## Hyperband's brackets\n"
        "```\n# a comment in a code block\n```\n"
        "## `compare_peers.py`: tunepipe vs. Optuna (issue 5)\n"
        "## Notes\n## Notes\n"
    )
    assert anchors(page) == {
        "search-strategies", "hyperbands-brackets", "compare_peerspy-tunepipe-vs-optuna-issue-5", "notes", "notes-1",
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_files_and_headings_that_exist(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"
