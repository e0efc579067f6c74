"""The news vocabulary the classifier weighs: one table per question it asks of a story.

News wording is loose ("targeted visit" for a focused visit, "'Adequate' rating" from the old
framework, a joint inspection reported without the word "Ofsted"), so the words live here as
pattern tables compiled once, apart from the rules in classify.py that combine them.

Each pattern carries a `lead` set of first characters, which spares the regex engine trying every
alternative at every position; tests/test_classify.py checks each lead against its alternatives.
"""

from __future__ import annotations

import re

_I = re.I
Q = r"['\"]?"  # an optional quote around a grade: 'inadequate'


def rx(*alternatives: str, lead: str = "", flags: int = _I) -> re.Pattern[str]:
    """One alternation; `lead` lists every character a match can start with (case-blind)."""
    body = "|".join(f"(?:{a})" for a in alternatives)
    return re.compile(f"(?=[{lead}])(?:{body})" if lead else body, flags)


def rx_by_letter(groups: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    """rx for a long, hot family, its alternatives grouped under the letter they start with.

    At each position only one group is tried. Alternatives in different groups cannot match
    at the same position and keep their order within a group, so the matches are exactly
    those of the plain alternation.
    """
    body = "|".join(f"(?={letter})(?:{'|'.join(alts)})" for letter, alts in groups.items())
    return re.compile(f"(?=[{''.join(groups)}])(?:{body})", _I)


# Who inspected. Joint inspections are often reported by their inspectorates ("the joint
# inspectorates of social care, health, police and probation") and area SEND inspections by their
# outcome wording, without the word "Ofsted".
OFSTED = rx_by_letter(
    {
        "o": (r"\bofsted\b", r"\bother inspectorates\b"),
        "h": (r"\b(?:his|her) majesty's inspectors?\b",),
        "j": (
            r"joint targeted area inspection",
            r"\bJTAI\b",
            r"\bjoint (?:area |multi-agency )?inspections?\b",
            r"\bjoint inspectorates\b",
            r"\bjoint watchdogs\b",
        ),
        "f": (r"\bfour (?:inspectorates|watchdogs)\b",),
        "t": (
            r"\bthree (?:inspectorates|watchdogs)\b",
            r"\bthe inspectorates\b",
            r"\btypically lead to positive experiences",
        ),
        "m": (r"\bmulti-agency inspections?\b",),
        "i": (
            r"\binspectors from (?:children's )?social care, health\b",
            r"\binspectors?\b[^.]{0,120}\blocal area partnership",
            r"\binconsistent experiences and outcomes",
            r"\bILACS\b",
        ),
        "s": (
            r"(?-i:SEND) (?:area )?inspection",
            r"(?-i:SEND) (?:re-?visit|monitoring inspection)",
            r"\bsystemic failings\b",
        ),
        "w": (r"\bwritten statement of action",),
        "a": (r"\barea (?-i:SEND) (?:full |re-?)?inspection",),
    }
)
INSPECTOR_VISIT = rx(
    r"\binspectors?\b.{0,200}\b(?:monitoring|focused) visit", lead="i", flags=_I | re.S
)
CHILDRENS_SERVICES = rx_by_letter(
    {
        "c": (
            r"\bchildren's (?:social )?services?\b",
            r"\bchildren's social (?:care|work)",
            r"\bchild protection\b",
            r"\bcare leavers?\b",
            r"\bchildren (?:in care|looked after)\b",
            r"\bchildren's trust\b",
            r"\bchildren,? young people and famil(?:y|ies)\b",
            r"\bchildren and famil(?:y|ies) (?:services?|department|directorate)",
            r"\bchildren and young people's services",
            r"\bcare for (?:vulnerable )?children\b",
            r"\bchildren in need\b",
            r"\bchildren at risk\b",
        ),
        "s": (
            r"\bsocial care for children",
            r"\bservices? for (?:vulnerable )?children\b",
            r"(?-i:SEND) inspection",
            r"\bsocial workers?\b",
            r"\bsafeguarding (?:of )?children\b",
            r"\b(?-i:SEND) (?:services|provision|arrangements|system)\b",
            r"\bspecial educational needs\b",
            r"(?-i:SEND) re-?visit",
        ),
        "h": (r"\bhelp and protection\b",),
        "l": (r"\blooked[- ]after children\b", r"\blocal area partnership"),
        "i": (rf"\binadequate{Q}[- ](?:rated )?councils?\b", r"\bILACS\b"),
        "a": (r"\barea (?-i:SEND)\b",),
        "j": (r"joint targeted area inspection", r"\bJTAIs?\b", r"\bjoint inspection\b"),
        "m": (r"\bmulti-agency (?:response|arrangements|safeguarding|inspections?)\b",),
        "p": (r"\bprotect(?:s|ing|ion of)? (?:vulnerable )?children\b",),
        "f": (r"\bfamil(?:y|ies) services\b",),
        "v": (r"\bvulnerable children\b",),
        "e": (r"\bearly help\b",),
    }
)
# Ofsted's own grade words stand in for "Ofsted" in bare headlines ("… 'require improvement'"),
# unless another inspectorate is named.
OFSTED_GRADES = rx(
    r"\brequir(?:es?|ed|ing) improvement\b",
    r"\binadequate\b",
    r"\b(?:monitoring|focused) visit",
    lead="rimf",
)
# Inspectorates whose grades are not Ofsted's: with one named, a bare grade word is theirs.
OTHER_INSPECTORATE = rx(
    r"\bCQC\b",
    r"Care Quality Commission",
    r"\bEstyn\b",
    r"Care Inspectorate",
    r"\bpolice (?:inspectorate|watchdog)\b",
    r"\binspectorate of (?:constabulary|probation|prisons)\b",
    r"\bHMICF?R?S?\b",
    lead="cepih",
)
SCHOOL = rx(
    r"\bschools?\b",
    r"\bacadem(?:y|ies)\b",
    r"\bpupils?\b",
    r"\bhead ?teachers?\b",
    r"\bteachers?\b",
    r"\bGCSEs?\b",
    r"\bsixth form\b",
    r"\bclassrooms?\b",
    r"\bnursery\b",
    r"\bcolleges?\b",
    r"\blessons\b",
    lead="saphtgcnl",
)
CHILDRENS_HOME = rx(r"\bchildren's homes?\b", r"\bresidential (?:children's )?homes?\b", lead="cr")
AREA_SEND_ONLY = rx(
    r"\barea (?-i:SEND)\b",
    r"(?-i:SEND) inspection",
    r"local area partnership",
    r"systemic failings",
    lead="asl",
)

ORDINAL = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th))"
# Report types whose wording is specific, in priority order for ties at the same position:
# "fourth monitoring visit since …": the ordinals grouped by first letter ("#": a digit).
_ORDINALS_BY_LETTER = (
    ("f", "(?:first|fourth|fifth)"),
    ("s", "(?:second|sixth|seventh)"),
    ("t", "(?:third|tenth)"),
    ("e", "eighth"),
    ("n", "ninth"),
    ("#", r"\d+(?:st|nd|rd|th)"),
)
_SINCE_INADEQUATE = rf".{{0,80}}?(?:judged|rated|found) {Q}inadequate"
# (type, the letters its matches start with, "#" for a digit, alternative). They are grouped by
# first letter (see rx_by_letter), so the leftmost match is the earliest type, ties to the first
# listed.
STRONG_TYPES: tuple[tuple[str, str, str], ...] = (
    ("jtai", "j", r"joint targeted area inspection"),
    ("jtai", "j", r"\bJTAIs?\b"),
    ("jtai", "j", r"joint area child protection"),
    ("jtai", "j", r"\bjoint (?:area |multi-agency )?inspections?\b"),
    ("jtai", "j", r"\bjoint inspectorates\b"),
    ("jtai", "f", r"\bfour inspectorates\b"),
    ("jtai", "t", r"\bthree inspectorates\b"),
    ("jtai", "i", r"\binspectorates (?:of|for) (?:social care|health|police|probation)"),
    ("jtai", "j", r"\bjoint watchdogs\b"),
    ("jtai", "f", r"\bfour watchdogs\b"),
    ("jtai", "t", r"\bthree watchdogs\b"),
    ("jtai", "m", r"\bmulti-agency inspections?\b"),
    ("jtai", "i", r"\binspectors from (?:children's )?social care, health\b"),
    ("area_send", "a", r"\barea (?-i:SEND)\b"),
    ("area_send", "s", r"(?-i:SEND) (?:full |area |monitoring )?(?:re-?)?inspection"),
    ("area_send", "s", r"(?-i:SEND) re-?visit"),
    ("area_send", "l", r"\blocal area partnership"),
    ("area_send", "s", r"\bsystemic failings"),
    ("area_send", "w", r"\bwritten statement of action"),
    ("area_send", "t", r"\btypically lead to positive experiences"),
    ("area_send", "i", r"\binconsistent experiences and outcomes"),
    ("monitoring_visit", "m", r"\bmonitoring (?:visits?|letter)"),
    *(
        ("monitoring_visit", letter, rf"\b{words} (?:visit )?since {_SINCE_INADEQUATE}")
        for letter, words in _ORDINALS_BY_LETTER
    ),
    ("monitoring_visit", "f", r"\bfollow[- ]up visit"),
    ("focused_visit", "f", r"\bfocus(?:s)?ed visits?\b"),
    ("focused_visit", "t", r"\btargeted visits?\b"),
)


