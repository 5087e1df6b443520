"""What the verifier reads around a window (issue 10): labels of list entries, the document's title,
passages that continue each other, lines wrapped mid-sentence, acronyms, partitive numbers, and
questions that ask two things. Real packaged embedder; texts as the debian-history corpus has them."""
from __future__ import annotations

from rag.answer.decide import contiguous_runs, decide, joined_text
from rag.answer.claims import tokens
from rag.answer.relevance import answers_question, question_parts, question_verb
from rag.answer.results import Citation
from rag.answer.verify import caching, passage_sentences, standing_labels, verify_sentence
from rag.embedding import Embedder

STRETCH = ("Debian 9 Stretch (June 17th, 2017): Named for the toy rubber octopus with suction cups on its eight "
           "arms. This release brought hardened compiler flags and a new mechanism (needrestart) to detect "
           "sub-systems which had to be restarted. Support for the powerpc architecture was dropped in this "
           "release, whileas the mips64el architecture was introduced.")
HACKED = ("4.13.7. November 2003: Several Debian servers hacked\n"
          "Starting 17:00 UTC on November 19th, 2003, four of the project's main\n"
          "Web servers for bug tracking, mailing lists, security and Web searches\n"
          "have been\ncompromised. The services were taken down for inspection.")
SPI = ("Debian motivated the formation of Software in the Public Interest, Inc., a New York-based non-profit "
       "organization. It provides a mechanism by which the Debian Project may accept contributions.")
RATIFIED = "   Version 1.1 ratified on April 26, 2004. Supersedes Version 1.0 ratified\n   on July 5, 1997."


def embed():
    return caching(Embedder().texts)


def cite(n: int, text: str, source: str = "doc.txt", start: int = 0, title: str = "Doc") -> Citation:
    return Citation(n=n, id=f"c{n}", source=source, title=title, start=start, end=start + len(text), text=text,
                    score=1.0)


def test_a_list_entry_label_heads_the_sentences_after_it():
    sents = passage_sentences(STRETCH)
    assert standing_labels(sents)[-1] == "Debian 9 Stretch (June 17th, 2017)"
    assert verify_sentence("Debian 9 Stretch dropped powerpc.", [STRETCH], embed()).supported
    # the label is the only place the release is named: another release is still refused
    assert not verify_sentence("Debian 10 Buster dropped powerpc.", [STRETCH], embed()).supported


def test_a_line_wrapped_mid_sentence_is_read_as_one_sentence():
    assert any("four of the project's main Web servers" in " ".join(s.split()) for s in passage_sentences(HACKED))
    assert verify_sentence("Four servers got hacked in 2003.", [HACKED], embed()).supported
    assert not verify_sentence("Five servers got hacked in 2003.", [HACKED], embed()).supported


def test_an_acronym_matches_the_name_it_abbreviates():
    verdict = verify_sentence("SPI is a New York-based non-profit organization.", [SPI], embed())
    assert verdict.supported, verdict.reasons
    assert not verify_sentence("FSF is a New York-based non-profit organization.", [SPI], embed()).supported


def test_the_document_title_is_context_for_every_passage():
    sentence = "The social contract was ratified on April 26, 2004."
    assert not verify_sentence(sentence, [RATIFIED], embed()).supported
    assert verify_sentence(sentence, [RATIFIED], embed(), ["Debian Social Contract"]).supported


def test_passages_that_continue_each_other_are_read_together():
    head = "Debian 9 Stretch (June 17th, 2017): Named for the toy rubber octopus. This release brought hardened "
    tail = "compiler flags. Support for the powerpc architecture was dropped in this release."
    first, second = cite(2, head + "compiler flags.", start=100), cite(1, tail, start=100 + len(head))
    runs = contiguous_runs([second, first, cite(3, "Unrelated text.", source="other.txt")])
    assert runs[1][0] == [2, 1] and 3 not in runs
    assert joined_text([first, second]) == head + tail
    result = decide("Which release dropped powerpc?", "[1] Debian 9 Stretch dropped powerpc.", [second, first],
                    Embedder())
    assert not result.refused and result.sentences[0].citations == [2, 1]
    far = cite(1, tail, start=100 + len(head) + 5000)
    assert decide("Which release dropped powerpc?", "[1] Debian 9 Stretch dropped powerpc.", [far, first],
                  Embedder()).refused  # far apart in the document: "this release" may be another one


