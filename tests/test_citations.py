"""Citation markers, sentence splitting and the support check (real embedding model, no LLM)."""
from __future__ import annotations

from rag.answer.citations import (check_sentences, clean_citations, cited_numbers, names_and_numbers,
                                  split_answer, strip_citations)
from rag.answer.sentences import sentences_of

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


def test_support_check_accepts_paraphrase_and_rejects_wrong_source():
    passages = {1: PASSAGE, 2: OTHER}
    sentences = [("Langley and Brown met al-Haddad and al-Nazouri in Gaborone, Botswana [1].", [1]),
                 ("Langley and Brown met al-Haddad and al-Nazouri in Gaborone, Botswana [2].", [2])]
    assert check_sentences(sentences, passages, 0.55) == [True, False]


def test_support_check_rejects_an_invented_number():
    sentences = [("The 2024 conference in Gaborone, Botswana was attended by 75 generals [1].", [1])]
    assert check_sentences(sentences, {1: PASSAGE}, 0.55) == [False]


def test_uncited_sentence_is_checked_against_all_passages():
    sentences = [("Three Russians were arrested in Tripoli.", []), ("Bananas are rich in potassium.", [])]
    assert check_sentences(sentences, {1: PASSAGE, 2: OTHER}, 0.55) == [True, False]


def test_strip_citations():
    assert strip_citations("A claim [1][2] here [3].") == "A claim here."
