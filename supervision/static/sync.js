// The uplink panel: what the box holds, what the central office confirmed, what is still to
// send, and "Enviar ahora" for a supervisor who has just fixed the network.
"use strict";

(function (Sup) {
  const { $, api } = Sup;

  function when(iso) {
    return iso ? new Date(iso).toLocaleString("es-PE") : "—";
  }

  Sup.refreshSync = async function () {
    if (!Sup.canManage()) return;
    const r = await api("GET", "/api/v1/sync");
    if (r.status !== 200) return;
    const s = r.data;
    $("sync-local").textContent = String(s.local_seq);
    $("sync-acked").textContent = String(s.acked_seq);
    $("sync-backlog").textContent = String(s.backlog);
    $("sync-success").textContent = when(s.last_success);
    $("sync-error").textContent = s.last_error || "—";
    $("sync-rejected").textContent = String(s.rejected);
    $("sync-now").disabled = !s.enabled;
    if (!s.enabled) $("sync-message").textContent = "El envío no está habilitado ([uplink]).";
  };

  document.addEventListener("DOMContentLoaded", () => {
    $("sync-now").addEventListener("click", async () => {
      $("sync-now").disabled = true;
      const r = await api("POST", "/api/v1/sync/send-now", {});
      Sup.report("sync-message", r, "Enviando…");
      setTimeout(Sup.refreshSync, 1000);
    });
  });
})(window.Sup);