def test_a_question_that_asks_two_things_is_answered_by_either_part():
    assert question_parts("how old was he when he died, and when did he stop leading Debian?") == [
        "how old was he when he died", "when did he stop leading Debian?"]
    assert question_parts("How many Russians were arrested, and why?") == ["How many Russians were arrested"]
    question = "where was Bruce Perens working, and what organisation did he help create?"
    assert answers_question(question, ["He helped create Software in the Public Interest [2]."], embed())
    assert not answers_question("How many Russians were arrested, and why?",
                                ["The arrests were made for reasons of security [1]."], embed())


def test_next_or_first_alone_is_no_time():
    assert not answers_question("when did bookworm come out?", [
        "The testing release will become the next stable release and is codenamed Bookworm [1]."], embed())
    assert answers_question("when did bookworm come out?", ["Bookworm came out in June 2023 [1]."], embed())


def test_an_ordinal_is_no_count():
    assert not answers_question("how many people use debian?", [
        "Debian may be used by many more individuals, the focus being a first-class product [1]."], embed())
    assert answers_question("how many people use debian?", ["About 1,000 people use Debian [1]."], embed())


def test_a_version_number_is_no_age():
    question = "How old was Bruce Perens when he became leader?"
    assert not answers_question(question, ["Bruce Perens led the project through the preparation for the 2.0 "
                                           "release in January, 1998 [2]."], embed())
    assert answers_question(question, ["Bruce Perens was 34 when he became leader [2]."], embed())


def test_an_irregular_past_tense_is_the_questions_verb():
    # "came out" answers "when did it come out?", "saw" "when did they see …?"
    assert answers_question("When did Debian 2.1 (Slink) come out?",
                            ["Debian 2.1 (Slink) came out on March 9th, 1999 [2]."], embed())
    assert answers_question("When did the delegation see Haftar?", ["The delegation saw Haftar in early December [1]."],
                            embed())
    assert not answers_question("When did Debian 2.1 (Slink) come out?",
                                ["Debian 2.1 (Slink) was frozen on March 9th, 1999 [2]."], embed())


def test_a_typed_answer_must_tell_more_than_the_question():
    # the asked person must be a new one for "who <verb>"; for "who did X <verb>" X is not the answer
    assert not answers_question("who led debian after Ian Murdock?",
                                ["Ian Murdock led the Debian Project from 1993 to 1996 [1]."], embed())
    assert answers_question("who led debian after Ian Murdock?", ["Bruce Perens led Debian from 1996 [2]."], embed())
    assert answers_question("Who led Debian after Ian Murdock?",
                            ["Debian was led by Bruce Perens after Ian Murdock [2]."], embed())
    assert answers_question("Who painted the Vexmoor lighthouse green?",
                            ["The Vexmoor lighthouse was painted green in 1911 by the keeper Alma Quist [1]."], embed())
    assert answers_question("Who first lit the Pellisand beacon near Orvatho harbour?",
                            ["The Pellisand beacon near Orvatho harbour was lit for the first time in 1903 by the "
                             "keeper Marius Ekvold [1]."], embed())
    assert question_verb(tokens("Who first lit the Pellisand beacon?")) == "lit"
    assert answers_question("Who did Khaled Haftar meet in Benghazi?",
                            ["Khaled Haftar met with a delegation of the US Army in Benghazi [1]."], embed())
    # a "first" or a year the question holds is no time of its own
    assert not answers_question("when was the first master server built?",
                                ["The first master server was built by Bdale Garbee [2]."], embed())


def test_a_sentence_joining_facts_of_two_passages_is_cited_to_both_or_cut_to_its_backed_clauses():
    pixar = cite(1, "By this time, Bruce Perens had taken over leadership of the Project from Ian Murdock, and Bruce "
                    "was working at Pixar, the company that produced the Toy Story movies.")
    spi = cite(2, "Bruce Perens also spearheaded the effort to create Software in the Public Interest, Inc..",
               source="other.txt")
    result = decide("Where was Bruce Perens working, and what organisation did he help create?",
                    "Bruce Perens was working at Pixar, and he helped create Software in the Public Interest [2].",
                    [pixar, spi], Embedder())
    assert not result.refused and result.sentences[0].citations == [1, 2]
    wrong = decide("Where was Bruce Perens working, and what organisation did he help create?",
                   "Bruce Perens was working at Google, and he helped create Software in the Public Interest [2].",
                   [pixar, spi], Embedder())
    assert wrong.refused  # a first clause without backing sinks the sentence
    # a later clause without backing is the model's addition: the backed clause before it stands alone
    added = decide("Where was Bruce Perens working, and what organisation did he help create?",
                   "Bruce Perens was working at Pixar, and he helped create the Free Software Foundation [2].",
                   [pixar, spi], Embedder())
    assert not added.refused and added.answer == "Bruce Perens was working at Pixar [1]."


