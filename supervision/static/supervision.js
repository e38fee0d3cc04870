// The supervision page's start: login, what the role may see, and the live stream. Any
// event refreshes the floor (coalesced), and a timer refreshes it every few seconds so that
// waits and times in state keep moving while nothing happens.
"use strict";

(function (Sup, Staff) {
  const { $, api, state } = Sup;
  const ROLES = ["admin", "supervisor", "receptionist"];
  const PERIOD_MS = 4000;
  let stream = null;
  let refreshTimer = null;
  let periodic = null;
  let daily = null;

  async function boot() {
    if (!(await Sup.signIn(ROLES, "Su rol no corresponde a la supervisión."))) return;
    document.body.classList.toggle("manager", Sup.canManage());
    const cat = await api("GET", "/api/v1/catalog");
    if (cat.status !== 200) {
      if (cat.status === 0) Staff.retryStart();  // read it all again once the box answers
      return;
    }
    state.catalog = cat.data;
    Sup.fillEntities();
    await Promise.all([Sup.refreshFloor(), Sup.refreshPrinters(), Sup.refreshUsers(),
                       Sup.refreshDevices(), Sup.refreshSync(), Sup.refreshScheduler()]);
    listen();
    clearInterval(periodic);
    periodic = setInterval(() => { Sup.refreshFloor(); Sup.refreshSync(); }, PERIOD_MS);
    clearInterval(daily);
    daily = setInterval(Sup.refreshScheduler, 60000);
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(Sup.refreshFloor, 100);
  }

  function onEvent(ev) {
    const kind = ev.type;
    if (kind === "printer.status" || kind === "snapshot") Sup.refreshPrinters();
    if (kind.startsWith("user.")) Sup.refreshUsers();
    if (kind.startsWith("device.")) Sup.refreshDevices();
    scheduleRefresh();
  }

  const KINDS = ["snapshot", "printer.status", "day.opened", "day.reopened", "day.closed",
                 "display.message", "queue.opened", "queue.closed", "counter.opened",
                 "counter.closed", "counter.paused", "counter.resumed", "ticket.issued",
                 "ticket.called", "ticket.recalled", "ticket.started", "ticket.finished",
                 "ticket.no_show", "ticket.cancelled", "ticket.reactivated",
                 "ticket.transferred", "ticket.priority_changed", "ticket.expired",
                 "user.created", "user.secret_reset", "user.disabled", "user.enabled",
                 "user.role_changed", "device.enrolled", "device.revoked"];

  function listen() {
    if (stream) stream.close();
    const handlers = {};
    for (const kind of KINDS) handlers[kind] = onEvent;
    stream = Staff.stream("/api/v1/stream", handlers, {
      onOpen: () => { $("live").textContent = "En vivo."; },
      onDown: () => { $("live").textContent = "Sin conexión en vivo; reintentando…"; },
    });
  }

  function wire() {
    Sup.wireSession(boot, () => { if (stream) stream.close(); });
    Sup.wireFloor();
    Sup.wireTickets();
    Sup.wireAdmin();
  }

  wire();
  boot();
})(window.Sup, window.Staff);
