"""Discovery: every example script is tested, demoed, documented and has a working --help.

Scripts are found by a glob, never listed by hand: a new script without a test,
a demo entry, a docstring or --help fails here, with the script's path as the test id.
Modules whose name starts with ``_`` are helpers imported by a chapter's scripts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from _suite import lesson_share
from harness import EXAMPLES, REPO, clean_env

from tools.demo import NOT_IN_DEMO, PLAN

SCRIPTS = sorted(path for path in EXAMPLES.glob("*/*.py") if not path.name.startswith("_"))
CHAPTERS = sorted(path for path in EXAMPLES.iterdir() if path.is_dir() and not path.name.startswith((".", "_")))


def relative(path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


def test_there_are_examples():
    assert len(SCRIPTS) >= 2 and len(CHAPTERS) >= 1


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_chapter_layout(chapter):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+", chapter.name), "chapter folders are NN_topic"
    readme = chapter / "README.md"
    assert readme.is_file(), f"{chapter.name} has no README.md"
    text = readme.read_text()
    assert text.startswith("# "), "the README starts with a title"
    assert "python examples/" in text or "mlflow " in text, "the README shows how to run the chapter"
    assert (REPO / "tests" / f"test_{chapter.name}.py").is_file(), "each chapter has its mirrored test module"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_chapter_tags_name_the_guide_section_the_readme_gives(chapter):
    """The ``guide_section`` tag the demo gives a chapter's experiments is the README's chapter table's column."""
    from tools.demo import GUIDE_SECTIONS

    rows = re.findall(r"^\| \[`(\d\d_\w+)`\]\([^)]*\) \| ([^|]+) \|", (REPO / "README.md").read_text(), re.M)
    readme = {folder: section.strip() for folder, section in rows}
    assert chapter.name in readme, f"the README's chapter table has no row for {chapter.name}"
    assert GUIDE_SECTIONS.get(chapter.name) == readme[chapter.name]


@pytest.mark.parametrize("script", SCRIPTS, ids=relative)
def test_script_is_run_by_its_chapter_tests(script):
    test_module = REPO / "tests" / f"test_{script.parent.name}.py"
    assert test_module.is_file(), f"missing {test_module.name}"
    assert relative(script) in test_module.read_text(), f"{test_module.name} never runs {relative(script)}"


def demoed_scripts() -> set[str]:
    """Scripts the demo runs: each step's script, and scripts a step hands to it (e.g. a server's client)."""
    demoed = {step.script for step in PLAN}
    for step in PLAN:
        demoed |= {relative(Path(arg)) for arg in step.args if arg.startswith(str(EXAMPLES)) and arg.endswith(".py")}
    return demoed


@pytest.mark.parametrize("script", SCRIPTS, ids=relative)
def test_script_is_in_the_demo(script):
    assert relative(script) in demoed_scripts() or NOT_IN_DEMO.get(relative(script)), (
        f"add {relative(script)} to tools.demo.PLAN (or to NOT_IN_DEMO with a reason)"
    )


def test_demo_plan_names_existing_scripts():
    for step in PLAN:
        assert (EXAMPLES / step.script).is_file(), step.script
        for arg in step.args:
            if arg.startswith(str(EXAMPLES)):
                assert Path(arg).exists(), arg
    for name in NOT_IN_DEMO:
        assert (EXAMPLES / name).is_file(), name


@pytest.mark.parametrize("script", SCRIPTS, ids=relative)
def test_script_shape(script):
    source = script.read_text()
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree)
    assert docstring, "a script opens with a docstring"
    title = docstring.splitlines()[0]
    assert title.strip() and len(title) <= 100, "its first line is a short title"
    assert any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body), "it has main()"
    assert 'if __name__ == "__main__":' in source, "it has a __main__ guard"
    assert not re.search(r"filterwarnings\(\s*['\"]ignore", source), "warnings are fixed, not hidden"
    assert "Unnamed: 0" not in source, "the CSV index column is never a feature"
    assert not re.search(r"(localhost|127\.0\.0\.1):5000", source), "no hard-coded tracking server"