def test_a_name_in_a_subordinate_clause_is_not_the_verbs_object():
    passage = ["It was taken from a character of the Toy Story movies, Buzz Lightyear. By this time Bruce "
               "Perens was working at Pixar, the company that produced the movies."]
    verdict = verify_sentence("Bruce Perens was working at Pixar when Buzz Lightyear came out.", passage, embed())
    assert not any("roles swapped" in r for r in verdict.reasons), verdict.reasons


def test_a_sentence_that_stops_before_its_citation_is_dropped():
    from rag.answer.decide import unfinished

    assert unfinished("The article was translated by [2].") and unfinished("The leader then was [3].")
    assert not unfinished("The article was translated by Libya Review [2].")
    assert not unfinished("4 servers got hacked in 2003 [1].")  # a number finishes it
    assert not unfinished("The MIPS architecture was the architecture Thiemo Seufer worked on [1].")
    assert unfinished("The first release of Debian was based on [2].") and unfinished("He worked on [1].")
    # a clause complete in itself ends on its copula (debian-faq: the dpkg status "hold" refused)
    assert not unfinished("hold - the user wants to keep the current version with the current status whatever "
                          "that is [1].")
    assert unfinished("The person who was [1].")
    passage = cite(1, "Translated by Libya Review staff. The conference was held in Gaborone.")
    result = decide("Who translated the article?", "The article was translated by [1].", [passage], Embedder())
    assert result.refused


def test_a_list_the_model_stopped_copying_before_its_last_item_is_kept_as_a_list():
    from rag.answer.decide import list_cut_short, unfinished

    cut = "The main configuration file is named config on GNU/Linux, Unix, BSD, and [1]."
    assert list_cut_short(cut) == "The main configuration file is named config on GNU/Linux, Unix, BSD [1]."
    assert unfinished("He met them in Benghazi and [1].") and list_cut_short("He met them in Benghazi and [1].") \
        == "He met them in Benghazi and [1]."
    # A user's trial on privoxy-faq's manual: the answer was refused; the passage holds the list.
    passage = cite(2, "For the time being, the principle configuration files are: The main configuration file is "
                      "named config on GNU/Linux, Unix, BSD, and config.txt on Windows. This is a required file.")
    result = decide("where's the main config file on linux?", cut.replace("[1]", "[2]"), [passage], Embedder())
    assert not result.refused and result.answer == "The main configuration file is named config on GNU/Linux, Unix, BSD [2]."


def test_an_opening_he_is_checked_as_the_name_the_sentence_before_opens_on():
    from rag.answer.decide import opening_name, with_antecedent

    assert opening_name("General Michael Langley is the commander of US Africa Command [1].") == "Langley"
    assert opening_name("The conference was held in Gaborone.") == ""
    assert with_antecedent("He is a Marine general.", "Langley") == "Langley is a Marine general."
    assert with_antecedent("Hence the name.", "Langley") == "Hence the name."
    commander = cite(1, "The commander of the US Africa Command, General Michael Langley, met General al-Haddad.")
    marine = cite(2, "Langley, a Marine general in charge of U.S. Africa Command, discussed highlights of the "
                     "conference with the media today.", start=900)
    question = "Who is the commander of US Africa Command and which branch of the military is he from?"
    result = decide(question, "General Michael Langley is the commander of US Africa Command. He is from the "
                              "Marine Corps. [1]", [commander, marine], Embedder())
    assert [s.citations for s in result.sentences] == [[1], [2]], result.answer
    wrong = decide(question, "General Michael Langley is the commander of US Africa Command. He is from the "
                             "Navy. [1]", [commander, marine], Embedder())
    assert len(wrong.sentences) == 1, wrong.answer


def test_an_acronym_the_passage_defines_answers_for_its_words():
    from rag.answer.claims import acronym_definitions, with_definitions

    passage = ("We use sloccount to determine the number of physical source lines of code (SLOC) of Debian 2.2 "
               "(aka potato): more than 55,000,000 physical SLOC.")
    assert acronym_definitions(passage) == {"SLOC": "source lines of code"}
    assert with_definitions("55,000,000 physical SLOC [1].", {"SLOC": "source lines of code"}) == \
        "55,000,000 physical SLOC (source lines of code) [1]."
    result = decide("how many lines of code was potato?", "[1] 55,000,000 physical SLOC", [cite(1, passage)],
                    Embedder())
    assert not result.refused and "55,000,000" in result.answer