def _strong_groups() -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[str]] = {}
    for _, letters, alternative in STRONG_TYPES:
        for letter in letters:
            groups.setdefault(r"\d" if letter == "#" else letter, []).append(alternative)
    return {letter: tuple(alts) for letter, alts in groups.items()}


STRONG_TYPE = rx_by_letter(_strong_groups())
_STRONG_EACH = tuple((name, re.compile(alt, _I)) for name, _, alt in STRONG_TYPES)


def strong_type_name(found: re.Match[str]) -> str:
    """The report type of a STRONG_TYPE match: the first listed alternative matching there."""
    for name, pattern in _STRONG_EACH:
        if pattern.match(found.string, found.start()):
            return name
    raise AssertionError(f"no strong type matches {found.group()!r}")  # pragma: no cover


GRADE = (
    r"(outstanding|(?<!improvement to be )good(?!\s+(?:as|practice|progress|work|news|quality)\b)"
    r"|requir(?:es?|ed|ing) improvement(?: to be good)?|inadequate)"
)
# Result wording: a story that states an outcome is an inspection story even when it never says
# "inspection" ("improves to 'good' as Ofsted finds…", "earns 'outstanding'").
# The bare word: it types a story only when no line has anything more specific.
INSPECTION_WORD = rx(r"\b(?:re-?)?inspections?\b", lead="ri")
_GRADE_WORDS = (  # GRADE's alternatives by first letter
    ("o", "outstanding"),
    ("g", r"(?<!improvement to be )good(?!\s+(?:as|practice|progress|work|news|quality)\b)"),
    ("r", r"requir(?:es?|ed|ing) improvement(?: to be good)?"),
    ("i", "inadequate"),
)


