"""Numbered schema migrations, applied at start-up (sqlite-utils ``Migrations``)."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("mac-turnos")

STATUSES = ("waiting", "called", "serving", "done", "no_show", "cancelled", "transferred",
            "expired")


@migrations()
def m001_initial(db: Database) -> None:
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    db.executescript(f"""
    CREATE TABLE entities(
        code TEXT PRIMARY KEY, name TEXT NOT NULL, short_name TEXT NOT NULL,
        colour TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE queues(
        code TEXT PRIMARY KEY, entity TEXT NOT NULL REFERENCES entities(code),
        prefix TEXT NOT NULL, name TEXT NOT NULL, number_start INTEGER NOT NULL,
        daily_cap INTEGER NOT NULL, max_wait_minutes INTEGER NOT NULL,
        max_attention_minutes INTEGER NOT NULL, max_preferential_in_row INTEGER NOT NULL,
        max_normal_wait_minutes INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1,
        is_open INTEGER NOT NULL DEFAULT 1, closed_reason TEXT,
        pref_streak INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE services(
        id INTEGER PRIMARY KEY, queue TEXT NOT NULL REFERENCES queues(code),
        name TEXT NOT NULL, max_wait_minutes INTEGER NOT NULL,
        max_attention_minutes INTEGER NOT NULL, appointments INTEGER NOT NULL,
        active INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE priorities(
        code TEXT PRIMARY KEY, name_es TEXT NOT NULL, name_qu TEXT NOT NULL,
        name_en TEXT NOT NULL, preferential INTEGER NOT NULL, appointment INTEGER NOT NULL,
        ord INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE counters(
        id INTEGER PRIMARY KEY, name TEXT NOT NULL,
        entity TEXT NOT NULL REFERENCES entities(code), active INTEGER NOT NULL DEFAULT 1,
        status TEXT NOT NULL DEFAULT 'closed' CHECK (status IN ('open','paused','closed')),
        status_reason TEXT, status_since TEXT, agent TEXT,
        current INTEGER REFERENCES attentions(id));
    CREATE TABLE counter_queues(
        counter INTEGER NOT NULL REFERENCES counters(id),
        queue TEXT NOT NULL REFERENCES queues(code), weight INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (counter, queue));
    CREATE TABLE days(
        day TEXT PRIMARY KEY, opened_at TEXT NOT NULL, opened_by TEXT,
        closed_at TEXT, closed_by TEXT, checks TEXT NOT NULL DEFAULT '{{}}');
    CREATE TABLE tickets(
        id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, token TEXT NOT NULL UNIQUE,
        day TEXT NOT NULL, number_queue TEXT NOT NULL REFERENCES queues(code),
        number INTEGER NOT NULL, label TEXT NOT NULL,
        priority TEXT NOT NULL REFERENCES priorities(code), channel TEXT NOT NULL,
        issued_at TEXT NOT NULL, visit TEXT NOT NULL DEFAULT '[]',
        document TEXT, name TEXT, idempotency_key TEXT,
        UNIQUE (day, number_queue, number));
    CREATE UNIQUE INDEX tickets_idempotency ON tickets(idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    CREATE INDEX tickets_day_label ON tickets(day, label);
    CREATE TABLE attentions(
        id INTEGER PRIMARY KEY, ticket INTEGER NOT NULL REFERENCES tickets(id),
        step INTEGER NOT NULL, day TEXT NOT NULL,
        queue TEXT NOT NULL REFERENCES queues(code),
        service INTEGER NOT NULL REFERENCES services(id),
        status TEXT NOT NULL CHECK (status IN ({statuses})),
        preferential INTEGER NOT NULL, order_key REAL NOT NULL, slot REAL,
        entered_at TEXT NOT NULL,
        called_at TEXT, last_called_at TEXT, recalls INTEGER NOT NULL DEFAULT 0,
        counter INTEGER REFERENCES counters(id), agent TEXT, rule TEXT,
        started_at TEXT, ended_at TEXT, outcome TEXT,
        UNIQUE (ticket, step));
    CREATE INDEX attentions_waiting ON attentions(day, queue, status, preferential, order_key);
    CREATE INDEX attentions_ticket ON attentions(ticket, step);
    CREATE INDEX attentions_done ON attentions(queue, ended_at) WHERE status = 'done';
    CREATE TABLE ratings(
        ticket INTEGER PRIMARY KEY REFERENCES tickets(id),
        score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5), at TEXT NOT NULL);
    CREATE TABLE events(
        seq INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
        at TEXT NOT NULL, actor TEXT, counter INTEGER, ticket TEXT,
        payload TEXT NOT NULL DEFAULT '{{}}');
    CREATE TABLE users(
        id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        full_name TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL CHECK (role IN ('admin','supervisor','receptionist','agent')),
        entity TEXT REFERENCES entities(code), secret_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0, failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT, created_at TEXT NOT NULL);
    CREATE TABLE sessions(
        token_hash TEXT PRIMARY KEY, user INTEGER NOT NULL REFERENCES users(id),
        csrf TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
    CREATE TABLE devices(
        id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('kiosk','display')),
        token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT);
    """)


@migrations()
def m002_appointment_slot_index(db: Database) -> None:
    """Lets call-next find the earliest appointment in its window without a scan."""
    db.execute("CREATE INDEX attentions_slot ON attentions(day, queue, status, preferential, "
               "slot) WHERE slot IS NOT NULL")


@migrations()
def m003_document_type(db: Database) -> None:
    """Which identity document the stored number belongs to (DNI, CE, passport, RUC)."""
    db.execute("ALTER TABLE tickets ADD COLUMN document_type TEXT")


@migrations()
def m004_entity_logo(db: Database) -> None:
    """The file name of an entity's logo, shown on the kiosk's buttons."""
    db.execute("ALTER TABLE entities ADD COLUMN logo TEXT NOT NULL DEFAULT ''")


@migrations()
def m005_uplink(db: Database) -> None:
    """The uplink's outbox state: how far the central acknowledged the event log (per
    destination, so it survives a reboot) and the events it refused, kept for a person."""
    db.executescript("""
    CREATE TABLE sync_state(
        destination TEXT PRIMARY KEY, acked_seq INTEGER NOT NULL DEFAULT 0,
        last_success TEXT, last_error TEXT, last_error_at TEXT);
    CREATE TABLE sync_rejects(
        destination TEXT NOT NULL, seq INTEGER NOT NULL, uid TEXT NOT NULL,
        reason TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (destination, seq));
    """)


@migrations()
def m006_reports(db: Database) -> None:
    """Dated ANS targets (from the config file or edited in supervision) and the indicators'
    frozen per-day facts: a closed day's attentions and módulo time, packed so that a year
    of reports reads a few hundred rows instead of millions (and survives event pruning)."""
    db.executescript("""
    CREATE TABLE ans_targets(
        id INTEGER PRIMARY KEY, queue TEXT NOT NULL REFERENCES queues(code),
        service INTEGER REFERENCES services(id),
        max_wait_minutes INTEGER NOT NULL CHECK (max_wait_minutes BETWEEN 0 AND 120),
        max_attention_minutes INTEGER NOT NULL
            CHECK (max_attention_minutes BETWEEN 0 AND 180),
        valid_from TEXT NOT NULL, valid_to TEXT,
        source TEXT NOT NULL CHECK (source IN ('config', 'supervision')),
        created_at TEXT NOT NULL, created_by TEXT);
    CREATE INDEX ans_targets_queue ON ans_targets(queue, service, valid_from);
    CREATE TABLE report_days(
        day TEXT PRIMARY KEY, format INTEGER NOT NULL, keys TEXT NOT NULL,
        attentions BLOB NOT NULL, desk BLOB NOT NULL, built_at TEXT NOT NULL);
    """)


@migrations()
def m007_print_jobs_and_announcer(db: Database) -> None:
    """What must survive a power cut besides the tickets: the print jobs (written with the
    ticket they print) and how far the TVs' announcer got in the event log. The announcer
    starts from the log's end, so a box upgraded with calls in its log does not say them."""
    db.executescript("""
    CREATE TABLE print_jobs(
        id TEXT PRIMARY KEY, ticket TEXT NOT NULL, label TEXT NOT NULL, day TEXT NOT NULL,
        printer TEXT NOT NULL, language TEXT NOT NULL, base TEXT NOT NULL,
        created_at TEXT NOT NULL, printed_at TEXT);
    CREATE INDEX print_jobs_ticket ON print_jobs(ticket);
    CREATE INDEX print_jobs_owed ON print_jobs(day) WHERE printed_at IS NULL;
    CREATE TABLE announcer_state(
        id INTEGER PRIMARY KEY CHECK (id = 1), announced_seq INTEGER NOT NULL,
        updated_at TEXT);
    INSERT INTO announcer_state(id, announced_seq)
        SELECT 1, COALESCE(MAX(seq), 0) FROM events;
    """)


@migrations()
def m008_idempotency_digest(db: Database) -> None:
    """The digest of the request a ticket's idempotency key was first used with, so the
    same key sent with a different request is refused instead of answered with the first
    ticket (``turnero.tickets.request_digest``). Tickets issued before it have none."""
    db.execute("ALTER TABLE tickets ADD COLUMN idempotency_digest TEXT")


@migrations()
def m009_queued_at(db: Database) -> None:
    """When an attention last came back to waiting (a reactivated no-show), for the
    anti-starvation wait: ``entered_at`` stays the first entry, which the reports' waits
    count from. NULL means it never left the queue: its wait in the queue starts at
    ``entered_at``."""
    db.execute("ALTER TABLE attentions ADD COLUMN queued_at TEXT")


# The cancel reasons' codes when m010 was written (turnero.cancellations.CANCEL_REASONS).
_M010_CODES = ("left_centre", "wrong_service", "duplicate", "documents_missing",
               "entity_system_down", "other")


@migrations()
def m010_cancellations(db: Database) -> None:
    """Why each ticket was cancelled: a reason code and a note for staff only, beside the
    attention it ended (``turnero.cancellations``). A ``ticket.cancelled`` event used to
    carry the reason as typed, which the live stream sent to every desk and TV: a text that
    is not one of the codes moves here as the note, and the event keeps `other`."""
    codes = ", ".join(f"'{c}'" for c in _M010_CODES)
    typed = "json_extract(e.payload, '$.reason')"
    # One statement at a time: executescript would commit the migration's transaction.
    db.execute("CREATE TABLE cancellations("
               "id INTEGER PRIMARY KEY, attention INTEGER NOT NULL REFERENCES attentions(id), "
               "reason TEXT NOT NULL, note TEXT, at TEXT NOT NULL, actor TEXT)")
    db.execute("CREATE INDEX cancellations_attention ON cancellations(attention)")
    db.execute(f"""
    INSERT INTO cancellations(attention, reason, note, at, actor)
        SELECT a.id, CASE WHEN {typed} IN ({codes}) THEN {typed} ELSE 'other' END,
               CASE WHEN {typed} IN ({codes}) THEN NULL ELSE {typed} END, e.at, e.actor
        FROM events e JOIN tickets t ON t.uid = e.ticket
        JOIN attentions a ON a.ticket = t.id AND a.step = json_extract(e.payload, '$.step')
        WHERE e.kind = 'ticket.cancelled' ORDER BY e.seq""")
    db.execute(f"""
    UPDATE events SET payload = json_set(payload, '$.reason', 'other')
        WHERE kind = 'ticket.cancelled'
        AND coalesce(json_extract(payload, '$.reason') IN ({codes}), 0) = 0""")


@migrations()
def m011_uplink_rewind(db: Database) -> None:
    """The last time the central said it holds less than the box had sent it (restored
    from an older copy, or lost and registered again), and the watermark went back: from
    which seq to which, and when. Health shows the resend until it has passed that seq."""
    db.execute("ALTER TABLE sync_state ADD COLUMN rewound_from INTEGER")
    db.execute("ALTER TABLE sync_state ADD COLUMN rewound_to INTEGER")
    db.execute("ALTER TABLE sync_state ADD COLUMN rewound_at TEXT")



@migrations()
def m012_central_catalogue(db: Database) -> None:
    """The central office's catalogue as this box runs it (one row): the version applied
    and its document (a restart runs it again), and the last version refused with why."""
    db.execute("CREATE TABLE central_catalogue("
               "id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER, body TEXT, "
               "applied_at TEXT, refused_version INTEGER, refused_reason TEXT, "
               "refused_at TEXT)")
    db.execute("INSERT INTO central_catalogue(id) VALUES (1)")


@migrations()
def m013_service_keywords(db: Database) -> None:
    """Further words a service is found by at the kiosk (``[[services]] keywords``, from
    the centre's file or the central's catalogue), space-separated."""
    db.execute("ALTER TABLE services ADD COLUMN keywords TEXT NOT NULL DEFAULT ''")


@migrations()
def m014_day_reopened(db: Database) -> None:
    """When and by whom a closed jornada was last opened again (the floor says it)."""
    db.execute("ALTER TABLE days ADD COLUMN reopened_at TEXT")
    db.execute("ALTER TABLE days ADD COLUMN reopened_by TEXT")


@migrations()
def m015_citas(db: Database) -> None:
    """The centre's citas as the central booked them (``turnero.citas``), pulled by the
    uplink: one row per booking code, with what happened to it here; and how far the box
    read the central's changes."""
    db.execute("CREATE TABLE citas("
               "code TEXT PRIMARY KEY, service INTEGER NOT NULL, day TEXT NOT NULL, "
               "slot TEXT NOT NULL, document_type TEXT, document TEXT, name TEXT, "
               "status TEXT NOT NULL, change INTEGER NOT NULL, "
               "checked_in_at TEXT, ticket TEXT, arrival TEXT, outcome TEXT)")
    db.execute("CREATE INDEX citas_document ON citas(document, day)")
    db.execute("CREATE INDEX citas_day ON citas(day)")
    db.execute("CREATE TABLE central_citas(id INTEGER PRIMARY KEY CHECK (id = 1), "
               "change INTEGER NOT NULL DEFAULT 0, pulled_at TEXT)")
    db.execute("INSERT INTO central_citas(id) VALUES (1)")


def apply(db: Database) -> None:
    migrations.apply(db)
