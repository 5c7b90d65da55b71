"""Unit tests for the pure rules in bot/domain: no database, no chat platform."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import status as lifecycle
from bot.domain.durations import (
    MAX_DURATION,
    DurationTooLong,
    KeyTimes,
    humanize,
    parse_duration,
)
from bot.domain.naming import MAX_CHANNEL_NAME, channel_name, slugify, with_suffix
from bot.domain.severity import DEFAULT_LEVELS, SeverityMatrix, SeverityScale
from bot.domain.status import Status
from bot.domain.suggest import closest
from bot.domain.text import has_visible, strip_edges
from bot.errors import UserError, bounded
from bot.limits import MAX_REPLY, fit_reply, shorten
from bot.markup import mention
from bot.port import Button, Field, RichMessage


@pytest.fixture
def scale() -> SeverityScale:
    return SeverityScale.parse(DEFAULT_LEVELS)


# --- severity scale -------------------------------------------------------------------


def test_parse_keeps_order_names_labels_and_ranks(scale):
    assert scale.names == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert [s.label for s in scale.levels] == ["critical", "high", "moderate", "low"]
    assert [s.rank for s in scale.levels] == [0, 1, 2, 3]
    assert scale.usage == "SEV1 | SEV2 | SEV3 | SEV4"


def test_parse_label_defaults_to_name_and_whitespace_is_ignored():
    custom = SeverityScale.parse(" P1 , P2:major ,, P3 ")
    assert custom.names == ["P1", "P2", "P3"]
    assert [s.label for s in custom.levels] == ["P1", "major", "P3"]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("", "at least one"),
        (" , ,", "at least one"),
        (":critical", "expected NAME"),
        ("SEV 1:critical", "expected NAME"),
        ("SEV1,sev1", "listed twice"),
    ],
)
def test_parse_rejects_bad_specs(spec, reason):
    with pytest.raises(ValueError, match=reason):
        SeverityScale.parse(spec)


def test_get_is_case_insensitive_and_strips(scale):
    assert scale.get("sev2").name == "SEV2"
    assert scale.get("  Sev1 ").name == "SEV1"


@pytest.mark.parametrize(("typed", "name"), [("1", "SEV1"), ("2", "SEV2"), ("4", "SEV4")])
def test_bare_number_means_the_level_ending_in_it(scale, typed, name):
    assert scale.get(typed).name == name


def test_bare_number_only_matches_whole_trailing_digits():
    custom = SeverityScale.parse("SEV1,SEV12,critical")
    assert custom.get("12").name == "SEV12"
    assert custom.get("1").name == "SEV1"
    assert custom.find("2") is None
    assert SeverityScale.parse("critical,major").find("1") is None


def test_get_unknown_level_says_so_with_usage_and_suggestion(scale):
    with pytest.raises(UserError) as err:
        scale.get("SEVV2")
    assert "`SEVV2` is not a severity level" in err.value.message
    assert err.value.usage == "SEV1 | SEV2 | SEV3 | SEV4"
    assert err.value.suggestion == "SEV2"


def test_get_out_of_range_number_and_nonsense_have_no_wild_suggestion(scale):
    with pytest.raises(UserError) as err:
        scale.get("9")
    assert err.value.suggestion == ""
    with pytest.raises(UserError) as err:
        scale.get("banana")
    assert err.value.suggestion == ""
    assert scale.find("SEV9") is None
    with pytest.raises(UserError) as err:
        scale.get("SEV9")
    assert err.value.suggestion in scale.names


def test_escalate_and_deescalate_move_one_step(scale):
    assert scale.escalate("SEV3").name == "SEV2"
    assert scale.escalate("sev2").name == "SEV1"
    assert scale.deescalate("SEV1").name == "SEV2"
    assert scale.deescalate("SEV3").name == "SEV4"


def test_escalate_at_the_top_and_deescalate_at_the_bottom_raise(scale):
    with pytest.raises(UserError, match="SEV1 is already the highest severity"):
        scale.escalate("SEV1")
    with pytest.raises(UserError, match="SEV4 is already the lowest severity"):
        scale.deescalate("SEV4")


def test_escalate_an_unknown_level_raises(scale):
    with pytest.raises(UserError, match="not a severity level"):
        scale.escalate("SEV7")


def test_single_level_scale_cannot_move():
    only = SeverityScale.parse("ONLY")
    assert only.default().name == "ONLY"
    with pytest.raises(UserError):
        only.escalate("ONLY")
    with pytest.raises(UserError):
        only.deescalate("ONLY")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (DEFAULT_LEVELS, "SEV3"),
        ("A,B", "B"),
        ("A,B,C", "B"),
        ("A,B,C,D,E", "C"),
        ("A,B,C,D,E,F", "D"),
    ],
)
def test_default_is_the_middle_leaning_less_severe(spec, expected):
    assert SeverityScale.parse(spec).default().name == expected


def test_colours_run_from_red_and_stay_defined_for_long_scales():
    long = SeverityScale.parse(",".join(f"L{i}" for i in range(10)))
    assert long.levels[0].colour == "#d92d20"
    assert long.levels[9].colour == long.levels[5].colour
    assert len({s.colour for s in long.levels[:6]}) == 6


# --- impact x urgency matrix ----------------------------------------------------------


@pytest.fixture
def matrix() -> SeverityMatrix:
    return SeverityMatrix(
        impacts=["high", "medium", "low"],
        urgencies=["high", "medium", "low"],
        cells={
            "high": {"high": "SEV1", "medium": "SEV1", "low": "SEV2"},
            "medium": {"high": "SEV2", "medium": "SEV2", "low": "SEV3"},
            "low": {"high": "SEV3", "medium": "SEV4", "low": "SEV4"},
        },
    )


@pytest.mark.parametrize(
    ("impact", "urgency", "level"),
    [
        ("high", "high", "SEV1"),
        ("high", "low", "SEV2"),
        ("medium", "low", "SEV3"),
        ("low", "medium", "SEV4"),
        (" HIGH ", "Medium", "SEV1"),
    ],
)
def test_matrix_lookup(matrix, impact, urgency, level):
    assert matrix.lookup(impact=impact, urgency=urgency) == level


def test_matrix_bad_impact_names_the_levels_and_suggests(matrix):
    with pytest.raises(UserError) as err:
        matrix.lookup(impact="medum", urgency="high")
    assert "`medum` is not an impact level" in err.value.message
    assert err.value.usage == "high | medium | low"
    assert err.value.suggestion == "medium"


def test_matrix_bad_urgency_names_the_levels_and_suggests(matrix):
    with pytest.raises(UserError) as err:
        matrix.lookup(impact="high", urgency="hihg")
    assert "`hihg` is not an urgency level" in err.value.message
    assert err.value.usage == "high | medium | low"
    assert err.value.suggestion == "high"


def test_matrix_nonsense_has_no_suggestion(matrix):
    with pytest.raises(UserError) as err:
        matrix.lookup(impact="catastrophic", urgency="high")
    assert err.value.suggestion == ""


# --- status lifecycle -----------------------------------------------------------------

INV, IDE, MON, RES, CLO = list(Status)  # the lifecycle's order
NEXT = {INV: {IDE, MON, RES}, IDE: {INV, MON, RES}, MON: {INV, IDE, RES}, RES: {CLO, INV}}
ALLOWED = {(current, target) for current, targets in NEXT.items() for target in targets}
DISALLOWED = [
    pair for pair in itertools.product(Status, Status) if pair not in ALLOWED and pair[0] != pair[1]
]


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_every_allowed_transition_passes(current, target):
    lifecycle.check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), DISALLOWED)
def test_every_other_transition_is_refused_with_the_next_options(current, target):
    with pytest.raises(UserError) as err:
        lifecycle.check_transition(current, target)
    message = err.value.message
    assert f"Can't move from {current.value} to {target.value}" in message
    for nxt in NEXT.get(current, set()):
        assert nxt.value in message.split("can be", 1)[1]


def test_disallowed_examples_are_covered():
    examples = {(INV, CLO), (IDE, CLO), (MON, CLO), (RES, IDE), (RES, MON), (CLO, INV)}
    assert examples | {(CLO, RES)} <= set(DISALLOWED)


@pytest.mark.parametrize("state", list(Status))
def test_same_state_is_refused(state):
    with pytest.raises(UserError, match=f"already {state.value}"):
        lifecycle.check_transition(state, state)


def test_closed_is_final():
    for target in (INV, IDE, MON, RES):
        with pytest.raises(UserError) as err:
            lifecycle.check_transition(CLO, target)
        assert "can be nothing" in err.value.message
        assert "closed incident is final" in err.value.message


def test_resolved_can_reopen_and_hints_reopen_otherwise():
    lifecycle.check_transition(RES, INV)
    with pytest.raises(UserError, match="Use `reopen`"):
        lifecycle.check_transition(RES, IDE)


def test_is_open_is_true_only_for_active_states():
    assert (INV.value, CLO.value) == ("investigating", "closed")
    assert [s for s in Status if s.is_open] == [INV, IDE, MON]


def test_parse_status_is_case_insensitive():
    assert lifecycle.parse(" Identified ") is IDE


def test_parse_status_typo_suggests_and_lists_all_states():
    with pytest.raises(UserError) as err:
        lifecycle.parse("resolvd")
    assert err.value.suggestion == "resolved"
    assert err.value.usage == "investigating | identified | monitoring | resolved | closed"


def test_parse_unknown_status_has_usage_but_no_wild_guess():
    with pytest.raises(UserError) as err:
        lifecycle.parse("done")
    assert "`done` is not a status" in err.value.message
    assert err.value.suggestion == ""


# --- durations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("2d", timedelta(days=2)),
        (" 1H ", timedelta(hours=1)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["none", "off", "never", "-", "NONE"])
def test_parse_duration_off_words_mean_none(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("text", ["", "  ", "abc", "15", "15x", "m", "1h-", "h1", "1.5h"])
def test_parse_duration_rejects_non_durations(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0m", "0h0s"])
def test_parse_duration_rejects_zero(text):
    with pytest.raises(ValueError, match="longer than zero"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (None, "—"),
        (timedelta(0), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=1), "1m"),
        (timedelta(minutes=1, seconds=59), "1m"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=1, minutes=30), "1h 30m"),
        (timedelta(days=1), "1d"),
        (timedelta(days=1, minutes=5), "1d 5m"),
        (timedelta(days=2, hours=3, minutes=4), "2d 3h 4m"),
    ],
)
def test_humanize(delta, text):
    assert humanize(delta) == text


@pytest.mark.parametrize("text", ["9" * 16000, "1h" * 40, "9" * 33, "1" * 31 + "x"])
def test_parse_duration_refuses_long_text_at_once_and_says_little_of_it(text):
    with pytest.raises(ValueError, match="is not a duration") as err:
        parse_duration(text)
    assert len(str(err.value)) < 100


@pytest.mark.parametrize("text", ["1000000000d", "9" * 31 + "d", "367d", "9000h"])
def test_parse_duration_refuses_a_duration_past_the_limit_without_overflow(text):
    with pytest.raises(DurationTooLong, match="longer than 366d"):
        parse_duration(text)
    assert parse_duration("366d") == MAX_DURATION


def test_humanize_round_trips_parse_duration():
    for text in ("15m", "1h 30m", "2d 3h 4m"):
        assert humanize(parse_duration(text)) == text


def test_key_times_are_measured_from_the_declaration():
    t0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    times = KeyTimes(
        declared=t0,
        acknowledged=t0 + timedelta(minutes=5),
        mitigated=t0 + timedelta(minutes=20),
        resolved=None,
    )
    assert times.time_to_acknowledge == timedelta(minutes=5)
    assert times.time_to_mitigate == timedelta(minutes=20)
    assert times.time_to_resolve is None


# --- channel naming -------------------------------------------------------------------


def test_slugify_lowercases_and_collapses_punctuation():
    assert slugify("Checkout Errors: EU/US!!") == "checkout-errors-eu-us"
    assert slugify("  --Café  down-- ") == "cafe-down"


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("שרת נפל", "srt-nfl"),
        ("🔥🔥", "fire-fire"),
        ("数据库宕机", "shujukudangji"),
        ("Сервер упал", "server-upal"),
        ("Δίκτυο πέσε", "diktyo-pese"),
        ("\u200b\u202e", ""),
    ],
)
def test_slugify_transliterates_other_scripts(title, slug):
    assert slugify(title) == slug


def test_channel_name_from_template():
    name = channel_name("inc-{number}-{slug}", number=7, title="Checkout errors", severity="SEV2")
    assert name == "inc-7-checkout-errors"


def test_channel_name_is_lowercase_even_from_the_template_and_severity():
    name = channel_name("INC_{severity}_{number}-{slug}", number=3, title="DB", severity="SEV1")
    assert name == "inc-sev1-3-db"


def test_channel_name_without_a_usable_title_falls_back():
    assert channel_name("inc-{number}-{slug}", number=2, title="!!!", severity="SEV3") == (
        "inc-2-incident"
    )


def test_channel_name_is_capped_at_80_without_a_trailing_dash():
    title = "word " * 40
    name = channel_name("inc-{number}-{slug}", number=123, title=title, severity="SEV1")
    assert len(name) <= MAX_CHANNEL_NAME == 80
    assert name.startswith("inc-123-word-word")
    assert not name.endswith("-")
    assert name == name.lower()


def test_channel_name_cut_lands_on_a_dash_is_trimmed():
    # "inc-1-" is 6 chars; 73 a's then "-b" puts a dash at position 80.
    name = channel_name("inc-{number}-{slug}", number=1, title="a" * 73 + " b", severity="S")
    assert name == "inc-1-" + "a" * 73
    assert len(name) == 79


def test_with_suffix_numbers_retries_from_two():
    assert with_suffix("inc-1-db", 1) == "inc-1-db-2"
    assert with_suffix("inc-1-db", 9) == "inc-1-db-10"


@pytest.mark.parametrize("attempt", [1, 9, 99])
def test_with_suffix_keeps_a_full_length_name_within_80(attempt):
    base = channel_name("inc-{number}-{slug}", number=1, title="x" * 200, severity="SEV1")
    assert len(base) == 80
    name = with_suffix(base, attempt)
    assert len(name) <= 80
    assert name.endswith(f"-{attempt + 1}")
    assert name != base


def test_with_suffix_does_not_leave_a_double_dash():
    base = "inc-1-" + "a" * 71 + "-bc"  # 80 chars; cutting to 78 would end on the dash
    assert len(base) == 80
    assert with_suffix(base, 1) == "inc-1-" + "a" * 71 + "-2"


# --- suggestions ----------------------------------------------------------------------


def test_closest_keeps_the_original_spelling_and_gives_up_on_nonsense():
    assert closest("scrib", ["commander", "Scribe"]) == "Scribe"
    assert closest("zzz", ["commander", "scribe"]) == ""
    assert closest("x", []) == ""


# --- visible text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["\u200b", "\u200b\u200c\u200d\u2060", "\u202e\u202a\u2066\u2069", "\ufeff", "\u3164\u115f",
     "\u2800", " \u00a0\t", "\u0301\u034f", "\U000e0041"],
)  # fmt: skip
def test_text_of_only_invisible_characters_has_nothing_visible(text):
    assert not has_visible(text)


@pytest.mark.parametrize("text", ["a", "\u200bx\u200b", "🔥", "שרת", "\ufffd", "\ue000"])
def test_any_visible_character_counts(text):
    assert has_visible(text)


def test_strip_edges_drops_whitespace_and_format_characters_at_the_ends_only():
    assert strip_edges("\ufeff\u200b sev\u200b\n") == "sev"
    assert strip_edges("a\u200bb") == "a\u200bb"


# --- limits ---------------------------------------------------------------------------


def test_shorten_never_splits_a_mention_token():
    text = "ab" + mention("U123") + "cd"
    assert shorten(text, 100) == text
    assert shorten(text, 6) == "ab…"
    assert shorten("x" * 10, 5) == "xxxx…"


def test_fit_reply_bounds_every_part_and_keeps_short_replies_as_they_are():
    short = RichMessage(text="hello", header="h")
    assert fit_reply(short) is short
    huge = RichMessage(
        header="h" * 5000,
        text="t" * 50_000,
        fields=tuple(Field("f" * 500, "v" * 5000) for _ in range(30)),
        buttons=tuple(Button("b" * 500, "a") for _ in range(30)),
        context="c" * 5000,
    )
    fitted = fit_reply(huge)
    assert len(fitted.plain()) <= MAX_REPLY
    assert fitted.text.startswith("t" * 100) and fitted.text.endswith("…")


def test_errors_quote_at_most_a_hundred_characters_of_any_piece_of_input():
    err = UserError(f"`{'x' * 5000}` is not a user.", usage="u" * 2000, suggestion="s" * 500)
    assert err.message == f"`{'x' * 99}…` is not a user."
    assert len(err.usage) <= 600 and len(err.suggestion) <= 100
    assert bounded("`" + "y" * 2000).count("`") % 2 == 0  # no code span left open
