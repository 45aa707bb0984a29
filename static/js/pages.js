// Behaviour shared by the staff and portal pages. It lives here, not in the HTML,
// so that the Content-Security-Policy can refuse every inline script.
(function () {
  "use strict";

  // <select data-autosubmit> submits its form when the choice changes.
  function wireAutosubmit(root) {
    for (const select of root.querySelectorAll("select[data-autosubmit]")) {
      select.addEventListener("change", () => select.form.submit());
    }
  }

  // Each <script type="application/json" data-chart="ID"> holds a plotly figure
  // to draw into the element with that id.
  function drawCharts(root) {
    if (typeof Plotly === "undefined") return;
    for (const block of root.querySelectorAll("script[type='application/json'][data-chart]")) {
      const target = document.getElementById(block.dataset.chart);
      if (!target) continue;
      const figure = JSON.parse(block.textContent);
      Plotly.newPlot(target, figure.data, figure.layout, {responsive: true, displaylogo: false});
    }
  }

  // Shows messages in an error box that exists only while there is something
  // to say (an empty box never shows, whatever stylesheets the page loads).
  function showErrors(box, messages) {
    box.replaceChildren();
    if (!messages.length) return;
    const list = document.createElement("ul");
    list.className = "errorlist";
    for (const message of messages) {
      const item = document.createElement("li");
      item.textContent = message;
      list.append(item);
    }
    const note = document.createElement("div");
    note.className = "errornote";
    note.append(list);
    box.append(note);
  }

  // The billing model page's cost preview: whenever the form changes, the form
  // as it stands (unsaved) and the sample agents and units are posted to the
  // server, whose engine answers the priced lines. One units box per activity
  // form, kept in step as activity forms are added or removed.
  function wireCostPreview(root) {
    const box = root.querySelector("[data-cost-preview]");
    if (!box) return;
    const form = box.closest("form");
    const unitsBox = box.querySelector("[data-preview-units]");
    const errorsBox = box.querySelector("[data-preview-errors]");
    const result = box.querySelector("[data-preview-result]");
    const typed = {};
    let timer = null;
    let latest = 0;

    const activityRows = () =>
      Array.from(form.querySelectorAll("#activity_configs-group .inline-related"))
        .filter((row) => /^activity_configs-\d+$/.test(row.id));

    function drawUnits() {
      unitsBox.replaceChildren();
      for (const row of activityRows()) {
        const index = row.id.split("-")[1];
        const type = row.querySelector("input[name$='-activity_type']");
        const line = document.createElement("div");
        line.className = "form-row";
        const label = document.createElement("label");
        const input = document.createElement("input");
        input.id = "preview-units-" + index;
        input.type = "text";
        input.inputMode = "decimal";
        input.dataset.previewName = "preview_units-" + index;
        input.dataset.previewUnits = type && type.value ? type.value : "";
        input.value = typed[index] !== undefined ? typed[index] : "0";
        input.addEventListener("input", () => { typed[index] = input.value; });
        label.htmlFor = input.id;
        label.textContent = "Units of " + (type && type.value ? type.value : "activity " + (Number(index) + 1));
        line.append(label, input);
        unitsBox.append(line);
      }
    }

    function send() {
      const data = new FormData(form);
      for (const input of box.querySelectorAll("[data-preview-name]")) {
        data.set(input.dataset.previewName, input.value.trim());
      }
      const ticket = ++latest;
      box.dataset.state = "loading";
      fetch(box.dataset.url, { method: "POST", body: data, credentials: "same-origin" })
        .then((response) => response.json().then((body) => [response.ok, body]))
        .then(([ok, body]) => {
          if (ticket !== latest) return; // a newer form is on its way
          if (ok) {
            showErrors(errorsBox, []);
            result.innerHTML = body.html; // rendered and escaped by the server
            box.dataset.total = body.total;
            box.dataset.state = "ready";
          } else {
            showErrors(errorsBox, body.messages || ["The form cannot be priced as it stands."]);
            result.replaceChildren();
            delete box.dataset.total;
            box.dataset.state = "invalid";
          }
        })
        .catch(() => {
          if (ticket !== latest) return;
          showErrors(errorsBox, ["The preview could not be computed; it will retry on the next change."]);
          box.dataset.state = "failed";
        });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(send, 300);
    }

    form.addEventListener("input", (event) => {
      if (event.target.name && event.target.name.endsWith("-activity_type")) drawUnits();
      schedule();
    });
    form.addEventListener("change", schedule);
    // Enter in a preview box previews; it never saves the form.
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        send();
      }
    });
    for (const name of ["formset:added", "formset:removed"]) {
      document.addEventListener(name, () => { drawUnits(); schedule(); });
    }
    drawUnits();
    send();
  }

  // <form data-live> (GET) refreshes its [data-live-result] from the server's
  // page for the form's values whenever they change, after a pause.
  function wireLiveForms(root) {
    for (const form of root.querySelectorAll("form[data-live]")) {
      let timer = null;
      let latest = 0;
      const refresh = () => {
        const url = form.action + "?" + new URLSearchParams(new FormData(form));
        const ticket = ++latest;
        fetch(url, { credentials: "same-origin" })
          .then((response) => response.text())
          .then((html) => {
            if (ticket !== latest) return;
            const page = new DOMParser().parseFromString(html, "text/html");
            const fresh = page.querySelector("[data-live-result]");
            const current = document.querySelector("[data-live-result]");
            if (fresh && current) current.replaceWith(document.adoptNode(fresh));
          });
      };
      form.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(refresh, 300);
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    wireAutosubmit(document);
    drawCharts(document);
    wireCostPreview(document);
    wireLiveForms(document);
  });
})();
