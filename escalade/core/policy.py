"""The escalation procedure as data: parsed from TOML text, validated, frozen.

Every validation error names the field's path (`priorities.high.escalation_thresholds[1]`) and says
what is wrong in French, because the people who edit a policy file read French.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
import phonenumbers

from escalade.core.calendar import (
    TWENTY_FOUR_SEVEN,
    WEEKDAYS,
    BusinessCalendar,
    Clock,
    OpeningRange,
    TwentyFourSeven,
    parse_range,
)
from escalade.core.words import _

ALL_TRACKS = "all"


@dataclass(frozen=True)
class PolicyIssue:
    path: str
    message: str

    def __str__(self) -> str:
        return _("{path} : {message}").format(path=self.path, message=self.message)


class PolicyError(ValueError):
    """A policy that cannot be used; `issues` lists every problem found, not just the first."""

    def __init__(self, issues: Sequence[PolicyIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


@dataclass(frozen=True)
class CommitmentRule:
    target: timedelta
    clock: str
    requires_gtr: bool = False


@dataclass(frozen=True)
class PriorityRule:
    key: str
    label: str
    meaning: str
    description: str
    escalable: bool
    take_charge: CommitmentRule
    resolution: CommitmentRule | None
    thresholds: tuple[timedelta, ...]  # one per level, increasing

    def threshold(self, level: int) -> timedelta:
        return self.thresholds[level - 1]


@dataclass(frozen=True)
class Track:
    key: str
    label: str
    phone: str  # E.164
    default: bool = False


@dataclass(frozen=True)
class Contact:
    level: int
    track: str  # a track key, or "all"
    name: str
    role: str
    phones: tuple[str, ...]  # E.164
    email: str
    team: str = ""
    apprise_urls: tuple[str, ...] = ()
    language: str = ""  # of the alerts they receive; "" is the product's default (French)

    def serves(self, track: str) -> bool:
        return self.track in (ALL_TRACKS, track)


@dataclass(frozen=True)
class NotificationRules:
    inform_lower_levels: bool = True
    warning_lead_24_7: timedelta = timedelta(minutes=15)
    warning_lead_business: timedelta = timedelta(hours=1)
    warning_recipients: tuple[str, ...] = ("level1",)
    breach_recipients: tuple[str, ...] = ("level1",)
    level_available_recipients: tuple[str, ...] = ("level1",)
    auto_escalate: bool = False
    ack_reminder_after: timedelta = timedelta(minutes=15)
    ack_reminder_max: int = 3


# The languages of the catalogue (settings.LANGUAGES, kept in step by a test): a contact's alerts.
LANGUAGES = ("fr", "en")

# The procedure's sections an interpretation can be attached to (core/render.py writes them).
PROCEDURE_SECTIONS = ("principle", "classification", "thresholds", "contacts")


@dataclass(frozen=True)
class Interpretation:
    """A choice the provider's document leaves open, shown as such in the procedure's section: the
    policy's own words, with optional translations ({"en": "…"})."""

    section: str
    text: str
    translations: Mapping[str, str] = field(default_factory=dict)

    def text_in(self, language: str | None) -> str:
        return self.translations.get(language or "", self.text)


