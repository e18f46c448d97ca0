from vidcarbon.prompts import prompt_id, read_prompts

NASTY = [
    'He said "don\'t" and left',
    "$(touch /tmp/vidcarbon-pwned) and `rm -rf ~`",
    r"a literal \n backslash-n and \t tab escape",
    "Ein Fuchs läuft über den Schnee, 雪の中の狐 🦊",
]


def test_ids_are_stable_and_independent_of_neighbours(tmp_path):
    first = tmp_path / "a.txt"
    first.write_text("a fox\na heron\n")
    second = tmp_path / "b.txt"
    second.write_text("a heron\n# comment\nan owl\n\na fox edited\n")
    ids_a = {p.text: p.prompt_id for p in read_prompts(first)}
    ids_b = {p.text: p.prompt_id for p in read_prompts(second)}
    assert ids_a["a heron"] == ids_b["a heron"]  # reordering/adding/editing others changes nothing
    assert ids_a["a fox"] != ids_b["a fox edited"]
    assert prompt_id("a heron") == ids_a["a heron"]
    assert len(prompt_id("x")) == 11 and prompt_id("x").startswith("p")


def test_text_is_kept_verbatim(tmp_path):
    path = tmp_path / "nasty.txt"
    path.write_text("\n".join(NASTY) + "\n", encoding="utf-8")
    assert [p.text for p in read_prompts(path)] == NASTY