def test_an_acronym_the_passage_defines_stands_for_its_words_in_the_sentence():
    passage = ("In early December 2024, the head of the Security Unit of the Libyan National Army (LNA), Khaled "
               "Haftar, met with a high-level delegation of the US Army in Benghazi.")
    # what the unit is "of" is "the Libyan National Army" in the passage, "the LNA" in the answer
    result = decide("Who heads the Security Unit of the LNA?", "Khaled Haftar heads the Security Unit of the LNA [1].",
                    [cite(1, passage)], Embedder())
    assert not result.refused and result.answer == "Khaled Haftar heads the Security Unit of the LNA [1]."
    for wrong in ("Khalifa Haftar heads the Security Unit of the LNA [1].",
                  "Khaled Haftar heads the Security Unit of the GNA [1]."):
        assert decide("Who heads the Security Unit of the LNA?", wrong, [cite(1, passage)], Embedder()).refused


def test_the_question_grants_only_words_the_cited_passages_document_holds():
    met = cite(1, "The commander of US Africa Command, General Michael Langley, met with General Mohammed al-Haddad "
                  "during the 2024 African Defense Chiefs Conference in Gaborone, Botswana.", source="langley.txt")
    first = cite(2, "This is the first time the conference has been held in Africa, according to the U.S. Department "
                    "of Defense.", source="langley.txt", start=400)
    haftar = cite(3, "In early December 2024, Khaled Haftar met with a delegation of the US Army in Benghazi.",
                  source="assad.txt")
    passages = [met, first, haftar]
    # "2024" is the cited passage's document's word (its other passage): restating it is no new claim
    assert not decide("Was the 2024 conference held in Africa?", "Yes, the 2024 conference was held in Africa [2].",
                      passages, Embedder()).refused
    # "Haftar" only another article holds: "Yes, Haftar was there" is the model's claim, not the passages'
    assert decide("Was Haftar at the 2024 African Defense Chiefs Conference in Gaborone?",
                  "Yes, Haftar was at the 2024 African Defense Chiefs Conference in Gaborone [1].", passages,
                  Embedder()).refused


def test_a_did_question_is_answered_only_by_a_passage_using_its_verb():
    demand = cite(1, "US officials demanded that General Khalifa Haftar limit the alliance ties that bind him to "
                     "Moscow and expel Russian militants.")
    # every word of the question is in the passage; whether he agreed is not
    agreed = decide("Did he agree?", "Yes, Khalifa Haftar agreed to limit the alliance ties to Moscow [1].", [demand],
                    Embedder())
    assert agreed.refused and "agree" in agreed.reason
    demanded = decide("Did US officials demand that Haftar expel Russian militants?",
                      "Yes, US officials demanded that Haftar expel Russian militants [1].", [demand], Embedder())
    assert not demanded.refused, demanded.reason
    from rag.answer.relevance import asserted_verb
    assert asserted_verb("did they meet in Benghazi?") == "meet" and asserted_verb("Did anything happen?") is None
    assert asserted_verb("Was it the first time?") is None


def test_a_can_question_is_answered_only_by_a_passage_using_its_verb():
    # privoxy-faq, the local model: "Yes, Privoxy can act as a caching proxy" over a passage on chaining it
    # with one (the FAQ's answer is no).
    forwarding = cite(1, "Forwarding can be used to chain Privoxy with a caching proxy to speed up browsing.")
    wrong = decide('Can Privoxy act as a "caching" proxy to speed up web browsing?',
                   'Yes, Privoxy can act as a "caching" proxy to speed up web browsing [1].', [forwarding], Embedder())
    assert wrong.refused and "act" in wrong.reason
    server = cite(1, 'Yes, Privoxy runs as a server already, and can easily be configured to "serve" more than one client.')
    right = decide("Can Privoxy run as a server on a network?", "Yes, Privoxy runs as a server already [1].", [server],
                   Embedder())
    assert not right.refused, right.reason  # "run" is used as "runs"
    from rag.answer.relevance import asserted_verb, same_verb
    assert asserted_verb("Can I temporarily disable Privoxy?") == "disable"
    assert asserted_verb("Could you tell me whether to install stable?") is None  # a request, not a claim
    assert same_verb("use", "using") and same_verb("run", "running") and not same_verb("run", "rung")
    # a passage answering with the question's auxiliary alone answers it (debian-faq)
    from rag.answer.relevance import says_whether
    unpack = "You probably can: a program to unpack a Debian package onto a foreign Linux host is available."
    assert says_whether("Can I use Debian packages on Red Hat?", "use", unpack)
    assert not says_whether("Can I use Debian packages on Red Hat?", "use", unpack.replace("You probably can: a", "A"))
    assert not says_whether("Did he agree to it?", "agree", unpack)  # another auxiliary's answer


