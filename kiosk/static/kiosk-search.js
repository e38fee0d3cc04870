// The kiosk's search over the catalogue it already holds, done in the browser: a service is
// found by the words of its name, of its entity and of its keywords (synonyms such as
// "brevete"), without accents or case, forgiving one wrong, missing, extra or swapped letter
// in each typed word of 4 letters or more. Also the on-screen letter keyboard.
"use strict";

window.KioskSearch = (function () {
  const STOP = new Set(["de", "del", "la", "las", "el", "los", "y", "e", "o", "u", "en", "a",
                        "al", "para", "por", "con", "mi", "un", "una", "que", "se"]);
  const LETTERS = "ABCDEFGHIJKLMNÑOPQRSTUVWXYZ".split("");

  function normalise(text) {
    return String(text == null ? "" : text).normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
  }

  function words(text) {
    return [...new Set(normalise(text).split(" ").filter(Boolean))];
  }

  // Whether a and b differ by at most one edit: a letter changed, added, left out, or two
  // neighbours swapped.
  function nearlyEqual(a, b) {
    if (a === b) return true;
    if (Math.abs(a.length - b.length) > 1) return false;
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    if (a.length > b.length) return a.slice(i + 1) === b.slice(i);
    if (a.length < b.length) return a.slice(i) === b.slice(i + 1);
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }

  // How well a typed word matches a word of the catalogue (0 = not at all); a word being
  // typed matches the beginning of a longer one.
  function wordScore(typed, word) {
    if (word === typed) return 4;
    if (word.startsWith(typed)) return 3;
    if (typed.length < 4) return 0;
    if (nearlyEqual(typed, word)) return 2;
    if (word.length <= typed.length) return 0;
    for (const n of [typed.length - 1, typed.length, typed.length + 1]) {
      if (n <= word.length && nearlyEqual(typed, word.slice(0, n))) return 1;
    }
    return 0;
  }

  function best(typed, list) {
    let top = 0;
    for (const w of list) top = Math.max(top, wordScore(typed, w));
    return top;
  }

  // The searchable words of every service: entities is a map code -> entity.
  function index(services, entities) {
    return services.map((s) => {
      const e = entities[s.entity] || {};
      return { service: s, name: words(s.name), keys: words(s.keywords),
               entity: words(`${e.code || ""} ${e.short_name || ""} ${e.name || ""}`) };
    });
  }

  // The services every typed word matches, best first (name before keyword before entity),
  // then by the entity's place on the kiosk (rankOf) and the service's number.
  function search(query, items, rankOf) {
    const typed = words(query).filter((w) => !STOP.has(w));
    if (!typed.length) return [];
    const found = [];
    for (const item of items) {
      let total = 0;
      for (const w of typed) {
        const score = Math.max(3 * best(w, item.name), 2 * best(w, item.keys),
                               2 * best(w, item.entity));
        if (!score) { total = -1; break; }
        total += score;
      }
      if (total > 0) found.push({ item, total });
    }
    found.sort((a, b) => b.total - a.total
      || rankOf(a.item.service.entity) - rankOf(b.item.service.entity)
      || a.item.service.id - b.item.service.id);
    return found.map((f) => f.item.service);
  }

  // Fill box with letter keys, a space and a delete key; onKey gets "A".."Z", "space", "del".
  function keyboard(box, onKey, t) {
    box.replaceChildren();
    for (const k of LETTERS.concat(["space", "del"])) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.key = k;
      if (k === "space" || k === "del") {
        b.dataset.i18n = k === "space" ? "space" : "delete";
        b.textContent = t(b.dataset.i18n);
        b.className = "wide";
      } else {
        b.textContent = k;
      }
      b.addEventListener("click", () => onKey(k));
      box.appendChild(b);
    }
  }

  function withKey(value, key) {
    if (key === "del") return value.slice(0, -1);
    if (key === "space") return value.endsWith(" ") || !value ? value : `${value} `;
    return value + key;
  }

  return { normalise, nearlyEqual, index, search, keyboard, withKey };
})();
