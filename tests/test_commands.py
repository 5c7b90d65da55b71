"""The `/incident …` grammar: valid forms, aliases, flags, and precise syntax errors."""

from __future__ import annotations

import pytest

from bot import commands as cmd
from bot.commands import (
    SPECS,
    AddNote,
    AddTask,
    AssignRole,
    CompleteTask,
    Declare,
    Deescalate,
    Escalate,
    Help,
    ListIncidents,
    ListTasks,
    PostUpdate,
    Reopen,
    Resolve,
    SetSeverity,
    SetStatus,
    ShowTimeline,
)
from bot.errors import UserError

LEVELS = ["SEV1", "SEV2", "SEV3", "SEV4"]
DECLARE_USAGE = SPECS["declare"].usage


def parse(text: str) -> cmd.Command:
    return cmd.parse(text, severity_names=LEVELS)


def error(text: str) -> UserError:
    with pytest.raises(UserError) as err:
        parse(text)
    return err.value


# --- valid forms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("   ", Help()),
        ("help", Help()),
        ("help declare", Help(topic="declare")),
        ("HELP Sev", Help(topic="sev")),
        ("? task", Help(topic="task")),
        ("sev SEV1", SetSeverity(level="SEV1")),
        ("severity 2", SetSeverity(level="2")),
        ("SEV sev3", SetSeverity(level="sev3")),
        ("escalate", Escalate()),
        ("deescalate", Deescalate()),
        ("downgrade", Deescalate()),
        ("de-escalate", Deescalate()),
        ("status identified", SetStatus(state="identified")),
        ("status done", SetStatus(state="done")),  # values are checked by the service
        ("commander @alice", AssignRole(role="commander", user="@alice")),
        ("ic @alice", AssignRole(role="commander", user="@alice")),
        ("lead <@U123>", AssignRole(role="commander", user="<@U123>")),
        ("commander <@U123|alice>", AssignRole(role="commander", user="<@U123|alice>")),
        ("commander <@!42>", AssignRole(role="commander", user="<@!42>")),
        ("comms @bob", AssignRole(role="comms", user="@bob")),
        ("role scribe @carol", AssignRole(role="scribe", user="@carol")),
        ("role Scribe @carol", AssignRole(role="scribe", user="@carol")),
        ("role commander @carol", AssignRole(role="commander", user="@carol")),
        ("update Rolled back;  errors falling", PostUpdate(text="Rolled back;  errors falling")),
        ("note Suspect the 14:02 push", AddNote(text="Suspect the 14:02 push")),
        ("task add Check the CDN logs @dave", AddTask(text="Check the CDN logs", owner="@dave")),
        ("task add Check the CDN logs", AddTask(text="Check the CDN logs")),
        ("task ADD ping @dave now", AddTask(text="ping @dave now")),
        ("task done 2", CompleteTask(number=2)),
        ("task done #3", CompleteTask(number=3)),
        ("task complete 4", CompleteTask(number=4)),
        ("task close 5", CompleteTask(number=5)),
        ("tasks", ListTasks()),
        ("timeline", ShowTimeline()),
        ("resolve", Resolve()),
        ("resolve Bad deploy rolled back", Resolve(summary="Bad deploy rolled back")),
        ("reopen", Reopen()),
        ("list", ListIncidents()),
        ("ls", ListIncidents()),
        ("  list  ", ListIncidents()),
    ],
)
def test_valid_forms(text, expected):
    assert parse(text) == expected


# --- declare --------------------------------------------------------------------------


def test_declare_with_a_level_and_title():
    assert parse("declare SEV2 Checkout errors") == Declare(
        title="Checkout errors", severity="SEV2"
    )


def test_declare_level_is_matched_case_insensitively():
    assert parse("declare sev1 Login down").severity == "sev1"  # type: ignore[union-attr]


def test_declare_without_a_level_leaves_it_to_the_service():
    assert parse("declare Login is down") == Declare(title="Login is down")


def test_declare_level_only_counts_as_the_first_word():
    assert parse("declare Checkout SEV2 errors") == Declare(title="Checkout SEV2 errors")


