"""The settings schema: every key of a centre's TOML file, its type, default and help.

The dataclasses below *are* the schema: the loader validates against their fields and the
configuration reference in docs/configuration.md is generated from their metadata, so a key cannot
exist without documentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REQUIRED: Any = object()


def key(default: Any = REQUIRED, help: str = "", *, minval: float | None = None,
        maxval: float | None = None, choices: tuple[str, ...] | None = None,
        pattern: str | None = None, env: bool = True) -> Any:
    """A schema field: default plus the metadata used by validation and docs."""
    meta = {"help": help, "minval": minval, "maxval": maxval, "choices": choices,
            "pattern": pattern, "required": default is REQUIRED}
    if default is REQUIRED:
        return field(metadata=meta)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


HOURS_PATTERN = r"^(closed|([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)$"
PREFIX_PATTERN = r"^[A-Z]{1,3}$"
CODE_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"


@dataclass(frozen=True)
class Centre:
    code: str = key(help="Short identifier of the centre, used in sync and file names.",
                     pattern=CODE_PATTERN)
    name: str = key(help="Name shown on tickets and screens, e.g. \"MAC Lima Norte\".")
    timezone: str = key("America/Lima", "IANA time zone for the service day and displays.")
    language: str = key("es", "Default language of citizen-facing texts.",
                        choices=("es", "qu", "en"))


@dataclass(frozen=True)
class Hours:
    monday: str = key("08:30-18:30", "Opening hours on Mondays (HH:MM-HH:MM or \"closed\").",
                      pattern=HOURS_PATTERN)
    tuesday: str = key("08:30-18:30", "Opening hours on Tuesdays.", pattern=HOURS_PATTERN)
    wednesday: str = key("08:30-18:30", "Opening hours on Wednesdays.", pattern=HOURS_PATTERN)
    thursday: str = key("08:30-18:30", "Opening hours on Thursdays.", pattern=HOURS_PATTERN)
    friday: str = key("08:30-18:30", "Opening hours on Fridays.", pattern=HOURS_PATTERN)
    saturday: str = key("09:00-13:30", "Opening hours on Saturdays.", pattern=HOURS_PATTERN)
    sunday: str = key("closed", "Opening hours on Sundays.", pattern=HOURS_PATTERN)
    holidays: str = key("09:00-13:30", "Opening hours on national holidays.",
                        pattern=HOURS_PATTERN)


@dataclass(frozen=True)
class Server:
    host: str = key("0.0.0.0", "Address the HTTP server listens on.")
    port: int = key(8080, "TCP port of the HTTP server.", minval=1, maxval=65535)
    threads: int = key(128, "Worker threads; each open live stream (TV, módulo) holds one.",
                       minval=4, maxval=1024)
    public_url: str = key("", "Address citizens' phones use to reach the box, printed in the "
                              "ticket's QR code (e.g. \"http://192.168.1.10:8080\"); phones "
                              "must be on the centre's (guest) Wi-Fi to open it. Empty = the "
                              "address a kiosk elsewhere used, else the box's own LAN address "
                              "(never a loopback one); check-config and health warn when there "
                              "is none.",
                          pattern=r"^(https?://[^\s/]+)?$")
    advertise: bool = key(True, "Announce the server on the LAN with zeroconf so TVs find "
                                "it without setup.")
    front_port: int = key(0, "Port on which the front (nginx, installed by systemd/install.sh) "
                             "receives the LAN's requests and passes them to this server, "
                             "which then listens on loopback and trusts the client address "
                             "the front passes (from 127.0.0.1 only); the QR codes and zeroconf "
                             "use this port. 0 = no front: the server faces the LAN itself "
                             "(health warns when it listens beyond loopback).",
                          minval=0, maxval=65535)
    allowed_hosts: list[str] = key([], "Host names browsers may reach the box by, besides IP "
                                       "addresses, localhost, this machine's own name (and "
                                       "its .local) and public_url's host; a request naming "
                                       "another host gets 400 (a web page elsewhere cannot "
                                       "reach the box through a name it controls).")

    def lan_endpoint(self) -> tuple[str, int]:
        """The address and port devices on the LAN reach the box by: the front's when there
        is one (it listens on every address), else the server's own."""
        return ("0.0.0.0", self.front_port) if self.front_port else (self.host, self.port)