def test_a_yes_that_contradicts_its_sentence_is_not_shown():
    archive = cite(1, "It was confirmed that the package archive was not affected by the compromise.")
    result = decide("was the package archive affected?", "Yes, the package archive was not affected by the "
                    "compromise [1].", [archive], Embedder())
    assert result.answer == "The package archive was not affected by the compromise [1]."
    contracted = decide("was the package archive affected?", "Yes, the package archive wasn't affected by the "
                        "compromise [1].", [archive], Embedder())
    assert contracted.answer == "The package archive wasn't affected by the compromise [1]."
    # a "No," that the sentence's own "not" repeats is no second negation (alone it still counts: it is
    # what gives away some of eval/support.jsonl's negation corruptions)
    no = decide("was the package archive affected?", "No, the package archive was not affected by the "
                "compromise [1].", [archive], Embedder())
    assert not no.refused, no.reason


CO_HOSTED = ("This is the first year the U.S. has co-hosted the conference with an African country and the first "
             "time the conference has been held in Africa, according to the U.S. Department of Defense.")


def test_spaced_initials_are_read_as_the_passage_writes_them():
    from rag.answer.decide import initialisms_as_written

    assert initialisms_as_written("the U. S. had co-hosted", CO_HOSTED) == "the U.S. had co-hosted"
    assert initialisms_as_written("J. R. R. Tolkien", "J. R. R. Tolkien wrote it.") == "J. R. R. Tolkien"
    question = "What was new about the 2024 conference compared with earlier ones?"
    draft = ("The 2024 conference was the first time the U. S. had co-hosted the conference with an African country "
             "and the first time the conference had been held in Africa, according to the U. S. Department of "
             "Defense. [1]")
    conference = cite(1, CO_HOSTED, title="The African Chiefs of Defense Conference 2024 in Gaborone")
    result = decide(question, draft, [conference], Embedder())
    assert not result.refused and "the U.S. had co-hosted" in result.answer, result.reason


def test_the_first_time_is_a_noun_not_a_verb_acting_on_the_next_name():
    from rag.answer.checks import verb_objects

    sentence = "It was the first time the U.S. had co-hosted the conference."
    assert not verb_objects(sentence, tokens(sentence), tokens(CO_HOSTED))
    pushed = "Western capitals push the Turks into a new war."  # a verb still acts on its object
    window = "Western capitals push the Libyan factions into a new war; the Turks refuse."
    assert verb_objects(pushed, tokens(pushed), tokens(window))


def test_a_sentence_repeated_by_the_model_is_shown_once():
    meetings = cite(1, "The meeting comes four days after a previous meeting between the two sides.")
    result = decide("How many days separated the two meetings?", "[1] 4 days [2] 4 days [3] 4 days", [meetings],
                    Embedder())
    assert result.answer == "4 days [1].", result.answer


def test_the_question_asked_is_typed_not_the_scene_set_before_it():
    from rag.answer.relevance import question_type

    # a statement before the question sets the scene; its "When" asks nothing (privoxy-faq)
    assert question_type('When I try to launch Privoxy, I get an error "port 8118 is already in use". Why?') == "reason"
    assert question_type("I track testing (bookworm). What will happen when a release is made?") == "other"
    assert question_type("Thanks for that. Where did they meet?") == "place"
    assert question_type("How many packages are in Debian 3.1?") == "number"  # "3.1" ends no sentence
    assert question_type("When was it released") == "time"  # no question mark: the whole text


def test_a_document_location_must_add_more_than_stop_words():
    from rag.answer.relevance import document_location

    # "where is it in manual?" is not answered by "in the manual": the "the" is all it adds
    assert not document_location("It is explained in the manual [1].", "where is it in manual?")
    assert document_location("It is explained in the manual [1].", "where is it explained?")
    assert document_location("Put the line in /etc/privoxy/config [1].", "where do I put the line?")
