// The citizen's rating screen beside a módulo: dark until the asesor presses Finalizar (heard
// on the live stream), then five faces with words in Spanish or Quechua; a tap posts
// POST /api/v1/tickets/{uid}/rating with the asesor's session of this browser. The calls, the
// sign-in, the «Sin conexión» state and the stream's reconnection are the staff pages' own
// (staff.js, window.Staff).
"use strict";

(function (Staff) {
  const { $, api } = Staff;
  const ROLES = ["agent", "supervisor", "admin"];
  const ASK_SECONDS = 90;
  const THANKS_SECONDS = 6;
  const texts = JSON.parse($("texts").textContent);
  const counter = Number(document.body.dataset.bound) || null;
  let language = document.body.dataset.language || "es";
  let current = null;   // {uid, label} being rated
  let busy = false;
  let back = null;
  let stream = null;

  function translate() {
    document.documentElement.lang = language;
    $("language").lang = language === "es" ? "qu" : "es";
    for (const node of document.querySelectorAll("[data-text]")) {
      node.textContent = texts[language][node.dataset.text] || "";
    }
    for (const face of document.querySelectorAll(".face")) {
      face.setAttribute("aria-label", `${face.dataset.score}: ${texts[language]["score_" + face.dataset.score]}`);
    }
  }

  function screen(name) {
    for (const id of ["login", "idle", "ask", "thanks"]) $(id).hidden = id !== name;
    $("language").hidden = name === "login";
  }

  function idle() {
    clearTimeout(back);
    current = null;
    screen("idle");
  }

  function ask(uid, label) {
    clearTimeout(back);
    current = { uid, label };
    $("ask-label").textContent = label;
    $("rate-error").hidden = true;
    for (const b of document.querySelectorAll(".face")) b.disabled = false;
    screen("ask");
    back = setTimeout(idle, ASK_SECONDS * 1000);
  }

  function thanks() {
    clearTimeout(back);
    current = null;
    screen("thanks");
    back = setTimeout(idle, THANKS_SECONDS * 1000);
  }

  async function rate(score) {
    if (!current || busy) return;
    busy = true;
    for (const b of document.querySelectorAll(".face")) b.disabled = true;
    try {
      const r = await api("POST", `/api/v1/tickets/${current.uid}/rating`, { score });
      if (r.status === 200 || (r.status === 409 && r.data && r.data.error === "already_rated")) {
        thanks();
      } else {
        $("rate-error").textContent = texts[language].error;
        $("rate-error").hidden = false;
        for (const b of document.querySelectorAll(".face")) b.disabled = false;
      }
    } finally {
      busy = false;
    }
  }

  function listen() {
    if (stream) stream.close();
    stream = Staff.stream("/api/v1/stream", {
      "ticket.finished": (ev) => {
        const e = JSON.parse(ev.data);
        if (e.counter === counter) ask(e.ticket, e.payload.label);
      },
      "ticket.rated": (ev) => {
        const e = JSON.parse(ev.data);
        if (current && e.ticket === current.uid) thanks();
      },
    });
  }

  async function boot() {
    translate();
    if (!counter) {
      $("setup-error").textContent = "Abra esta pantalla con la dirección /counter/rating?counter=N (N: número del módulo).";
      $("setup-error").hidden = false;
      $("language").hidden = true;
      return;
    }
    const me = await Staff.signIn({ roles: ROLES, sections: ["idle", "ask", "thanks", "language"],
                                    denied: "Su rol no corresponde a un módulo de atención." });
    if (!me) return;
    idle();
    listen();
  }

  Staff.wireSession(boot);
  $("language").addEventListener("click", () => {
    language = language === "es" ? "qu" : "es";
    translate();
  });
  for (const face of document.querySelectorAll(".face")) {
    face.addEventListener("click", () => rate(Number(face.dataset.score)));
  }
  boot();
})(window.Staff);