@dataclass(frozen=True)
class Security:
    session_hours: int = key(12, "Hours a staff session lasts after login.",
                             minval=1, maxval=72)
    max_failed_logins: int = key(5, "Failed logins in a row from one address before the "
                                    "account is locked for that address (only).",
                                 minval=1, maxval=100)
    lockout_minutes: int = key(15, "Minutes an account stays locked for an address after too "
                                   "many failures from it.", minval=1, maxval=1440)
    staff_networks: list[str] = key([], "Networks (CIDR, e.g. \"192.168.10.0/24\") from which "
                                        "staff may sign in and the staff pages, the API and "
                                        "device tokens may be used; empty = any. A ticket's "
                                        "status page (the QR) stays open to every address.")
    min_pin_length: int = key(4, "Shortest PIN or password accepted for staff (supervisors "
                                 "and admins: at least 6, and not trivial).",
                              minval=4, maxval=64)


@dataclass(frozen=True)
class Policy:
    max_preferential_in_row: int = key(
        0, "Default for queues: after this many preferential calls in a row a waiting "
           "normal ticket goes first (0 = off: strict preferential).", minval=0, maxval=100)
    max_normal_wait_minutes: int = key(
        0, "Default for queues: a normal ticket waiting longer than this goes first "
           "(0 = off).", minval=0, maxval=600)
    appointment_early_minutes: int = key(
        15, "An appointment ticket is called ahead of walk-ins from this many minutes "
            "before its slot...", minval=0, maxval=240)
    appointment_late_minutes: int = key(
        15, "...until this many minutes after it; outside the window it waits as a walk-in.",
        minval=0, maxval=240)
    default_attention_minutes: float = key(
        15.0, "Attention time assumed by the wait estimate before a queue has its own "
              "recent figures.", minval=0.5, maxval=180)
    estimate_sample: int = key(20, "Recent attentions of a queue averaged by the estimate.",
                               minval=1, maxval=500)


@dataclass(frozen=True)
class Kiosk:
    idle_seconds: int = key(45, "Seconds without a touch before a kiosk goes back to its first "
                                "screen (and forgets what was chosen).", minval=10, maxval=600)
    tickets_per_minute: int = key(12, "Most tickets one kiosk device may issue in a minute "
                                      "(0 = no limit); more gets a friendly refusal.",
                                  minval=0, maxval=600)
    ask_document: bool = key(True, "Whether the kiosk offers the optional document number "
                                   "step.")
    refuse_after_closing: bool = key(True, "Whether a kiosk refuses a ticket that would "
                                           "be called after closing time.")
    closing_margin_minutes: int = key(
        0, "A kiosk ticket whose expected call falls after closing time minus this margin "
           "is not issued; the citizen is sent to the orientador.", minval=0, maxval=240)
    service_filter_from: int = key(8, "Entities with more services than this get a search "
                                      "box on the kiosk.", minval=0, maxval=1000)
    entity_order: list[str] = key([], "Entity codes the kiosk shows first, in this order; "
                                      "the rest follow busiest first (tickets of recent "
                                      "days), then in the order of this file.")
    ticket_seconds: int = key(20, "Seconds the kiosk shows a new ticket (with a countdown) "
                                  "before going back to its first screen.",
                              minval=5, maxval=120)


TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"


