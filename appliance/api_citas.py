"""Citas at the box: check-in at the kiosk (or by the orientador) and the day's list for
reception. The citas themselves come from the central (``sync.citas``)."""

from __future__ import annotations

import math
from datetime import date

from flask import Blueprint, Response, jsonify, request

from appliance import parts
from appliance.api_tickets import issuing_rules
from appliance.http import (
    RECEPTION,
    SUPERVISORS,
    ApiError,
    actor,
    body,
    field,
    principal,
    require,
    store,
)
from appliance.printing import printing, public_base
from turnero import citas

bp = Blueprint("api_citas", __name__, url_prefix="/api/v1")


@bp.post("/citas/check-in")
@require("kiosk", *RECEPTION)
def check_in() -> Response:
    data = body()
    who = principal()
    assert who is not None
    kiosk = who.kind == "device"
    language = field(data, "language", str, "es")
    if language not in ("es", "qu", "en"):
        raise ApiError(400, "invalid_field", "language debe ser es, qu o en.")
    code = field(data, "code", str)
    if kiosk:  # the kiosk's pace: nobody tries document after document to learn who has a cita
        wait = parts.kiosk_limit().allow(who.actor or "")
        if wait is not None:
            raise ApiError(429, "rate_limited", "Se hicieron muchos intentos seguidos en este "
                                                "quiosco. Espere un momento o acérquese al "
                                                "orientador.", retry_after=math.ceil(wait) or 1)
    cita = citas.find(store(), code=code,
                      document=None if code is not None else field(data, "document", str),
                      document_type=field(data, "document_type", str))
    print_on = printing().request_for(who.name if kiosk else None, language, public_base())
    rules = issuing_rules()  # as for any ticket: none from closing time, but a supervisor's
    late = who.role in SUPERVISORS or not rules.stop_issuing
    answer, created = citas.check_in(store(), cita, actor=actor(), print_on=print_on,
                                     closes_at=None if late else rules.closes_at)
    if created and print_on is not None:
        job = printing().send(answer["ticket"])
        if job is not None:
            answer["ticket"]["print"] = job
    response = jsonify(answer)
    response.status_code = 201 if created else 200
    return response


@bp.get("/citas")
@require(*RECEPTION)
def listing() -> Response:
    day = request.args.get("day") or store().service_day(store().now())
    try:
        date.fromisoformat(day)
    except ValueError:
        raise ApiError(400, "invalid_field", "day: AAAA-MM-DD.") from None
    return jsonify({"day": day, "citas": citas.listing(store(), day)})