def test_declare_with_every_flag():
    got = parse(
        "declare SEV1 Leaked API key --playbook security-incident --private --drill "
        "--commander @alice --comms <@U9>"
    )
    assert got == Declare(
        title="Leaked API key",
        severity="SEV1",
        playbook="security-incident",
        commander="@alice",
        comms="<@U9>",
        private=True,
        drill=True,
    )


def test_declare_flags_may_come_first_and_are_case_insensitive():
    got = parse("declare --PRIVATE --Playbook default SEV3 Disk full")
    assert got == Declare(title="Disk full", severity="SEV3", playbook="default", private=True)


def test_declare_impact_and_urgency():
    got = parse("declare Login down --impact high --urgency low")
    assert got == Declare(title="Login down", impact="high", urgency="low")


def test_declare_flag_equals_value():
    got = parse("declare Login down --impact=high --urgency=medium --playbook=default")
    assert got == Declare(title="Login down", impact="high", urgency="medium", playbook="default")


def test_declare_flag_value_keeps_everything_after_the_first_equals():
    assert parse("declare x --playbook=a=b").playbook == "a=b"  # type: ignore[union-attr]


def test_declare_booleans_default_off():
    got = parse("declare Disk full")
    assert isinstance(got, Declare)
    assert (got.private, got.drill, got.playbook, got.commander) == (False, False, None, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("declare", "`declare` needs a title."),
        ("declare SEV2", "`declare` needs a title."),
        ("declare --private --drill", "`declare` needs a title."),
        ("declare x --playbook", "`--playbook` needs a value."),
        ("declare x --playbook --private", "`--playbook` needs a value."),
        ("declare x --playbook a --playbook b", "`--playbook` is given twice."),
        ("declare x --commander bob", "`--commander` needs a user like @alice, got `bob`."),
        ("declare x --comms=bob", "`--comms` needs a user like @alice, got `bob`."),
        ("declare x --impact high", "`--impact` and `--urgency` go together: give both."),
        ("declare x --urgency=low", "`--impact` and `--urgency` go together: give both."),
        (
            "declare SEV1 x --impact high --urgency high",
            "Give either a severity level or --impact/--urgency, not both.",
        ),
    ],
)
def test_declare_syntax_errors_show_the_declare_usage(text, message):
    err = error(text)
    assert err.message == message
    assert err.usage == DECLARE_USAGE


def test_declare_misspelt_flag_suggests_the_real_one():
    err = error("declare Disk full --privat")
    assert err.message.startswith("`--privat` is not a declare option. ")
    assert "put the title after a bare `--`" in err.message
    assert err.suggestion == "--private"
    assert err.usage == DECLARE_USAGE


@pytest.mark.parametrize(
    ("flag", "suggestion"),
    [("--playbok", "--playbook"), ("--urgncy=high", "--urgency"), ("--commandr", "--commander")],
)
def test_declare_more_flag_typos(flag, suggestion):
    assert error(f"declare x {flag} @a").suggestion == suggestion


def test_declare_unknown_flag_with_a_value_is_named_without_the_value():
    err = error("declare x --flag=value")
    assert err.message.startswith("`--flag` is not a declare option.")


@pytest.mark.parametrize("flag", ["--private=false", "--drill=no", "--private=yes"])
def test_declare_boolean_flags_take_no_value(flag):
    # `--private=false` must not silently open a private channel.
    err = error(f"declare Disk full {flag}")
    assert f"`{flag.split('=')[0]}` takes no value" in err.message
    assert err.usage == DECLARE_USAGE


def test_declare_sev9_is_not_a_severity_and_suggests_a_real_level():
    err = error("declare SEV9 Checkout errors")
    assert err.message == "`SEV9` is not a severity level."
    assert err.usage == "SEV1 | SEV2 | SEV3 | SEV4"
    assert err.suggestion in LEVELS


@pytest.mark.parametrize(("first", "suggestion"), [("SEV22", "SEV2"), ("p1", "")])
def test_declare_severity_like_first_word_suggestion(first, suggestion):
    err = error(f"declare {first} Checkout errors")
    assert err.message == f"`{first}` is not a severity level."
    assert err.suggestion == suggestion


