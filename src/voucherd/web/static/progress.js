// Live progress of a job page: polls the job's JSON until it has finished (no inline script:
// the CSP forbids it). Without JavaScript the page's <noscript> refresh does the same.
"use strict";
(function () {
  var box = document.getElementById("job");
  if (!box) return;
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("job-bar");
  var done = document.getElementById("job-done");
  var status = document.getElementById("job-status");
  var error = document.getElementById("job-error");
  function show(job) {
    bar.max = job.total;
    bar.value = job.done;
    done.textContent = job.done.toLocaleString();
    status.textContent = job.status;
    box.setAttribute("data-status", job.status);
    if (job.error) { error.textContent = job.error; error.hidden = false; }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (job) { show(job); if (!job.finished) window.setTimeout(poll, 500); })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  if (box.getAttribute("data-status") !== "succeeded" && box.getAttribute("data-status") !== "failed") poll();
})();
