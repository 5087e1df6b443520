"""The extractive answerer and the helpers the LLM path shares with it (deterministic, no LLM)."""
from __future__ import annotations

from rag.answer.extractive import cite, extractive_answer
from rag.answer.followup import heuristic_rewrite, needs_rewrite
from rag.answer.passages import trim_window
from rag.answer.sentences import content_words, score_sentences

TEXTS = [
    "Posted by someone. The conference was held in Gaborone, Botswana. Langley is a Marine general.",
    "Meanwhile, the Tripoli-based government arrested three Russians in Tripoli. It is far from here.",
]


def test_cite_puts_marker_before_final_punctuation():
    assert cite("He met them.", 2) == "He met them [2]."
    assert cite("Really?”", 1) == "Really [1]?”"
    assert cite("no stop", 3) == "no stop [3]."


def test_best_sentence_is_quoted_verbatim_with_its_passage_number():
    answer = extractive_answer("Where was the conference held?", TEXTS)
    assert answer.startswith("The conference was held in Gaborone, Botswana [1].")


def test_sentence_from_second_passage_cites_2():
    answer = extractive_answer("How many Russians were arrested in Tripoli?", TEXTS)
    assert answer.startswith("Meanwhile, the Tripoli-based government arrested three Russians in Tripoli [2].")


def test_deterministic():
    q = "Who is Langley?"
    assert extractive_answer(q, TEXTS) == extractive_answer(q, TEXTS)


def test_nothing_relevant_gives_none():
    assert extractive_answer("How do I bake banana bread?", TEXTS) is None


def test_at_most_two_sentences_and_no_duplicates():
    texts = [TEXTS[0], TEXTS[0]]  # overlapping chunks repeat sentences
    answer = extractive_answer("Where was the conference held?", texts)
    assert answer.count("Gaborone") == 1


def test_scores_cover_every_sentence_with_offsets():
    scored = score_sentences("Botswana", TEXTS)
    assert len(scored) == 5
    for s in scored:
        assert TEXTS[s.passage][s.start:s.end].strip() == s.text


def test_needs_rewrite():
    assert needs_rewrite("Where did he meet them?")
    assert needs_rewrite("What about Tripoli?")
    assert needs_rewrite("And Benghazi?")
    assert not needs_rewrite("Where was the 2024 African Defense Chiefs Conference held?")
    # short and naming nothing: it continues the conversation
    assert needs_rewrite("how many people showed up?") and needs_rewrite("was the package archive affected?")
    assert not needs_rewrite("What is the population of Libya?")


def test_a_rewrite_that_brings_a_name_from_nowhere_is_not_used():
    from rag.answer.followup import invented_names

    history = [("who wrote the debian manifesto?", ""), ("when did he start the project?", "")]
    assert invented_names("Which university did Debian founder Linus Torvalds attend?",
                          "which university was he at back then?", history)
    assert not invented_names("How many people attended DebConf5?", "how many people showed up?",
                              [("where was debconf5?", "DebConf5 was held in Espoo [1].")])


def test_a_lower_case_name_of_the_corpus_is_a_name_of_the_question():
    assert needs_rewrite("who is khaled haftar?")  # nothing tells it is a name
    assert not needs_rewrite("who is khaled haftar?", frozenset({"khaled", "haftar"}))
    assert needs_rewrite("and what about haftar?", frozenset({"haftar"}))  # an opener still leans on the last turn