def test_declare_severity_like_words_follow_the_configured_names():
    got = cmd.parse("declare P1 Checkout errors", severity_names=["P1", "P2"])
    assert got == Declare(title="Checkout errors", severity="P1")
    with pytest.raises(UserError, match="`P7` is not a severity level"):
        cmd.parse("declare P7 Checkout errors", severity_names=["P1", "P2"])


# --- other subcommands' errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("sev", "sev", "`sev` needs exactly one level."),
        ("sev SEV1 now", "sev", "`sev` needs exactly one level."),
        ("status", "status", "`status` needs exactly one status."),
        ("status resolved now", "status", "`status` needs exactly one status."),
        ("commander", "commander", "`commander` needs a user, like @alice."),
        ("ic", "commander", "`commander` needs a user, like @alice."),
        ("commander bob", "commander", "`bob` is not a user. Mention someone, like @alice."),
        ("commander @a @b", "commander", "`commander` takes one user, got `@a @b`."),
        ("role", "role", "`role` needs a role name and a user."),
        ("role scribe", "role", "`role` needs a user after the role, like @alice."),
        ("role scribe carol", "role", "`carol` is not a user. Mention someone, like @alice."),
        ("update", "update", "`update` needs the update's text."),
        ("update    ", "update", "`update` needs the update's text."),
        ("note", "note", "`note` needs the note's text."),
        ("task", "task", "`task` needs `add` or `done`."),
        ("task add", "task", "`task add` needs the task's text."),
        ("task add @dave", "task", "`task add` needs the task's text."),
        ("task done", "task", "`task done` needs a task number, like `task done 2`."),
        ("task done x", "task", "`task done` needs a task number, like `task done 2`."),
        ("task done 1 2", "task", "`task done` needs a task number, like `task done 2`."),
        ("task done -1", "task", "`task done` needs a task number, like `task done 2`."),
        ("task done ²", "task", "`task done` needs a task number, like `task done 2`."),
        ("escalate now", "escalate", "`escalate` takes no arguments, got `now`."),
        ("deescalate 2", "deescalate", "`deescalate` takes no arguments, got `2`."),
        ("list all", "list", "`list` takes at most a page number, like `list 2`; got `all`."),
        ("ls 1 2", "list", "`list` takes at most a page number, like `list 2`; got `1 2`."),
        ("list 0", "list", "`list` takes at most a page number, like `list 2`; got `0`."),
        ("tasks open", "tasks", "`tasks` takes at most a page number, like `tasks 2`; got `open`."),
        (
            "timeline " + "9" * 3000,
            "timeline",
            "`timeline` takes at most a page number, like `timeline 2`; got `" + "9" * 99 + "…`.",
        ),
        ("reopen now", "reopen", "`reopen` takes no arguments, got `now`."),
        ("help a b", "help", "`help` takes at most one subcommand."),
    ],
)
def test_syntax_errors_name_the_problem_and_show_usage(text, name, message):
    err = error(text)
    assert err.message == message
    assert err.usage == SPECS[name].usage


def test_task_done_with_an_impossibly_large_number_is_a_syntax_error():
    # Such a number cannot be stored (SQLite and PostgreSQL integers overflow).
    err = error("task done 99999999999999999999")
    assert err.message == "`task done` needs a task number, like `task done 2`."
    assert parse(f"task done {2**31 - 1}") == CompleteTask(number=2**31 - 1)


def test_unknown_task_verb_suggests_add_or_done():
    err = error("task dne 1")
    assert err.message == "`task dne` is not a task command."
    assert err.suggestion == "done"
    assert err.usage == SPECS["task"].usage


def test_unknown_task_verb_without_a_close_match():
    err = error("task frob")
    assert err.message == "`task frob` is not a task command."
    assert err.suggestion == ""
    assert err.usage == SPECS["task"].usage


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("declre SEV1 x", "declare"),
        ("DECLRE x", "declare"),
        ("comander @bob", "commander"),
        ("escalte", "escalate"),
        ("statsu identified", "status"),
        ("timelne", "timeline"),
    ],
)
def test_unknown_subcommand_typo_suggests(text, suggestion):
    err = error(text)
    head = text.split()[0]
    assert err.message == f"`{head}` is not an incident command."
    assert err.suggestion == suggestion
    assert err.usage == "/incident help"