@dataclass(frozen=True)
class Schedule:
    open_day: str = key("auto", "Whether the box opens the jornada itself at opening time "
                                "(auto) or a supervisor opens it after the daily check "
                                "(manual).", choices=("auto", "manual"))
    close_day: str = key("auto", "Whether the box closes the jornada close_grace_minutes after "
                                 "closing time, expiring what still waits (auto), or a "
                                 "supervisor closes it (manual).", choices=("auto", "manual"))
    stop_issuing: bool = key(True, "Whether no ticket is issued from closing time on, except "
                                   "by a supervisor.")
    open_minutes_before: int = key(15, "Minutes before opening time the jornada opens, so "
                                       "kiosks issue tickets to the first in line.",
                                   minval=0, maxval=240)
    close_grace_minutes: int = key(30, "Minutes after closing time before the jornada closes "
                                       "and what still waits expires (tickets in service are "
                                       "finished).", minval=0, maxval=600)
    national_holidays: bool = key(True, "Whether Peru's national holidays (holidays library) "
                                        "use the [hours] holidays hours.")
    holidays: list[str] = key([], "Further dates (YYYY-MM-DD) with holiday hours, e.g. a "
                                  "regional holiday.")
    closed: list[str] = key([], "Dates (YYYY-MM-DD) the centre stays closed: its own closures "
                                "and non-working days.")
    backup_time: str = key("02:30", "Local time of the nightly backup (HH:MM); personal data "
                                    "and old events are pruned 15 minutes later.",
                           pattern=TIME_PATTERN)
    backup_dir: str = key("", "Folder of the backups; empty = backups/ in the state "
                              "directory. Another disk is better.")
    backup_keep_days: int = key(14, "Days a backup is kept (the newest is always kept).",
                                minval=1, maxval=3650)
    personal_data_days: int = key(30, "Days after its service day a ticket keeps the document "
                                      "number and name (Ley 29733); backups keep them "
                                      "backup_keep_days longer.", minval=1, maxval=3650)
    events_days: int = key(400, "Days the event log is kept once the central office "
                                "acknowledged it.", minval=30, maxval=3650)


@dataclass(frozen=True)
class Entity:
    code: str = key(help="Short code of the entity, e.g. \"RENIEC\".", pattern=CODE_PATTERN)
    name: str = key(help="Full name of the entity.")
    short_name: str = key("", help="Name for screens and tickets; empty = the code.")
    colour: str = key("#1d4e89", "Colour of the entity's button and labels (#rrggbb).",
                      pattern=r"^#[0-9a-fA-F]{6}$")
    logo: str = key("", "File name of the entity's logo (PNG, JPEG or SVG) in the folder "
                        "logos/ of the state directory; empty = none.",
                    pattern=r"^([A-Za-z0-9_-][A-Za-z0-9_.-]*\.(png|jpg|jpeg|svg))?$")


@dataclass(frozen=True)
class Queue:
    code: str = key(help="Identifier of the queue.", pattern=CODE_PATTERN)
    entity: str = key(help="Code of the entity whose módulos serve the queue.")
    prefix: str = key(help="1 to 3 capital letters that start its ticket labels, e.g. RN.",
                      pattern=PREFIX_PATTERN)
    name: str = key("", help="Name shown to people; empty = the entity's short name.")
    number_start: int = key(1, "First ticket number of each service day.",
                            minval=0, maxval=9999)
    daily_cap: int = key(0, "Most tickets issued per service day (0 = no cap).",
                         minval=0, maxval=100000)
    max_wait_minutes: int = key(30, "ANS target: maximum waiting time.", minval=0, maxval=120)
    max_attention_minutes: int = key(30, "ANS target: maximum attention time.",
                                     minval=0, maxval=180)
    max_preferential_in_row: int = key(-1, "Overrides [policy] for this queue (-1 = inherit).",
                                       minval=-1, maxval=100)
    max_normal_wait_minutes: int = key(-1, "Overrides [policy] for this queue (-1 = inherit).",
                                       minval=-1, maxval=600)


@dataclass(frozen=True)
class Service:
    id: int = key(help="Number of the service (stable: tickets refer to it).",
                  minval=1, maxval=10**9)
    queue: str = key(help="Code of the queue its tickets join.")
    name: str = key(help="Name of the trámite as citizens know it.")
    max_wait_minutes: int = key(-1, "ANS override for this service (-1 = the queue's).",
                                minval=-1, maxval=120)
    max_attention_minutes: int = key(-1, "ANS override for this service (-1 = the queue's).",
                                     minval=-1, maxval=180)
    appointments: bool = key(False, "Whether the service takes appointments (citas).")
    keywords: list[str] = key([], "Further words citizens use for this trámite (e.g. "
                              "\"brevete\"): the kiosk's search finds it by them too, "
                              "besides the built-in synonyms.")