@dataclass(frozen=True)
class Policy:
    organisation: str
    timezone: ZoneInfo
    phone_region: str
    request_number_pattern: re.Pattern[str]
    request_number_example: str
    calendars: Mapping[str, BusinessCalendar]
    priorities: Mapping[str, PriorityRule]
    tracks: Mapping[str, Track]
    contacts: tuple[Contact, ...]
    notifications: NotificationRules = field(default_factory=NotificationRules)
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # The escalation levels, 1 to N: N is the number of thresholds of the escalable priorities.
    levels: tuple[int, ...] = ()
    # Numbers Escalade gives to the incidents customers and partners declare: prefix + sequence.
    declared_request_number_prefix: str = "DECL-"
    interpretations: tuple[Interpretation, ...] = ()

    def declared_request_number(self, sequence: int) -> str:
        return f"{self.declared_request_number_prefix}{sequence:06d}"

    def clock(self, name: str) -> Clock:
        if name == TWENTY_FOUR_SEVEN:
            return _TWENTY_FOUR_SEVEN
        return self.calendars[name]

    @cached_property
    def default_track(self) -> str:
        return next(t.key for t in self.tracks.values() if t.default)

    @cached_property
    def escalable_labels(self) -> tuple[str, ...]:
        """Labels of the priorities that can be escalated, in the policy's order."""
        return tuple(p.label for p in self.priorities.values() if p.escalable)

    @cached_property
    def _contacts_by_level_track(self) -> dict[tuple[int, str], tuple[Contact, ...]]:
        return {}

    def contacts_for(self, level: int, track: str) -> tuple[Contact, ...]:
        index = self._contacts_by_level_track
        found = index.get((level, track))
        if found is None:
            found = tuple(c for c in self.contacts if c.level == level and c.serves(track))
            if len(index) < 1024:  # levels × tracks in practice; bounded whatever callers ask
                index[(level, track)] = found
        return found

    def urgency_rank(self, priority: str) -> int:
        """0 for the most urgent priority: the procedure's own measure of urgency is the take-charge
        target (30 mn before 2 h before 4 h); equal targets keep the policy's order."""
        ordered = sorted(self.priorities, key=lambda key: self.priorities[key].take_charge.target)
        return ordered.index(priority) if priority in ordered else len(ordered)

    def is_request_number(self, text: str) -> bool:
        return self.request_number_pattern.fullmatch(text) is not None


_TWENTY_FOUR_SEVEN = TwentyFourSeven()

# The shapes helpdesks give their tickets, for a policy that does not narrow them (SPEC §3): digits
# alone (GLPI, Zammad, Request Tracker), a prefix and a dash (iTop I-000123, Jira SUP-123,
# REQ-1042), letters glued to at least four digits (ServiceNow INC0010001). Case is the caller's:
# entry upper-cases what people type.
DEFAULT_REQUEST_NUMBER_PATTERN = r"^(?:[0-9]{1,12}|[A-Z][A-Z0-9]{0,9}-[0-9]{1,12}|[A-Z]{2,5}[0-9]{4,12})$"

_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*min)?\s*(?:(\d+)\s*s)?\s*$")


def parse_duration(value: object) -> timedelta:
    """'30min', '4h', '1h30min', '2d', or a whole number of minutes."""
    if isinstance(value, bool):
        raise ValueError(_("durée invalide"))
    if isinstance(value, int):
        if value < 0:
            raise ValueError(_("une durée ne peut pas être négative"))
        return timedelta(minutes=value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("durée invalide « {value} » (exemples : 30min, 4h, 1h30min)").format(value=value))
    match = _DURATION.fullmatch(value)
    if match is None or not any(match.groups()):
        raise ValueError(_("durée invalide « {value} » (exemples : 30min, 4h, 1h30min)").format(value=value))
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=d, hours=h, minutes=m, seconds=s)