def test_unknown_subcommand_without_a_close_match():
    err = error("frobnicate now")
    assert err.message == "`frobnicate` is not an incident command."
    assert err.suggestion == ""
    assert err.usage == "/incident help"


def test_error_text_shows_message_suggestion_and_usage_in_order():
    text = error("declre x").render_text()
    assert text.splitlines() == [
        "`declre` is not an incident command.",
        "Did you mean `declare`?",
        "Usage: /incident help",
    ]


# --- helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "ok"),
    [
        ("@alice", True),
        ("@first.last", True),
        ("<@U123>", True),
        ("<@!123>", True),
        ("<@U1|alice>", True),
        ("alice", False),
        ("@", False),
        ("<@>", False),
        ("@alice,", False),
    ],
)
def test_is_user_ref(word, ok):
    assert cmd.is_user_ref(word) is ok


def test_needs_incident_only_for_incident_commands():
    assert not cmd.needs_incident(parse("declare x"))
    assert not cmd.needs_incident(parse("list"))
    assert not cmd.needs_incident(parse("help"))
    for text in ("sev 1", "status identified", "note x", "task done 1", "resolve", "reopen"):
        assert cmd.needs_incident(parse(text)), text


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("ic @a", "commander"),
        ("comms @a", "comms"),
        ("role scribe @a", "role"),
        ("task add x", "task"),
        ("task done 1", "task"),
        ("severity 1", "sev"),
        ("downgrade", "deescalate"),
    ],
)
def test_name_of_gives_the_subcommand_for_messages(text, name):
    assert cmd.name_of(parse(text)) == name


def test_every_spec_has_usage_starting_with_its_name():
    for name, spec in SPECS.items():
        assert spec.name == name
        assert spec.usage.startswith(name)
    for alias, target in cmd.ALIASES.items():
        assert target in SPECS, alias


def test_help_spec_accepts_aliases_and_suggests_on_typos():
    assert cmd.help_spec("ic").name == "commander"
    with pytest.raises(UserError) as err:
        cmd.help_spec("declre")
    assert err.value.message == "There is no `declre` subcommand."
    assert err.value.suggestion == "declare"


# --- hostile and edge forms ----------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "number"),
    [
        ("3", 3),
        ("#3", 3),
        ("2147483647", 2**31 - 1),
        ("2147483648", None),
        ("0", None),
        ("-1", None),
        ("²", None),
        ("9" * 5000, None),  # int() would raise past 4,300 digits; it never sees them
        ("", None),
    ],
)
def test_parse_number_takes_only_small_whole_numbers(word, number):
    assert cmd.parse_number(word) == number


def test_text_over_the_cap_is_refused_before_parsing():
    err = error("task done " + "9" * 5000)
    assert err.message == (
        "That command is 5,010 characters long; the limit is 4,000. Nothing was changed."
    )
    assert isinstance(parse("note " + "x" * 3995), AddNote)  # 4,000 exactly is parsed


@pytest.mark.parametrize("space", ["\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\u2028"])
def test_any_unicode_whitespace_separates_words(space):
    assert parse(f"sev{space}SEV1") == SetSeverity(level="SEV1")
    assert parse(f"task{space}add{space}Check{space}@dave") == AddTask(text="Check", owner="@dave")
    assert parse(f"update{space}Rolled back") == PostUpdate(text="Rolled back")


def test_invisible_characters_glued_to_the_subcommand_are_ignored():
    assert parse("\ufeffsev\u200b SEV2") == SetSeverity(level="SEV2")
    assert parse("\u200b") == Help()
    assert error("\u200b sev SEV2").message == "That command starts with invisible characters."


def test_everything_after_a_bare_double_dash_is_title():
    assert parse("declare SEV2 --private -- --force push --drill SEV1") == Declare(
        title="--force push --drill SEV1", severity="SEV2", private=True
    )
    # After `--`, a level-like first word is title too.
    assert parse("declare -- SEV1 outage") == Declare(title="SEV1 outage")
    assert error("declare SEV2 --").message == "`declare` needs a title."


def test_page_numbers():
    assert parse("list 3") == ListIncidents(page=3)
    assert parse("tasks") == ListTasks(page=1)
    assert parse("timeline #2") == ShowTimeline(page=2)