@dataclass(frozen=True)
class Counter:
    number: int = key(help="Number of the módulo, as painted on it.", minval=1, maxval=999)
    entity: str = key(help="Code of the entity that staffs the módulo.")
    queues: list[str] = key(help="Codes of the queues the módulo serves.")
    weights: dict[str, int] = key({}, "Optional weight per queue code (default 1): a higher "
                                      "weight is served first by this módulo.")
    name: str = key("", help="Name shown on screens; empty = \"Módulo N\".")
    zone: str = key("", help="Area of the floor where the módulo stands, e.g. \"piso-2\" "
                             "(letters, digits, - and _): a TV opened with zone=piso-2 shows "
                             "and announces only the calls to that area's módulos. Empty = "
                             "no zone.", pattern=r"^([A-Za-z0-9_-]{1,40})?$")


@dataclass(frozen=True)
class Priority:
    code: str = key(help="Identifier, e.g. \"gestante\".", pattern=CODE_PATTERN)
    name_es: str = key(help="Name in Spanish.")
    name_qu: str = key(help="Name in Quechua (to be reviewed by a certified translator).")
    name_en: str = key("", help="Name in English.")
    preferential: bool = key(False, "Whether the category has atención preferente by law.")
    appointment: bool = key(False, "Whether the category marks appointment tickets (cita).")
    order: int = key(0, "Position in lists shown to people.", minval=0, maxval=100)


@dataclass(frozen=True)
class Printer:
    name: str = key(help="Identifier of the printer, e.g. \"kiosko-1\".", pattern=CODE_PATTERN)
    transport: str = key("virtual", "How the box reaches it: usb, serial, network, file, or "
                                    "virtual (keeps the bytes and a preview; for demos).",
                         choices=("usb", "serial", "network", "file", "virtual"))
    target: str = key("", "Where: \"/dev/ttyUSB0\" (serial), \"host:9100\" (network), a "
                          "path (file), \"0x04b8:0x0202\" vendor:product (usb).")
    baudrate: int = key(19200, "Serial speed.", minval=1200, maxval=921600)
    profile: str = key("default", "python-escpos capabilities profile of the model, e.g. "
                                  "\"TM-T20II\".")
    codepage: str = key("CP858", "Code page for the text; must hold á é í ó ú ü ñ ¿ ¡.")
    width: int = key(48, "Characters per line (48 on 80 mm paper, 32 on 58 mm).",
                     minval=24, maxval=80)
    devices: list[str] = key([], "Names of the kiosk devices whose tickets print here.")
    reception: bool = key(False, "Whether the orientador's tickets and reprints print here.")


@dataclass(frozen=True)
class Display:
    languages: list[str] = key(["es", "qu"], "Languages the TVs announce each call in, in order "
                                             "(es, qu, en).")
    local_playback: bool = key(False, "Also play the announcements on the box's own audio "
                                      "output.")
    idle_minutes: int = key(10, "Minutes without calls before a TV shows its idle screen.",
                            minval=1, maxval=240)
    rows: int = key(8, "Earlier calls listed under the last one.", minval=6, maxval=8)
    voice_max_delay_seconds: int = key(
        30, "The voice is never more than this many seconds behind the screen: older "
            "announcements are dropped or merged (the latest call per módulo wins).",
        minval=5, maxval=600)
    voice_second_language: str = key(
        "when_time", "When the TVs say the languages after the first (Quechua): when_time "
                     "(only when no waiting call would be late for it), always or never. A "
                     "TV can override it with ?second= in its address.",
        choices=("when_time", "always", "never"))


@dataclass(frozen=True)
class CounterDesk:
    auto_no_show_recalls: int = key(
        0, "A called citizen who was recalled this many times and has not come "
           "auto_no_show_grace_seconds after the last call is marked \"no se presentó\" by the "
           "server (0 = off).", minval=0, maxval=20)
    auto_no_show_grace_seconds: int = key(
        60, "Seconds after the last recall before the automatic no-show by recalls.",
        minval=5, maxval=3600)
    auto_no_show_minutes: int = key(
        0, "A citizen called this many minutes ago and not yet attended is marked \"no se "
           "presentó\" by the server (0 = off).", minval=0, maxval=120)
    rating: bool = key(True, "Whether the desk offers the citizen's 1–5 rating screen "
                             "(/counter/rating) after Finalizar.")