class _Reader:
    """Walks the raw TOML mapping, collecting issues with their paths instead of stopping."""

    def __init__(self) -> None:
        self.issues: list[PolicyIssue] = []

    def fail(self, path: str, message: str) -> None:
        self.issues.append(PolicyIssue(path, message))

    def table(self, raw: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = raw.get(key)
        if not isinstance(value, Mapping):
            self.fail(_join(path, key), _("section manquante ou invalide"))
            return {}
        return value

    def text(self, raw: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
        value = raw.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            self.fail(_join(path, key), _("texte obligatoire"))
            return ""
        return value

    def flag(self, raw: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.fail(_join(path, key), _("attendu true ou false"))
            return default
        return value

    def duration(self, raw: Mapping[str, Any], key: str, path: str, default: timedelta) -> timedelta:
        if key not in raw:
            return default
        try:
            return parse_duration(raw[key])
        except ValueError as exc:
            self.fail(_join(path, key), str(exc))
            return default

    def phone(self, value: object, path: str, region: str) -> str:
        try:
            number = phonenumbers.parse(str(value), region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            self.fail(path, _("numéro de téléphone invalide « {value} »").format(value=value))
            return ""
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def policy_from_toml(text: str) -> Policy:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError([PolicyIssue("(fichier)", f"TOML illisible : {exc}")]) from exc
    return policy_from_mapping(raw)


def policy_from_mapping(raw: Mapping[str, Any]) -> Policy:
    r = _Reader()
    org = r.table(raw, "organisation", "")
    name = r.text(org, "name", "organisation")
    tz_name = r.text(org, "timezone", "organisation")
    try:
        tz = ZoneInfo(tz_name) if tz_name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        r.fail("organisation.timezone", _("fuseau horaire inconnu « {name} »").format(name=tz_name))
        tz = ZoneInfo("UTC")
    region = r.text(org, "phone_region", "organisation", default="FR")
    pattern_text = r.text(org, "request_number_pattern", "organisation", default=DEFAULT_REQUEST_NUMBER_PATTERN)
    try:
        pattern = re.compile(pattern_text or DEFAULT_REQUEST_NUMBER_PATTERN)
    except re.error as exc:
        r.fail("organisation.request_number_pattern", _("expression régulière invalide : {error}").format(error=exc))
        pattern = re.compile(DEFAULT_REQUEST_NUMBER_PATTERN)
    example = r.text(org, "request_number_example", "organisation", default="")
    if example and pattern.fullmatch(example) is None:
        r.fail("organisation.request_number_example", _("l'exemple ne respecte pas le format"))
    declared_prefix = r.text(org, "declared_request_number_prefix", "organisation", default="DECL-")
    if pattern.fullmatch(f"{declared_prefix}000001") is None:
        r.fail("organisation.declared_request_number_prefix",
               _("« {number} » ne respecte pas le format des numéros de requête").format(number=f"{declared_prefix}000001"))

    calendars = _read_calendars(r, r.table(raw, "calendars", ""), tz)
    clocks = {TWENTY_FOUR_SEVEN, *calendars}
    priorities = _read_priorities(r, r.table(raw, "priorities", ""), clocks)
    levels = _levels_of(r, priorities)
    tracks = _read_tracks(r, r.table(raw, "tracks", ""), region)
    contacts = _read_contacts(r, raw.get("contacts"), tracks, region, levels)
    notifications = _read_notifications(r, raw.get("notifications", {}), levels)
    interpretations = _read_interpretations(r, raw.get("interpretations", []))
    if r.issues:
        raise PolicyError(r.issues)
    return Policy(
        organisation=name,
        timezone=tz,
        phone_region=region,
        request_number_pattern=pattern,
        request_number_example=example,
        calendars=calendars,
        priorities=priorities,
        tracks=tracks,
        contacts=contacts,
        notifications=notifications,
        source=raw,
        levels=levels,
        declared_request_number_prefix=declared_prefix,
        interpretations=interpretations,
    )


def _levels_of(r: _Reader, priorities: Mapping[str, PriorityRule]) -> tuple[int, ...]:
    """Every escalable priority opens the same levels, one per threshold (the shipped policy: three)."""
    counts = {len(p.thresholds) for p in priorities.values() if p.escalable}
    if len(counts) > 1:
        r.fail("priorities", _("les priorités escaladables doivent avoir le même nombre de seuils (un par niveau)"))
    return tuple(range(1, max(counts, default=0) + 1))


def _read_ranges(r: _Reader, value: object, path: str) -> tuple[OpeningRange, ...]:
    if not isinstance(value, list):
        r.fail(path, _("liste de plages attendue, par exemple [\"09:00-18:00\"]"))
        return ()
    ranges: list[OpeningRange] = []
    for i, item in enumerate(value):
        try:
            ranges.append(parse_range(str(item)))
        except ValueError as exc:
            r.fail(_join(path, i), str(exc))
    ordered = sorted(ranges, key=lambda o: o.start)
    for before, after in itertools.pairwise(ordered):
        if before.end is None or before.end > after.start:
            r.fail(path, _("les plages d'une même journée se chevauchent"))
            return ()
    return tuple(ordered)


def _read_dates(r: _Reader, value: object, path: str) -> list[tuple[int, date]]:
    out: list[tuple[int, date]] = []
    for i, item in enumerate(value if isinstance(value, list) else []):
        raw_date = item.get("date") if isinstance(item, Mapping) else item
        try:
            out.append((i, raw_date if isinstance(raw_date, date) else date.fromisoformat(str(raw_date))))
        except (TypeError, ValueError):
            r.fail(_join(path, i), _("date invalide « {value} » (attendu AAAA-MM-JJ)").format(value=raw_date))
    if value is not None and not isinstance(value, list):
        r.fail(path, _("liste de dates attendue"))
    return out


def _read_calendars(
    r: _Reader, raw: Mapping[str, Any], tz: ZoneInfo
) -> dict[str, BusinessCalendar]:
    calendars: dict[str, BusinessCalendar] = {}
    for key, spec in raw.items():
        path = f"calendars.{key}"
        if key == TWENTY_FOUR_SEVEN:
            r.fail(path, _("« 24/7 » est réservé à l'horloge continue"))
            continue
        if not isinstance(spec, Mapping):
            r.fail(path, _("section invalide"))
            continue
        hours = r.table(spec, "hours", path)
        weekly: dict[int, tuple[OpeningRange, ...]] = {}
        for index, day in enumerate(WEEKDAYS):
            weekly[index] = _read_ranges(r, hours.get(day, []), f"{path}.hours.{day}")
        for extra in set(hours) - set(WEEKDAYS):
            r.fail(f"{path}.hours.{extra}", _("jour inconnu (mon, tue, wed, thu, fri, sat, sun)"))
        country = spec.get("country") or None
        subdivision = spec.get("subdivision") or None
        if country is not None and not isinstance(country, str):
            r.fail(f"{path}.country", _("code de pays attendu (ex. « FR »)"))
            country = None
        if subdivision is not None and not isinstance(subdivision, str):
            r.fail(f"{path}.subdivision", _("code de subdivision attendu (ex. « 75 »)"))
            subdivision = None
        if country is not None:
            # Checked for no year in particular: the tables are built per year when counted.
            try:
                holidays_lib.country_holidays(country, years=[])
            except NotImplementedError:
                r.fail(f"{path}.country", _("pays inconnu pour les jours fériés « {country} »").format(country=country))
            else:
                try:
                    holidays_lib.country_holidays(country, subdiv=subdivision, years=[])
                except (NotImplementedError, ValueError):
                    r.fail(f"{path}.subdivision", _("subdivision inconnue « {subdivision} »").format(subdivision=subdivision))
        closed = frozenset(d for _, d in _read_dates(r, spec.get("closed_dates", []), path + ".closed_dates"))
        open_dates: dict[date, tuple[OpeningRange, ...]] = {}
        raw_open = spec.get("open_dates", [])
        for i, open_day in _read_dates(r, raw_open, path + ".open_dates"):
            item = raw_open[i]
            ranges = item.get("hours") if isinstance(item, Mapping) else None
            if ranges is None:
                r.fail(_join(path + ".open_dates", i), _("indiquer les plages : date et hours"))
                continue
            open_dates[open_day] = _read_ranges(r, ranges, _join(path + ".open_dates", i) + ".hours")
        if not any(weekly.values()):
            r.fail(f"{path}.hours", _("le calendrier n'ouvre aucun jour de la semaine"))
        calendars[key] = BusinessCalendar(
            name=key,
            tz=tz,
            weekly=weekly,
            country=country,
            subdivision=subdivision,
            closed_dates=closed,
            open_dates=open_dates,
            label=str(spec.get("label", key)),
        )
    return calendars


def _read_commitment(
    r: _Reader, spec: object, path: str, clocks: set[str]
) -> CommitmentRule | None:
    if not isinstance(spec, Mapping):
        r.fail(path, _("engagement attendu : target et clock, par exemple target = \"4h\", clock = \"24/7\""))
        return None
    try:
        target = parse_duration(spec.get("target"))
    except ValueError as exc:
        r.fail(path + ".target", str(exc))
        return None
    if target <= timedelta(0):
        r.fail(path + ".target", _("le délai doit être positif"))
    clock = spec.get("clock")
    if clock not in clocks:
        known = ", ".join(sorted(clocks))
        r.fail(path + ".clock", _("horloge inconnue « {clock} » (connues : {known})").format(clock=clock, known=known))
        return None
    return CommitmentRule(target, str(clock), r.flag(spec, "requires_gtr", path, False))


def _read_priorities(
    r: _Reader, raw: Mapping[str, Any], clocks: set[str]
) -> dict[str, PriorityRule]:
    priorities: dict[str, PriorityRule] = {}
    if not raw:
        r.fail("priorities", _("aucune priorité définie"))
    for key, spec in raw.items():
        path = f"priorities.{key}"
        if not isinstance(spec, Mapping):
            r.fail(path, _("section invalide"))
            continue
        escalable = r.flag(spec, "escalable", path, False)
        take_charge = _read_commitment(r, spec.get("take_charge"), path + ".take_charge", clocks)
        resolution = None
        if spec.get("resolution") is not None:
            resolution = _read_commitment(r, spec["resolution"], path + ".resolution", clocks)
        thresholds: list[timedelta] = []
        raw_thresholds = spec.get("escalation_thresholds", [])
        if escalable and (not isinstance(raw_thresholds, list) or not raw_thresholds):
            r.fail(path + ".escalation_thresholds", _("au moins un seuil attendu (un par niveau d'escalade)"))
        for i, value in enumerate(raw_thresholds if isinstance(raw_thresholds, list) else []):
            try:
                thresholds.append(parse_duration(value))
            except ValueError as exc:
                r.fail(_join(path + ".escalation_thresholds", i), str(exc))
        for i in range(1, len(thresholds)):
            if thresholds[i] <= thresholds[i - 1]:
                r.fail(
                    _join(path + ".escalation_thresholds", i),
                    _("les seuils doivent croître strictement d'un niveau au suivant"),
                )
        if take_charge is None:
            continue
        priorities[key] = PriorityRule(
            key=key,
            label=r.text(spec, "label", path),
            meaning=str(spec.get("meaning", "")),
            description=str(spec.get("description", "")),
            escalable=escalable,
            take_charge=take_charge,
            resolution=resolution,
            thresholds=tuple(thresholds),
        )
    return priorities


def _read_tracks(r: _Reader, raw: Mapping[str, Any], region: str) -> dict[str, Track]:
    tracks: dict[str, Track] = {}
    for key, spec in raw.items():
        path = f"tracks.{key}"
        if key == ALL_TRACKS or not isinstance(spec, Mapping):
            r.fail(path, _("filière invalide"))
            continue
        tracks[key] = Track(
            key=key,
            label=r.text(spec, "label", path),
            phone=r.phone(spec.get("phone"), path + ".phone", region),
            default=r.flag(spec, "default", path, False),
        )
    if sum(t.default for t in tracks.values()) != 1:
        r.fail("tracks", _("une et une seule filière doit avoir default = true"))
    return tracks


def _read_contacts(
    r: _Reader, raw: object, tracks: Mapping[str, Track], region: str, levels: tuple[int, ...]
) -> tuple[Contact, ...]:
    if not isinstance(raw, list) or not raw:
        r.fail("contacts", _("liste de contacts attendue ([[contacts]])"))
        return ()
    contacts: list[Contact] = []
    for i, spec in enumerate(raw):
        path = _join("contacts", i)
        if not isinstance(spec, Mapping):
            r.fail(path, _("contact invalide"))
            continue
        level = spec.get("level")
        if isinstance(level, bool) or level not in levels:
            r.fail(path + ".level", _("niveau attendu : {levels}").format(levels=_levels_fr(levels)))
            continue
        track = spec.get("track", ALL_TRACKS)
        if not isinstance(track, str) or (track != ALL_TRACKS and track not in tracks):
            r.fail(path + ".track", _("filière inconnue « {track} »").format(track=track))
        phones = spec.get("phones", [])
        if not isinstance(phones, list) or not phones:
            r.fail(path + ".phones", _("au moins un numéro de téléphone"))
            phones = []
        email = r.text(spec, "email", path)
        if email and not _EMAIL.match(email):
            r.fail(path + ".email", _("adresse e-mail invalide « {email} »").format(email=email))
        language = spec.get("language", "")
        if language != "" and language not in LANGUAGES:
            r.fail(path + ".language", _("langue attendue : {languages}").format(languages=", ".join(LANGUAGES)))
            language = ""
        contacts.append(
            Contact(
                level=level,
                track=str(track),
                name=r.text(spec, "name", path),
                role=r.text(spec, "role", path, default=""),
                phones=tuple(r.phone(p, _join(path + ".phones", j), region) for j, p in enumerate(phones)),
                email=email,
                team=str(spec.get("team", "")),
                apprise_urls=tuple(str(u) for u in spec.get("apprise", [])),
                language=str(language),
            )
        )
    for level in levels:
        for track in tracks:
            if not any(c.level == level and c.serves(track) for c in contacts):
                r.fail("contacts", _("aucun contact de niveau {level} pour la filière « {track} »").format(level=level, track=track))
    return tuple(contacts)


def _read_interpretations(r: _Reader, raw: object) -> tuple[Interpretation, ...]:
    if not isinstance(raw, list):
        r.fail("interpretations", _("liste attendue ([[interpretations]])"))
        return ()
    found: list[Interpretation] = []
    for i, spec in enumerate(raw):
        path = _join("interpretations", i)
        if not isinstance(spec, Mapping):
            r.fail(path, _("interprétation invalide"))
            continue
        section = spec.get("section")
        if section not in PROCEDURE_SECTIONS:
            r.fail(path + ".section", _("section attendue : {sections}").format(sections=", ".join(PROCEDURE_SECTIONS)))
            continue
        translations = spec.get("translations", {})
        if not isinstance(translations, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in translations.items()):
            r.fail(path + ".translations", _("table langue = texte attendue (en = \"…\")"))
            translations = {}
        text = r.text(spec, "text", path)
        if text:
            found.append(Interpretation(str(section), text.strip(), dict(translations)))
    return tuple(found)


_RECIPIENTS = re.compile(r"^(level([1-9][0-9]*)|[^@\s]+@[^@\s]+)$")


def _levels_fr(levels: Sequence[int]) -> str:
    """'1, 2 ou 3'."""
    names = [str(level) for level in levels]
    if not names:  # no threshold opens a level (reported on its own): no level is expected
        return _("aucun (aucun seuil d'escalade valide)")
    return names[0] if len(names) == 1 else _("{items} ou {last}").format(items=", ".join(names[:-1]), last=names[-1])


def _read_notifications(r: _Reader, raw: object, levels: tuple[int, ...]) -> NotificationRules:
    if not isinstance(raw, Mapping):
        r.fail("notifications", _("section invalide"))
        return NotificationRules()
    base = NotificationRules()
    path = "notifications"

    def recipients(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = raw.get(key, list(default))
        def known(v: object) -> bool:
            match = _RECIPIENTS.match(v) if isinstance(v, str) else None
            return match is not None and (match.group(2) is None or int(match.group(2)) in levels)

        if not isinstance(value, list) or not all(known(v) for v in value):
            names = ", ".join(f"« level{level} »" for level in levels)
            r.fail(_join(path, key), _("liste attendue de {names} ou d'e-mails").format(names=names))
            return default
        return tuple(value)

    reminder_max = raw.get("ack_reminder_max", base.ack_reminder_max)
    if not isinstance(reminder_max, int) or isinstance(reminder_max, bool) or reminder_max < 0:
        r.fail(_join(path, "ack_reminder_max"), _("nombre entier positif ou nul attendu"))
        reminder_max = base.ack_reminder_max
    return NotificationRules(
        inform_lower_levels=r.flag(raw, "inform_lower_levels", path, base.inform_lower_levels),
        warning_lead_24_7=r.duration(raw, "warning_lead_24_7", path, base.warning_lead_24_7),
        warning_lead_business=r.duration(
            raw, "warning_lead_business", path, base.warning_lead_business
        ),
        warning_recipients=recipients("warning_recipients", base.warning_recipients),
        breach_recipients=recipients("breach_recipients", base.breach_recipients),
        level_available_recipients=recipients(
            "level_available_recipients", base.level_available_recipients
        ),
        auto_escalate=r.flag(raw, "auto_escalate", path, base.auto_escalate),
        ack_reminder_after=r.duration(raw, "ack_reminder_after", path, base.ack_reminder_after),
        ack_reminder_max=reminder_max,
    )
