"""Saved conversations (rag/conversations.py) on a real SQLite file: owners never see each other's
conversations, turns come back as answers with their sources, rename and delete, and the browser
secret survives a reopen of the store."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rag.answer.results import AnswerResult, AnswerSentence, Citation
from rag.conversations import ConversationNotFound, ConversationStore, owner_key, result_from_json
from rag.errors import InputError

ALICE, BOB = owner_key("alice", "same-browser"), owner_key("bob", "same-browser")


def answer(question: str, text: str = "It was built in 1887 [1].") -> AnswerResult:
    cited = Citation(n=1, id="c1", source="lighthouse.txt", title="Lighthouse", start=0, end=40,
                     text="The lighthouse was built in 1887.", score=0.8, cited=True, supported=True)
    return AnswerResult(question=question, standalone_question=question, answer=text, refused=False,
                        citations=[cited], sentences=[AnswerSentence(text, [1], True)],
                        timings={"total_s": 0.5}, llm="extractive", evidence=0.6)


@pytest.fixture
def store(tmp_path):
    return ConversationStore(tmp_path / "index" / "conversations.sqlite")


def test_owner_is_the_user_when_logged_in_else_the_browser():
    assert owner_key("alice", "b1") == "user:alice"
    assert owner_key(None, "b1") == "browser:b1"
    assert owner_key(None, "") is None


def test_turns_come_back_in_order_with_their_sources(store, tmp_path):
    first = answer("When was the lighthouse built?")
    cid = store.add_turn(ALICE, None, first)
    store.add_turn(ALICE, cid, answer("Who built it?", "Ottilie Brandvang built it [1]."))
    reopened = ConversationStore(tmp_path / "index" / "conversations.sqlite").get(ALICE, cid)  # a fresh process
    assert reopened.title == "When was the lighthouse built?"
    assert [t["question"] for t in reopened.turns] == ["When was the lighthouse built?", "Who built it?"]
    assert result_from_json(reopened.turns[0]) == first  # the whole AnswerResult, citations included


def test_two_users_never_see_each_others_conversations(store):
    alice_cid = store.add_turn(ALICE, None, answer("Alice's question?"))
    bob_cid = store.add_turn(BOB, None, answer("Bob's question?"))
    assert store.list(ALICE) == [(alice_cid, "Alice's question?")]
    assert store.list(BOB) == [(bob_cid, "Bob's question?")]
    assert store.list(owner_key(None, "same-browser")) == []  # the browser id does not reach a user's
    for act in (lambda: store.get(BOB, alice_cid), lambda: store.add_turn(BOB, alice_cid, answer("Sneak?")),
                lambda: store.rename(BOB, alice_cid, "mine now"), lambda: store.delete(BOB, alice_cid)):
        with pytest.raises(ConversationNotFound):
            act()
    assert store.get(ALICE, alice_cid).title == "Alice's question?" and len(store.get(ALICE, alice_cid).turns) == 1


def test_rename_delete_and_latest_first(store):
    old = store.add_turn(ALICE, None, answer("First?"))
    new = store.add_turn(ALICE, None, answer("Second? " + "word " * 30))
    assert [cid for cid, _ in store.list(ALICE)] == [new, old]
    assert store.list(ALICE)[0][1].endswith("…") and len(store.list(ALICE)[0][1]) <= 60
    store.rename(ALICE, old, "  Lighthouse\n notes ")
    store.add_turn(ALICE, old, answer("Third?"))  # a new answer moves it to the top
    assert store.list(ALICE) == [(old, "Lighthouse notes"), (new, store.list(ALICE)[1][1])]
    with pytest.raises(InputError, match="title"):
        store.rename(ALICE, old, "   ")
    store.delete(ALICE, old)
    assert [cid for cid, _ in store.list(ALICE)] == [new]
    with pytest.raises(ConversationNotFound):
        store.get(ALICE, old)


def test_the_browser_secret_is_made_once(store, tmp_path):
    secret = store.secret()
    assert len(secret) >= 32 and ConversationStore(tmp_path / "index" / "conversations.sqlite").secret() == secret


def test_concurrent_answers_all_land(store):
    cid = store.add_turn(ALICE, None, answer("Q0?"))
    threads = [threading.Thread(target=store.add_turn, args=(ALICE, cid, answer(f"Q{i}?"))) for i in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(t["question"] for t in store.get(ALICE, cid).turns) == sorted(f"Q{i}?" for i in range(9))


def test_a_newer_citation_field_is_ignored_on_reopen():
    record = answer("Q?").as_json()
    record["citations"][0]["page"] = 4  # another version stores pages
    assert result_from_json(record).citations[0].source == "lighthouse.txt"


# --- the chat tab's handlers (ui/conversations.py) with Gradio's own Request ------------------------

def test_ui_saves_per_user_and_never_shows_another_users_conversation(default_index, tmp_path):
    import gradio as gr

    from ui.conversations import Conversations
    from ui.handlers import ChatApp

    ui = Conversations(ChatApp(default_index.replace(llm="extractive")),
                       ConversationStore(tmp_path / "conversations.sqlite"))
    alice, bob, anonymous = gr.Request(username="alice"), gr.Request(username="bob"), gr.Request()
    question = "Who is the commander of US Africa Command?"
    *_, last = ui.respond(question, [], [], "", 0, "", None, "browser-1", alice)
    chat, _sources, history, _box, current, choices, export, browser_id = last
    assert browser_id == "browser-1"
    assert "Langley" in chat[-1]["content"] and current
    assert choices["choices"] == [(question, current)] and export["interactive"]
    assert Path(export["value"]).read_text(encoding="utf-8").startswith(f"# {question}\n")

    # Same browser, another user (or nobody logged in): an empty list, and alice's id opens nothing.
    for other in (bob, anonymous):
        assert ui.on_load("browser-1", other)[1]["choices"] == []
        assert ui.reopen(current, "browser-1", other)[-1].startswith("✗ no such conversation")
        assert ui.delete(current, None, "browser-1", other)[-1].startswith("✗")
    reopened_chat, pairs, panel, cid, title, status = ui.reopen(current, "browser-1", alice)
    assert cid == current and pairs == history and "Langley" in reopened_chat[-1]["content"]
    assert 'class="rag-source' in panel and status == ""


def test_a_question_sent_before_the_page_loaded_is_saved_where_the_page_looks(default_index, tmp_path):
    """A new browser's id is made by the page's load event; a question sent before that event has
    stored it arrives with none. Its answer is saved under the id the load event gives this page, so
    the list shows it (CI once sent the question first and the answer was never saved)."""
    import gradio as gr

    from ui.conversations import Conversations
    from ui.handlers import ChatApp

    ui = Conversations(ChatApp(default_index.replace(llm="extractive")),
                       ConversationStore(tmp_path / "conversations.sqlite"))
    page, other_page = gr.Request(session_hash="page-1"), gr.Request(session_hash="page-2")
    question = "Who is the commander of US Africa Command?"
    *_, last = ui.respond(question, [], [], "", 0, "", None, "", page)  # before the load event
    current, browser_id = last[4], last[-1]
    assert current and browser_id
    stored_id, choices = ui.on_load("", page)  # the load event, finishing later, agrees
    assert stored_id == browser_id and choices["choices"] == [(question, current)]
    assert ui.on_load(browser_id, other_page)[1]["choices"] == [(question, current)]  # after a reload
    assert ui.on_load("", other_page)[0] != browser_id  # a new browser gets a new id


def test_the_export_folder_goes_when_the_process_ends(default_index, tmp_path):
    """Every UI launch made a rag-export-* folder in /tmp and left it there."""
    import subprocess
    import sys

    script = ("import sys; from pathlib import Path; from rag.config import Settings\n"
              "from rag.conversations import ConversationStore\n"
              "from ui.conversations import Conversations; from ui.handlers import ChatApp\n"
              "ui = Conversations(ChatApp(Settings(index_dir=Path(sys.argv[1]), llm='extractive')), "
              "ConversationStore(Path(sys.argv[2])))\n"
              "(ui.export_dir / 'answer.md').write_text('x'); print(ui.export_dir)\n")
    done = subprocess.run([sys.executable, "-c", script, str(default_index.index_dir), str(tmp_path / "c.sqlite")],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.name.startswith("rag-export-") and not folder.exists()