@dataclass(frozen=True)
class DeskDevice:
    counter: int = key(help="Number of the módulo the device sits at.", minval=1, maxval=999)
    kind: str = key(help="button (a call button: next, recall) or sign (an LED number sign "
                         "showing the módulo's current ticket).", choices=("button", "sign"))
    port: str = key(help="Serial port; prefer the stable /dev/serial/by-id/... name, which "
                         "comes back the same after unplugging.")
    baudrate: int = key(9600, "Serial speed.", minval=1200, maxval=921600)


DATE_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"


@dataclass(frozen=True)
class Ans:
    """A dated service-level target (ANS) signed with an entity: it overrides the queue's
    and service's own targets in the indicators from ``valid_from`` to ``valid_to``."""

    queue: str = key(help="Code of the queue the target applies to.")
    max_wait_minutes: int = key(help="Maximum waiting time (issue to first call).",
                                minval=0, maxval=120)
    max_attention_minutes: int = key(help="Maximum attention time (start to end).",
                                     minval=0, maxval=180)
    valid_from: str = key(help="First service day it applies to, YYYY-MM-DD.",
                          pattern=DATE_PATTERN)
    service: int = key(0, "Number of one service of that queue; 0 = every service of the "
                          "queue that has no target of its own.", minval=0, maxval=10**9)
    valid_to: str = key("", "Last service day it applies to, YYYY-MM-DD; empty = open-ended.",
                        pattern=r"^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))?$")


@dataclass(frozen=True)
class Uplink:
    enabled: bool = key(False, "Whether the box sends its event log to the central office.")
    central_url: str = key("", "Base address of the central receiver, e.g. "
                               "\"https://turnos.pcm.gob.pe\"; plain http only to 127.0.0.1, "
                               "localhost or [::1] (tests).",
                           pattern=r"^(https://[^\s/]+(/[^\s]*)?|"
                                   r"http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/[^\s]*)?)?$")
    token: str = key("", "Bearer token of this centre, from `mac-turnos central centre add` "
                         "(better: token_file or MAC_TURNOS__UPLINK__TOKEN).")
    token_file: str = key("", "File holding the bearer token (read at start); overrides token.")
    ca_file: str = key("", "PEM file of the certificate authorities to trust for the central; "
                           "empty = the system's.")
    secret: str = key("", "Key of the keyed hash (HMAC-SHA256) that pseudonymizes staff names "
                          "and free texts before they leave the box.")
    secret_file: str = key("", "File holding that key; empty with an empty secret = "
                               "uplink-secret in the state directory, created once.")
    interval_seconds: int = key(10, "Seconds between two sending rounds.", minval=1, maxval=3600)
    batch_events: int = key(500, "Most events in one request.", minval=1, maxval=10000)
    batch_bytes: int = key(1_000_000, "Most bytes of JSON (before gzip) in one request.",
                           minval=10_000, maxval=50_000_000)
    timeout_seconds: float = key(30.0, "Seconds to wait for the central's answer.",
                                 minval=0.1, maxval=600)
    backoff_cap_seconds: float = key(300.0, "Longest wait between attempts while the central "
                                            "fails (exponential backoff with jitter).",
                                     minval=0.01, maxval=86400)


SECTIONS: dict[str, type] = {
    "centre": Centre, "hours": Hours, "server": Server, "security": Security,
    "policy": Policy, "kiosk": Kiosk, "counter": CounterDesk, "uplink": Uplink,
    "schedule": Schedule, "display": Display,
}
ARRAYS: dict[str, type] = {
    "entities": Entity, "queues": Queue, "services": Service, "counters": Counter,
    "priorities": Priority, "printers": Printer, "desk_devices": DeskDevice, "ans": Ans,
}


@dataclass(frozen=True)
class Settings:
    """A validated centre configuration."""

    centre: Centre
    hours: Hours
    server: Server
    security: Security
    policy: Policy
    kiosk: Kiosk
    entities: tuple[Entity, ...]
    queues: tuple[Queue, ...]
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]
    priorities: tuple[Priority, ...]
    printers: tuple[Printer, ...]
    counter: CounterDesk
    desk_devices: tuple[DeskDevice, ...]
    uplink: Uplink
    schedule: Schedule = field(default_factory=Schedule)
    display: Display = field(default_factory=Display)
    ans: tuple[Ans, ...] = ()