@pytest.mark.parametrize("script", SCRIPTS, ids=relative)
def test_script_help(script, tmp_path, runner):
    # --help is not the script's work: it never claims the script's real run (see tests/_suite/runner.py).
    result = runner.run([str(script), "--help"], cwd=tmp_path, env=clean_env(), timeout=60, claim=False)
    title = ast.get_docstring(ast.parse(script.read_text())).splitlines()[0]
    assert title in result.stdout
    assert "--" in result.stdout.split(title, 1)[1] or "options" in result.stdout
    assert list(tmp_path.iterdir()) == [], "--help writes nothing"


# --- A chapter README's shape, and a lesson script's share of lesson ----------------------------

# Every chapter README has these sections, in this order; the optional ones may be left out.
README_SECTIONS = ["What it shows", "Run it", "See it in the UI", "What changed since the guide", "Files"]
OPTIONAL_SECTIONS = {"What changed since the guide"}


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_chapter_readme_has_the_common_shape(chapter):
    text = (chapter / "README.md").read_text()
    headings = re.findall(r"^## (.+?)\s*$", text, re.MULTILINE)
    expected = [name for name in README_SECTIONS if name not in OPTIONAL_SECTIONS or name in headings]
    assert headings == expected, f"{chapter.name}/README.md sections {headings}, expected {expected}"
    assert re.match(rf"# {chapter.name[:2]} · \S", text), "the title is '# NN · Topic'"
    run_it = text.split("## Run it", 1)[1].split("\n## ", 1)[0]
    assert "```bash" in run_it, "Run it holds a bash block to paste"
    assert "python examples/" in run_it or "mlflow " in run_it, "Run it shows how to run the chapter"


@pytest.mark.parametrize("script", lesson_share.lesson_scripts(), ids=relative)
def test_lesson_script_is_mostly_lesson(script):
    """Option parsing and error plumbing stay small beside the lesson (_suite/lesson_share.py says how it counts)."""
    lesson, counted = lesson_share.measure(script)
    assert lesson / counted >= lesson_share.MINIMUM, (
        f"{relative(script)}: {lesson} of {counted} lines are the lesson ({lesson / counted:.0%}); "
        f"python tests/_suite/lesson_share.py shows every script"
    )


def test_lesson_share_counts_plumbing_as_plumbing(tmp_path):
    """The measure itself: parsing, validators and the __main__ block are plumbing; docstrings, imports not counted."""
    script = tmp_path / "example.py"
    script.write_text(
        '''"""Doc."""

import argparse

UCI_URL = "https://example.org/wine.csv"


def positive(text):
    """A validator."""
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=positive)
    return parser.parse_args()


def main():
    args = parse_args()
    # the lesson
    print(args.n)


if __name__ == "__main__":
    main()
'''
    )
    # counted: UCI_URL, validator (def + return), parse_args (4), main (def, args, comment, print), __main__ (2)
    assert lesson_share.measure(script) == (3, 13)


def test_demo_tags_what_each_step_created(store):
    """The demo tags the experiments a step created with the step's chapter, and flags any it missed."""
    from tools import demo

    client = store.client
    client.create_experiment("made_before")
    before = demo.experiment_ids(store.uri)
    client.create_experiment("made_by_the_step")
    client.delete_experiment(client.create_experiment("made_and_deleted_by_the_step"))
    assert demo.tag_new_experiments(store.uri, "07_evaluation", before) == ["made_by_the_step"]
    tagged = client.get_experiment_by_name("made_by_the_step").tags
    assert {key: tagged[key] for key in ("chapter", "guide_section")} == demo.chapter_tags("07_evaluation")
    assert tagged["guide_section"] == "10. Model evaluation"
    assert demo.untagged_experiments(store.uri) == ["made_before"]


def test_demo_reads_no_store_that_does_not_exist(tmp_path):
    """Before the first step the demo store has no database: looking must not create one."""
    from tools import demo

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert demo.experiment_ids(uri) == set()
    assert demo.tag_new_experiments(uri, "01_tracking", set()) == []  # after a step that recorded nothing
    assert list(tmp_path.iterdir()) == []


def test_demo_leaves_the_default_experiment_untagged(store):
    """The first step that records creates the store, and its Default experiment: that is no chapter's."""
    from tools import demo

    store.client.create_experiment("experiment_1")
    assert demo.tag_new_experiments(store.uri, "01_tracking", set()) == ["experiment_1"]
    assert "chapter" not in store.client.get_experiment_by_name("Default").tags
