"""variants: who gets which articles; every subset for pre-flight."""

from __future__ import annotations

from newsletter.content.variants import all_selections, select, selections_for


def test_selection_follows_topics_in_issue_order(composer) -> None:  # type: ignore[no-untyped-def]
    issue = composer.issue("issues/2020-10.yaml")  # 1: empathy/neuro, 2: depression/prefs, 3: group/...
    assert select(issue, None) == (0, 1, 2)
    assert select(issue, frozenset({"group", "empathy"})) == (0, 2)
    assert select(issue, frozenset({"trauma"})) == ()
    assert select(issue, frozenset({"trauma"}), "full") == (0, 1, 2)


def test_all_subsets(composer) -> None:  # type: ignore[no-untyped-def]
    issue = composer.issue("issues/2020-10.yaml")
    sels = all_selections(issue)
    assert len(sels) == 7 == len(set(sels)) and sels[0] == (0, 1, 2)
    got = selections_for(issue, [None, frozenset({"empathy"}), frozenset({"neuroscience"}), frozenset({"x"})])
    assert got == {(0, 1, 2), (0,)}
