"""Topic lookup and "did you mean" suggestions: a table of the ways authors and readers misname
topics (misspelt slugs and labels, words of a label, abbreviations, other word order)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.content.taxonomy import MAX_SUGGESTIONS, Taxonomy

SITE = Path(__file__).resolve().parent.parent / "fixtures" / "site" / "newsletter.yaml"


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    from newsletter.content.config import load_settings

    return load_settings(SITE.parent).taxonomy  # the example site's topics, aliases included


@pytest.mark.parametrize("name, expected", [
    # words of a label, not the slug: the label "Cognitive Therapy (CT) and Cognitive-Behavioural
    # Therapy (CBT)" is what the author remembers
    ("cognitive therapy", ["cbt"]),
    ("cognitive", ["cbt"]),
    ("cognitiv behavioral therapy", ["cbt"]),
    ("CBT therapy", ["cbt"]),
    ("behavioral", ["cbt"]),
    ("combo therapy", ["Combination Therapy"]),
    ("ptsd", ["trauma"]),
    ("trauma ptsd", ["Trauma and/or PTSD"]),
    ("pharmacotherapy", ["medication"]),
    ("drop out", ["attendance"]),
    ("dropout", ["attendance"]),
    ("attrition", ["attendance"]),
    ("crisis", ["suicide"]),
    ("relationship", ["alliance"]),
    ("alliance therapeutic", ["alliance"]),
    ("brain", ["neuroscience"]),
    ("deterioration", ["outcomes"]),
    ("progress monitoring", ["feedback"]),
    ("frequency", ["treatment-length"]),
    ("medical illness", ["medical-comorbidity"]),
    ("comorbidity", ["medical-comorbidity"]),
    ("counter transference", ["transference"]),
    ("IPT therapy", ["ipt"]),
    # misspelt slugs: the slug back
    ("grup", ["group"]),
    ("grop", ["group"]),
    ("depresion", ["depression"]),
    ("traumma", ["trauma"]),
    ("cbtt", ["cbt"]),
    ("suicid", ["suicide"]),
    ("adherense", ["Adherence"]),
    ("adheranse", ["Adherence"]),  # near the old label, kept as an alias: suggested as the new one
    ("psychodinamic", ["psychodynamic"]),
    ("selfreflection", ["self-reflection"]),
    ("placebos", ["placebo"]),
    # misspelt labels: the label back
    ("Empaty", ["Empathy"]),
    ("Empathie", ["Empathy"]),
    ("group psychoterapy", ["Group Psychotherapy"]),
    ("personality disorder", ["Personality Disorders"]),
    ("long term outcome", ["Long-term Outcomes"]),
    ("cost effectiveness", ["Cost-effectiveness"]),
    ("client factor", ["Client Factors"]),
    ("interpersonal therapy", ["Interpersonal Psychotherapy (IPT)"]),
    # several equally close: all of them, best first
    ("factors", ["client-factors", "common-factors", "therapist-factors"]),
    # nothing close: no guess (a short query is not found inside long labels)
    ("Machine learning", []),
    ("ML", []),
    ("zzzz", []),
    ("", []),
    ("  --  ", []),
])
def test_suggestions(taxonomy: Taxonomy, name: str, expected: list[str]) -> None:
    assert taxonomy.lookup(name) is None
    assert taxonomy.suggestions(name) == expected


def test_every_suggestion_is_a_slug_or_label_that_looks_up(taxonomy: Taxonomy) -> None:
    for slug, label in taxonomy.labels.items():
        for wrong in (slug + "x", label[:-1], label.lower().replace(" ", "")):
            found = taxonomy.suggestions(wrong)
            assert 1 <= len(found) <= MAX_SUGGESTIONS, wrong
            assert all(taxonomy.lookup(s) is not None for s in found)
            assert taxonomy.lookup(found[0]) == slug, (wrong, found)


def test_suggest_message(taxonomy: Taxonomy) -> None:
    assert taxonomy.suggest("cognitive therapy") == " (did you mean 'cbt'?)"
    assert taxonomy.suggest("factors") == " (did you mean 'client-factors', 'common-factors' or 'therapist-factors'?)"
    assert taxonomy.suggest("ML") == " (see the topics in newsletter.yaml)"
    many = Taxonomy({f"t{i}": f"Therapy {chr(65 + i)}" for i in range(5)})
    assert many.suggest("therapy") == (" (it matches 5 topics equally: Therapy A, Therapy B, Therapy C, "
                                       "Therapy D, Therapy E; use a slug or a whole label)")


def test_lookup_by_slug_or_label_ignores_case_and_spacing(taxonomy: Taxonomy) -> None:
    assert taxonomy.lookup("CBT") == "cbt"
    assert taxonomy.lookup("  trauma AND/OR ptsd ") == "trauma"
    assert taxonomy.lookup("trauma-ptsd") is None
    assert taxonomy.lookup("adherance") == "adherence"  # an alias (the label's old spelling)
    assert taxonomy.lookup("Trauma  and/or PTSD") == "trauma"