def test_a_rewrite_that_asks_for_another_kind_of_thing_is_not_used():
    from rag.answer.followup import changes_what_is_asked

    assert changes_what_is_asked("When did Bruce Perens become the leader?", "how old was he when he became leader?")
    assert not changes_what_is_asked("How old is the Secretary-General of the Libyan National Army General Command?",
                                     "How old is he?")
    # a rewrite keeps the follow-up's question word ("what" and "which" ask alike)
    assert changes_what_is_asked("Who led Debian from April 2002 until April 2003?", "what did he build?")
    assert not changes_what_is_asked("What did Bdale Garbee build?", "what did he build?")
    assert not changes_what_is_asked("Which architecture did Thiemo Seufer work on?", "what architecture did he work on?")
    assert not changes_what_is_asked("Who was the project leader after Woody?", "ok and who came after him?")
    # a yes/no follow-up stays a yes/no question
    assert changes_what_is_asked("Who led Debian for a long time?", "did he lead it for long?")
    assert not changes_what_is_asked("Did Ian Murdock lead Debian for long?", "did he lead it for long?")
    # a follow-up whose words ask nothing in particular may become any question
    assert not changes_what_is_asked("Who is the commander of US Africa Command and which branch is he from?",
                                     "Which branch of the military is he from?")


def test_heuristic_rewrite_carries_the_previous_question_and_names():
    history = [("Who is Khaled Haftar?", "Khaled Haftar heads the Security Unit of the Libyan National Army [1].")]
    rewritten = heuristic_rewrite("Who did he meet in Benghazi?", history)
    assert rewritten.startswith("Who did he meet in Benghazi?")
    assert "Khaled Haftar" in rewritten and "haftar" in rewritten.lower()
    assert heuristic_rewrite("Who did he meet?", []) == "Who did he meet?"
    independent = "Where was the 2024 African Defense Chiefs Conference held?"
    assert heuristic_rewrite(independent, history) == independent


def test_heuristic_rewrite_follows_a_chain_of_follow_ups_back_to_the_question_they_lean_on():
    history = [("Who is Khalifa Haftar?", ""), ("Who wrote the Debian manifesto?", ""),
               ("when did he start the project?", "")]
    rewritten = heuristic_rewrite("which university was he at back then?", history)
    # "he" is the manifesto's author: the question two turns back is carried, the one before it is not
    assert "manifesto" in rewritten and "when did he start the project?" in rewritten
    assert "Khalifa" not in rewritten
    # a previous question that stands alone ends the chain
    assert "manifesto" not in heuristic_rewrite("when did he start it?", history[:2] + [("Who is Ian Murdock?", "")])


def test_content_words_drop_stopwords():
    assert content_words("Who is the commander of US Africa Command?") == {"commander", "us", "africa", "command"}


def test_trim_window_grows_around_best_sentence_within_budget():
    spans = [(0, 100, 0.1), (101, 200, 0.9), (201, 300, 0.5), (301, 400, 0.2)]
    assert trim_window(spans, 200) == (101, 300)
    assert trim_window(spans, 50) == (101, 200)  # the best sentence is kept even when longer
    assert trim_window(spans, 1000) == (0, 400)


def test_question_whose_terms_are_absent_is_refused_without_an_llm():
    from rag.answer.extractive import extractive_answer, term_coverage

    passages = ["The Tripoli-based government arrested three Russians in Tripoli.",
                "Langley spoke at the conference in Gaborone, Botswana."]
    assert term_coverage("How many barrels of oil does Libya export per day?", passages) < 0.25
    assert extractive_answer("How many barrels of oil does Libya export per day?", passages) is None
    assert term_coverage("Why?", passages) is None  # too short to judge: left to the other checks
    assert "[1]" in extractive_answer("How many Russians were arrested in Tripoli?", passages)


def test_a_sentence_opening_on_a_pronoun_is_quoted_with_the_one_before():
    passage = ("4.14. DebConf\nThe seventeenth DebConf, Debconf16, was held in Cape Town, South Africa, in July 2016. "
               "It was the first DebConf in Africa.")
    answer = extractive_answer("first debconf in africa?", [passage])
    assert answer.startswith("The seventeenth DebConf, Debconf16, was held in Cape Town") and "[1]" in answer


def test_a_heading_is_never_the_answer():
    passage = "7. Term limit\nThe Project Leader is elected for one year and may stand again."
    answer = extractive_answer("how long is a term limit of the project leader?", [passage])
    assert answer == "The Project Leader is elected for one year and may stand again [1]."