def _by_first_letter(words: str, rest: str) -> list[tuple[str, str]]:
    """`\b(?:w1|w2…){rest}` split into one alternative per first letter of the words."""
    split: dict[str, list[str]] = {}
    for word in words.split("|"):
        split.setdefault(word[0].lower(), []).append(word)
    return [(k, rf"\b(?:{'|'.join(v)}){rest}") for k, v in split.items()]


_INSPECTION_STRONG: list[tuple[str, str]] = [
    ("n", rf"\bno longer {Q}inadequate"),
    ("d", rf"\bditch\w* {Q}inadequate"),
    ("r", rf"\brat(?:es|ed|ing)\b[^.]{{0,40}}?\b{Q}{GRADE}\b"),
    ("j", rf"\bjudg(?:es|ed)\b[^.]{{0,40}}?\b{Q}{GRADE}\b"),
    *((k, rf"\b{w}{Q} (?:ofsted )?(?:rating|grade|judgement)") for k, w in _GRADE_WORDS),
    ("'", r"'adequate['\"]? (?:ofsted )?rating"),
    ('"', r"\"adequate['\"]? (?:ofsted )?rating"),
    ("a", r"adequate['\"]? (?:ofsted )?rating"),
    *_by_first_letter(
        "services?|council|it|they|trust|authority|partnership",
        rf" (?:(?:still|now|also|continues? to) )?{Q}requires? improvement",
    ),
    *_by_first_letter("are|is|was|were|now|still|remains?", rf" (?:now |still )?{Q}{GRADE}\b"),
    ("f", rf"\bfrom {Q}\w+[\w ]*?{Q} to {Q}{GRADE}\b"),
    ("i", r"\bILACS\b"),
    *_by_first_letter(
        "improv|mov|ris|climb|jump|upgrad|downgrad|drop|fall|fell|slip",
        rf"\w* (?:back )?(?:up |down )?to {Q}{GRADE}\b",
    ),
    *_by_first_letter(
        "earn|receiv|achiev|award|retain|keep|kept|secur|gain|given|get|got",
        rf"\w* (?:(?:a|an|its|the|their) )?{Q}{GRADE}\b",
    ),
]


