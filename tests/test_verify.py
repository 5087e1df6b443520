"""The answer-sentence verifier (rag/verify.py) on crafted pairs from the default corpus, with the real
packaged embedder, and its measurement (eval/support.py) on a small temporary file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rag.embedding import embed_texts
from rag.answer.relevance import answers_question, premise
from rag.answer.verify import Verdict, caching, verify_answer, verify_sentence

GABORONE = ("The US Embassy in Libya announced that the commander of the US Africa Command, General Michael "
            "Langley, and the Chairman of the US Joint Chiefs of Staff, General Brown Jr. met with General "
            "Mohammed al-Haddad and General Abdelrazik al-Nazouri during the 2024 African Defense Chiefs "
            "Conference in Gaborone, Botswana. During the Botswana meeting, Langley said that every African "
            "country has multi-layered threats, especially across the Sahel. According to observers, the "
            "invitation of the chiefs of staff of Benghazi and Tripoli by the US side to attend the conference "
            "represents an official recognition of both parties.")
TRIPOLI = ("Both parties recalled the importance of US-Libya cooperation to achieve security and stability in the "
           "region. Meanwhile, the Tripoli-based government arrested three Russians in Tripoli over suspicions of "
           "belonging to foreign mercenary group prompting Russian diplomacy to ask its citizens not to travel to "
           "Libya, saying that it remains a highly instable country.")
HAFTAR = ("In early December 2024, the head of the Security Unit of the Libyan National Army (LNA), Khaled Haftar, "
          "met with a high-level delegation of the US Army in Benghazi to discuss counterterrorism and other "
          "security issues of mutual interest. The meeting comes four days after a previous meeting of the US "
          "delegation with Chief of Staff Khaled Haftar and the Secretary-General of the Libyan National Army "
          "General Command, Lieutenant General Khairi Al-Tamimi and as well.")
DEMANDS = ("The themes of the conference were the exchange of ideas to promote stability, security, human rights "
           "and prosperity among the 53 countries in AFRICOM's area of responsibility, he said. According to "
           "Libyan sources, US officials demanded during the past period that General Khalifa Haftar, "
           "commander-in-chief of the National Army, limit the alliance ties that bind him to Moscow and expel "
           "Russian militants. The sources confirmed that the Turks refuse to enter into a confrontation with the "
           "army command or with the Russians and Egyptians in a new proxy war in Libya.")

FAITHFUL = [
    ("General Langley and General Brown Jr. met with General Mohammed al-Haddad and General Abdelrazik "
     "al-Nazouri during the 2024 African Defense Chiefs Conference in Gaborone, Botswana.", GABORONE),
    ("The Tripoli-based government arrested three Russians in Tripoli [1].", TRIPOLI),
    ("The Turks refuse to enter into a confrontation with the army command.", DEMANDS),
]
PARAPHRASES = [
    ("Langley and Brown met al-Haddad and al-Nazouri in Gaborone, Botswana.", GABORONE),
    ("3 Russians were arrested by the Tripoli-based government.", TRIPOLI),           # digits, passive voice
    ("Russia told its citizens not to travel to Libya, saying it remains highly unstable.", TRIPOLI),
    ("Khaled Haftar met a high-level US Army delegation in Benghazi in early December 2024.", HAFTAR),
    ("The meeting came four days after an earlier meeting between the US delegation and Khaled Haftar.", HAFTAR),
    ("US officials asked Khalifa Haftar to limit his alliance with Russia and expel Russian militants.", DEMANDS),
    ("The Turks will not confront the army command or the Russians.", DEMANDS),      # "refuse" = "will not"
]
CORRUPTED = [  # (kind, sentence, passage, a word the reason must contain)
    ("number", "The Tripoli-based government arrested five Russians in Tripoli.", TRIPOLI, "number 5"),
    ("number", "The meeting comes seven days after a previous meeting of the US delegation with Khaled Haftar.",
     HAFTAR, "number 7"),
    ("number subject", "The themes of the conference were discussed by 53 generals.", DEMANDS, "counts 'generals'"),
    ("absent name", "Khalifa Haftar met with a high-level delegation of the US Army in Benghazi.", HAFTAR,
     "khalifa"),
    ("absent name", "US officials demanded that Khalifa Haftar expel Turkish militants.", DEMANDS, "turkish"),
    ("swapped roles", "Three Russians arrested members of the Tripoli-based government.", TRIPOLI, "roles swapped"),
    ("swapped roles", "Khalifa Haftar demanded that US officials limit the alliance ties that bind them to Moscow.",
     DEMANDS, "roles swapped"),
    ("negation", "Russia told its citizens to travel to Libya.", TRIPOLI, "negation"),
    ("negation", "The Turks agreed to enter into a confrontation with the army command.", DEMANDS, "negation"),
    ("wrong place", "Khaled Haftar met a US Army delegation in Tripoli.", HAFTAR, "tripoli"),
    ("wrong place", "The Tripoli-based government arrested three Russians in Benghazi.", TRIPOLI, "benghazi"),
    ("wrong date", "Khaled Haftar met the US delegation in early December 2023.", HAFTAR, "2023"),
    ("right name, wrong relation", "Langley and Brown met al-Haddad and al-Nazouri in Benghazi.", GABORONE,
     "benghazi"),
    ("right name, wrong relation", "The US Embassy announced that Langley met al-Haddad in Tripoli.", GABORONE,
     "tripoli"),
    ("unrelated passage", "Khaled Haftar met a US Army delegation in Benghazi.", TRIPOLI, "something else"),
    ("unrelated passage", "Bananas are rich in potassium.", TRIPOLI, "something else"),
]


@pytest.fixture(scope="module")
def embed():
    return caching(embed_texts)  # one model, texts embedded once for the whole module


@pytest.mark.parametrize("sentence,passage", FAITHFUL + PARAPHRASES)
def test_faithful_sentences_and_paraphrases_pass(embed, sentence, passage):
    verdict = verify_sentence(sentence, [passage], embed)
    assert verdict.supported, verdict.reasons
    assert 0.5 <= verdict.score <= 1.0


@pytest.mark.parametrize("kind,sentence,passage,clue", CORRUPTED, ids=[f"{c[0]}-{i}" for i, c in enumerate(CORRUPTED)])
def test_corruptions_are_caught_with_a_reason(embed, kind, sentence, passage, clue):
    verdict = verify_sentence(sentence, [passage], embed)
    assert not verdict.supported, kind
    assert verdict.score < 0.5
    assert any(clue in reason for reason in verdict.reasons), verdict.reasons


def test_a_name_is_looked_for_in_the_sentence_restated_not_anywhere_in_the_passage(embed):
    verdict = verify_sentence("Langley met al-Haddad in Benghazi.", [GABORONE], embed)
    assert "benghazi" in GABORONE.lower()  # the name is in the passage, in another sentence
    assert any("elsewhere in the passage" in r for r in verdict.reasons), verdict.reasons


def test_the_supporting_passage_is_found_among_several(embed):
    assert verify_sentence("Three Russians were arrested in Tripoli.", [GABORONE, TRIPOLI], embed).supported
    assert not verify_sentence("Three Russians were arrested in Tripoli.", [GABORONE, HAFTAR], embed).supported


def test_empty_inputs():
    def never(texts):
        raise AssertionError("nothing to embed")

    assert verify_sentence("[1]", [TRIPOLI], never) == Verdict(True, 1.0, ())
    assert not verify_sentence("Three Russians were arrested.", ["", "  "], never).supported


def test_verify_answer_embeds_once_per_answer():
    calls = []

    def counting(texts):
        calls.append(len(texts))
        return np.asarray(embed_texts(texts))

    verdicts = verify_answer([("Three Russians were arrested in Tripoli [1].", [TRIPOLI]),
                              ("Khaled Haftar met a US Army delegation in Tripoli [2].", [HAFTAR])], counting)
    assert [v.supported for v in verdicts] == [True, False]
    assert len(calls) == 1


@pytest.mark.parametrize("question,answer,expected", [
    ("How many Russians were arrested in Tripoli, and why?",
     ["The Tripoli-based government arrested three Russians over suspicions of belonging to a mercenary group [1]."], True),
    ("How many Russians were arrested in Tripoli?",
     ["Russian diplomacy asked its citizens not to travel to Libya [1]."], False),       # no number
    ("What is the population of Libya?",
     ["AFRICOM's area of responsibility covers 53 countries [1]."], False),              # a number, not a population
    ("When did Khaled Haftar meet the US delegation?",
     ["Khaled Haftar met the US Army delegation in early December 2024 [1]."], True),
    ("When did Khaled Haftar become head of the Security Unit?",
     ["Khaled Haftar, head of the Security Unit, met a US delegation in December 2024 [1]."], False),
    ("Where did Langley and Brown meet the Libyan generals?",
     ["They met them in Gaborone, Botswana [1]."], True),
    ("Who won the last Libyan election?",
     ["Observers say talk of unifying Libya's military no longer arouses enthusiasm [1]."], False),
    ("What did Russia tell its citizens?", ["It told them not to travel to Libya [1]."], True),
    # A yes/no question asks for no typed thing; a rewrite's context in parentheses is not the question.
    ("Was it the first time the conference took place on that continent? (Where was the 2024 African "
     "Defense Chiefs Conference held?)", ["Yes, it was the first time the conference took place on that continent [1]."],
     True),
    ("Was it the first time the conference took place in Africa?", ["Bananas are rich in potassium [1]."], False),
    # "Where" answered by a place that has no name, with the question's own verb …
    ("Where do terrorist organizations thrive?", ["Terrorist organizations thrive in areas of instability [1]."], True),
    # … but not by any "in …" of a sentence about something else.
    ("Where do terrorist organizations thrive?", ["Langley discussed threats in detail [1]."], False),
    # A typed question is answered by one sentence that holds all it asks, not by pieces of two.
    ("How many people use Debian?", ["Debian may be used by many more individuals than is otherwise possible [1].",
                                     "More than 350 distributions are derived from Debian [3]."], False),
    ("How many people use Debian?", ["Debian is used by 30 million people [1]."], True),
    # An age, a cause of death and a passive verb are what those questions ask for.
    ("How old was Bruce Perens when he became leader?",
     ["Bruce Perens was replaced by Ian Jackson as leader at the beginning of January, 1998 [2]."], False),
    ("How old was Bruce Perens when he became leader?", ["Bruce Perens was 38 years old when he became leader [1]."], True),
    ("How old was Ian Murdock when he died?", ["Ian Murdock was 42 when he died [3]."], True),
    ("What's the first promise in the social contract?",
     ["Debian will remain 100% free [2].", "The social contract lists Debian's promises [1]."], True),
    ("What did Ian Murdock die of?", ["Ian Murdock, the founder of the Debian Project, died in December 2015 [2]."], False),
    ("What did Ian Murdock die of?", ["Ian Murdock died of suicide in December 2015 [1]."], True),
    # the local model's words for an unanswerable question (debian-history dh52): a date, not a cause
    ("What did Ian Murdock die of?", ["Ian Murdock died of December 2015 [1]."], False),
    ("What did he die from?", ["He died from a heart attack after the race in 2015 [1]."], True),
    ("When was Ubuntu forked from Debian?", ["During August 1995, between Debian 0.93 Release 5 and 6 [2]."], False),
    ("When was the article published?", ["The article was published on December 16, 2024 [1]."], True),
    ("What's the codename of Debian 13?", ["A Brief History of Debian, Chapter 2 [3]."], False),
    ("What is the annual budget of US Africa Command?",
     ["General Michael Langley is the commander of the US Africa Command [2]."], False),
    # The question word that opens the question decides, not a "when" inside it (privoxy-faq, a
    # right answer refused as no time).
    ("Why are binary files corrupted when Privoxy is used?",
     ["Binary files are corrupted because an overly aggressive filter misreads the content type [1]."], True),
    ("Who was the project leader when wheezy came out?",
     ["Lucas Nussbaum was the project leader when wheezy came out [1]."], True),
    ("The guy who built the first server - when was he DPL?", ["Bdale Garbee built the first server [1]."], False),
    # "Where is …?" in software documentation is answered by a directory, a site, a suite (debian-faq)
    ("Where is the source code?", ["The source code is distributed in the pool directory [1]."], True),
    ("Where is Google Earth?", ["Google Earth is available for GNU/Linux from Google's web site [1]."], True),
    ("Where is ezmlm?", ["Ezmlm-idx is available in experimental only [1]."], True),
    ("Where is the source code?", ["The source code is free software [1]."], False),
    # A plain "what" opening the question asks no kind: the "when" after it is the question's own
    # condition (debian-faq, a supported answer refused as holding no time).
    ("I am tracking testing (bookworm). What will happen when a release is made?",
     ["When a release is made, you will still be tracking testing [2]."], True),
    ("What year was Debian founded?", ["Debian was founded by Ian Murdock [1]."], False),
])
def test_answers_question(embed, question, answer, expected):
    assert answers_question(question, answer, embed) is expected


def test_support_metrics_on_a_small_file(tmp_path, embed):
    from eval.support import main, support_metrics

    rows = [
        {"id": "a", "question": "How many Russians were arrested?", "sentence": FAITHFUL[1][0], "passage": TRIPOLI,
         "supported": True, "answers_question": True, "kind": "faithful", "split": "dev"},
        {"id": "b", "question": "How many Russians were arrested?", "sentence": CORRUPTED[0][1], "passage": TRIPOLI,
         "supported": False, "answers_question": True, "kind": "number", "split": "dev"},
        {"id": "c", "question": "What did Russia tell its citizens?", "sentence": CORRUPTED[7][1], "passage": TRIPOLI,
         "supported": False, "answers_question": True, "kind": "negation", "split": "test"},
        # labelled wrongly on purpose: the verifier says unsupported, so this counts as a false positive
        {"id": "d", "question": "Where were they arrested?", "sentence": CORRUPTED[10][1], "passage": TRIPOLI,
         "supported": True, "answers_question": True, "kind": "paraphrase", "split": "test"},
    ]
    path = tmp_path / "support.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    metrics = support_metrics(path, embed)
    assert metrics["dev"]["unsupported"] | {"f1": None} == {"precision": 1.0, "recall": 1.0, "f1": None, "tp": 1,
                                                            "fp": 0, "fn": 0, "positives": 1, "n": 2}
    assert metrics["test"]["unsupported"]["precision"] == 0.5 and metrics["test"]["unsupported"]["recall"] == 1.0
    assert metrics["all"]["kinds"]["paraphrase"] == {"n": 1, "correct": 0, "accuracy": 0.0}
    assert metrics["all"]["n"] == 4 and [e["id"] for e in metrics["errors"]] == ["d"]
    assert main(["--file", str(path)]) == 0


def test_support_cli_rejects_a_missing_or_invalid_file(tmp_path, capsys):
    from eval.support import main

    assert main(["--file", str(tmp_path / "nope.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "q", "sentence": "s", "passage": "p", "supported": "yes"}\n')
    assert main(["--file", str(bad)]) == 2
    assert "bad.jsonl:1: 'supported'" in capsys.readouterr().err
    bad.write_text("{not json\n")
    assert main(["--file", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_version_numbers_are_compared_as_written(embed):
    # Release numbers ("1.3.1") are not decimals: a changed digit is a different release.
    passage = ["Debian 1.3.1 Bo was released in June 1997."]
    assert verify_sentence("Bo was Debian 1.3.1.", passage, embed).supported
    assert not verify_sentence("Bo was Debian 1.3.2.", passage, embed).supported


def test_a_number_must_count_what_the_passage_counts_with_it(embed):
    passage = ["A Developer is not eligible to be (re)appointed to the Technical Committee if they have been "
               "a member within the previous 12 months."]
    verdict = verify_sentence("The Technical Committee can have a maximum of 12 members.", passage, embed)
    assert not verdict.supported and "but 'months' in the passage" in " ".join(verdict.reasons)
    verdict = verify_sentence("A Developer who has been a member within the previous 12 months is not eligible "
                              "to be reappointed to the Technical Committee.", passage, embed)
    assert verdict.supported, verdict.reasons


def test_a_bare_name_is_judged_by_its_names_not_its_embedding(embed):
    passage = ["He led the Debian Project from its inception in 1993 to 1996, wrote the Debian manifesto in "
               "January 1994 and nurtured the fledgling project throughout his studies at Purdue University."]
    assert verify_sentence("Purdue University.", passage, embed).supported
    assert not verify_sentence("Stanford University.", passage, embed).supported
    assert not verify_sentence("1995.", passage, embed).supported


THREATS = ("He explained that the threats that must be deterred include terrorist organizations such as Daesh, "
           "Al-Shabaab and Boko Haram, which thrive in areas of instability.")


def test_a_passive_list_of_names_is_not_a_role_swap(embed):
    # Every name stands before the verb in the sentence and after it in the passage: there is no
    # second party to swap with (a real swap, "Three Russians arrested members of …", is in CORRUPTED).
    verdict = verify_sentence("Daesh, Al-Shabaab and Boko Haram must be deterred.", [THREATS], embed)
    assert verdict.supported, verdict.reasons


def test_the_questions_own_names_and_numbers_are_its_premise_not_a_claim(embed):
    sentence = "The 2024 conference was the first time the conference was held in Africa."
    passage = "This is the first year the U.S. has co-hosted the conference with an African country and the first time the conference has been held in Africa."
    alone = verify_sentence(sentence, [passage], embed)
    assert not alone.supported and any("2024" in r for r in alone.reasons)
    question = "What was new about the 2024 conference?"
    shown = [passage, "The 2024 African Defense Chiefs Conference was held in Gaborone."]
    given = premise(question, shown)
    assert "2024" in given.split()
    asked = verify_sentence(sentence, [passage], embed, premise=given)
    assert asked.supported, asked.reasons
    # A number the question does not hold is still the sentence's own claim …
    assert not verify_sentence(sentence.replace("2024", "2023"), [passage], embed, premise=given).supported
    # … and so is a word of the question that no shown passage holds.
    assert "2024" not in premise(question, [passage]).split()


CAREER = ("After leaving the project, Ian went on to be founding director of Linux International, CTO of the Free "
          "Standards Group and later the Linux Foundation.")


def test_what_a_role_is_of_must_be_what_the_passage_makes_it_of(embed):
    # Every name of the sentence is in the passage sentence it restates; only the "of" bindings differ.
    swapped = verify_sentence("Ian was CTO of Linux International.", [CAREER], embed)
    assert not swapped.supported and any("cto of" in r for r in swapped.reasons), swapped.reasons
    assert verify_sentence("Ian was CTO of the Free Standards Group.", [CAREER], embed).supported
    # The passage's "of" phrase may name more than the sentence's ("of Russian ally Bashar al-Assad").
    fall = "Russia may lose ground after the fall of Russian ally Bashar al-Assad in Syria."
    verdict = verify_sentence("Russia may lose ground after the fall of Bashar al-Assad.", [fall], embed)
    assert verdict.supported, verdict.reasons


def test_a_sentence_opening_on_a_participle_is_not_taken_for_a_name(embed):
    verdict = verify_sentence("Citing suspicions of mercenary work, the Tripoli-based government arrested three "
                              "Russians in Tripoli.", [TRIPOLI], embed)
    assert verdict.supported, verdict.reasons
    # A name that opens the sentence is still looked for.
    wrong = verify_sentence("Benghazi arrested three Russians in Tripoli.", [TRIPOLI], embed)
    assert any("benghazi" in r for r in wrong.reasons), wrong.reasons


def test_a_designator_closing_a_name_the_passage_holds_is_no_new_name(embed):
    marine = "Langley, a Marine general in charge of U.S. Africa Command, discussed the conference."
    assert verify_sentence("Langley is from the Marine Corps.", [marine], embed).supported
    wrong = verify_sentence("Langley is from the Wagner Group.", [marine], embed)
    assert any("wagner" in r for r in wrong.reasons), wrong.reasons


def test_met_in_a_city_is_not_a_chief_of_that_city(embed):
    # "of Benghazi" places the chiefs of staff, not the meeting; "from" still reads "of" as a place.
    verdict = verify_sentence("US military officials met with Libyan commanders in Benghazi and Tripoli.",
                              [GABORONE], embed)
    assert any("'benghazi' is a place" in r for r in verdict.reasons), verdict.reasons
    assert verify_sentence("The chiefs of staff from Benghazi and Tripoli were invited to the conference.",
                           [GABORONE], embed).supported


def test_a_place_the_passage_uses_as_a_modifier_of_the_same_noun_is_that_place(embed):
    # A user's trial on debian-faq: "how many packages are in debian?" was refused, "in Debian" read as a
    # place the passage never made Debian; "the Debian package management system" says it.
    passage = ("The Debian package management system, when used properly, offers the user to install consistent "
               "sets of binary packages to the system from the archive. Currently, there are 68980 packages "
               "available for the amd64 architecture.")
    assert verify_sentence("68980 packages are in Debian [1].", [passage], embed).supported
    assert verify_sentence("The talks in Benghazi ended on Monday [1].", ["The Benghazi talks ended on Monday."],
                           embed).supported
    # The name modifying some other noun places nothing the sentence says: still caught.
    verdict = verify_sentence("The talks were held in Benghazi [1].", ["The Benghazi delegation held talks."], embed)
    assert any("'benghazi' is a place" in r for r in verdict.reasons), verdict.reasons


def test_the_name_a_verb_acts_on_must_be_what_it_acts_on_in_the_passage(embed):
    passage = ("The sources confirmed that Western capitals are trying to push the Libyan factions into a new war, "
               "and the Turks refuse to enter into a confrontation with the Russians and Egyptians.")
    wrong = verify_sentence("Western capitals are trying to push the Turks into a new war.", [passage], embed)
    assert any("'Turks' is not what 'push' acts on" in r for r in wrong.reasons), wrong.reasons
    right = verify_sentence("Western capitals are trying to push the Libyan factions into a new war.", [passage], embed)
    assert right.supported, right.reasons
    # an apposition ("the chairman, Brown") or a noun ("whose founders Michael …") is no verb and object
    meeting = ("The commander of US Africa Command, General Michael Langley, and the Chairman of the US Joint Chiefs "
               "of Staff, General Brown Jr. met with General al-Haddad.")
    appositive = verify_sentence("Al-Haddad was met by the commander, Langley, and by the Joint Chiefs chairman, Brown.",
                                 [meeting], embed)
    assert not any("acts on" in r for r in appositive.reasons), appositive.reasons


def test_a_publication_date_is_read_from_the_documents_dateline(embed):
    from rag.answer.verify import is_dateline

    opening = ("Libya: Russia, US in Strategic Competition in East After Fall of Assad\n\nby | Dec 16, 2024 | Libya, "
               "Political, Security, Social\n\nSummary:\n\nIn early December 2024, Khaled Haftar met a delegation "
               "of the US Army in Benghazi.")
    assert is_dateline("by | Dec 16, 2024 | Libya, Political, Security, Social")
    assert not is_dateline("In early December 2024, Khaled Haftar met a delegation of the US Army in Benghazi.")
    assert not is_dateline("They met on Dec 12, 2024.")
    assert verify_sentence("The article was published on December 16, 2024.", [opening], embed).supported
    assert not verify_sentence("The article was published on December 18, 2024.", [opening], embed).supported
    assert not verify_sentence("The article was published by Reuters.", [opening], embed).supported


def test_a_count_of_titled_names_is_the_size_of_their_list(embed):
    # GABORONE lists "General Mohammed al-Haddad and General Abdelrazik al-Nazouri": two generals met.
    two = verify_sentence("General Langley and General Brown met two Libyan generals in Gaborone, Botswana.",
                          [GABORONE], embed)
    assert two.supported, two.reasons
    three = verify_sentence("General Langley and General Brown met three Libyan generals in Gaborone, Botswana.",
                            [GABORONE], embed)
    assert any("number 3" in r for r in three.reasons), three.reasons


SEE_ALSO = ("| http://www.squid-cache.org/ , a popular caching proxy, which is often used together with Privoxy . |\n"
            "|---|\n| https://www.irif.fr/~jch/software/polipo/ , Polipo is a caching proxy with advanced features "
            "like pipelining, multiplexing and caching of partial instances.")


def test_what_a_sentence_calls_its_subject_the_passage_must_say_of_that_subject(embed):
    # The local model's answer to "is privoxy a caching proxy?" (privoxy-faq's manual, a user's trial).
    wrong = verify_sentence("Yes, Privoxy is a caching proxy [1].", [SEE_ALSO], embed)
    assert not wrong.supported and any("polipo" in r for r in wrong.reasons), wrong
    assert verify_sentence("Polipo is a caching proxy [1].", [SEE_ALSO], embed).supported
    about = ("Privoxy, which was first based on the Internet Junkbuster, is a non-caching web proxy with "
             "advanced filtering capabilities for enhancing privacy.")
    assert verify_sentence("Privoxy is a non-caching web proxy [1].", [about], embed).supported
    # Not a predicate noun, and the passage says "he": nothing said of someone else (debian-history dh44).
    studies = ("He led the Debian Project from its inception in 1993 to 1996, wrote the Debian manifesto in January "
               "1994 and nurtured the fledgling project throughout his studies at Purdue University.")
    assert verify_sentence("Ian Murdock was at Purdue University [1].", [studies], embed,
                           titles=["Dedicated to Ian Murdock"]).supported
    assert verify_sentence("Ian Murdock was the leader of the Debian Project [1].", [studies], embed,
                           titles=["Dedicated to Ian Murdock"]).supported


def test_one_that_counts_nothing_is_no_number(embed):
    # A user's trial on debian-faq: "from one Debian release to the next" was read as the number 1,
    # which no passage held, and a right answer was refused.
    passage = ('You can perform system wide upgrade to a newer release by changing contents of the '
               '"/etc/apt/sources.list" file pointing to a new release and running the "apt update; apt '
               'dist-upgrade" command.')
    sentence = ('To upgrade from one Debian release to the next, you should change the contents of the '
                '"/etc/apt/sources.list" file pointing to a new release and run the "apt update; apt dist-upgrade" '
                'command [1].')
    assert verify_sentence(sentence, [passage], embed, titles=["Chapter 2. Debian package management"]).supported
    counted = verify_sentence("One new release was made [1].", ["Three new releases were made in 2009."], embed)
    assert not counted.supported and any("1" in r for r in counted.reasons)


def test_a_no_answering_a_yes_no_question_is_not_a_second_negation(embed):
    passage = "The attackers gained access to two servers. The package archive was not affected by the compromise."
    assert verify_sentence("No, the package archive was not affected [1].", [passage], embed).supported
    wrong = verify_sentence("Yes, the package archive was affected [1].", [passage], embed)
    assert not wrong.supported and "negation in the passage only" in wrong.reasons
    # Alone, the "No" is what the sentence denies (eval/support.jsonl sp071).
    first = "This is the first time the conference has been held in Africa."
    assert not verify_sentence("No, the conference had been held in Africa before [1].", [first], embed).supported
    # "No one" is still a negation.
    assert not verify_sentence("No one gained access to two servers [1].", [passage], embed).supported


def test_a_contracted_negation_is_a_negation(embed):
    # "didn't" read "didnt" once its apostrophe was dropped, a word no negation check knew: the
    # contradiction passed as support and the faithful "won't" failed against the passage's "refuse".
    met = verify_sentence("Khaled Haftar didn't meet a high-level delegation of the US Army in Benghazi [1].",
                          [HAFTAR], embed)
    assert not met.supported and "negation in the sentence only" in met.reasons
    assert not verify_sentence("The Tripoli-based government didn't arrest three Russians [1].", [TRIPOLI],
                               embed).supported
    assert verify_sentence("The Turks won't enter into a confrontation with the army command [1].", [DEMANDS],
                           embed).supported
    assert verify_sentence("Russia told its citizens they shouldn't travel to Libya [1].", [TRIPOLI], embed).supported


def test_contractions_are_spelled_out_for_the_checks():
    from rag.answer.claims import normalise

    assert normalise("He didn't go. Won't it? They can't, she isn’t. I'd ask; they're here.") == \
        "He did not go. Will not it? They can not, she is not. I ask; they here."
    assert normalise("Debian's founder, O'Brien's car") == "Debian founder, OBrien car"


def test_an_address_or_version_counts_nothing(embed):
    # privoxy-faq: "127.0.0.1 (or localhost)" was read as 127.0.0.1 counting localhost.
    passage = ("If you set up the Privoxy to run on the computer you browse from, the proxy will be on 127.0.0.1\n"
               "(sometimes referred to as \"localhost\", which is the special name used by every computer on the "
               "Internet to refer to itself) and the port will be 8118.")
    assert verify_sentence("The proxy address of Privoxy is 127.0.0.1 (or localhost), and the port is 8118 [1].",
                           [passage], embed).supported
    wrong = verify_sentence("The proxy address of Privoxy is 127.0.0.2 [1].", [passage], embed)
    assert not wrong.supported and any("127.0.0.2" in r for r in wrong.reasons)


def test_a_path_names_no_one(embed):
    # debian-faq: the "X" of "/etc/X11/app-defaults/" was taken for a name on the other side of "put".
    passage = ("Debian's X programs will install their application resource data in the /etc/X11/app-defaults/ "
               "directory. If you want to customize X applications globally, put your customizations in those files.")
    assert verify_sentence("To configure X applications, you should put your customizations in the "
                           "`/etc/X11/app-defaults/` directory [1].", [passage], embed).supported
