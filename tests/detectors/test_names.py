"""PersonNameDetector: positives and near-misses side by side, exact offsets, no blow-ups."""

from __future__ import annotations

import time

import pytest

from wardgate.detectors.names import PersonNameDetector


@pytest.fixture(scope="module")
def detector() -> PersonNameDetector:
    return PersonNameDetector()


def found(detector: PersonNameDetector, text: str) -> list[str]:
    return [text[s:e] for s, e, _ in detector.find(text)]


@pytest.mark.parametrize(("text", "names"), [
    ("Please forward this to Dr. Ada M. Lovelace today.", ["Ada M. Lovelace"]),
    ("For my take on Mrs. Faubert, see the appendix.", ["Faubert"]),
    ("Dear Natasja, thanks for the update.", ["Natasja"]),
    ("My name is Aantje Mourik.", ["Aantje Mourik"]),
    ("my name is borna jerković but everyone calls me borna", ["borna jerković"]),
    ("The report was written by Jennifer Hopkins in 2019.", ["Jennifer Hopkins"]),
    ("Customer Mateusz Kowalczyk asked for a refund.", ["Mateusz Kowalczyk"]),
    ("I'm so jealous! said Gladys to Logan", ["Gladys", "Logan"]),
    ("Antonio is a very sympathetic person.", ["Antonio"]),
    ("Szczepański wrote the first draft.", ["Szczepański"]),
    ("Please ping Mr. White about the invoice.", ["White"]),
    ("Send the patch to Jean-Luc Picard and Katie E Miles.", ["Jean-Luc Picard", "Katie E Miles"]),
    ("It's under Miklós Hajdu's account.", ["Miklós Hajdu"]),
])
def test_finds_names(detector: PersonNameDetector, text: str, names: list[str]) -> None:
    assert found(detector, text) == names


@pytest.mark.parametrize("text", [
    "Mark the file as read. Will it work? May we proceed?",
    "Bill payment is due in June; Chase the invoice if it is late.",
    "Grace Period and Rose Garden are section titles.",
    "White noise, Black Friday and Green energy trended.",
    "I will be travelling to Canada and France next week.",
    "Use Docker Compose to start Postgres and Redis.",
    "def parse(self, path: str) -> Config:\n    return Config.load(path)",
    '{"Name": "Widget", "Price": 9.99, "Page": 2}',
    "2024-05-01T12:00:01Z INFO Worker Started pid=4121 queue=Default",
    "HTTP JSON API README TODO",
    "getUserName(); JsonParser.parseValue(); snake_Case_Word",
    "The Lord of the Rings was written by an Oxford professor.",
    "I am going to Python 3 soon. This is fine. My name is on the list.",
])
def test_ignores_near_misses(detector: PersonNameDetector, text: str) -> None:
    assert found(detector, text) == []


def test_spans_are_exact_sorted_and_disjoint(detector: PersonNameDetector) -> None:
    text = "Ünïcödé first: Hi Zoë Ødegaard, Mr. Ng says Ahmed Khan wrote to Olga Petrova."
    spans = detector.find(text)
    assert [text[s:e] for s, e, _ in spans] == ["Zoë Ødegaard", "Ng", "Ahmed Khan", "Olga Petrova"]
    assert spans == sorted(spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert all(0.0 < score <= 1.0 for _, _, score in spans)


def test_cue_scores_higher_than_a_bare_first_name(detector: PersonNameDetector) -> None:
    (_, _, titled), = detector.find("Ask Dr. Hopkins.")
    (_, _, bare), = detector.find("Antonio is here.")
    assert titled > bare


def test_long_runs_of_names_are_covered_in_chunks(detector: PersonNameDetector) -> None:
    text = "John Smith " * 50
    covered = sum(e - s for s, e, _ in detector.find(text))
    assert covered >= len(text.replace(" ", "")) - 1


def test_missing_spacy_model_is_an_import_error() -> None:
    with pytest.raises(ImportError, match="spacy"):
        PersonNameDetector(spacy_model="xx_no_such_pipeline")


@pytest.mark.parametrize("text", [
    "A " * 50000, "Aa" * 50000, "1 " * 50000, "Aa." * 33000, "x" * 100000,
    "Smith Jones " * 9000, "John Smith " * 9000, "Mr. " * 25000, "said Bob " * 11000,
    "Ab-Cd'Ef-" * 11000, "name is " * 12000,
])
def test_adversarial_inputs_finish_quickly(detector: PersonNameDetector, text: str) -> None:
    started = time.perf_counter()
    detector.find(text)
    assert time.perf_counter() - started < 1.0
