"""Citation markers, their placement, sentence splitting and the per-citation support decision
(real embedding model, no LLM)."""
from __future__ import annotations

import pytest

from rag.answer.citations import (clean_citations, cited_numbers, names_and_numbers, neutralise_citations,
                                  place_citations, split_answer, strip_citations)
from rag.answer.decide import decide, supported_sentence
from rag.answer.results import Citation
from rag.answer.sentences import sentences_of
from rag.embedding import Embedder

PASSAGE = ("The US Embassy in Libya announced that the commander of the US Africa Command, General Michael "
           "Langley, and the Chairman of the US Joint Chiefs of Staff, General Brown Jr. met with General "
           "Mohammed al-Haddad and General Abdelrazik al-Nazouri during the 2024 African Defense Chiefs "
           "Conference in Gaborone, Botswana.")
OTHER = "Meanwhile, the Tripoli-based government arrested three Russians in Tripoli over suspicions."


def test_clean_citations_drops_numbers_outside_the_passages():
    assert clean_citations("A [1]. B [0]. C [4]. D [2].", 3) == "A [1]. B. C. D [2]."


def test_clean_citations_splits_lists_and_dedupes():
    assert clean_citations("A [1, 2, 2] and [3; 9].", 3) == "A [1][2] and [3]."
    assert cited_numbers("x [1][2] y [3, 1]") == [1, 2, 3, 1]


def test_split_answer_moves_trailing_marker_to_its_sentence():
    parts = split_answer("He met them in Gaborone. [1] Three Russians were arrested [2].")
    assert parts == [("He met them in Gaborone. [1]", [1]), ("Three Russians were arrested [2].", [2])]


def test_split_answer_keeps_abbreviations_inside_the_sentence():
    text = "General Brown Jr. met General al-Haddad in Botswana [1]."
    assert split_answer(text) == [(text, [1])]
    assert len(sentences_of(PASSAGE)) == 1


def test_names_and_numbers():
    found = names_and_numbers("General Langley met 53 chiefs in Gaborone [2].")
    assert {"general", "langley", "53", "gaborone"} <= found
    assert "2" not in found  # citation markers are not claims


def supported(text, cites, passages):
    return supported_sentence(text, cites, passages, Embedder().texts)


def test_support_check_accepts_paraphrase_and_recites_a_wrong_source():
    passages = {1: PASSAGE, 2: OTHER}
    claim = "Langley and Brown met al-Haddad and al-Nazouri in Gaborone, Botswana"
    assert supported(claim + " [1].", [1], passages).citations == [1]
    # The small model's wrong number: the sentence is cited to the passage that says it.
    assert supported(claim + " [2].", [2], passages).citations == [1]
    assert supported(claim + " [2].", [2], {2: OTHER}) is None


def test_a_citation_that_does_not_support_its_sentence_is_dropped():
    kept = supported("Langley and Brown met al-Haddad in Gaborone [1][2].", [1, 2], {1: PASSAGE, 2: OTHER})
    assert kept.citations == [1] and kept.text.endswith("[1].")


def test_support_check_rejects_an_invented_number():
    assert supported("The 2024 conference in Gaborone, Botswana was attended by 75 generals [1].", [1],
                     {1: PASSAGE}) is None


def test_uncited_sentence_gets_the_passage_that_supports_it():
    passages = {1: PASSAGE, 2: OTHER}
    assert supported("Three Russians were arrested in Tripoli.", [], passages).text == \
        "Three Russians were arrested in Tripoli [2]."
    assert supported("Bananas are rich in potassium.", [], passages) is None


@pytest.mark.parametrize("raw, placed", [
    ("[1] Three Russians were arrested in Tripoli.", "Three Russians were arrested in Tripoli [1]."),
    ("As stated in [1], the US met Haddad.", "The US met Haddad [1]."),
    ("According to passage 2, Langley visited Benghazi.", "Langley visited Benghazi [2]."),
    ("Three were arrested. [1] They were mercenaries [2].", "Three were arrested [1]. They were mercenaries [2]."),
    ("The answer is 53 countries, as mentioned in passage [3].", "The answer is 53 countries [3]."),
    ("Three Russians were arrested in Tripoli. [1]", "Three Russians were arrested in Tripoli [1]."),
    ("He met them in Gaborone [1][2].", "He met them in Gaborone [1][2]."),
    ("Nothing cited here.", "Nothing cited here."),
    ("You need a 3:1 majority. This is stated in [4].", "You need a 3:1 majority [4]."),
    ("It was held in Gaborone. This information is found in passage 2.", "It was held in Gaborone [2]."),
    ("This is stated in the report. It was held in Gaborone [1].", "This is stated in the report. It was held in Gaborone [1]."),
    # an answer opening on a marker opens each part on its marker
    ("[1] 55,000,000 physical SLOC [2] 2250 packages", "55,000,000 physical SLOC [1]. 2250 packages [2]."),
    ("[1] Three were arrested.\n[2] They were mercenaries.", "Three were arrested [1]. They were mercenaries [2]."),
    ("[1] Lenny came after Thiemo died. [2]", "Lenny came after Thiemo died [1][2]."),
])
def test_citation_placement_is_normalised(raw, placed):
    assert place_citations(raw) == placed


def test_bracketed_numbers_inside_a_passage_are_not_citations():
    assert neutralise_citations("as reported earlier [3], the talks [1, 2] resumed") == "as reported earlier, the talks resumed"


def citation(n, text):
    return Citation(n=n, id=f"c{n}", source="a.txt", title="A", start=0, end=len(text), text=text, score=1.0)


def test_decide_refuses_an_invented_answer_and_keeps_a_supported_one():
    passages = [citation(1, PASSAGE), citation(2, OTHER)]
    made_up = decide("What is the population of Libya?", "The population of Libya is 6.7 million [1].",
                     passages, Embedder())
    assert made_up.refused and made_up.reason
    real = decide("Where did the generals meet?", "[1] They met in Gaborone, Botswana.", passages, Embedder())
    assert not real.refused and real.answer == "They met in Gaborone, Botswana [1]."


def test_decide_refuses_a_true_sentence_that_does_not_answer():
    result = decide("How many Russians were arrested in Tripoli?", "General Langley met al-Haddad in Gaborone [1].",
                    [citation(1, PASSAGE), citation(2, OTHER)], Embedder())
    assert result.refused


def test_strip_citations():
    assert strip_citations("A claim [1][2] here [3].") == "A claim here."
