// The live usage page: polls its data URL every five seconds and redraws.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  const root = document.getElementById("live-usage");
  if (!root) return;
  const url = root.dataset.url;
  function cell(row, text, cls) {
    const td = row.insertCell();
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }
  function render(data) {
    document.getElementById("live-rate").textContent = data.events_per_second_shown;
    document.getElementById("live-updated").textContent =
      "updated " + new Date().toLocaleTimeString();
    const peak = Math.max(1, ...data.operations.flatMap(op => op.per_minute));
    const ops = document.querySelector("#live-operations tbody");
    ops.replaceChildren();
    for (const op of data.operations) {
      const row = ops.insertRow();
      cell(row, op.operation);
      cell(row, op.total_shown, "num");
      const bars = cell(row, "");
      for (const count of op.per_minute) {
        const bar = document.createElement("span");
        bar.className = "live-bar";
        bar.title = count + " events";
        bar.style.width = "6px";
        bar.style.marginRight = "1px";
        bar.style.height = Math.max(1, Math.round(20 * count / peak)) + "px";
        bars.appendChild(bar);
      }
    }
    const customers = document.querySelector("#live-customers tbody");
    customers.replaceChildren();
    for (const top of data.top_customers) {
      const row = customers.insertRow();
      cell(row, top.name + " (" + top.external_id + ")");
      cell(row, top.event_count_shown, "num");
      cell(row, top.quantity_shown, "num");
    }
  }
  function refresh() {
    fetch(url, {credentials: "same-origin"})
      .then(response => response.json())
      .then(render)
      .catch(() => {})
      .finally(() => setTimeout(refresh, 5000));
  }
  refresh();
});