def _grouped(alternatives: list[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[str]] = {}
    for letter, alternative in alternatives:
        groups.setdefault(letter, []).append(alternative)
    return {letter: tuple(alts) for letter, alts in groups.items()}


INSPECTION_STRONG = rx_by_letter(_grouped(_INSPECTION_STRONG))
# Wording that makes an inspection story only when no line has anything more specific.
INSPECTION_WEAK = rx(
    r"\brat(?:es|ed|ing)\b",
    r"\bjudged\b",
    r"overall effectiveness",
    r"graded",
    r"\bofsted (?:finds|found|praises|praised|report|verdict|findings|inspectors?)\b",
    r"\bresponse to (?:the )?ofsted\b",
    lead="rjog",
)
# A grade in a "since" clause is the past the story measures from ("improved since it was judged
# inadequate"), never the story's own type wording or judgement.
HISTORY = rx(
    r"\bsince\s+(?:[\w']+\s+){0,5}?(?:judged|rated|graded|found|was|were|been)\s+"
    rf"(?:[\w']+\s+){{0,2}}?{Q}{GRADE}\b{Q}",
    lead="s",
)

GRADE_IN_CONTEXT = rx(
    r"\b(?:rated|rates|rating|judged|judges|graded|as|are|is|were|was|be|now|still|to|remains?|"
    rf"services?|care|council|trust|partnership|authority|it|they)\s+(?:as\s+)?(?:being\s+)?"
    rf"{Q}{GRADE}\b",
    rf"\b(?:rated|rates|judged|judges|graded)\s+(?:[\w'&]+\s+){{1,5}}?{Q}{GRADE}\b",
    rf"['\"]{GRADE}['\"]",
    rf"\b{GRADE}{Q}\s+(?:overall|rating|grade|judgement|by ofsted|in (?:every|all) (?:areas?|"
    r"judgements?)|across the board)",
    r"overall effectiveness:?\s+" + GRADE,
    r"\b(top|highest|lowest|bottom) (?:possible )?(?:rating|grade|judgement)",
    lead="rjgaiwbntsohlcp'\"",
)
# Wording before a grade that makes it history rather than the news ("no longer inadequate").
GRADE_NEGATED = re.compile(
    r"(?:no longer|from|previously|previous|since|after being|had been|last|formerly|former|"
    r"out of|before|prior|once|ditch\w*)\s+(?:(?!to\b)\w+\s+){0,2}$",
    _I,
)
# Wording after a grade that dates it: "judged inadequate in March 2015", "rated good three
# years ago", "inadequate at its last inspection" are history.
GRADE_DATED = re.compile(
    rf"{Q},?\s+(?:by\s+[Oo]fsted\s+)?(?:(?:in|since|back in)\s+(?:[A-Z][a-z]+\s+)?(?:19|20)\d\d\b"
    r"|(?:two|three|four|five|six|seven|eight|nine|ten|\d+)\s+years\s+ago|last\s+year"
    r"|(?:at|in|during|following)\s+(?:its|their|the)\s+(?:last|previous|earlier)\b"
    r"|when\s+(?:it\s+was\s+|they\s+were\s+)?last\b|back\s+in\b)"
)
ORDINAL_WORDS: tuple[str, ...] = ("first", "second", "third", "fourth", "fifth")
ORDINAL_WORDS += ("sixth", "seventh", "eighth", "ninth", "tenth")
ORDINALS = {word: i + 1 for i, word in enumerate(ORDINAL_WORDS)}
MONITORING_ORDINAL = re.compile(rf"(?=[fsten\d])\b({ORDINAL}) (?:ofsted )?monitoring visit", _I)

# Gate words, lower case: every match of OFSTED, INSPECTOR_VISIT or OFSTED_GRADES contains one
# of OFSTED_WORDS; every match of SCHOOL one of SCHOOL_WORDS; every match of STRONG_TYPE,
# INSPECTION_STRONG or INSPECTION_WEAK one of TYPE_WORDS. Keep them in step with the patterns
# (a property test checks).
OFSTED_WORDS: tuple[str, ...] = (
    "ofsted",
    "majesty",
    "inspect",
    "jtai",
    "improvement",
    "inadequate",
    "visit",
)
OFSTED_WORDS += ("systemic", "watchdogs", "typically lead", "inconsistent experiences")
OFSTED_WORDS += ("written statement", "ilacs")
SCHOOL_WORDS: tuple[str, ...] = ("school", "academ", "pupil", "teacher", "gcse", "sixth form")
SCHOOL_WORDS += ("classroom", "nursery", "college", "lessons")
TYPE_WORDS = (
    *("joint", "jtai", "send", "monitoring", "since", "follow", "visit", "ofsted"),
    *("improvement", "inspect", "adequate", "rates", "rated", "rating", "judged"),
    *("outstanding", "good", "ilacs", "overall effectiveness", "graded", "partnership"),
    *("systemic", "watchdogs", "typically lead", "inconsistent experiences", "written statement"),
)
